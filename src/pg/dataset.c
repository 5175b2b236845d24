/*
 * dataset.c - reading ratings tables into compact arrays with SPI
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"

#include "core/vecmath.h"
#include "dataset.h"

/* Reads (user, item, rating) rows of a table with a cursor; rating_column NULL = implicit */
void
bpr_read_ratings(Oid relid, const char *user_column, const char *item_column,
				 const char *rating_column, BprPgAlloc *alloc, BprRatingRows *rows)
{
	StringInfoData sql;
	BprCursor	cursor;
	int64		cap = 1024;
	int64		n = 0;

	bpr_check_column(relid, user_column, BPR_COLUMN_KEY);
	bpr_check_column(relid, item_column, BPR_COLUMN_KEY);
	if (rating_column)
		bpr_check_column(relid, rating_column, BPR_COLUMN_NUMBER);

	initStringInfo(&sql);
	appendStringInfo(&sql, "SELECT %s::int8, %s::int8, %s FROM %s",
					 quote_identifier(user_column), quote_identifier(item_column),
					 rating_column ? psprintf("%s::float8", quote_identifier(rating_column)) : "NULL::float8",
					 bpr_relation_sql_name(relid));

	memset(rows, 0, sizeof(*rows));
	/* growable arrays in the caller's context; the final ones are charged to the budget */
	rows->users = palloc_extended(cap * sizeof(int64), MCXT_ALLOC_HUGE);
	rows->items = palloc_extended(cap * sizeof(int64), MCXT_ALLOC_HUGE);
	rows->ratings = palloc_extended(cap * sizeof(double), MCXT_ALLOC_HUGE);

	bpr_cursor_open(&cursor, sql.data, 0, NULL, NULL);
	while (bpr_cursor_next(&cursor))
	{
		SPITupleTable *tt = cursor.batch;

		if (n + (int64) tt->numvals > cap)
		{
			while (n + (int64) tt->numvals > cap)
				cap *= 2;
			if ((Size) cap * sizeof(int64) > MaxAllocHugeSize)
				ereport(ERROR,
						(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
						 errmsg("too many ratings")));
			rows->users = repalloc_huge(rows->users, cap * sizeof(int64));
			rows->items = repalloc_huge(rows->items, cap * sizeof(int64));
			rows->ratings = repalloc_huge(rows->ratings, cap * sizeof(double));
		}
		for (uint64 r = 0; r < tt->numvals; r++)
		{
			bool		un,
						in,
						rn;
			Datum		u = SPI_getbinval(tt->vals[r], tt->tupdesc, 1, &un);
			Datum		i = SPI_getbinval(tt->vals[r], tt->tupdesc, 2, &in);
			Datum		v = SPI_getbinval(tt->vals[r], tt->tupdesc, 3, &rn);
			double		rating = rn ? NAN : DatumGetFloat8(v);

			if (un || in || (rating_column && !isfinite(rating)))
			{
				rows->skipped++;
				continue;
			}
			rows->users[n] = DatumGetInt64(u);
			rows->items[n] = DatumGetInt64(i);
			rows->ratings[n] = rating_column ? rating : 1.0;
			n++;
		}
	}
	rows->n = n;
	if (!rating_column)
	{
		pfree(rows->ratings);
		rows->ratings = NULL;
	}
	/* charge what is kept */
	bpr_pg_alloc_charge(alloc, (Size) n * (2 * sizeof(int64) + sizeof(double)), "ratings");
}

/* Orders int64 values ascending */
static int
cmp_int64(const void *a, const void *b)
{
	int64		x = *(const int64 *) a,
				y = *(const int64 *) b;

	return x < y ? -1 : x > y ? 1 : 0;
}

/* Sorted distinct values of n ids, allocated from alloc */
static int64 *
distinct_ids(const int64 *ids, int64 n, BprPgAlloc *alloc, int32 *count, const char *what)
{
	int64	   *sorted = palloc_extended(Max(n, 1) * sizeof(int64), MCXT_ALLOC_HUGE);
	int64		m = 0;
	int64	   *result;

	memcpy(sorted, ids, n * sizeof(int64));
	qsort(sorted, n, sizeof(int64), cmp_int64);
	for (int64 i = 0; i < n; i++)
		if (m == 0 || sorted[m - 1] != sorted[i])
			sorted[m++] = sorted[i];
	if (m > PG_INT32_MAX / 2)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("too many distinct %s", what)));
	result = bpr_pg_alloc(alloc, Max(m, 1), sizeof(int64), what);
	memcpy(result, sorted, m * sizeof(int64));
	pfree(sorted);
	*count = (int32) m;
	return result;
}

/* One rating with dense indices, for sorting */
typedef struct DenseRating
{
	int32		user;
	int32		item;
	double		rating;
} DenseRating;

/* Orders dense ratings by user, then item */
static int
cmp_dense(const void *a, const void *b)
{
	const DenseRating *x = a,
			   *y = b;

	if (x->user != y->user)
		return x->user < y->user ? -1 : 1;
	if (x->item != y->item)
		return x->item < y->item ? -1 : 1;
	return 0;
}

/* Builds the training set from rating rows */
void
bpr_dataset_build(const BprRatingRows *rows, double positive_threshold,
				  double negative_threshold, BprPgAlloc *alloc, BprDataset *ds)
{
	DenseRating *dense;
	int64		m = 0;
	int64	   *pos_ptr,
			   *neg_ptr,
			   *rated_ptr;
	int32	   *pos,
			   *neg,
			   *rated;
	int64		np = 0,
				nn = 0;
	bool		implicit = rows->ratings == NULL;

	memset(ds, 0, sizeof(*ds));
	ds->skipped = rows->skipped;
	ds->user_ids = distinct_ids(rows->users, rows->n, alloc, &ds->n_users, "users");
	ds->item_ids = distinct_ids(rows->items, rows->n, alloc, &ds->n_items, "items");

	dense = palloc_extended(Max(rows->n, 1) * sizeof(DenseRating), MCXT_ALLOC_HUGE);
	for (int64 r = 0; r < rows->n; r++)
	{
		if ((r & 0xFFFF) == 0)
			CHECK_FOR_INTERRUPTS();
		dense[r].user = (int32) bpr_find_i64(ds->user_ids, ds->n_users, rows->users[r]);
		dense[r].item = (int32) bpr_find_i64(ds->item_ids, ds->n_items, rows->items[r]);
		dense[r].rating = implicit ? 1.0 : rows->ratings[r];
	}
	qsort(dense, rows->n, sizeof(DenseRating), cmp_dense);
	/* fold repeated (user, item) rows, keeping the highest rating */
	for (int64 r = 0; r < rows->n; r++)
	{
		if (m > 0 && dense[m - 1].user == dense[r].user && dense[m - 1].item == dense[r].item)
		{
			dense[m - 1].rating = Max(dense[m - 1].rating, dense[r].rating);
			ds->duplicates++;
			continue;
		}
		dense[m++] = dense[r];
	}
	ds->n_ratings = m;
	for (int64 r = 0; r < m; r++)
	{
		if (implicit || dense[r].rating >= positive_threshold)
			np++;
		else if (dense[r].rating <= negative_threshold)
			nn++;
	}

	pos_ptr = bpr_pg_alloc(alloc, (size_t) ds->n_users + 1, sizeof(int64), "positives");
	neg_ptr = bpr_pg_alloc(alloc, (size_t) ds->n_users + 1, sizeof(int64), "negatives");
	rated_ptr = bpr_pg_alloc(alloc, (size_t) ds->n_users + 1, sizeof(int64), "ratings");
	pos = bpr_pg_alloc(alloc, Max(np, 1), sizeof(int32), "positives");
	neg = bpr_pg_alloc(alloc, Max(nn, 1), sizeof(int32), "negatives");
	rated = bpr_pg_alloc(alloc, Max(m, 1), sizeof(int32), "ratings");
	np = nn = 0;
	for (int64 r = 0; r < m; r++)
	{
		int32		u = dense[r].user;

		if (implicit || dense[r].rating >= positive_threshold)
			pos[np++] = dense[r].item;
		else if (dense[r].rating <= negative_threshold)
			neg[nn++] = dense[r].item;
		rated[r] = dense[r].item;
		pos_ptr[u + 1] = np;
		neg_ptr[u + 1] = nn;
		rated_ptr[u + 1] = r + 1;
	}
	/* users are all present (ids come from the rows), but keep pointers monotone anyway */
	for (int32 u = 1; u <= ds->n_users; u++)
	{
		pos_ptr[u] = Max(pos_ptr[u], pos_ptr[u - 1]);
		neg_ptr[u] = Max(neg_ptr[u], neg_ptr[u - 1]);
		rated_ptr[u] = Max(rated_ptr[u], rated_ptr[u - 1]);
	}
	pfree(dense);

	ds->n_positives = np;
	ds->n_negatives = nn;
	ds->inter.n_users = ds->n_users;
	ds->inter.n_items = ds->n_items;
	ds->inter.pos_ptr = pos_ptr;
	ds->inter.pos = pos;
	ds->inter.neg_ptr = neg_ptr;
	ds->inter.neg = neg;
	ds->inter.rated_ptr = rated_ptr;
	ds->inter.rated = rated;
}

/* Groups rating rows by dense user index; rows of unknown users or items are dropped */
void
bpr_group_rows(const BprRatingRows *rows, const int64 *user_ids, int32 n_users,
		   const int64 *item_ids, int32 n_items, BprPgAlloc *alloc, BprUserLists *out)
{
	int32	   *ru = palloc_extended(sizeof(int32) * Max(rows->n, 1), MCXT_ALLOC_HUGE);
	int32	   *ri = palloc_extended(sizeof(int32) * Max(rows->n, 1), MCXT_ALLOC_HUGE);
	int64	   *fill;
	int64		kept = 0;

	out->ptr = bpr_pg_alloc(alloc, (size_t) n_users + 1, sizeof(int64), "test rows");
	out->dropped = 0;
	for (int64 r = 0; r < rows->n; r++)
	{
		ru[r] = (int32) bpr_find_i64(user_ids, n_users, rows->users[r]);
		ri[r] = (int32) bpr_find_i64(item_ids, n_items, rows->items[r]);
		if (ru[r] < 0 || ri[r] < 0)
		{
			out->dropped++;
			continue;
		}
		out->ptr[ru[r] + 1]++;
		kept++;
	}
	for (int32 u = 0; u < n_users; u++)
		out->ptr[u + 1] += out->ptr[u];
	out->items = bpr_pg_alloc(alloc, Max(kept, 1), sizeof(int32), "test rows");
	out->ratings = bpr_pg_alloc(alloc, Max(kept, 1), sizeof(double), "test rows");
	fill = palloc_extended(sizeof(int64) * ((size_t) n_users + 1), MCXT_ALLOC_HUGE);
	memcpy(fill, out->ptr, sizeof(int64) * ((size_t) n_users + 1));
	for (int64 r = 0; r < rows->n; r++)
	{
		int64		p;

		if (ru[r] < 0 || ri[r] < 0)
			continue;
		p = fill[ru[r]]++;
		out->items[p] = ri[r];
		out->ratings[p] = rows->ratings ? rows->ratings[r] : 1.0;
	}
	pfree(fill);
	pfree(ru);
	pfree(ri);
}
