/*
 * bpr_evaluate.c - bpr_evaluate: ranking quality of a stored model on a test table
 *
 * Test users and items the model has no vector for are scored from their
 * features, as bpr_score scores them (a cold-start split holds users out
 * whole); those without a feature row cannot be scored and are left out with
 * a NOTICE.  The items ranked are the model's (stored cold items included)
 * and the test's cold items.
 */
#include "postgres.h"

#include <math.h>

#include "access/htup_details.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"

#include "core/evaluation.h"
#include "dataset.h"
#include "bpr_evaluate.h"
#include "guc.h"
#include "keys.h"
#include "model_cache.h"
#include "util.h"

PG_FUNCTION_INFO_V1(bpr_evaluate);

/* Argument positions of bpr_evaluate, as in sql/bpr.sql */
enum
{
	A_MODEL, A_TEST, A_K, A_USER_COLUMN, A_ITEM_COLUMN, A_RATING_COLUMN, A_THRESHOLD, A_VERSION
};

/* The vectors of one side for evaluation: the model's, then cold ones from features */
static float *
side_vectors(BprCachedModel *m, bool user_side, const BprSide *side, const BprKeyDict *dict,
			 uint8 *scorable, int64 *unscored)
{
	int32		vd = m->info.vec_dim;
	float	   *vecs;

	*unscored = 0;
	if (dict->n == side->n)
		return (float *) side->vectors;	/* nobody cold: the model's own matrix */
	vecs = palloc_extended(sizeof(float) * (Size) dict->n * vd, MCXT_ALLOC_HUGE);
	memcpy(vecs, side->vectors, sizeof(float) * (Size) side->n * vd);
	for (int32 i = side->n; i < dict->n; i++)
	{
		BprKey		key;

		if ((i & 255) == 0)
			CHECK_FOR_INTERRUPTS();
		key.is_int = dict->is_int;
		if (dict->is_int)
			key.ival = dict->ints[i];
		else
		{
			key.bytes = dict->bytes + dict->offsets[i];
			key.len = (size_t) (dict->offsets[i + 1] - dict->offsets[i]);
		}
		if (bpr_cache_vector(m, user_side, &key, vecs + (size_t) i * vd))
			scorable[i] = 1;
		else
			(*unscored)++;
	}
	return vecs;
}

/*
 * Moves the scorable cold items up to follow the model's items (n_model of
 * them) and fills remap (old index -> new, -1 when unscorable); returns the
 * count of items ranked.
 */
static int32
compact_items(float *vecs, int32 vec_dim, const uint8 *ok, int32 n_model, int32 n, int32 *remap)
{
	int32		next = n_model;

	for (int32 i = 0; i < n; i++)
	{
		if (i < n_model)
			remap[i] = i;
		else if (!ok[i])
			remap[i] = -1;
		else
		{
			if (next != i)
				memcpy(vecs + (size_t) next * vec_dim, vecs + (size_t) i * vec_dim,
					   sizeof(float) * vec_dim);
			remap[i] = next++;
		}
	}
	return next;
}

/* Renumbers the items of per-user lists, dropping those of unscorable users or items */
static void
remap_lists(BprUserLists *lists, const uint8 *user_ok, const int32 *item_remap, int64 *dropped)
{
	int64		kept = 0;

	for (int32 u = 0; u < lists->n_users; u++)
	{
		int64		b = lists->ptr[u],
					e = lists->ptr[u + 1];

		lists->ptr[u] = kept;
		for (int64 p = b; p < e; p++)
		{
			int32		item = item_remap[lists->items[p]];

			if (!user_ok[u] || item < 0)
			{
				if (dropped)
					(*dropped)++;
				continue;
			}
			lists->items[kept] = item;
			lists->cls[kept] = lists->cls[p];
			kept++;
		}
	}
	lists->ptr[lists->n_users] = kept;
}

/* Evaluates a cached model version on a test table */
static void
evaluate(const BprEvalRequest *req, BprCachedModel *m, BprMetricsResult *res)
{
	BprModelInfo *info = &m->info;
	BprRowSource test;
	BprRowSource train;
	BprPgAlloc	alloc;
	BprKeyDict	users,
				items;
	BprRows		rows;
	BprUserLists test_lists,
				train_lists;
	const BprSide *uside = bpr_cache_side(m, true);
	const BprSide *iside = bpr_cache_side(m, false);
	uint8	   *user_ok,
			   *item_ok,
			   *all_users;
	int32	   *item_remap;
	uint8	   *liked;
	int64		cold_unscored_users,
				cold_unscored_items,
				dropped = 0;
	BprEvalInput in;
	double		threshold;

	bpr_pg_alloc_init(&alloc, CurrentMemoryContext, 0);
	memset(&test, 0, sizeof(test));
	test.relid = req->test;
	test.user_column = req->user_column ? req->user_column : info->user_column;
	test.item_column = req->item_column ? req->item_column : info->item_column;
	test.rating_column = req->rating_given ? req->rating_column : info->rating_column;
	threshold = isnan(req->threshold) ? info->positive_threshold : req->threshold;
	test.positive_threshold = threshold;
	test.negative_threshold = -INFINITY;
	test.user_type = info->user_key_type;
	test.item_type = info->item_key_type;
	bpr_check_row_source(&test);

	/* the model's keys first, so a known key's index is its position; cold ones follow */
	bpr_keydict_init(&users, uside->keys.is_int, PG_INT32_MAX / 2, &alloc.base);
	bpr_keydict_init(&items, iside->keys.is_int, PG_INT32_MAX / 2, &alloc.base);
	bpr_keydict_from_set(&users, &uside->keys);
	bpr_keydict_from_set(&items, &iside->keys);
	bpr_read_rows(&test, &users, &items, true, &alloc, &rows);
	if (rows.n == 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("test table \"%s\" has no usable rows", bpr_relation_name(test.relid)),
				 errdetail("Rows with a NULL key or rating, or a non-finite rating, are left out.")));
	bpr_user_lists_build(&rows, users.n, &alloc, &test_lists);
	bpr_rows_free(&rows, &alloc);

	/* what each user rated in the model's training table, as it is now */
	if (get_rel_name(info->ratings) == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("the ratings table of model \"%s\" no longer exists", info->model),
				 errdetail("bpr_evaluate leaves out of each ranking the items the user rated in training.")));
	memset(&train, 0, sizeof(train));
	train.relid = info->ratings;
	train.user_column = info->user_column;
	train.item_column = info->item_column;
	train.user_type = info->user_key_type;
	train.item_type = info->item_key_type;
	bpr_read_rows(&train, &users, &items, false, &alloc, &rows);
	bpr_user_lists_build(&rows, users.n, &alloc, &train_lists);
	bpr_rows_free(&rows, &alloc);

	/* vectors: the model's, and cold ones from features */
	user_ok = palloc(Max(users.n, 1));
	item_ok = palloc(Max(items.n, 1));
	memset(user_ok, 1, uside->n);
	memset(item_ok, 1, iside->n);
	memset(user_ok + uside->n, 0, users.n - uside->n);
	memset(item_ok + iside->n, 0, items.n - iside->n);
	memset(&in, 0, sizeof(in));
	in.user_vecs = side_vectors(m, true, uside, &users, user_ok, &cold_unscored_users);
	in.item_vecs = side_vectors(m, false, iside, &items, item_ok, &cold_unscored_items);
	item_remap = palloc(sizeof(int32) * Max(items.n, 1));
	in.n_items = items.n == iside->n ? items.n :
		compact_items((float *) in.item_vecs, info->vec_dim, item_ok, iside->n, items.n, item_remap);
	if (items.n == iside->n)
		for (int32 i = 0; i < items.n; i++)
			item_remap[i] = i;
	all_users = palloc(Max(users.n, 1));
	memset(all_users, 1, Max(users.n, 1));
	remap_lists(&test_lists, user_ok, item_remap, &dropped);
	remap_lists(&train_lists, all_users, item_remap, NULL);
	if (dropped > 0)
		ereport(NOTICE,
				(errmsg("skipped " INT64_FORMAT " test rows whose user or item the model has no vector for and no feature row to score",
						dropped),
				 errdetail(INT64_FORMAT " such users and " INT64_FORMAT " such items.",
						   cold_unscored_users, cold_unscored_items)));
	if (test_lists.ptr[users.n] == 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("no row of test table \"%s\" can be scored by model \"%s\"",
						bpr_relation_name(test.relid), info->model),
				 errdetail("Its users and items are unknown to the model and have no feature rows.")));

	liked = palloc(Max(test_lists.ptr[users.n], 1));
	for (int64 p = 0; p < test_lists.ptr[users.n]; p++)
		liked[p] = test_lists.cls[p] == BPR_CLASS_LIKED;
	in.n_users = users.n;
	in.item_ids = NULL;
	in.vec_dim = info->vec_dim;
	in.train_ptr = train_lists.ptr;
	in.train_items = train_lists.items;
	in.test_ptr = test_lists.ptr;
	in.test_items = test_lists.items;
	in.test_liked = liked;
	in.k = req->k;
	in.threads = bpr_evaluation_threads(in.n_items, in.vec_dim, in.k, 0);
	/* each thread calls OpenBLAS: it starts none of its own meanwhile */
	bpr_blas_threads_single();
	PG_TRY();
	{
		bpr_evaluate_model(&in, &alloc.base, bpr_check_interrupts, NULL, res);
	}
	PG_FINALLY();
	{
		bpr_blas_threads_restore();
	}
	PG_END_TRY();
	if (res->users == 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("no test user of \"%s\" has a liked item", bpr_relation_name(test.relid)),
				 errdetail("Liked means a rating of at least %g.", threshold)));
}

/* Evaluates a stored version; caller is in SPI */
void
bpr_evaluate_version(const BprEvalRequest *req, BprMetricsResult *res)
{
	BprCachedModel *volatile m = NULL;

	PG_TRY();
	{
		int			level;

		m = bpr_cache_get(req->model, req->version);
		level = bpr_pin_search_path();
		evaluate(req, m, res);
		bpr_unpin_search_path(level);
	}
	PG_FINALLY();
	{
		bpr_cache_release(m);
	}
	PG_END_TRY();
}

/* Ranking quality of a model version on a test ratings table (../shared/EVALUATION.md) */
Datum
bpr_evaluate(PG_FUNCTION_ARGS)
{
	TupleDesc	tupdesc;
	BprEvalRequest req;
	MemoryContext cxt;
	MemoryContext old;
	BprMetricsResult res;
	Datum		values[8];
	bool		nulls[8] = {false};

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	tupdesc = BlessTupleDesc(tupdesc);
	memset(&req, 0, sizeof(req));
	req.model = bpr_arg_text(fcinfo, A_MODEL, NULL);
	req.version = bpr_arg_given(fcinfo, A_VERSION) ? PG_GETARG_INT32(A_VERSION) : 0;
	req.k = PG_ARGISNULL(A_K) ? 10 : PG_GETARG_INT32(A_K);
	req.user_column = bpr_arg_text(fcinfo, A_USER_COLUMN, NULL);
	req.item_column = bpr_arg_text(fcinfo, A_ITEM_COLUMN, NULL);
	req.rating_column = bpr_arg_text(fcinfo, A_RATING_COLUMN, NULL);
	req.rating_given = req.rating_column != NULL;
	req.threshold = bpr_arg_given(fcinfo, A_THRESHOLD) ? PG_GETARG_FLOAT8(A_THRESHOLD) : NAN;
	if (PG_ARGISNULL(A_TEST))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("test table must not be NULL")));
	req.test = PG_GETARG_OID(A_TEST);
	if (req.k < 1 || req.k > 100000)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("k must be between 1 and 100000")));
	if (bpr_arg_given(fcinfo, A_THRESHOLD) && !isfinite(req.threshold))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("positive_threshold must be a finite number")));
	if (bpr_arg_given(fcinfo, A_VERSION) && req.version < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("version must be positive")));

	cxt = AllocSetContextCreate(CurrentMemoryContext, "bpr evaluate", ALLOCSET_DEFAULT_SIZES);
	old = MemoryContextSwitchTo(cxt);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	bpr_evaluate_version(&req, &res);
	SPI_finish();
	MemoryContextSwitchTo(old);

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
