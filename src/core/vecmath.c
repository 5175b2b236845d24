/*
 * vecmath.c - small vector helpers shared by the numeric core and its callers
 */
#include <math.h>
#include <string.h>

#include "vecmath.h"

/* Dot product of n floats, accumulated in double */
double
bpr_dot_f64(const float *a, const float *b, int32_t n)
{
	double		s = 0.0;

	for (int32_t d = 0; d < n; d++)
		s += (double) a[d] * b[d];
	return s;
}

/* Lower-bound binary search body shared by the typed finders below */
#define FIND_SORTED(v, n, x) \
	do { \
		int64_t		lo_ = 0, \
					hi_ = (n); \
		while (lo_ < hi_) \
		{ \
			int64_t		mid_ = lo_ + (hi_ - lo_) / 2; \
			if ((v)[mid_] < (x)) \
				lo_ = mid_ + 1; \
			else \
				hi_ = mid_; \
		} \
		return (lo_ < (n) && (v)[lo_] == (x)) ? lo_ : -1; \
	} while (0)

/* Position of x in the ascending array v[0..n), or -1 */
int64_t
bpr_find_i64(const int64_t *v, int64_t n, int64_t x)
{
	FIND_SORTED(v, n, x);
}

/* Position of x in the ascending array v[0..n), or -1 */
int64_t
bpr_find_i32(const int32_t *v, int64_t n, int32_t x)
{
	FIND_SORTED(v, n, x);
}

/*
 * Narrows [*lo, *hi) around a probe at g that missed x: x is on one side of
 * it; the value 8 further on that side (usually in the same or the next
 * cache line) tells whether x is within those 8.
 */
static inline void
narrow(const int32_t *v, int64_t g, int32_t x, int64_t *lo, int64_t *hi)
{
	int64_t		e;

	if (v[g] < x)
	{
		e = g + 8 < *hi - 1 ? g + 8 : *hi - 1;
		*lo = g + 1;
		if (v[e] >= x)
			*hi = e + 1;
		else
			*lo = e + 1;
	}
	else
	{
		e = g - 8 > *lo ? g - 8 : *lo;
		*hi = g;
		if (v[e] <= x)
			*lo = e;
		else
			*hi = e;
	}
}

/* Quantises n floats to 8-bit codes with one scale (value ~ scale * code), rounding to nearest even */
void
bpr_quantize_i8(const float *v, int32_t n, int8_t *codes, float *scale)
{
	float		most = 0.0f;
	float		inv;
	int32_t		d = 0;

	for (int32_t k = 0; k < n; k++)
		most = fabsf(v[k]) > most ? fabsf(v[k]) : most;
	if (!(most > 0.0f) || !isfinite(most))
	{
		memset(codes, 0, (size_t) n);
		*scale = 0.0f;
		return;
	}
	inv = 127.0f / most;
#if defined(__SSE2__)
	{
		__m128		vi = _mm_set1_ps(inv);

		/* round to nearest even (the default MXCSR mode, as rintf), saturate to int8 */
		for (; d + 16 <= n; d += 16)
		{
			__m128i		a = _mm_cvtps_epi32(_mm_mul_ps(_mm_loadu_ps(v + d), vi));
			__m128i		b = _mm_cvtps_epi32(_mm_mul_ps(_mm_loadu_ps(v + d + 4), vi));
			__m128i		c = _mm_cvtps_epi32(_mm_mul_ps(_mm_loadu_ps(v + d + 8), vi));
			__m128i		e = _mm_cvtps_epi32(_mm_mul_ps(_mm_loadu_ps(v + d + 12), vi));

			_mm_storeu_si128((__m128i *) (codes + d),
							 _mm_packs_epi16(_mm_packs_epi32(a, b), _mm_packs_epi32(c, e)));
		}
	}
#endif
	for (; d < n; d++)
	{
		float		q = rintf(v[d] * inv);

		codes[d] = (int8_t) (q > 127.0f ? 127 : q < -127.0f ? -127 : (int) q);
	}
	*scale = most / 127.0f;
}

/* True when x is in the ascending array v[0..n) of values in [0, universe) */
bool
bpr_sorted_has_i32(const int32_t *v, int64_t n, int32_t x, int32_t universe)
{
	int64_t		lo = 0,
				hi = n;			/* x, if present, is in v[lo..hi) */
	int64_t		g;

	if (n <= 0)
		return false;
	g = bpr_sorted_guess(n, x, universe);
	if (v[g] == x)
		return true;
	narrow(v, g, x, &lo, &hi);
	for (int probe = 0; probe < 2 && hi - lo > 8; probe++)
	{
		double		a = v[lo],
					b = v[hi - 1];

		if (x < a || x > b)
			return false;
		g = lo + (int64_t) ((x - a) / (b - a + 1.0) * (double) (hi - lo));
		g = g < lo ? lo : g >= hi ? hi - 1 : g;
		if (v[g] == x)
			return true;
		narrow(v, g, x, &lo, &hi);
	}
	return bpr_find_i32(v + lo, hi - lo, x) >= 0;
}

/* Widens n rows of `from` values to `to` values; new columns 1, or last[r] in the last */
void
bpr_widen_rows(const float *in, float *out, int32_t n, int32_t from, int32_t to,
			   const float *last)
{
	/* walk backwards: row r moves from r * from to r * to, never over an unread row */
	for (int32_t r = n - 1; r >= 0; r--)
	{
		float	   *o = out + (size_t) r * to;

		memmove(o, in + (size_t) r * from, sizeof(float) * (size_t) from);
		for (int32_t d = from; d < to; d++)
			o[d] = 1.0f;
		if (last != NULL && to > from)
			o[to - 1] = last[r];
	}
}

#if defined(__SSE2__)
/* exp of four floats: Cephes' expf (range reduction by ln 2 in two parts, degree-5 polynomial) */
static inline __m128
exp4(__m128 x)
{
	const __m128 one = _mm_set1_ps(1.0f);
	__m128		fx,
				tmp,
				z,
				y;
	__m128i		n;

	x = _mm_min_ps(x, _mm_set1_ps(88.3762626647949f));
	x = _mm_max_ps(x, _mm_set1_ps(-87.3365447504019f));
	/* fx = floor(x / ln 2 + 0.5) */
	fx = _mm_add_ps(_mm_mul_ps(x, _mm_set1_ps(1.44269504088896341f)), _mm_set1_ps(0.5f));
	tmp = _mm_cvtepi32_ps(_mm_cvttps_epi32(fx));
	fx = _mm_sub_ps(tmp, _mm_and_ps(_mm_cmpgt_ps(tmp, fx), one));
	x = _mm_sub_ps(x, _mm_mul_ps(fx, _mm_set1_ps(0.693359375f)));
	x = _mm_sub_ps(x, _mm_mul_ps(fx, _mm_set1_ps(-2.12194440e-4f)));
	z = _mm_mul_ps(x, x);
	y = _mm_set1_ps(1.9875691500e-4f);
	y = _mm_add_ps(_mm_mul_ps(y, x), _mm_set1_ps(1.3981999507e-3f));
	y = _mm_add_ps(_mm_mul_ps(y, x), _mm_set1_ps(8.3334519073e-3f));
	y = _mm_add_ps(_mm_mul_ps(y, x), _mm_set1_ps(4.1665795894e-2f));
	y = _mm_add_ps(_mm_mul_ps(y, x), _mm_set1_ps(1.6666665459e-1f));
	y = _mm_add_ps(_mm_mul_ps(y, x), _mm_set1_ps(5.0000001201e-1f));
	y = _mm_add_ps(_mm_add_ps(_mm_mul_ps(y, z), x), one);
	/* times 2^fx */
	n = _mm_slli_epi32(_mm_add_epi32(_mm_cvttps_epi32(fx), _mm_set1_epi32(127)), 23);
	return _mm_mul_ps(y, _mm_castsi128_ps(n));
}
#endif

/* z[i] = exp(z[i] - shift) for n values; returns their sum */
float
bpr_exp_sum(float *z, size_t n, float shift)
{
	float		sum = 0.0f;
	size_t		i = 0;
#if defined(__SSE2__)
	__m128		vs = _mm_set1_ps(shift),
				acc = _mm_setzero_ps();
	float		lanes[4];

	for (; i + 4 <= n; i += 4)
	{
		__m128		e = exp4(_mm_sub_ps(_mm_loadu_ps(z + i), vs));

		_mm_storeu_ps(z + i, e);
		acc = _mm_add_ps(acc, e);
	}
	if (i < n)
	{
		/* the last 1-3 values through the same code, padded with exp(-inf-ish) */
		float		tail[4] = {-1e30f, -1e30f, -1e30f, -1e30f};
		__m128		e;

		memcpy(tail, z + i, (n - i) * sizeof(float));
		e = exp4(_mm_sub_ps(_mm_loadu_ps(tail), vs));
		_mm_storeu_ps(tail, e);
		memcpy(z + i, tail, (n - i) * sizeof(float));
		for (size_t k = n - i; k < 4; k++)
			tail[k] = 0.0f;
		acc = _mm_add_ps(acc, _mm_loadu_ps(tail));
		i = n;
	}
	_mm_storeu_ps(lanes, acc);
	sum = (lanes[0] + lanes[2]) + (lanes[1] + lanes[3]);
#endif
	for (; i < n; i++)
	{
		z[i] = expf(z[i] - shift);
		sum += z[i];
	}
	return sum;
}
