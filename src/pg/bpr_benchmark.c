/*
 * bpr_benchmark.c - bpr_benchmark_sgemv: the memory-bandwidth bound of top-k, for benchmarks
 *
 * Times a plain cblas_sgemv over the very item matrix bpr_recommend scans (the
 * shared copy, or this backend's), so a benchmark can print bpr_recommend's
 * latency beside the cost of reading the matrix once.
 */
#include "postgres.h"

#include <cblas.h>

#include "fmgr.h"
#include "miscadmin.h"

#include "model_cache.h"
#include "util.h"

PG_FUNCTION_INFO_V1(bpr_benchmark_sgemv);

/* Milliseconds per cblas_sgemv over a model's item matrix (mean of calls, after one warm-up) */
Datum
bpr_benchmark_sgemv(PG_FUNCTION_ARGS)
{
	char	   *model = bpr_arg_text(fcinfo, 0, NULL);
	int32		calls = PG_ARGISNULL(1) ? 10 : PG_GETARG_INT32(1);
	BprCachedModel *volatile m = NULL;
	double		ms = 0.0;

	if (calls < 1 || calls > 100000)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("calls must be between 1 and 100000")));
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	PG_TRY();
	{
		const BprSide *items;
		float	   *u,
				   *scores;
		double		start;

		m = bpr_cache_get(model, 0);
		items = bpr_cache_side(m, false);
		u = palloc0(sizeof(float) * items->vec_dim);
		scores = palloc_extended(sizeof(float) * Max(items->n, 1), MCXT_ALLOC_HUGE);
		for (int32 d = 0; d < items->vec_dim; d++)
			u[d] = 1.0f / (float) (d + 1);
		for (int32 c = 0; c <= calls; c++)
		{
			/* the first call warms up: not timed */
			if (c == 1)
				start = bpr_now();
			CHECK_FOR_INTERRUPTS();
			cblas_sgemv(CblasRowMajor, CblasNoTrans, items->n, items->vec_dim, 1.0f,
						items->vectors, items->vec_dim, u, 1, 0.0f, scores, 1);
		}
		ms = (bpr_now() - start) * 1000.0 / calls;
	}
	PG_FINALLY();
	{
		bpr_cache_release(m);
	}
	PG_END_TRY();
	SPI_finish();
	PG_RETURN_FLOAT8(ms);
}
