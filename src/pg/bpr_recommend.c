/*
 * bpr_recommend.c - bpr_recommend: exact top-k items for a user under the active model
 */
#include "postgres.h"

#include <cblas.h>

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"

#include "core/topk.h"
#include "core/vecmath.h"
#include "model_cache.h"
#include "util.h"

PG_FUNCTION_INFO_V1(bpr_recommend);

/* Marks the items the user rated in the model's ratings table, as it is now */
static void
mark_rated(BprCachedModel *m, int64 user, uint8 *exclude)
{
	Datum		arg[1];
	int			level;

	if (get_rel_name(m->info.ratings) == NULL)
		return;					/* the ratings table is gone: nothing to exclude */
	level = bpr_pin_search_path();
	if (m->rated_plan == NULL)
	{
		Oid			types[1] = {INT8OID};
		char	   *sql = psprintf("SELECT %s::int8 FROM %s WHERE %s = $1",
								   quote_identifier(m->info.item_column),
								   bpr_relation_sql_name(m->info.ratings),
								   quote_identifier(m->info.user_column));

		m->rated_plan = bpr_spi_prepare(sql, 1, types);
		SPI_keepplan(m->rated_plan);
	}
	arg[0] = Int64GetDatum(user);
	bpr_spi_execute(m->rated_plan, arg, NULL, true, SPI_OK_SELECT);
	bpr_unpin_search_path(level);
	for (uint64 r = 0; r < SPI_processed; r++)
	{
		bool		isnull;
		Datum		d = SPI_getbinval(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, 1, &isnull);
		int32		idx;

		if (isnull)
			continue;
		idx = (int32) bpr_find_i64(m->items.ids, m->items.n, DatumGetInt64(d));
		if (idx >= 0)
			exclude[idx] = 1;
	}
}

/* Exact top-k items for a user, best first */
Datum
bpr_recommend(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	char	   *model = bpr_arg_text(fcinfo, 2, NULL);
	bool		exclude_rated = PG_ARGISNULL(3) ? true : PG_GETARG_BOOL(3);
	int64		user;
	int32		k;
	BprCachedModel *m;
	float	   *u,
			   *scores;
	uint8	   *exclude = NULL;
	BprScored  *top;
	int32		n_top;

	InitMaterializedSRF(fcinfo, 0);
	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		return (Datum) 0;
	user = PG_GETARG_INT64(0);
	k = PG_GETARG_INT32(1);
	if (k < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("k must not be negative")));

	SPI_connect();
	m = bpr_cache_get(model);
	u = palloc(sizeof(float) * m->info.vec_dim);
	if (!bpr_cache_vector(m, true, user, u))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("user " INT64_FORMAT " is unknown to model \"%s\"", user, m->info.model),
				 errdetail("The user has no ratings in training and no row in the users table.")));
	k = Min(k, m->items.n);
	if (k == 0 || m->items.n == 0)
	{
		bpr_cache_release();
		SPI_finish();
		return (Datum) 0;
	}
	scores = palloc_extended(sizeof(float) * m->items.n, MCXT_ALLOC_HUGE);
	cblas_sgemv(CblasRowMajor, CblasNoTrans, m->items.n, m->info.vec_dim, 1.0f,
				m->items.vectors, m->info.vec_dim, u, 1, 0.0f, scores, 1);
	if (exclude_rated)
	{
		exclude = palloc_extended(m->items.n, MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
		mark_rated(m, user, exclude);
	}
	top = palloc(sizeof(BprScored) * k);
	n_top = bpr_topk(scores, m->items.ids, m->items.n, exclude, k, top);
	for (int32 r = 0; r < n_top; r++)
	{
		Datum		values[3];
		bool		nulls[3] = {false, false, false};

		values[0] = Int64GetDatum(top[r].id);
		values[1] = Float4GetDatum(top[r].score);
		values[2] = Int32GetDatum(r + 1);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	bpr_cache_release();
	SPI_finish();
	return (Datum) 0;
}
