/*
 * weighted.c - alias tables and per-group cumulative weights for drawing
 * positives in proportion to their weight
 */
#include <math.h>

#include "weighted.h"

/* Bytes bpr_alias_init and bpr_alias_build allocate for n outcomes (with the build's stacks); false on overflow */
bool
bpr_alias_bytes(int64_t n, size_t *total)
{
	return bpr_array_bytes(total, (size_t) n, sizeof(float)) && bpr_array_bytes(total, (size_t) n, sizeof(int64_t)) &&
		bpr_array_bytes(total, (size_t) n, sizeof(int64_t));
}

/* Allocates a table of n >= 1 outcomes; the caller then writes each outcome's weight into prob[i] */
void
bpr_alias_init(BprAlias *a, int64_t n, const BprAlloc *alloc)
{
	a->n = n;
	a->prob = bpr_alloc_array(alloc, (size_t) n, sizeof(float), "weighted positives");
	a->other = bpr_alloc_array(alloc, (size_t) n, sizeof(int64_t), "weighted positives");
}

/* A weight as the table counts it: finite and positive, else 0 */
static inline double
usable(float w)
{
	return isfinite(w) && w > 0.0f ? (double) w : 0.0;
}

/* Turns the weights in prob into the table (Vose's method, O(n)) */
void
bpr_alias_build(BprAlias *a, const BprAlloc *alloc)
{
	int64_t		n = a->n;
	int64_t    *stack = bpr_alloc_array(alloc, (size_t) n, sizeof(int64_t), "weighted positives");
	int64_t		n_small = 0,
				n_large = 0;	/* small ones from the front of stack, large ones from the back */
	double		sum = 0.0;
	double		scale;

	for (int64_t i = 0; i < n; i++)
		sum += usable(a->prob[i]);
	scale = sum > 0.0 && isfinite(sum) ? (double) n / sum : 0.0;
	for (int64_t i = 0; i < n; i++)
	{
		double		p = scale > 0.0 ? usable(a->prob[i]) * scale : 1.0;

		a->prob[i] = (float) p;
		a->other[i] = i;
		if (p < 1.0)
			stack[n_small++] = i;
		else
			stack[n - 1 - n_large++] = i;
	}
	/*
	 * Each small outcome's column is topped up by the current large one,
	 * which loses as much; its remainder stays in a double until it turns
	 * small itself (in float, the remainders' rounding adds up over the
	 * many top-ups of a heavy outcome).
	 */
	while (n_small > 0 && n_large > 0)
	{
		int64_t		l = stack[n - n_large--];
		double		rest = a->prob[l];

		while (n_small > 0 && rest >= 1.0)
		{
			int64_t		s = stack[--n_small];

			a->other[s] = l;
			rest -= 1.0 - (double) a->prob[s];
		}
		if (rest < 1.0)
		{
			a->prob[l] = (float) rest;
			stack[n_small++] = l;
		}
		else
			a->prob[l] = 1.0f;	/* no small one left: l keeps its whole column */
	}
	/* what is left is 1 up to rounding: kept whole */
	for (int64_t k = 0; k < n_small; k++)
		a->prob[stack[k]] = 1.0f;
	for (int64_t k = 0; k < n_large; k++)
		a->prob[stack[n - 1 - k]] = 1.0f;
	bpr_free_array(alloc, stack, (size_t) n, sizeof(int64_t));
}

/* Bytes of per-entry cumulative weights for n entries; false on overflow */
bool
bpr_cumulative_bytes(int64_t n, size_t *total)
{
	return bpr_array_bytes(total, (size_t) n, sizeof(double));
}

/* Cumulative weights within each group of entries (see weighted.h) */
double *
bpr_cumulative_build(const int64_t *ptr, int32_t n_groups, const float *weight,
					 const BprAlloc *alloc)
{
	int64_t		n = ptr[n_groups];
	double	   *cum = bpr_alloc_array(alloc, (size_t) n, sizeof(double), "weighted positives");

	for (int32_t g = 0; g < n_groups; g++)
	{
		double		run = 0.0;

		for (int64_t e = ptr[g]; e < ptr[g + 1]; e++)
			cum[e] = run += usable(weight[e]);
		if (!(run > 0.0 && isfinite(run)))
			for (int64_t e = ptr[g]; e < ptr[g + 1]; e++)
				cum[e] = (double) (e - ptr[g] + 1);
	}
	return cum;
}

/* Draws an entry of group [lo, hi) (hi > lo) in proportion to its weight, by bisection */
int64_t
bpr_cumulative_draw(const double *cum, int64_t lo, int64_t hi, BprRng *rng)
{
	double		x = (double) bpr_rng_uniform(rng) * cum[hi - 1];

	/* the first entry whose cumulative weight exceeds x */
	while (lo < hi - 1)
	{
		int64_t		mid = lo + (hi - 1 - lo) / 2;

		if (cum[mid] > x)
			hi = mid + 1;
		else
			lo = mid + 1;
	}
	return lo;
}
