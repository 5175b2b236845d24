/*
 * ranking.h - exact top-k over one side of a model, with filters, as SQL rows
 *
 * Scores every entity of a side (one cblas_sgemv), or only a list of
 * candidates, against a query vector: by dot product (a user against items,
 * an item against users) or by cosine between embeddings (similar items,
 * similar users).  Excluded entities never rank; the rows are ranked 1..k
 * without gaps, ties going to the lower key.
 */
#ifndef BPR_RANKING_H
#define BPR_RANKING_H

#include "postgres.h"

#include "fmgr.h"

#include "core/topk.h"
#include "model_cache.h"

/* A ranking request over one side */
typedef struct BprRanking
{
	const BprSide *side;
	const float *query;			/* vec_dim values (dot), or the embedding to compare (cosine) */
	int32		dim;			/* cosine: the embedding width compared */
	bool		cosine;
	uint8	   *excluded;		/* side->n flags (entities never ranked), or NULL */
	const int32 *candidates;	/* positions to rank (no repeats), or NULL for every entity */
	int32		n_candidates;
} BprRanking;

/* The k best entities, best first, into out (room for k); returns how many */
int32		bpr_rank(const BprRanking *r, int32 k, BprScored *out);

/*
 * Positions in side of the keys in array argument argno ("any": an array of
 * keys, or an unknown literal read as text[]); keys the side lacks are left
 * out, repeats kept once.  Returns the count; *positions is palloc'd.
 */
int32		bpr_key_array_positions(FunctionCallInfo fcinfo, int argno, const BprSide *side,
									Oid key_type, const char *what, const char *model,
									int32 **positions);

/* Emits ranked rows (key in result_type, score, rank) into the SRF's tuplestore */
void		bpr_rank_emit(FunctionCallInfo fcinfo, const BprSide *side, const BprScored *top,
						  int32 n, Oid result_type);

#endif
