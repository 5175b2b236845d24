/*
 * weighted.h - drawing positives in proportion to a weight (implicit
 * feedback with a quantity, a play count, a spend)
 *
 * Two samplers over the same per-entry weights, one per way a trainer draws
 * positives:
 *   - an alias table (Walker/Vose) over the trainable (user, positive) pairs,
 *     O(1) per draw: pair q is drawn with probability w_q / sum(w);
 *   - per-user cumulative weights, for "a uniform user, then one of their
 *     positives": positive p of user u with probability w_p / sum over u's.
 * Both are built once, before training, from memory the caller's BprAlloc
 * gives; draws only read them, so threads share them.
 */
#ifndef BPR_WEIGHTED_H
#define BPR_WEIGHTED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "alloc.h"
#include "rng.h"

/* Alias table over n outcomes: draw i uniformly, keep it with prob[i], else take other[i] */
typedef struct BprAlias
{
	int64_t		n;
	float	   *prob;
	int64_t    *other;
} BprAlias;

/* Bytes bpr_alias_init and bpr_alias_build allocate for n outcomes (with the build's stacks); false on overflow */
bool		bpr_alias_bytes(int64_t n, size_t *total);

/* Allocates a table of n >= 1 outcomes; the caller then writes each outcome's weight into prob[i] */
void		bpr_alias_init(BprAlias *a, int64_t n, const BprAlloc *alloc);

/*
 * Turns the weights in prob into the table (Vose's method, O(n)).  Weights
 * that are not finite and positive count as 0; if none is, all count as 1.
 * The build's stacks are given back to the allocator when it can.
 */
void		bpr_alias_build(BprAlias *a, const BprAlloc *alloc);

/* Draws an outcome in [0, n) */
static inline int64_t
bpr_alias_draw(const BprAlias *a, BprRng *rng)
{
	int64_t		i = (int64_t) bpr_rng_below(rng, (uint64_t) a->n);

	return bpr_rng_uniform(rng) < a->prob[i] ? i : a->other[i];
}

/* Bytes of per-entry cumulative weights for n entries; false on overflow */
bool		bpr_cumulative_bytes(int64_t n, size_t *total);

/*
 * Cumulative weights within each of n_groups groups of entries (group g is
 * entries ptr[g] .. ptr[g + 1] - 1): cum[e] = sum of weight[ptr[g] .. e].
 * Non-positive or non-finite weights count as 0, or as 1 in a group whose
 * entries all have such weights.
 */
double	   *bpr_cumulative_build(const int64_t *ptr, int32_t n_groups, const float *weight,
								 const BprAlloc *alloc);

/* Draws an entry of group [lo, hi) (hi > lo) in proportion to its weight, by bisection */
int64_t		bpr_cumulative_draw(const double *cum, int64_t lo, int64_t hi, BprRng *rng);

#endif
