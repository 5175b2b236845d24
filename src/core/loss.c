/*
 * loss.c - the BPR pairwise loss over a batch of triplets, with L2 and gradients
 */
#include <math.h>

#include "loss.h"

/* Numerically stable log(1 + exp(x)) */
double
bpr_softplus(double x)
{
	return (x > 0.0 ? x : 0.0) + log1p(exp(-fabs(x)));
}

/* Numerically stable 1 / (1 + exp(-x)) */
double
bpr_sigmoid(double x)
{
	double		z;

	if (x >= 0.0)
	{
		z = exp(-x);
		return 1.0 / (1.0 + z);
	}
	z = exp(x);
	return z / (1.0 + z);
}

/*
 * Summed BPR loss softplus(s_neg - s_pos) over n triplets plus the summed L2
 * part; writes the gradients of grad_scale times the total into du, dp, dq.
 */
double
bpr_loss_part(int32_t n, int32_t user_dim, int32_t item_dim,
			  const float *u, const float *p, const float *q, float l2,
			  double grad_scale, float *du, float *dp, float *dq, double *reg_sum)
{
	double		loss = 0.0;
	double		reg = 0.0;
	float		gl = (float) ((double) l2 * grad_scale);
	bool		bias = item_dim > user_dim;

	for (int32_t t = 0; t < n; t++)
	{
		const float *ut = u + (size_t) t * user_dim;
		const float *pt = p + (size_t) t * item_dim;
		const float *qt = q + (size_t) t * item_dim;
		float	   *dut = du + (size_t) t * user_dim;
		float	   *dpt = dp + (size_t) t * item_dim;
		float	   *dqt = dq + (size_t) t * item_dim;
		double		s_pos = 0.0,
					s_neg = 0.0,
					uu = 0.0,
					pp = 0.0,
					qq = 0.0;
		double		x;
		float		gs;

		for (int32_t d = 0; d < user_dim; d++)
		{
			s_pos += (double) ut[d] * pt[d];
			s_neg += (double) ut[d] * qt[d];
			uu += (double) ut[d] * ut[d];
		}
		for (int32_t d = 0; d < item_dim; d++)
		{
			pp += (double) pt[d] * pt[d];
			qq += (double) qt[d] * qt[d];
		}
		if (bias)
		{
			s_pos += pt[user_dim];
			s_neg += qt[user_dim];
		}
		x = s_neg - s_pos;
		loss += bpr_softplus(x);
		reg += 0.5 * (double) l2 * (uu + pp + qq);

		/* d/d s_neg = sigmoid(x) * scale, d/d s_pos = -sigmoid(x) * scale */
		gs = (float) (bpr_sigmoid(x) * grad_scale);
		for (int32_t d = 0; d < user_dim; d++)
		{
			dut[d] = gs * (qt[d] - pt[d]) + gl * ut[d];
			dpt[d] = -gs * ut[d] + gl * pt[d];
			dqt[d] = gs * ut[d] + gl * qt[d];
		}
		if (bias)
		{
			dpt[user_dim] = -gs + gl * pt[user_dim];
			dqt[user_dim] = gs + gl * qt[user_dim];
		}
	}
	if (reg_sum != NULL)
		*reg_sum += reg;
	return loss;
}

/*
 * Mean BPR loss softplus(s_neg - s_pos) over n triplets plus the mean L2 part;
 * writes the gradients of the mean total into du, dp, dq.
 */
double
bpr_loss_batch(int32_t n, int32_t user_dim, int32_t item_dim,
			   const float *u, const float *p, const float *q, float l2,
			   float *du, float *dp, float *dq, double *reg_out)
{
	double		reg = 0.0;
	double		inv_n;
	double		loss;

	if (n <= 0)
	{
		if (reg_out != NULL)
			*reg_out = 0.0;
		return 0.0;
	}
	inv_n = 1.0 / (double) n;
	loss = bpr_loss_part(n, user_dim, item_dim, u, p, q, l2, inv_n, du, dp, dq, &reg);
	if (reg_out != NULL)
		*reg_out = reg * inv_n;
	return loss * inv_n;
}
