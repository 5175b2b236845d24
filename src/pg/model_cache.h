/*
 * model_cache.h - the serving cache: models' vectors, held per backend or shared per server
 *
 * A backend keeps, per model, the registry facts of its active version and,
 * once needed, the vectors of each side: items whole (top-k scans them all),
 * users whole only when a backend needs many of them (a call that scores one
 * user reads that user's vector alone).  With bpr in shared_preload_libraries
 * the whole sides of an active, committed version are one shared copy per
 * server (shared_store.h); otherwise the backend keeps its own.  A statement
 * trigger on bpr.models sends a relcache invalidation, which every backend
 * sees at its next transaction (and the changing backend at its next
 * command): the cache then reloads, so a new version is served exactly from
 * its commit on.  model_cache.c holds the entries and cold start;
 * side_cache.c the sides' memory.
 */
#ifndef BPR_MODEL_CACHE_H
#define BPR_MODEL_CACHE_H

#include "postgres.h"

#include "executor/spi.h"
#include "storage/lock.h"
#include "utils/timestamp.h"

#include "core/keyset.h"
#include "core/tower.h"
#include "encode.h"
#include "keys.h"
#include "shared_store.h"
#include "store.h"

/* One side of a model in memory: sorted keys, vectors, flags */
typedef struct BprSide
{
	BprKeySet	keys;
	int32		n;
	int32		vec_dim;
	const float *vectors;		/* n x vec_dim */
	const uint8 *cold;			/* items scored from features alone (no interactions) */
	int32		n_cold;
	const float *inv_norms;		/* 1 / the norm of each embedding (the first dim values) */
} BprSide;

/* Single user lookups after which a backend loads the users side whole */
#define BPR_MEMO_USERS 1024

/* Vectors of single users looked up while the users side is not loaded whole */
typedef struct BprUserMemo BprUserMemo;

/* One side of a cached model */
typedef struct BprCachedSide
{
	bool		loaded;			/* data holds the whole side */
	BprSide		data;
	BprSharedRef ref;			/* the shared copy held, if any */
	int32		lookups;		/* single lookups so far (users) */
	BprUserMemo *memo;
	bool		tower_loaded;	/* cold start tried */
	BprEncoding encoding;		/* n_fields = 0: no cold start */
	BprTower   *tower;			/* NULL: no cold start */
	SPIPlanPtr	row_plan;		/* fetches one entity's feature row */
} BprCachedSide;

typedef struct BprCachedModel
{
	MemoryContext context;
	BprModelInfo info;
	BprCachedSide users;
	BprCachedSide items;
	SPIPlanPtr	rated_plan;		/* items a user rated in the ratings table */
	SPIPlanPtr	raters_plan;	/* users who rated an item */
	bool		temporary;		/* a version other than the active one: freed at release */
	LocalTransactionId checked_lxid;	/* Citus: the statement that last checked the version */
	TimestampTz checked_statement;
	struct BprCachedModel *next;
} BprCachedModel;

/* Registers the invalidation and transaction callbacks (from _PG_init) */
void		bpr_cache_init(void);

/* Checks that the installed extension's SQL is this library's version (ERROR 55000 if not); caller is in SPI */
void		bpr_cache_check_schema(void);

/*
 * A model version for serving (NULL name: the default model; version 0: the
 * active one), pinned until bpr_cache_release, which callers run in
 * PG_FINALLY so that a caught error leaves nothing pinned.  Checks the
 * caller's privileges on bpr's tables on every call.  Caller is in SPI.
 */
BprCachedModel *bpr_cache_get(const char *model, int32 version);

/* The caller is done with an entry of bpr_cache_get */
void		bpr_cache_release(BprCachedModel *m);

/* A whole side of the model, loaded (shared or private) on first use */
const BprSide *bpr_cache_side(BprCachedModel *m, bool user_side);

/*
 * The vector of an entity: stored, else scored from its feature row (cold
 * start); false when it is unknown to the model and its table.
 */
bool		bpr_cache_vector(BprCachedModel *m, bool user_side, const BprKey *key, float *out);

/*
 * The vector of an entity from its features alone, even when one is stored
 * (fold-in recomputes it); an entity without a feature row is encoded as all
 * missing, as training encodes it.  False when the side has no cold-start tower.
 */
bool		bpr_cache_features_vector(BprCachedModel *m, bool user_side, const BprKey *key,
									  float *out);

/*
 * A side's cold-start tower, or NULL when it has none, and its encoding
 * (n_fields 0: no features stored), built on first use.
 */
BprTower   *bpr_cache_cold_tower(BprCachedModel *m, bool user_side, const BprEncoding **enc);

/* Items the user rated in the model's ratings table as it is now (ERROR 42P01 if the table is gone) */
void		bpr_cache_rated_items(BprCachedModel *m, const BprKey *user, const BprSide *items,
								  uint8 *mark);

/* Users who rated the item in the model's ratings table as it is now */
void		bpr_cache_item_raters(BprCachedModel *m, const BprKey *item, const BprSide *users,
								  uint8 *mark);

/* side_cache.c: loads a whole side into a shared copy or private memory of context */
void		bpr_side_load(const BprModelInfo *info, bool user_side, MemoryContext context,
						  BprCachedSide *side);

/* side_cache.c: a stored user vector looked up alone, memoised; false if the user has none */
bool		bpr_side_lookup(const BprModelInfo *info, BprCachedSide *side, MemoryContext context,
							const BprKey *key, float *out);

/* side_cache.c: releases a side's shared copy (its private memory goes with the entry) */
void		bpr_side_release(BprCachedSide *side);

#endif
