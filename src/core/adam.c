/*
 * adam.c - Adam optimiser: dense and lazy (row-sparse) bias-corrected updates
 *
 * On x86-64 the update runs eight values at a time with AVX when the CPU has
 * it (checked at run time; GCC and Clang compile that function for AVX
 * whatever the build flags), else four at a time with SSE (baseline); other
 * machines run plain C.  All compute each value with the same IEEE
 * operations in the same order (no fused multiply-add), so the path never
 * changes a result.
 */
#include <math.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif
#if defined(__GNUC__) && defined(__x86_64__)
#include <immintrin.h>
#define ADAM_AVX 1
#endif

#include "adam.h"

/* Sets Keras' defaults with the given learning rate */
void
bpr_adam_defaults(BprAdamConfig *cfg, float lr)
{
	cfg->lr = lr;
	cfg->beta1 = 0.9f;
	cfg->beta2 = 0.999f;
	cfg->eps = 1e-7f;
}

/* Computes the constants of step `step` (counted from 1); corrections in double */
void
bpr_adam_prepare(BprAdamStep *st, const BprAdamConfig *cfg, int64_t step)
{
	double		t = (double) (step < 1 ? 1 : step);
	float		c1 = (float) (1.0 / (1.0 - pow((double) cfg->beta1, t)));

	st->beta1 = cfg->beta1;
	st->beta2 = cfg->beta2;
	st->one_minus_beta1 = 1.0f - cfg->beta1;
	st->one_minus_beta2 = 1.0f - cfg->beta2;
	st->lr_c1 = cfg->lr * c1;
	st->c2 = (float) (1.0 / (1.0 - pow((double) cfg->beta2, t)));
	st->eps = cfg->eps;
}

#ifdef ADAM_AVX
/* The first multiple of 8 of n values with AVX; returns how many it did */
__attribute__((target("avx")))
static size_t
adam_avx(float *restrict w, const float *restrict g, float *restrict m,
		 float *restrict v, size_t n, const BprAdamStep *st)
{
	__m256		vb1 = _mm256_set1_ps(st->beta1),
				vb2 = _mm256_set1_ps(st->beta2),
				vob1 = _mm256_set1_ps(st->one_minus_beta1),
				vob2 = _mm256_set1_ps(st->one_minus_beta2),
				vlr = _mm256_set1_ps(st->lr_c1),
				vc2 = _mm256_set1_ps(st->c2),
				veps = _mm256_set1_ps(st->eps);
	size_t		i = 0;

	for (; i + 8 <= n; i += 8)
	{
		__m256		gi = _mm256_loadu_ps(g + i);
		__m256		mi = _mm256_add_ps(_mm256_mul_ps(vb1, _mm256_loadu_ps(m + i)),
									   _mm256_mul_ps(vob1, gi));
		__m256		vi = _mm256_add_ps(_mm256_mul_ps(vb2, _mm256_loadu_ps(v + i)),
									   _mm256_mul_ps(_mm256_mul_ps(vob2, gi), gi));
		__m256		den = _mm256_add_ps(_mm256_sqrt_ps(_mm256_mul_ps(vi, vc2)), veps);

		_mm256_storeu_ps(m + i, mi);
		_mm256_storeu_ps(v + i, vi);
		_mm256_storeu_ps(w + i, _mm256_sub_ps(_mm256_loadu_ps(w + i),
											  _mm256_div_ps(_mm256_mul_ps(vlr, mi), den)));
	}
	return i;
}
#endif

/* Applies one prepared step to n consecutive values with their gradient g */
void
bpr_adam_apply(float *restrict w, const float *restrict g, float *restrict m,
			   float *restrict v, size_t n, const BprAdamStep *st)
{
	float		b1 = st->beta1,
				b2 = st->beta2,
				ob1 = st->one_minus_beta1,
				ob2 = st->one_minus_beta2,
				lr_c1 = st->lr_c1,
				c2 = st->c2,
				eps = st->eps;
	size_t		i = 0;

#ifdef ADAM_AVX
	if (n >= 8 && __builtin_cpu_supports("avx"))
		i = adam_avx(w, g, m, v, n, st);
#endif
#if defined(__SSE2__)
	{
		__m128		vb1 = _mm_set1_ps(b1),
					vb2 = _mm_set1_ps(b2),
					vob1 = _mm_set1_ps(ob1),
					vob2 = _mm_set1_ps(ob2),
					vlr = _mm_set1_ps(lr_c1),
					vc2 = _mm_set1_ps(c2),
					veps = _mm_set1_ps(eps);

		for (; i + 4 <= n; i += 4)
		{
			__m128		gi = _mm_loadu_ps(g + i);
			__m128		mi = _mm_add_ps(_mm_mul_ps(vb1, _mm_loadu_ps(m + i)),
										_mm_mul_ps(vob1, gi));
			__m128		vi = _mm_add_ps(_mm_mul_ps(vb2, _mm_loadu_ps(v + i)),
										_mm_mul_ps(_mm_mul_ps(vob2, gi), gi));
			__m128		den = _mm_add_ps(_mm_sqrt_ps(_mm_mul_ps(vi, vc2)), veps);

			_mm_storeu_ps(m + i, mi);
			_mm_storeu_ps(v + i, vi);
			_mm_storeu_ps(w + i, _mm_sub_ps(_mm_loadu_ps(w + i),
											_mm_div_ps(_mm_mul_ps(vlr, mi), den)));
		}
	}
#endif
	for (; i < n; i++)
	{
		float		gi = g[i];
		float		mi = b1 * m[i] + ob1 * gi;
		float		vi = b2 * v[i] + ob2 * gi * gi;

		m[i] = mi;
		v[i] = vi;
		w[i] -= lr_c1 * mi / (sqrtf(vi * c2) + eps);
	}
}

/* One bias-corrected Adam step (step counts from 1) on n dense values */
void
bpr_adam_dense(float *w, const float *g, float *m, float *v, size_t n,
			   const BprAdamConfig *cfg, int64_t step)
{
	BprAdamStep st;

	bpr_adam_prepare(&st, cfg, step);
	bpr_adam_apply(w, g, m, v, n, &st);
}

/* Lazy Adam: updates only the listed rows (width cols); other rows' moments stay as they were */
void
bpr_adam_rows(float *w, const float *g, float *m, float *v, int32_t cols,
			  const int32_t *rows, int32_t n_rows,
			  const BprAdamConfig *cfg, int64_t step)
{
	BprAdamStep st;

	if (n_rows <= 0 || cols <= 0)
		return;
	bpr_adam_prepare(&st, cfg, step);
	for (int32_t i = 0; i < n_rows; i++)
	{
		size_t		off = (size_t) rows[i] * (size_t) cols;

		bpr_adam_apply(w + off, g + off, m + off, v + off, (size_t) cols, &st);
	}
}
