/*
 * bpr_evaluate.c - bpr_evaluate: ranking quality of a stored model on a test table
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"

#include "core/evaluation.h"
#include "dataset.h"
#include "model_cache.h"
#include "util.h"

PG_FUNCTION_INFO_V1(bpr_evaluate);

/* Ranking quality of a model on a test ratings table (../shared/EVALUATION.md) */
Datum
bpr_evaluate(PG_FUNCTION_ARGS)
{
	TupleDesc	tupdesc;
	char	   *model;
	Oid			test;
	int32		k;
	BprCachedModel *m;
	MemoryContext caller = CurrentMemoryContext;
	MemoryContext cxt;
	BprPgAlloc	alloc;
	BprRatingRows test_rows,
				train_rows;
	BprUserLists test_lists,
				train_lists;
	BprEvalInput in;
	BprMetricsResult res;
	char	   *user_column,
			   *item_column,
			   *rating_column;
	double		threshold;
	int			search_path_level;
	Datum		values[8];
	bool		nulls[8] = {false};

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	tupdesc = BlessTupleDesc(tupdesc);
	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("test table must not be NULL")));
	model = bpr_arg_text(fcinfo, 0, NULL);
	test = PG_GETARG_OID(1);
	k = PG_ARGISNULL(2) ? 10 : PG_GETARG_INT32(2);
	if (k < 1 || k > 100000)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("k must be between 1 and 100000")));

	cxt = AllocSetContextCreate(CurrentMemoryContext, "bpr evaluate", ALLOCSET_DEFAULT_SIZES);
	MemoryContextSwitchTo(cxt);
	bpr_pg_alloc_init(&alloc, cxt, 0);
	search_path_level = bpr_pin_search_path();
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	m = bpr_cache_get(model);
	user_column = bpr_arg_text(fcinfo, 3, m->info.user_column);
	item_column = bpr_arg_text(fcinfo, 4, m->info.item_column);
	rating_column = bpr_arg_text(fcinfo, 5, m->info.rating_column);
	threshold = PG_ARGISNULL(6) ? m->info.positive_threshold : PG_GETARG_FLOAT8(6);

	bpr_read_ratings(test, user_column, item_column, rating_column, &alloc, &test_rows);
	if (test_rows.n == 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("test table \"%s\" has no usable rows", get_rel_name(test))));
	if (get_rel_name(m->info.ratings) == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("the ratings table of model \"%s\" no longer exists", m->info.model)));
	bpr_read_ratings(m->info.ratings, m->info.user_column, m->info.item_column, NULL,
					 &alloc, &train_rows);
	bpr_group_rows(&test_rows, m->users.ids, m->users.n, m->items.ids, m->items.n, &alloc, &test_lists);
	bpr_group_rows(&train_rows, m->users.ids, m->users.n, m->items.ids, m->items.n, &alloc, &train_lists);
	if (test_lists.dropped > 0)
		ereport(NOTICE,
				(errmsg("skipped " INT64_FORMAT " test rows whose user or item the model has not seen",
						test_lists.dropped)));

	memset(&in, 0, sizeof(in));
	in.n_users = m->users.n;
	in.user_vecs = m->users.vectors;
	in.n_items = m->items.n;
	in.item_vecs = m->items.vectors;
	in.item_ids = m->items.ids;
	in.vec_dim = m->info.vec_dim;
	in.train_ptr = train_lists.ptr;
	in.train_items = train_lists.items;
	in.test_ptr = test_lists.ptr;
	in.test_items = test_lists.items;
	in.test_ratings = test_lists.ratings;
	in.threshold = rating_column ? threshold : 0.0;
	in.k = k;
	bpr_evaluate_model(&in, &alloc.base, bpr_check_interrupts, NULL, &res);
	bpr_cache_release();
	SPI_finish();
	bpr_unpin_search_path(search_path_level);

	MemoryContextSwitchTo(caller);
	values[0] = Int64GetDatum(res.users);
	values[1] = Float8GetDatum(res.seed_auc);
	values[2] = Float8GetDatum(res.rank_auc);
	values[3] = Float8GetDatum(res.precision);
	values[4] = Float8GetDatum(res.recall);
	values[5] = Float8GetDatum(res.ndcg);
	values[6] = Float8GetDatum(res.map);
	values[7] = Float8GetDatum(res.coverage);
	MemoryContextDelete(cxt);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}
