/*
 * bpr_recommend.c - bpr_recommend: exact top-k items for a user under the active model
 */
#include "postgres.h"

#include "fmgr.h"
#include "funcapi.h"

#include "model_cache.h"
#include "ranking.h"
#include "util.h"

PG_FUNCTION_INFO_V1(bpr_recommend);

/* Argument positions of bpr_recommend, as in sql/bpr.sql */
enum
{
	A_USER, A_K, A_MODEL, A_EXCLUDE_RATED, A_ITEMS, A_EXCLUDE, A_COLD_ITEMS
};

/* Checks k (22023 when negative) */
static int32
arg_k(FunctionCallInfo fcinfo, int n)
{
	int32		k = PG_GETARG_INT32(n);

	if (k < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("k must not be negative")));
	return k;
}

/* The top k of a cached model's items for one user, as rows */
static void
recommend(FunctionCallInfo fcinfo, BprCachedModel *m, int32 k)
{
	const char *name = m->info.model;
	Oid			result_type = get_fn_expr_argtype(fcinfo->flinfo, A_USER);
	bool		exclude_rated = !bpr_arg_given(fcinfo, A_EXCLUDE_RATED) || PG_GETARG_BOOL(A_EXCLUDE_RATED);
	bool		cold_items = !bpr_arg_given(fcinfo, A_COLD_ITEMS) || PG_GETARG_BOOL(A_COLD_ITEMS);
	const BprSide *items;
	BprRanking	r;
	BprKey		user;
	float	   *u = palloc(sizeof(float) * m->info.vec_dim);
	BprScored  *top;
	int32		n_top;

	bpr_key_check_result(result_type, m->info.item_key_type, "item", name);
	bpr_key_from_datum(PG_GETARG_DATUM(A_USER), result_type, m->info.user_key_type,
					   "user key", name, &user);
	if (!bpr_cache_vector(m, true, &user, u))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("user %s is unknown to model \"%s\"", bpr_key_arg_text(&user), name),
				 errdetail("The user has no ratings in training and no row in the users table.")));
	items = bpr_cache_side(m, false);
	memset(&r, 0, sizeof(r));
	r.side = items;
	r.query = u;
	r.excluded = palloc0(Max(items->n, 1));
	if (bpr_arg_given(fcinfo, A_ITEMS))
		r.n_candidates = bpr_key_array_positions(fcinfo, A_ITEMS, items, m->info.item_key_type,
												 "items", name, (int32 **) &r.candidates);
	if (bpr_arg_given(fcinfo, A_EXCLUDE))
	{
		int32	   *excluded;
		int32		n = bpr_key_array_positions(fcinfo, A_EXCLUDE, items, m->info.item_key_type,
											   "exclude", name, &excluded);

		for (int32 i = 0; i < n; i++)
			r.excluded[excluded[i]] = 1;
	}
	if (!cold_items && items->n_cold > 0)
		for (int32 i = 0; i < items->n; i++)
			r.excluded[i] |= items->cold[i];
	if (exclude_rated)
		bpr_cache_rated_items(m, &user, items, r.excluded);

	top = palloc(sizeof(BprScored) * Max(k, 1));
	n_top = bpr_rank(&r, Min(k, items->n), top);
	bpr_rank_emit(fcinfo, items, top, n_top, result_type);
}

/* Exact top-k items for a user, best first; item keys come back in the user key's type */
Datum
bpr_recommend(PG_FUNCTION_ARGS)
{
	char	   *model = bpr_arg_text(fcinfo, A_MODEL, NULL);
	BprCachedModel *volatile m = NULL;
	int32		k;

	InitMaterializedSRF(fcinfo, 0);
	if (PG_ARGISNULL(A_USER) || PG_ARGISNULL(A_K))
		return (Datum) 0;
	k = arg_k(fcinfo, A_K);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	PG_TRY();
	{
		m = bpr_cache_get(model, 0);
		if (k > 0)
			recommend(fcinfo, m, k);
	}
	PG_FINALLY();
	{
		bpr_cache_release(m);
	}
	PG_END_TRY();
	SPI_finish();
	return (Datum) 0;
}
