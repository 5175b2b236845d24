/*
 * dataset.h - reading ratings tables into compact arrays with SPI
 *
 * Users and items get dense indices in ascending id order, so the arrays (and
 * hence training with a fixed seed) do not depend on the table's scan order.
 */
#ifndef BPR_DATASET_H
#define BPR_DATASET_H

#include "postgres.h"

#include "executor/spi.h"

#include "bpr.h"
#include "sampler.h"

/* What a column must hold */
typedef enum BprColumnRole
{
	BPR_COLUMN_ID,				/* int2, int4 or int8 */
	BPR_COLUMN_RATING			/* any numeric type */
} BprColumnRole;

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

/* Checks that a relation has a column of the role's types; returns its attnum */
AttrNumber	bpr_check_column(Oid relid, const char *column, BprColumnRole role);

/* A read-only SPI cursor read in batches */
typedef struct BprCursor
{
	Portal		portal;
	SPITupleTable *batch;		/* the current batch, freed by the next fetch */
} BprCursor;

/* Opens a read-only cursor over a query with bound arguments (nargs may be 0) */
void		bpr_cursor_open(BprCursor *cursor, const char *sql, int nargs, Oid *types,
							Datum *values);

/* Frees the last batch and fetches the next one into cursor->batch; false (and closed) at the end */
bool		bpr_cursor_next(BprCursor *cursor);

/* Schema-qualified, quoted name of a relation */
char	   *bpr_relation_sql_name(Oid relid);

/* Reads (user, item, rating) rows of a table with a cursor; rating_column NULL = implicit */
void		bpr_read_ratings(Oid relid, const char *user_column, const char *item_column,
							 const char *rating_column, BprPgAlloc *alloc,
							 BprRatingRows *rows);

/* Builds the training set from rating rows */
void		bpr_dataset_build(const BprRatingRows *rows, double positive_threshold,
							  double negative_threshold, BprPgAlloc *alloc,
							  BprDataset *ds);

/* Dense index of id in a sorted id array, or -1 */
int32		bpr_id_index(const int64 *ids, int32 n, int64 id);

#endif
