/*
 * dataset.h - reading ratings tables into compact arrays with SPI
 *
 * Every row becomes two int32 indices (user, item: the keys' order of first
 * appearance in a key dictionary) and a rating class, stored in fixed-size
 * chunks that never reallocate, and charged to the memory budget.  The keys
 * are then sorted, the indices remapped, and the rows grouped into per-user
 * item lists (CSR), sorted by item.  Users and items are numbered in key
 * order, so the arrays (and training with a fixed seed) do not depend on the
 * table's scan order.
 */
#ifndef BPR_DATASET_H
#define BPR_DATASET_H

#include "postgres.h"

#include "core/keydict.h"
#include "core/keyset.h"
#include "core/sampler.h"
#include "util.h"

/* Rating classes of a row, by the thresholds (implicit feedback: every row is liked) */
#define BPR_CLASS_DISLIKED 0
#define BPR_CLASS_NEUTRAL 1
#define BPR_CLASS_LIKED 2

/* What to read from a ratings table */
typedef struct BprRowSource
{
	Oid			relid;
	const char *user_column;
	const char *item_column;
	const char *rating_column;	/* NULL: implicit feedback */
	const char *weight_column;	/* NULL: every row weighs 1 (implicit feedback only) */
	double		positive_threshold;
	double		negative_threshold;
	Oid			user_type;		/* the key types the columns must have; InvalidOid: any */
	Oid			item_type;
	Datum		user_keys;		/* only these users' rows: an int8[] or text[] of keys; 0: every row */
} BprRowSource;

/* Rows of a ratings table as dense indices, in chunks of BPR_ROWS_PER_CHUNK */
typedef struct BprRows
{
	int64		n;
	int32		n_chunks;
	int32		cap_chunks;
	int32	  **user;			/* per chunk */
	int32	  **item;
	uint8	  **cls;
	float	  **weight;			/* NULL without a weight column */
	int64		skipped_null;	/* a NULL key, rating or weight */
	int64		skipped_nonfinite;	/* a NaN or infinite rating or weight */
	int64		skipped_weight; /* a weight of zero or less */
	int64		unknown;		/* a key not in a closed dictionary */
} BprRows;

/* Per-user item lists, sorted by item, one entry per distinct (user, item) */
typedef struct BprUserLists
{
	int32		n_users;
	int64	   *ptr;			/* n_users + 1 */
	int32	   *items;
	uint8	   *cls;			/* the highest class of repeated rows */
	float	   *weight;			/* NULL, or the sum of repeated rows' weights */
	int64		cap;			/* entries allocated (rows read) */
	int64		duplicates;		/* repeated (user, item) rows folded into one */
} BprUserLists;

/* A training set: sorted keys, per-user item lists, and counts */
typedef struct BprDataset
{
	Oid			user_type;		/* key types, as bpr records them */
	Oid			item_type;
	BprKeySet	users;
	BprKeySet	items;
	BprInteractions inter;		/* liked, disliked and rated items of each user */
	uint64	   *fingerprints;	/* per user: a hash of the user's ratings (fold-in) */
	int64		n_ratings;		/* distinct (user, item) pairs */
	int64		n_positives;
	int64		n_negatives;
	int64		skipped_null;	/* rows left out: a NULL key, rating or weight */
	int64		skipped_nonfinite;	/* a NaN or infinite rating or weight */
	int64		skipped_weight; /* a weight of zero or less */
	int64		duplicates;		/* repeated (user, item) rows folded into one */
} BprDataset;

/* Checks the key, rating and weight columns of a source; records the key types in it */
void		bpr_check_row_source(BprRowSource *src);

/*
 * Reads the rows of a source.  Keys are looked up in (add_keys: added to) the
 * dictionaries; without add_keys a row with an unknown key is counted in
 * rows->unknown and left out.
 */
void		bpr_read_rows(const BprRowSource *src, BprKeyDict *users, BprKeyDict *items,
						  bool add_keys, BprPgAlloc *alloc, BprRows *rows);

/* Renumbers the rows' indices through permutations (NULL: unchanged) */
void		bpr_rows_remap(BprRows *rows, const int32 *user_perm, const int32 *item_perm);

/* Gives the rows' chunks back to the allocator */
void		bpr_rows_free(BprRows *rows, BprPgAlloc *alloc);

/* Groups rows into per-user lists sorted by item; repeats keep the highest class, weights add up */
void		bpr_user_lists_build(const BprRows *rows, int32 n_users, BprPgAlloc *alloc,
								 BprUserLists *lists);

/* Fingerprint of a user's list: an order-free hash of (item, class, weight) */
uint64		bpr_user_fingerprint(const BprUserLists *lists, int32 user, const uint64 *item_hashes);

/* Reads a training set: keys sorted, rows grouped, liked and disliked items split */
void		bpr_dataset_read(const BprRowSource *src, BprPgAlloc *alloc, BprDataset *ds);

/* Gives per-user lists back to the allocator */
void		bpr_user_lists_free(BprUserLists *lists, BprPgAlloc *alloc);

/* Fills a dictionary with a key set's keys, in order (index = position) */
void		bpr_keydict_from_set(BprKeyDict *dict, const BprKeySet *keys);

/* Hashes of the keys of a dictionary by index, or of a key set (dict NULL) by position */
uint64	   *bpr_key_hashes(const BprKeyDict *dict, const BprKeySet *keys, BprPgAlloc *alloc);

#endif
