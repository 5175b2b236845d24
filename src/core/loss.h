/*
 * loss.h - the BPR loss over a batch of triplets and the model score
 *
 * A user vector has user_dim values; an item vector has item_dim values, where
 * item_dim is user_dim (no bias) or user_dim + 1 (the last value is the item's
 * bias, multiplied by an implicit 1 on the user side).
 */
#ifndef BPR_LOSS_H
#define BPR_LOSS_H

#include "alloc.h"

/* Numerically stable log(1 + exp(x)) */
double		bpr_softplus(double x);

/* Numerically stable 1 / (1 + exp(-x)) */
double		bpr_sigmoid(double x);

/*
 * Mean BPR loss softplus(s_neg - s_pos) over n triplets (u, p, q are n rows each),
 * plus l2/2 * (|u|^2 + |p|^2 + |q|^2) per triplet.  Writes the gradients of
 * the total (mean over the batch) into du, dp, dq (same shapes; overwritten).
 * Returns the mean BPR part alone; *reg_out (if not NULL) gets the mean L2 part.
 */
double		bpr_loss_batch(int32_t n, int32_t user_dim, int32_t item_dim,
						   const float *u, const float *p, const float *q, float l2,
						   float *du, float *dp, float *dq, double *reg_out);

/*
 * The same over n triplets that are part of a larger batch: returns the summed
 * BPR loss and adds the summed L2 part to *reg_sum; the gradients are those of
 * the batch mean, i.e. of the sums times grad_scale (1 / batch size).
 */
double		bpr_loss_part(int32_t n, int32_t user_dim, int32_t item_dim,
						  const float *u, const float *p, const float *q, float l2,
						  double grad_scale, float *du, float *dp, float *dq,
						  double *reg_sum);

#endif
