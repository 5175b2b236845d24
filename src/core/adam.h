/*
 * adam.h - Adam optimiser, dense and lazy (row-sparse) updates
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

/* Sets Keras' defaults with the given learning rate */
void		bpr_adam_defaults(BprAdamConfig *cfg, float lr);

/* One bias-corrected Adam step (step counts from 1) on n dense values */
void		bpr_adam_dense(float *w, const float *g, float *m, float *v, size_t n,
						   const BprAdamConfig *cfg, int64_t step);

/* Lazy Adam: updates only the listed rows (width cols); other rows' moments stay as they were */
void		bpr_adam_rows(float *w, const float *g, float *m, float *v, int32_t cols,
						  const int32_t *rows, int32_t n_rows,
						  const BprAdamConfig *cfg, int64_t step);

#endif
