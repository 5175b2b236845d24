/*
 * topk.c - exact top-k selection with a bounded binary heap
 *
 * The heap keeps the k best entries seen so far with the worst of them at the
 * root, so a streamed score that cannot enter is rejected by one comparison
 * with the root.  At the end the heap is sorted in place, best first.
 */
#include <math.h>

#include "topk.h"

/* Moves heap[i] down until both children rank before it (the root is the worst) */
static inline void
heap_sift_down(BprScored *heap, int32_t m, int32_t i)
{
	BprScored	x = heap[i];

	for (;;)
	{
		int32_t		c = 2 * i + 1;

		if (c >= m)
			break;
		/* pick the worse child */
		if (c + 1 < m && bpr_scored_before(&heap[c], &heap[c + 1]))
			c++;
		if (!bpr_scored_before(&x, &heap[c]))
			break;
		heap[i] = heap[c];
		i = c;
	}
	heap[i] = x;
}

/* Moves heap[i] up while it ranks after its parent */
static inline void
heap_sift_up(BprScored *heap, int32_t i)
{
	BprScored	x = heap[i];

	while (i > 0)
	{
		int32_t		p = (i - 1) / 2;

		if (!bpr_scored_before(&heap[p], &x))
			break;
		heap[i] = heap[p];
		i = p;
	}
	heap[i] = x;
}

/*
 * The shared selection loop: skips NaN scores and positions where mask is
 * nonzero (by_status false) or equal to skip (by_status true).
 */
static inline int32_t
topk_select(const float *scores, const int64_t *ids, int32_t n,
			const uint8_t *mask, bool by_status, uint8_t skip,
			int32_t k, BprScored *out)
{
	int32_t		m = 0;
	float		worst = -INFINITY;	/* score of the heap's root once it is full */

	if (k <= 0 || n <= 0)
		return 0;

	for (int32_t i = 0; i < n; i++)
	{
		float		sc = scores[i];
		int64_t		id;

		/* most scores lose to a full heap's worst: one compare (false for NaN too) */
		if (m == k && !(sc >= worst))
			continue;
		if (mask != NULL && (by_status ? mask[i] == skip : mask[i] != 0))
			continue;
		if (isnan(sc))
			continue;
		id = ids != NULL ? ids[i] : (int64_t) i;

		if (m < k)
		{
			out[m].score = sc;
			out[m].index = i;
			out[m].id = id;
			heap_sift_up(out, m);
			m++;
		}
		else if (sc > out[0].score || (sc == out[0].score && id < out[0].id))
		{
			out[0].score = sc;
			out[0].index = i;
			out[0].id = id;
			heap_sift_down(out, m, 0);
		}
		if (m == k)
			worst = out[0].score;
	}

	/* heap-sort: move the worst to the end, repeatedly */
	for (int32_t end = m - 1; end > 0; end--)
	{
		BprScored	t = out[0];

		out[0] = out[end];
		out[end] = t;
		heap_sift_down(out, end, 0);
	}
	return m;
}

/*
 * Writes the k best of n scores into out (room for k), best first, skipping
 * positions whose exclude byte is nonzero (exclude may be NULL) and NaN scores.
 * ids may be NULL (ids = positions).  Returns how many were written (<= k).
 */
int32_t
bpr_topk(const float *scores, const int64_t *ids, int32_t n,
		 const uint8_t *exclude, int32_t k, BprScored *out)
{
	return topk_select(scores, ids, n, exclude, false, 0, k, out);
}

/* As bpr_topk, but skips positions whose status byte equals skip_status */
int32_t
bpr_topk_status(const float *scores, const int64_t *ids, int32_t n,
				const uint8_t *status, uint8_t skip_status,
				int32_t k, BprScored *out)
{
	return topk_select(scores, ids, n, status, true, skip_status, k, out);
}
