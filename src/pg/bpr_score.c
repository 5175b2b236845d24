/*
 * bpr_score.c - bpr_score: the score of one (user, item) pair under the active model
 */
#include "postgres.h"

#include "fmgr.h"

#include "core/vecmath.h"
#include "model_cache.h"
#include "util.h"

PG_FUNCTION_INFO_V1(bpr_score);

/* Scores one (user, item) pair; NULL when either is unknown to the model and its tables */
Datum
bpr_score(PG_FUNCTION_ARGS)
{
	char	   *model = bpr_arg_text(fcinfo, 2, NULL);
	BprCachedModel *m;
	float	   *u,
			   *v;
	bool		found;
	float		score = 0.0f;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		PG_RETURN_NULL();
	SPI_connect();
	m = bpr_cache_get(model);
	u = palloc(sizeof(float) * m->info.vec_dim);
	v = palloc(sizeof(float) * m->info.vec_dim);
	found = bpr_cache_vector(m, true, PG_GETARG_INT64(0), u) &&
		bpr_cache_vector(m, false, PG_GETARG_INT64(1), v);
	if (found)
		score = bpr_dot(u, v, m->info.vec_dim);
	bpr_cache_release();
	SPI_finish();
	if (!found)
		PG_RETURN_NULL();
	PG_RETURN_FLOAT4(score);
}
