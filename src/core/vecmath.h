/*
 * vecmath.h - small vector helpers shared by the numeric core and its callers
 *
 * Dot products, binary searches over sorted id arrays, and widening a
 * row-major matrix by columns.  Everything here is written once.
 */
#ifndef BPR_VECMATH_H
#define BPR_VECMATH_H

#include "alloc.h"

/* Asks for the cache line holding *p ahead of use (a hint; nothing without GCC builtins) */
#if defined(__GNUC__)
#define bpr_prefetch(p) __builtin_prefetch(p)
#else
#define bpr_prefetch(p) ((void) (p))
#endif

/* Dot product of n floats, accumulated in float (the scoring hot path) */
static inline float
bpr_dot(const float *a, const float *b, int32_t n)
{
	float		s = 0.0f;

	for (int32_t d = 0; d < n; d++)
		s += a[d] * b[d];
	return s;
}

/*
 * Dot product of n floats in eight interleaved float sums (vectorises at -O2;
 * a different rounding from bpr_dot, so only for choices, not stored scores)
 */
static inline float
bpr_dot_fast(const float *restrict a, const float *restrict b, int32_t n)
{
	float		acc[8] = {0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f};
	float		s;
	int32_t		d = 0;

	for (; d + 8 <= n; d += 8)
		for (int32_t k = 0; k < 8; k++)
			acc[k] += a[d + k] * b[d + k];
	s = ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
	for (; d < n; d++)
		s += a[d] * b[d];
	return s;
}

/* Dot product of n floats, accumulated in double (statistics over many scores) */
double		bpr_dot_f64(const float *a, const float *b, int32_t n);

/*
 * Score of a user vector (user_dim values) against an item vector: the dot
 * product, plus the item's bias when item_dim = user_dim + 1 (its last value).
 */
static inline float
bpr_dot_score(const float *u, int32_t user_dim, const float *v, int32_t item_dim)
{
	float		s = bpr_dot(u, v, user_dim);

	if (item_dim > user_dim)
		s += v[user_dim];
	return s;
}

/* Position of x in the ascending array v[0..n), or -1 */
int64_t		bpr_find_i64(const int64_t *v, int64_t n, int64_t x);

/* Position of x in the ascending array v[0..n), or -1 */
int64_t		bpr_find_i32(const int32_t *v, int64_t n, int32_t x);

/*
 * Widens n rows of `from` values to rows of `to` values (from <= to), from in
 * to out (which may be the same buffer).  The new columns are 1; when last is
 * not NULL, column to - 1 of row r is last[r] instead.
 */
void		bpr_widen_rows(const float *in, float *out, int32_t n, int32_t from,
						   int32_t to, const float *last);

#endif
