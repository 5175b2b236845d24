/*
 * loss.c - the BPR pairwise loss over a batch of triplets, with L2 and gradients
 */
#include <math.h>
#include <string.h>

#include "loss.h"
#include "vecmath.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

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
 * The five dot products of a triplet, u.p, u.q, u.u (over user_dim), p.p and
 * q.q (over item_dim), in double: float products are exact in double, so only
 * the order of the sums differs between the SSE path and plain C.
 */
static void
triplet_dots(const float *u, const float *p, const float *q, int32_t ud, int32_t id,
			 double *out)
{
	double		up = 0.0,
				uq = 0.0,
				uu = 0.0,
				pp = 0.0,
				qq = 0.0;
	int32_t		d = 0;
#if defined(__SSE2__)
	__m128d		a_up = _mm_setzero_pd(),
				a_uq = _mm_setzero_pd(),
				a_uu = _mm_setzero_pd(),
				a_pp = _mm_setzero_pd(),
				a_qq = _mm_setzero_pd();
	double		lanes[2];

	for (; d + 2 <= ud; d += 2)
	{
		__m128d		vu = _mm_cvtps_pd(_mm_castsi128_ps(_mm_loadl_epi64((const __m128i *) (u + d)))),
					vp = _mm_cvtps_pd(_mm_castsi128_ps(_mm_loadl_epi64((const __m128i *) (p + d)))),
					vq = _mm_cvtps_pd(_mm_castsi128_ps(_mm_loadl_epi64((const __m128i *) (q + d))));

		a_up = _mm_add_pd(a_up, _mm_mul_pd(vu, vp));
		a_uq = _mm_add_pd(a_uq, _mm_mul_pd(vu, vq));
		a_uu = _mm_add_pd(a_uu, _mm_mul_pd(vu, vu));
		a_pp = _mm_add_pd(a_pp, _mm_mul_pd(vp, vp));
		a_qq = _mm_add_pd(a_qq, _mm_mul_pd(vq, vq));
	}
	_mm_storeu_pd(lanes, a_up);
	up = lanes[0] + lanes[1];
	_mm_storeu_pd(lanes, a_uq);
	uq = lanes[0] + lanes[1];
	_mm_storeu_pd(lanes, a_uu);
	uu = lanes[0] + lanes[1];
	_mm_storeu_pd(lanes, a_pp);
	pp = lanes[0] + lanes[1];
	_mm_storeu_pd(lanes, a_qq);
	qq = lanes[0] + lanes[1];
#endif
	for (; d < ud; d++)
	{
		up += (double) u[d] * p[d];
		uq += (double) u[d] * q[d];
		uu += (double) u[d] * u[d];
		pp += (double) p[d] * p[d];
		qq += (double) q[d] * q[d];
	}
	for (; d < id; d++)
	{
		pp += (double) p[d] * p[d];
		qq += (double) q[d] * q[d];
	}
	out[0] = up;
	out[1] = uq;
	out[2] = uu;
	out[3] = pp;
	out[4] = qq;
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
		double		dots[5];
		double		s_pos,
					s_neg,
					uu,
					pp,
					qq;
		double		x;
		float		gs;

		triplet_dots(ut, pt, qt, user_dim, item_dim, dots);
		s_pos = dots[0];
		s_neg = dots[1];
		uu = dots[2];
		pp = dots[3];
		qq = dots[4];

		if (bias)
		{
			s_pos += pt[user_dim];
			s_neg += qt[user_dim];
		}
		x = s_neg - s_pos;
		loss += bpr_softplus(x);
		reg += 0.5 * (double) l2 * (uu + pp + qq);

		/* d/d s_neg = sigmoid(x) * scale, d/d s_pos = -sigmoid(x) * scale; L2: gl * self */
		gs = (float) (bpr_sigmoid(x) * grad_scale);
		memset(dut, 0, (size_t) user_dim * sizeof(float));
		memset(dpt, 0, (size_t) item_dim * sizeof(float));
		memset(dqt, 0, (size_t) item_dim * sizeof(float));
		bpr_axpy(dut, gs, qt, (size_t) user_dim);
		bpr_axpy(dut, -gs, pt, (size_t) user_dim);
		bpr_axpy(dut, gl, ut, (size_t) user_dim);
		bpr_axpy(dpt, -gs, ut, (size_t) user_dim);
		bpr_axpy(dpt, gl, pt, (size_t) item_dim);
		bpr_axpy(dqt, gs, ut, (size_t) user_dim);
		bpr_axpy(dqt, gl, qt, (size_t) item_dim);
		if (bias)
		{
			dpt[user_dim] -= gs;
			dqt[user_dim] += gs;
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
