/*
 * adam.h - Adam optimiser, dense and lazy (row-sparse) updates
 *
 * The update of one value is the same arithmetic on every path (the SSE one
 * included: IEEE square root and division are exact-rounded), so results do
 * not depend on how the values are grouped into calls.
 */
#ifndef BPR_ADAM_H
#define BPR_ADAM_H

#include "alloc.h"

typedef struct BprAdamConfig
{
	float		lr;
	float		beta1;			/* 0.9 */
	float		beta2;			/* 0.999 */
	float		eps;			/* 1e-7 as Keras; bias-corrected */
} BprAdamConfig;

/* The per-step constants of an update, computed once per step */
typedef struct BprAdamStep
{
	float		beta1;
	float		beta2;
	float		one_minus_beta1;
	float		one_minus_beta2;
	float		lr_c1;			/* lr / (1 - beta1^t) */
	float		c2;				/* 1 / (1 - beta2^t) */
	float		eps;
} BprAdamStep;

/* Sets Keras' defaults with the given learning rate */
void		bpr_adam_defaults(BprAdamConfig *cfg, float lr);

/* Computes the constants of step `step` (counted from 1) */
void		bpr_adam_prepare(BprAdamStep *st, const BprAdamConfig *cfg, int64_t step);

/* Applies one prepared step to n consecutive values with their gradient g */
void		bpr_adam_apply(float *w, const float *g, float *m, float *v, size_t n,
						   const BprAdamStep *st);

/* One bias-corrected Adam step (step counts from 1) on n dense values */
void		bpr_adam_dense(float *w, const float *g, float *m, float *v, size_t n,
						   const BprAdamConfig *cfg, int64_t step);

/* Lazy Adam: updates only the listed rows (width cols); other rows' moments stay as they were */
void		bpr_adam_rows(float *w, const float *g, float *m, float *v, int32_t cols,
						  const int32_t *rows, int32_t n_rows,
						  const BprAdamConfig *cfg, int64_t step);

#endif
