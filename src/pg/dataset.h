/*
 * dataset.h - reading ratings tables into compact arrays with SPI
 *
 * Users and items get dense indices in ascending id order, so the arrays (and
 * hence training with a fixed seed) do not depend on the table's scan order.
 */
#ifndef BPR_DATASET_H
#define BPR_DATASET_H

#include "postgres.h"

#include "core/sampler.h"
#include "util.h"

/* Raw rating rows of a table */
typedef struct BprRatingRows
{
	int64		n;
	int64	   *users;
	int64	   *items;
	double	   *ratings;		/* NULL for implicit feedback (no rating column) */
	int64		skipped;		/* rows with a NULL id or rating, or a non-finite rating */
} BprRatingRows;

/* A training set: dense indices and per-user item lists */
typedef struct BprDataset
{
	int32		n_users;
	int32		n_items;
	int64	   *user_ids;		/* sorted; index = dense user row */
	int64	   *item_ids;		/* sorted; index = dense item row */
	BprInteractions inter;
	int64		n_ratings;		/* distinct (user, item) pairs */
	int64		n_positives;
	int64		n_negatives;
	int64		skipped;		/* rows with a NULL id or rating */
	int64		duplicates;		/* repeated (user, item) rows folded into one */
} BprDataset;

/* Reads (user, item, rating) rows of a table with a cursor; rating_column NULL = implicit */
void		bpr_read_ratings(Oid relid, const char *user_column, const char *item_column,
							 const char *rating_column, BprPgAlloc *alloc,
							 BprRatingRows *rows);

/* Builds the training set from rating rows */
void		bpr_dataset_build(const BprRatingRows *rows, double positive_threshold,
							  double negative_threshold, BprPgAlloc *alloc,
							  BprDataset *ds);

/* Per-user lists of rating rows in a model's index space */
typedef struct BprUserLists
{
	int64	   *ptr;
	int32	   *items;
	double	   *ratings;
	int64		dropped;		/* rows whose user or item the model does not know */
} BprUserLists;

/* Groups rating rows by dense user index; rows of unknown users or items are dropped */
void		bpr_group_rows(const BprRatingRows *rows, const int64 *user_ids, int32 n_users,
						   const int64 *item_ids, int32 n_items, BprPgAlloc *alloc,
						   BprUserLists *out);

#endif
