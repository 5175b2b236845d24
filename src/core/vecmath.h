/*
 * vecmath.h - small vector helpers shared by the numeric core and its callers
 *
 * Dot products, binary searches over sorted id arrays, and widening a
 * row-major matrix by columns.  Everything here is written once.
 */
#ifndef BPR_VECMATH_H
#define BPR_VECMATH_H

#include <string.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "alloc.h"

/* Asks for the cache line holding *p ahead of use (a hint; nothing without GCC builtins) */
#if defined(__GNUC__)
#define bpr_prefetch(p) __builtin_prefetch(p)
#else
#define bpr_prefetch(p) ((void) (p))
#endif

/*
 * Asks for the cache line holding *p with intent to write it: the line comes
 * exclusive, so a line another core holds (read or written there) is claimed
 * here ahead of the store, not at it.  x86-64 PREFETCHW runs as a NOP on
 * processors without it.
 */
#if defined(__GNUC__) && defined(__x86_64__)
#define bpr_prefetch_w(p) __asm__ volatile("prefetchw %0" : : "m"(*(const char *) (p)))
#elif defined(__GNUC__)
#define bpr_prefetch_w(p) __builtin_prefetch((p), 1)
#else
#define bpr_prefetch_w(p) ((void) (p))
#endif

/*
 * For helpers that only prefetch: a prefetch has no visible effect, so GCC
 * deems a non-inlined function made of them pure and deletes every call to
 * it.  Forcing them inline keeps the prefetches.
 */
#if defined(__GNUC__)
#define BPR_PREFETCHER static inline __attribute__((always_inline))
#else
#define BPR_PREFETCHER static inline
#endif

/* Asks for every cache line of a row of cols floats */
BPR_PREFETCHER void
bpr_prefetch_row(const float *row, int32_t cols)
{
	for (int32_t d = 0; d < cols; d += 16)
		bpr_prefetch(row + d);
	bpr_prefetch(row + cols - 1);
}

/* Asks for every cache line of a row of cols floats, with intent to write them */
BPR_PREFETCHER void
bpr_prefetch_row_w(const float *row, int32_t cols)
{
	for (int32_t d = 0; d < cols; d += 16)
		bpr_prefetch_w(row + d);
	bpr_prefetch_w(row + cols - 1);
}

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
 * Dot product of n floats in eight interleaved float sums: SSE on x86-64 (a
 * baseline instruction set), plain C elsewhere.  Rounds differently from
 * bpr_dot, so only for choices (hard negatives), never for stored scores.
 */
static inline float
bpr_dot_fast(const float *a, const float *b, int32_t n)
{
	float		s;
	int32_t		d = 0;
#if defined(__SSE2__)
	__m128		s0 = _mm_setzero_ps(),
				s1 = _mm_setzero_ps();
	float		lanes[4];

	for (; d + 8 <= n; d += 8)
	{
		s0 = _mm_add_ps(s0, _mm_mul_ps(_mm_loadu_ps(a + d), _mm_loadu_ps(b + d)));
		s1 = _mm_add_ps(s1, _mm_mul_ps(_mm_loadu_ps(a + d + 4), _mm_loadu_ps(b + d + 4)));
	}
	_mm_storeu_ps(lanes, _mm_add_ps(s0, s1));
	s = (lanes[0] + lanes[2]) + (lanes[1] + lanes[3]);
#else
	float		acc[8] = {0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f};

	for (; d + 8 <= n; d += 8)
		for (int32_t k = 0; k < 8; k++)
			acc[k] += a[d + k] * b[d + k];
	s = ((acc[0] + acc[4]) + (acc[2] + acc[6])) + ((acc[1] + acc[5]) + (acc[3] + acc[7]));
#endif
	for (; d < n; d++)
		s += a[d] * b[d];
	return s;
}

/*
 * Elementwise helpers for the towers' hot loops.  GCC's -O2 does not
 * vectorise loops of unknown length, so these use SSE on x86-64 (baseline)
 * and plain C elsewhere, with the same result either way (per-element IEEE
 * operations, in the same order).
 */

/* y[i] += x[i] for n values */
static inline void
bpr_add_to(float *restrict y, const float *restrict x, size_t n)
{
	size_t		i = 0;
#if defined(__SSE2__)
	for (; i + 4 <= n; i += 4)
		_mm_storeu_ps(y + i, _mm_add_ps(_mm_loadu_ps(y + i), _mm_loadu_ps(x + i)));
#endif
	for (; i < n; i++)
		y[i] += x[i];
}

/* y[i] += a * x[i] for n values */
static inline void
bpr_axpy(float *restrict y, float a, const float *restrict x, size_t n)
{
	size_t		i = 0;
#if defined(__SSE2__)
	__m128		va = _mm_set1_ps(a);

	for (; i + 4 <= n; i += 4)
		_mm_storeu_ps(y + i, _mm_add_ps(_mm_loadu_ps(y + i), _mm_mul_ps(va, _mm_loadu_ps(x + i))));
#endif
	for (; i < n; i++)
		y[i] += a * x[i];
}

/* z[i] = z[i] > 0 ? z[i] : 0 for n values */
static inline void
bpr_relu(float *z, size_t n)
{
	size_t		i = 0;
#if defined(__SSE2__)
	__m128		zero = _mm_setzero_ps();

	for (; i + 4 <= n; i += 4)
		_mm_storeu_ps(z + i, _mm_max_ps(_mm_loadu_ps(z + i), zero));
#endif
	for (; i < n; i++)
		z[i] = z[i] > 0.0f ? z[i] : 0.0f;
}

/* d[i] = a[i] > 0 ? d[i] : 0 for n values: a gradient through a ReLU with outputs a */
static inline void
bpr_relu_grad(float *restrict d, const float *restrict a, size_t n)
{
	size_t		i = 0;
#if defined(__SSE2__)
	__m128		zero = _mm_setzero_ps();

	for (; i + 4 <= n; i += 4)
		_mm_storeu_ps(d + i, _mm_and_ps(_mm_loadu_ps(d + i),
										_mm_cmpgt_ps(_mm_loadu_ps(a + i), zero)));
#endif
	for (; i < n; i++)
		d[i] = a[i] > 0.0f ? d[i] : 0.0f;
}

/*
 * z[i] = exp(z[i] - shift) for n values; returns their sum.  On x86-64 a
 * vectorised polynomial exp (Cephes' expf, about 1 ulp; arguments below -87
 * give about 1e-38 rather than 0), elsewhere expf.
 */
float		bpr_exp_sum(float *z, size_t n, float shift);

/*
 * Quantises n floats to signed 8-bit codes with one scale (value ~ scale *
 * code, codes in [-127, 127], rounded to nearest): for compact approximate
 * copies whose only use is ranking
 */
void		bpr_quantize_i8(const float *v, int32_t n, int8_t *codes, float *scale);

/* Dot product of n floats with n 8-bit codes (times their scale elsewhere), as bpr_dot_fast sums */
static inline float
bpr_dot_i8(const float *a, const int8_t *b, int32_t n)
{
	float		s;
	int32_t		d = 0;
#if defined(__SSE2__)
	__m128		s0 = _mm_setzero_ps(),
				s1 = _mm_setzero_ps();
	float		lanes[4];

	for (; d + 16 <= n; d += 16)
	{
		__m128i		c = _mm_loadu_si128((const __m128i *) (b + d));
		__m128i		lo = _mm_srai_epi16(_mm_unpacklo_epi8(c, c), 8);
		__m128i		hi = _mm_srai_epi16(_mm_unpackhi_epi8(c, c), 8);

		s0 = _mm_add_ps(s0, _mm_mul_ps(_mm_loadu_ps(a + d),
									   _mm_cvtepi32_ps(_mm_srai_epi32(_mm_unpacklo_epi16(lo, lo), 16))));
		s1 = _mm_add_ps(s1, _mm_mul_ps(_mm_loadu_ps(a + d + 4),
									   _mm_cvtepi32_ps(_mm_srai_epi32(_mm_unpackhi_epi16(lo, lo), 16))));
		s0 = _mm_add_ps(s0, _mm_mul_ps(_mm_loadu_ps(a + d + 8),
									   _mm_cvtepi32_ps(_mm_srai_epi32(_mm_unpacklo_epi16(hi, hi), 16))));
		s1 = _mm_add_ps(s1, _mm_mul_ps(_mm_loadu_ps(a + d + 12),
									   _mm_cvtepi32_ps(_mm_srai_epi32(_mm_unpackhi_epi16(hi, hi), 16))));
	}
	_mm_storeu_ps(lanes, _mm_add_ps(s0, s1));
	s = (lanes[0] + lanes[2]) + (lanes[1] + lanes[3]);
#else
	s = 0.0f;
#endif
	for (; d < n; d++)
		s += a[d] * (float) b[d];
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
 * True when x is in the ascending array v[0..n) of values in [0, universe).
 * Guesses positions by interpolation first (item codes spread fairly evenly,
 * so one or two probes usually land within a cache line of x), then finishes
 * by binary search: fewer dependent cache misses than a plain binary search
 * on long lists.  The first probe is bpr_sorted_guess, so a caller can fetch
 * its cache line ahead of time.
 */
bool		bpr_sorted_has_i32(const int32_t *v, int64_t n, int32_t x, int32_t universe);

/* Where bpr_sorted_has_i32 first looks for x in n values of [0, universe) */
static inline int64_t
bpr_sorted_guess(int64_t n, int32_t x, int32_t universe)
{
	int64_t		g = universe > 0 ? (int64_t) ((double) x / universe * (double) n) : n / 2;

	return g < 0 ? 0 : g >= n ? n - 1 : g;
}

/*
 * Widens n rows of `from` values to rows of `to` values (from <= to), from in
 * to out (which may be the same buffer).  The new columns are 1; when last is
 * not NULL, column to - 1 of row r is last[r] instead.
 */
void		bpr_widen_rows(const float *in, float *out, int32_t n, int32_t from,
						   int32_t to, const float *last);

#endif
