/*
 * evaluate.c - bpr_evaluate and per-epoch validation during training
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

#include "calibration.h"
#include "evaluate.h"
#include "model_cache.h"

PG_FUNCTION_INFO_V1(bpr_evaluate);

/* Per-user lists of rating rows in a model's index space */
typedef struct UserLists
{
	int64	   *ptr;
	int32	   *items;
	double	   *ratings;
	int64		dropped;		/* rows whose user or item the model does not know */
} UserLists;

/* Groups rating rows by dense user index; rows of unknown users or items are dropped */
static void
group_rows(const BprRatingRows *rows, const int64 *user_ids, int32 n_users,
		   const int64 *item_ids, int32 n_items, BprPgAlloc *alloc, UserLists *out)
{
	int32	   *ru = palloc_extended(sizeof(int32) * Max(rows->n, 1), MCXT_ALLOC_HUGE);
	int32	   *ri = palloc_extended(sizeof(int32) * Max(rows->n, 1), MCXT_ALLOC_HUGE);
	int64	   *fill;
	int64		kept = 0;

	out->ptr = bpr_pg_alloc(alloc, (size_t) n_users + 1, sizeof(int64), "test rows");
	out->dropped = 0;
	for (int64 r = 0; r < rows->n; r++)
	{
		ru[r] = bpr_id_index(user_ids, n_users, rows->users[r]);
		ri[r] = bpr_id_index(item_ids, n_items, rows->items[r]);
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

/* Reads a validation table with the training's column mapping */
BprValidation *
bpr_validation_prepare(Oid relid, const BprTrainArgs *args, const BprDataset *ds,
					   BprPgAlloc *alloc)
{
	BprValidation *v = palloc0(sizeof(BprValidation));
	BprRatingRows rows;
	UserLists lists;

	bpr_read_ratings(relid, args->user_column, args->item_column, args->rating_column,
					 alloc, &rows);
	group_rows(&rows, ds->user_ids, ds->n_users, ds->item_ids, ds->n_items, alloc, &lists);
	v->k = 10;
	/* dim, the bias column and the offset column */
	v->user_vecs = bpr_pg_alloc(alloc, (size_t) ds->n_users, sizeof(float) * (args->cfg.dim + 2), "user vectors");
	v->item_vecs = bpr_pg_alloc(alloc, (size_t) ds->n_items, sizeof(float) * (args->cfg.dim + 2), "item vectors");
	v->offsets = args->calibrate ? bpr_pg_alloc(alloc, (size_t) ds->n_users, sizeof(float), "user offsets") : NULL;
	v->train = &ds->inter;
	v->input.n_users = ds->n_users;
	v->input.user_vecs = v->user_vecs;
	v->input.n_items = ds->n_items;
	v->input.item_vecs = v->item_vecs;
	v->input.item_ids = ds->item_ids;
	v->input.train_ptr = ds->inter.rated_ptr;
	v->input.train_items = ds->inter.rated;
	v->input.test_ptr = lists.ptr;
	v->input.test_items = lists.items;
	v->input.test_ratings = lists.ratings;
	v->input.threshold = args->rating_column ? args->positive_threshold : 0.0;
	v->input.k = v->k;
	return v;
}

/* Between blocks of users: honour cancels */
static void
check_interrupts(void *arg)
{
	CHECK_FOR_INTERRUPTS();
}

/* Evaluates the trainer's current weights on the validation set */
void
bpr_validation_run(BprValidation *v, BprTrainer *t, BprMetricsResult *res)
{
	BprPgAlloc	scratch;
	float		cold_offset;


	bpr_trainer_user_vectors(t, v->user_vecs);
	bpr_trainer_item_vectors(t, v->item_vecs);
	v->input.vec_dim = t->vec_dim;
	if (v->offsets)
		v->input.vec_dim = bpr_calibrate_vectors(v->train, v->user_vecs, v->item_vecs, t->vec_dim,
												 v->offsets, &cold_offset, check_interrupts, NULL);
	bpr_pg_alloc_init(&scratch, CurrentMemoryContext);
	scratch.limit = 0;
	bpr_evaluate_model(&v->input, &scratch.base, check_interrupts, NULL, res);
}

/* Metrics as a JSON object */
char *
bpr_metrics_json(const BprMetricsResult *r, int32 k, int32 epoch)
{
	return psprintf("{\"epoch\": %d, \"k\": %d, \"users\": " INT64_FORMAT ", \"seed_auc\": %.6f, \"rank_auc\": %.6f, "
					"\"precision\": %.6f, \"recall\": %.6f, \"ndcg\": %.6f, \"map\": %.6f, "
					"\"coverage\": %.6f}",
					epoch, k, r->users, r->seed_auc, r->rank_auc, r->precision, r->recall,
					r->ndcg, r->map, r->coverage);
}

/* Text argument or a default */
static char *
text_arg_or(FunctionCallInfo fcinfo, int n, char *dflt)
{
	return PG_ARGISNULL(n) ? dflt : text_to_cstring(PG_GETARG_TEXT_PP(n));
}

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
	UserLists	test_lists,
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
	model = PG_ARGISNULL(0) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(0));
	test = PG_GETARG_OID(1);
	k = PG_ARGISNULL(2) ? 10 : PG_GETARG_INT32(2);
	if (k < 1 || k > 100000)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("k must be between 1 and 100000")));

	cxt = AllocSetContextCreate(CurrentMemoryContext, "bpr evaluate", ALLOCSET_DEFAULT_SIZES);
	MemoryContextSwitchTo(cxt);
	bpr_pg_alloc_init(&alloc, cxt);
	alloc.limit = 0;
	search_path_level = bpr_pin_search_path();
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	m = bpr_cache_get(model);
	user_column = text_arg_or(fcinfo, 3, m->info.user_column);
	item_column = text_arg_or(fcinfo, 4, m->info.item_column);
	rating_column = text_arg_or(fcinfo, 5, m->info.rating_column);
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
	group_rows(&test_rows, m->users.ids, m->users.n, m->items.ids, m->items.n, &alloc, &test_lists);
	group_rows(&train_rows, m->users.ids, m->users.n, m->items.ids, m->items.n, &alloc, &train_lists);
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
	bpr_evaluate_model(&in, &alloc.base, check_interrupts, NULL, &res);
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
