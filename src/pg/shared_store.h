/*
 * shared_store.h - one copy per server of the vectors of active model versions
 *
 * With bpr in shared_preload_libraries, the vectors of an active, committed
 * model version are loaded once into dynamic shared memory (a DSA area) and
 * every backend that serves the version maps the same copy.  A small registry
 * in shared memory finds a copy by (database, registry table, model, version,
 * revision, creation time, side); each backend that holds a copy pins it.  A
 * copy that another version of the same model has superseded is freed when
 * its last backend lets go of it; copies no backend holds are evicted when
 * the pool (bpr.shared_memory) needs room.  Without the preload, callers get
 * BPR_SHARED_NONE and keep a copy of their own.
 */
#ifndef BPR_SHARED_STORE_H
#define BPR_SHARED_STORE_H

#include "postgres.h"

#include "utils/timestamp.h"

/* Longest model name, in bytes */
#define BPR_MODEL_NAME_MAX 200

/* What identifies one side of one model version */
typedef struct BprSharedKey
{
	Oid			dboid;
	Oid			models_relid;	/* the registry table: a recreated extension starts afresh */
	char		model[BPR_MODEL_NAME_MAX + 1];
	int32		version;
	int32		revision;
	TimestampTz created;
	int32		side;			/* 0 users, 1 items */
} BprSharedKey;

/* A backend's hold on one shared copy */
typedef struct BprSharedRef
{
	int32		slot;			/* -1: none */
	uint32		generation;
} BprSharedRef;

typedef enum BprSharedResult
{
	BPR_SHARED_NONE,			/* no sharing here: keep a private copy */
	BPR_SHARED_FOUND,			/* the copy is ready and pinned */
	BPR_SHARED_LOAD				/* this backend must load it: allocate, fill, then mark loaded */
} BprSharedResult;

/* Shared memory this module needs (from the shmem request hook) */
Size		bpr_shared_shmem_size(void);

/* Creates or attaches the registry (from the shmem startup hook) */
void		bpr_shared_shmem_init(void);

/* Finds the copy of key and pins it, or reserves it for this backend to load; waits while another loads */
BprSharedResult bpr_shared_acquire(const BprSharedKey *key, void **chunk, BprSharedRef *ref);

/* Allocates the reserved copy's memory; NULL when the pool has no room (then abandon it) */
void	   *bpr_shared_allocate(BprSharedRef *ref, Size size);

/* Marks a reserved copy as loaded: other backends may use it */
void		bpr_shared_loaded(BprSharedRef *ref);

/* Gives up a reserved copy that could not be loaded */
void		bpr_shared_abandon(BprSharedRef *ref);

/* Releases a pin (a superseded copy is freed when its last pin goes) */
void		bpr_shared_release(BprSharedRef *ref);

/* Marks every copy of a model superseded (it has no active version now): freed once unused */
void		bpr_shared_forget_model(const BprSharedKey *key);

/* Bytes of shared copies now, and how many copies (for reports) */
void		bpr_shared_usage(int64 *bytes, int32 *copies);

#endif
