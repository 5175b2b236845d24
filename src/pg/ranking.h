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
 * The keys in array argument argno ("any": an array of keys, or an unknown
 * literal read as text[]), converted to key_type; NULL elements are left out,
 * repeats kept.  Returns the count; *keys is palloc'd.
 */
int32		bpr_key_array_arg(FunctionCallInfo fcinfo, int argno, Oid key_type, const char *what,
							  const char *model, BprKey **keys);

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

/*
 * What a ranking function ranks, and where its arguments are: the entities of
 * one side, for the key argument (a user or an item), by score or by
 * similarity.  An argument position of -1 means the function has none.
 */
typedef struct BprRankCall
{
	bool		user_key;		/* the key argument is a user's (else an item's) */
	bool		rank_users;		/* the side ranked */
	bool		similar;		/* cosine over the embedding, the key's entity left out; else the score */
	int			key_arg;
	int			k_arg;
	int			model_arg;
	int			only_arg;		/* an array: rank only these */
	const char *only_name;
	int			exclude_arg;	/* an array: never these */
	int			rated_arg;		/* boolean, default true: leave out what the key's entity rated (or who rated it) */
	int			cold_arg;		/* boolean, default true: rank cold items */
} BprRankCall;

/*
 * Runs a ranking function (a materialised SRF): no rows when the key or k is
 * NULL, ERROR 22023 when k is negative, ERROR 42704 when the key is unknown
 * (neither stored nor in its features table); else the k best entities,
 * ranked 1..k, keys in the type of the key argument.
 */
Datum		bpr_rank_function(FunctionCallInfo fcinfo, const BprRankCall *call);

#endif
