/*
 * ranking.c - exact top-k over one side of a model, with filters, as SQL rows
 */
#include "postgres.h"

#include <cblas.h>
#include <math.h>
#include <sys/mman.h>

#include "catalog/pg_type.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"

#include "core/vecmath.h"
#include "ranking.h"
#include "util.h"

/*
 * Buffers of whole-side rankings, kept by the backend from call to call: a
 * buffer freed after each call comes back as fresh pages, and faulting in
 * megabytes of them costs more than the ranking on some virtual machines.
 * Huge pages where the kernel offers them (transparent huge pages, madvise).
 */
typedef struct RankScratch
{
	MemoryContext context;
	float	   *scores;
	uint8	   *excluded;
	Size		capacity;		/* entities each buffer holds */
	int			depth;			/* ranking functions running (a nested one allocates its own) */
} RankScratch;

static RankScratch scratch;

#define HUGE_PAGE_SIZE ((Size) 2 * 1024 * 1024)

/* Candidates ahead whose vector a candidate-list ranking prefetches */
#define CANDIDATE_PREFETCH 8

/* A buffer of size bytes in context, aligned to a huge page and advised to use them */
static void *
huge_buffer(MemoryContext context, Size size)
{
	Size		rounded = add_size(size, HUGE_PAGE_SIZE - 1) & ~(HUGE_PAGE_SIZE - 1);
	char	   *raw = MemoryContextAllocExtended(context, add_size(rounded, HUGE_PAGE_SIZE),
												 MCXT_ALLOC_HUGE);
	char	   *aligned = (char *) TYPEALIGN(HUGE_PAGE_SIZE, raw);

#ifdef MADV_HUGEPAGE
	(void) madvise(aligned, rounded, MADV_HUGEPAGE);
#endif
	return aligned;
}

/* Makes the backend's buffers hold n entities; false in a nested call (it allocates its own) */
static bool
scratch_reserve(int32 n)
{
	if (scratch.depth != 1)
		return false;
	if (scratch.context == NULL)
		scratch.context = AllocSetContextCreate(TopMemoryContext, "bpr ranking buffers",
												ALLOCSET_SMALL_SIZES);
	if ((Size) Max(n, 1) > scratch.capacity)
	{
		Size		capacity = Max((Size) Max(n, 1), scratch.capacity + scratch.capacity / 4);

		MemoryContextReset(scratch.context);
		scratch.capacity = 0;
		scratch.scores = huge_buffer(scratch.context, mul_size(capacity, sizeof(float)));
		scratch.excluded = huge_buffer(scratch.context, capacity);
		scratch.capacity = capacity;
	}
	return true;
}

/* Flags for n entities, all clear: the backend's buffers (grown) in the outermost call */
static uint8 *
excluded_flags(int32 n)
{
	if (!scratch_reserve(n))
		return palloc0(Max(n, 1));
	memset(scratch.excluded, 0, Max(n, 1));
	return scratch.excluded;
}

/* Room for n scores: the backend's buffer in the outermost call, else a fresh one */
static float *
score_buffer(int32 n)
{
	if (scratch_reserve(n))
		return scratch.scores;
	return palloc_extended(mul_size(Max(n, 1), sizeof(float)), MCXT_ALLOC_HUGE);
}

/* The k best entities, best first, into out (room for k); returns how many */
int32
bpr_rank(const BprRanking *r, int32 k, BprScored *out)
{
	const BprSide *side = r->side;
	float		qnorm = 0.0f;
	float	   *scores;
	int32		n_top;

	if (k <= 0 || side->n == 0)
		return 0;
	if (r->cosine)
	{
		double		n2 = bpr_dot_f64(r->query, r->query, r->dim);

		qnorm = n2 > 0.0 ? (float) (1.0 / sqrt(n2)) : 0.0f;
	}
	if (r->candidates == NULL)
	{
		/* every entity: one matrix-vector product over the side */
		scores = score_buffer(side->n);
		cblas_sgemv(CblasRowMajor, CblasNoTrans, side->n, r->cosine ? r->dim : side->vec_dim, 1.0f,
					side->vectors, side->vec_dim, r->query, 1, 0.0f, scores, 1);
		if (r->cosine)
			for (int32 i = 0; i < side->n; i++)
				scores[i] *= side->inv_norms[i] * qnorm;
		n_top = bpr_topk(scores, NULL, side->n, r->excluded, k, out);
	}
	else
	{
		/* a candidate list: score just those, positions as ids so ties go to the lower key */
		int64	   *pos = palloc(sizeof(int64) * Max(r->n_candidates, 1));
		uint8	   *skip = palloc0(Max(r->n_candidates, 1));

		scores = palloc(sizeof(float) * Max(r->n_candidates, 1));
		for (int32 c = 0; c < r->n_candidates; c++)
		{
			int32		p = r->candidates[c];
			const float *v = side->vectors + (size_t) p * side->vec_dim;

			/* rows far apart: ask for the lines of a row a few candidates ahead */
			if (c + CANDIDATE_PREFETCH < r->n_candidates)
			{
				int32		q = r->candidates[c + CANDIDATE_PREFETCH];
				const char *ahead = (const char *) (side->vectors + (size_t) q * side->vec_dim);

				for (Size b = 0; b < (Size) side->vec_dim * sizeof(float); b += 64)
					bpr_prefetch(ahead + b);
			}

			pos[c] = p;
			skip[c] = r->excluded != NULL && r->excluded[p];
			scores[c] = r->cosine ? bpr_dot(r->query, v, r->dim) * side->inv_norms[p] * qnorm :
				bpr_dot(r->query, v, side->vec_dim);
		}
		n_top = bpr_topk(scores, pos, r->n_candidates, skip, k, out);
		for (int32 i = 0; i < n_top; i++)
			out[i].index = (int32) out[i].id;
	}
	return n_top;
}

/* The elements of an array argument (or an unknown literal read as text[]) and their type */
static void
array_elements(FunctionCallInfo fcinfo, int argno, const char *what, Datum **elems,
			   bool **nulls, int *n, Oid *elem_type)
{
	Oid			type = get_fn_expr_argtype(fcinfo->flinfo, argno);
	ArrayType  *arr;
	int16		len;
	bool		byval;
	char		align;

	if (type == UNKNOWNOID)
	{
		arr = DatumGetArrayTypeP(OidFunctionCall3(F_ARRAY_IN, PG_GETARG_DATUM(argno),
												  ObjectIdGetDatum(TEXTOID), Int32GetDatum(-1)));
		type = TEXTARRAYOID;
	}
	else
	{
		if (!OidIsValid(get_element_type(getBaseType(type))))
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("%s must be an array of keys, not %s", what, format_type_be(type))));
		arr = DatumGetArrayTypeP(PG_GETARG_DATUM(argno));
	}
	if (ARR_NDIM(arr) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("%s must be a one-dimensional array", what)));
	*elem_type = ARR_ELEMTYPE(arr);
	get_typlenbyvalalign(*elem_type, &len, &byval, &align);
	deconstruct_array(arr, *elem_type, len, byval, align, elems, nulls, n);
}

/* The keys of an array argument, converted to key_type; NULL elements are left out */
int32
bpr_key_array_arg(FunctionCallInfo fcinfo, int argno, Oid key_type, const char *what,
				  const char *model, BprKey **keys)
{
	Datum	   *elems;
	bool	   *nulls;
	int			n;
	Oid			elem_type;
	int32		m = 0;

	array_elements(fcinfo, argno, what, &elems, &nulls, &n, &elem_type);
	*keys = palloc(sizeof(BprKey) * Max(n, 1));
	for (int i = 0; i < n; i++)
	{
		if ((i & 0xFFFF) == 0)
			CHECK_FOR_INTERRUPTS();
		if (!nulls[i])
			bpr_key_from_datum(elems[i], elem_type, key_type, what, model, &(*keys)[m++]);
	}
	return m;
}

/* Orders integer keys ascending (qsort) */
static int
int64_cmp(const void *a, const void *b)
{
	int64		x = *(const int64 *) a;
	int64		y = *(const int64 *) b;

	return (x > y) - (x < y);
}

/* Orders positions ascending (qsort) */
static int
position_cmp(const void *a, const void *b)
{
	int32		x = *(const int32 *) a;
	int32		y = *(const int32 *) b;

	return (x > y) - (x < y);
}

/*
 * Positions in side of the keys of an array argument, ascending and each
 * once; keys the side lacks are left out.  Nothing here is as large as the
 * side: a candidate list of 10,000 items of 1M touches 10,000 keys' worth
 * of memory, not megabytes of fresh pages.
 */
int32
bpr_key_array_positions(FunctionCallInfo fcinfo, int argno, const BprSide *side, Oid key_type,
						const char *what, const char *model, int32 **positions)
{
	Datum	   *elems;
	bool	   *nulls;
	int			n;
	Oid			elem_type;
	int32		m = 0,
				kept = 0,
				n_ints = 0;
	int64	   *ints;

	array_elements(fcinfo, argno, what, &elems, &nulls, &n, &elem_type);
	*positions = palloc(sizeof(int32) * Max(n, 1));
	ints = side->keys.is_int ? palloc(sizeof(int64) * Max(n, 1)) : NULL;
	for (int i = 0; i < n; i++)
	{
		BprKey		key;
		int64		pos;

		if ((i & 0xFFFF) == 0)
			CHECK_FOR_INTERRUPTS();
		if (nulls[i])
			continue;
		bpr_key_from_datum(elems[i], elem_type, key_type, what, model, &key);
		if (ints != NULL)
		{
			if (key.is_int)
				ints[n_ints++] = key.ival;	/* found below, in key order */
		}
		else if ((pos = bpr_key_find(&side->keys, &key)) >= 0)
			(*positions)[m++] = (int32) pos;
	}
	if (ints != NULL)
	{
		/* integer keys: sorted, then each found by galloping from the previous one */
		int64		at = 0;

		qsort(ints, n_ints, sizeof(int64), int64_cmp);
		for (int32 i = 0; i < n_ints; i++)
		{
			at = bpr_keyset_lower_bound_int(&side->keys, ints[i], at);
			if (at < side->keys.n && side->keys.ints[at] == ints[i])
				(*positions)[m++] = (int32) at;
		}
		pfree(ints);
	}
	else
		qsort(*positions, m, sizeof(int32), position_cmp);
	for (int32 i = 0; i < m; i++)
		if (i == 0 || (*positions)[i] != (*positions)[kept - 1])
			(*positions)[kept++] = (*positions)[i];
	pfree(elems);
	pfree(nulls);
	return kept;
}

/* Emits ranked rows (key in result_type, score, rank) into the SRF's tuplestore */
void
bpr_rank_emit(FunctionCallInfo fcinfo, const BprSide *side, const BprScored *top, int32 n,
			  Oid result_type)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;

	for (int32 r = 0; r < n; r++)
	{
		Datum		values[3];
		bool		nulls[3] = {false, false, false};

		values[0] = bpr_key_datum(&side->keys, top[r].index, result_type);
		values[1] = Float4GetDatum(top[r].score);
		values[2] = Int32GetDatum(r + 1);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
}

/* The key argument's entity and its vector (stored, else cold start); ERROR 42704 when unknown */
static void
key_vector(FunctionCallInfo fcinfo, const BprRankCall *call, BprCachedModel *m, BprKey *key,
		   float *out)
{
	const char *side = call->user_key ? "user" : "item";

	bpr_key_from_datum(PG_GETARG_DATUM(call->key_arg), get_fn_expr_argtype(fcinfo->flinfo, call->key_arg),
					   call->user_key ? m->info.user_key_type : m->info.item_key_type,
					   psprintf("%s key", side), m->info.model, key);
	if (!bpr_cache_vector(m, call->user_key, key, out))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("%s %s is unknown to model \"%s\"", side, bpr_key_arg_text(key), m->info.model),
				 errdetail("The %s has no ratings in training and no row in the %ss table.", side, side)));
}

/* A boolean argument, true when the function has it and it is true or NULL (the default) */
static bool
flag_arg(FunctionCallInfo fcinfo, int n)
{
	return n >= 0 && n < PG_NARGS() && (PG_ARGISNULL(n) || PG_GETARG_BOOL(n));
}

/* Ranks the side a call names for its key and emits the k best as rows */
static void
rank_call(FunctionCallInfo fcinfo, const BprRankCall *call, BprCachedModel *m, int32 k)
{
	Oid			key_type = call->rank_users ? m->info.user_key_type : m->info.item_key_type;
	Oid			result_type = get_fn_expr_argtype(fcinfo->flinfo, call->key_arg);
	const BprSide *side;
	BprRanking	r;
	BprKey		key;
	float	   *v = palloc(sizeof(float) * m->info.vec_dim);
	BprScored  *top;
	int32		n;

	bpr_key_check_result(result_type, key_type, call->rank_users ? "user" : "item", m->info.model);
	key_vector(fcinfo, call, m, &key, v);
	side = bpr_cache_side(m, call->rank_users);
	memset(&r, 0, sizeof(r));
	r.side = side;
	r.query = v;
	r.excluded = excluded_flags(side->n);
	if (bpr_arg_given(fcinfo, call->only_arg))
		r.n_candidates = bpr_key_array_positions(fcinfo, call->only_arg, side, key_type,
												 call->only_name, m->info.model,
												 (int32 **) &r.candidates);
	if (bpr_arg_given(fcinfo, call->exclude_arg))
	{
		int32	   *excluded;
		int32		n_excluded = bpr_key_array_positions(fcinfo, call->exclude_arg, side, key_type,
														"exclude", m->info.model, &excluded);

		for (int32 i = 0; i < n_excluded; i++)
			r.excluded[excluded[i]] = 1;
	}
	if (call->similar)
	{
		/* cosine over the embedding alone, and never the entity itself */
		int64		self = bpr_key_find(&side->keys, &key);

		r.cosine = true;
		r.dim = m->info.dim;
		if (self >= 0)
			r.excluded[self] = 1;
	}
	if (call->cold_arg >= 0 && !flag_arg(fcinfo, call->cold_arg) && side->n_cold > 0)
		for (int32 i = 0; i < side->n; i++)
			r.excluded[i] |= side->cold[i];
	if (flag_arg(fcinfo, call->rated_arg))
	{
		if (call->user_key)
			bpr_cache_rated_items(m, &key, side, r.excluded);
		else
			bpr_cache_item_raters(m, &key, side, r.excluded);
	}

	n = Min(k, side->n);
	top = palloc(sizeof(BprScored) * Max(n, 1));
	n = bpr_rank(&r, n, top);
	bpr_rank_emit(fcinfo, side, top, n, result_type);
}

/* Runs a ranking function: arguments checked, the model pinned in SPI around the ranking */
Datum
bpr_rank_function(FunctionCallInfo fcinfo, const BprRankCall *call)
{
	char	   *model = bpr_arg_text(fcinfo, call->model_arg, NULL);
	BprCachedModel *volatile m = NULL;
	int32		k;

	InitMaterializedSRF(fcinfo, 0);
	if (PG_ARGISNULL(call->key_arg) || PG_ARGISNULL(call->k_arg))
		return (Datum) 0;
	k = PG_GETARG_INT32(call->k_arg);
	if (k < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("k must not be negative")));
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	scratch.depth++;
	PG_TRY();
	{
		m = bpr_cache_get(model, 0);
		if (k > 0)
			rank_call(fcinfo, call, m, k);
	}
	PG_FINALLY();
	{
		scratch.depth--;
		bpr_cache_release(m);
	}
	PG_END_TRY();
	SPI_finish();
	return (Datum) 0;
}
