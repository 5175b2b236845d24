/*
 * topk.h - exact top-k selection with a bounded heap
 *
 * Order: higher score first; equal scores by ascending id (EVALUATION.md).
 */
#ifndef BPR_TOPK_H
#define BPR_TOPK_H

#include "alloc.h"

typedef struct BprScored
{
	float		score;
	int32_t		index;			/* position in the scored array */
	int64_t		id;				/* external id, for ties */
} BprScored;

/* True when a ranks before b */
static inline bool
bpr_scored_before(const BprScored *a, const BprScored *b)
{
	return a->score > b->score || (a->score == b->score && a->id < b->id);
}

/*
 * Writes the k best of n scores into out (room for k), best first, skipping
 * positions whose exclude byte is nonzero (exclude may be NULL) and NaN scores.
 * ids may be NULL (ids = positions).  Returns how many were written (<= k).
 */
int32_t		bpr_topk(const float *scores, const int64_t *ids, int32_t n,
					 const uint8_t *exclude, int32_t k, BprScored *out);

/*
 * As bpr_topk, but skips positions whose status byte equals skip_status (status
 * may be NULL: nothing skipped but NaN scores).  Used to rank one user's items
 * while leaving out those rated in train, without building an exclude mask.
 */
int32_t		bpr_topk_status(const float *scores, const int64_t *ids, int32_t n,
							const uint8_t *status, uint8_t skip_status,
							int32_t k, BprScored *out);

#endif
