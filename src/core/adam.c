/*
 * adam.c - Adam optimiser: dense and lazy (row-sparse) bias-corrected updates
 */
#include <math.h>

#include "adam.h"

/* Computes the bias-correction factors 1/(1-beta1^t) and 1/(1-beta2^t) in double */
static void
adam_corrections(const BprAdamConfig *cfg, int64_t step, float *c1, float *c2)
{
	double		t = (double) (step < 1 ? 1 : step);

	*c1 = (float) (1.0 / (1.0 - pow((double) cfg->beta1, t)));
	*c2 = (float) (1.0 / (1.0 - pow((double) cfg->beta2, t)));
}

/* Applies the Adam update to n consecutive values with precomputed corrections */
static inline void
adam_span(float *restrict w, const float *restrict g, float *restrict m,
		  float *restrict v, size_t n, float b1, float b2, float lr_c1,
		  float c2, float eps)
{
	float		ob1 = 1.0f - b1;
	float		ob2 = 1.0f - b2;

	for (size_t i = 0; i < n; i++)
	{
		float		gi = g[i];
		float		mi = b1 * m[i] + ob1 * gi;
		float		vi = b2 * v[i] + ob2 * gi * gi;

		m[i] = mi;
		v[i] = vi;
		w[i] -= lr_c1 * mi / (sqrtf(vi * c2) + eps);
	}
}

/* Sets Keras' defaults with the given learning rate */
void
bpr_adam_defaults(BprAdamConfig *cfg, float lr)
{
	cfg->lr = lr;
	cfg->beta1 = 0.9f;
	cfg->beta2 = 0.999f;
	cfg->eps = 1e-7f;
}

/* One bias-corrected Adam step (step counts from 1) on n dense values */
void
bpr_adam_dense(float *w, const float *g, float *m, float *v, size_t n,
			   const BprAdamConfig *cfg, int64_t step)
{
	float		c1,
				c2;

	adam_corrections(cfg, step, &c1, &c2);
	adam_span(w, g, m, v, n, cfg->beta1, cfg->beta2, cfg->lr * c1, c2, cfg->eps);
}

/* Lazy Adam: updates only the listed rows (width cols); other rows' moments stay as they were */
void
bpr_adam_rows(float *w, const float *g, float *m, float *v, int32_t cols,
			  const int32_t *rows, int32_t n_rows,
			  const BprAdamConfig *cfg, int64_t step)
{
	float		c1,
				c2;

	if (n_rows <= 0 || cols <= 0)
		return;
	adam_corrections(cfg, step, &c1, &c2);
	for (int32_t i = 0; i < n_rows; i++)
	{
		size_t		off = (size_t) rows[i] * (size_t) cols;

		adam_span(w + off, g + off, m + off, v + off, (size_t) cols,
				  cfg->beta1, cfg->beta2, cfg->lr * c1, c2, cfg->eps);
	}
}
