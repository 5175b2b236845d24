/*
 * bpr_score.c - bpr_score: the score of one (user, item) pair under the active model
 */
#include "postgres.h"

#include "fmgr.h"

#include "core/vecmath.h"
#include "model_cache.h"
#include "util.h"

PG_FUNCTION_INFO_V1(bpr_score);

/*
 * The dot product of two vectors, out of line: inlined under PG_TRY, its sum
 * would live in memory (a variable set after setjmp), one store per element
 */
static pg_noinline float
pair_score(const float *u, const float *v, int32 n)
{
	return bpr_dot(u, v, n);
}

/* Scores one (user, item) pair; NULL when either is unknown to the model and its tables */
Datum
bpr_score(PG_FUNCTION_ARGS)
{
	char	   *model = bpr_arg_text(fcinfo, 2, NULL);
	BprCachedModel *volatile m = NULL;
	bool		found = false;
	float		score = 0.0f;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		PG_RETURN_NULL();
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	PG_TRY();
	{
		BprKey		user,
					item;
		float	   *u,
				   *v;

		m = bpr_cache_get(model, 0);
		bpr_key_from_datum(PG_GETARG_DATUM(0), get_fn_expr_argtype(fcinfo->flinfo, 0),
						   m->info.user_key_type, "user key", m->info.model, &user);
		bpr_key_from_datum(PG_GETARG_DATUM(1), get_fn_expr_argtype(fcinfo->flinfo, 1),
						   m->info.item_key_type, "item key", m->info.model, &item);
		u = palloc(sizeof(float) * m->info.vec_dim);
		v = palloc(sizeof(float) * m->info.vec_dim);
		found = bpr_cache_vector(m, true, &user, u) && bpr_cache_vector(m, false, &item, v);
		if (found)
			score = pair_score(u, v, m->info.vec_dim);
	}
	PG_FINALLY();
	{
		bpr_cache_release(m);
	}
	PG_END_TRY();
	SPI_finish();
	if (!found)
		PG_RETURN_NULL();
	PG_RETURN_FLOAT4(score);
}
