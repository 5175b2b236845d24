/*
 * test_loss.c - unit tests of the BPR loss, softplus and sigmoid
 */
#include <string.h>

#include "loss.h"
#include "rng.h"
#include "unit.h"

/* Softplus and sigmoid stay finite and accurate at large |x| */
static void
loss_check_activations(void)
{
	CHECK_CLOSE(bpr_softplus(0.0), 0.6931471805599453, 1e-15);
	CHECK_CLOSE(bpr_softplus(1000.0), 1000.0, 1e-12);
	CHECK_CLOSE(bpr_softplus(-1000.0), 0.0, 1e-300);
	CHECK(bpr_softplus(-1000.0) >= 0.0);
	CHECK_CLOSE(bpr_softplus(30.0), 30.000000000000092, 1e-12);
	CHECK_CLOSE(bpr_softplus(-30.0), 9.357622968839737e-14, 1e-25);
	CHECK_CLOSE(bpr_softplus(2.0), log(1.0 + exp(2.0)), 1e-14);
	CHECK_CLOSE(bpr_softplus(-2.0), log(1.0 + exp(-2.0)), 1e-14);
	CHECK(isfinite(bpr_softplus(1e300)) && isfinite(bpr_softplus(-1e300)));

	CHECK_CLOSE(bpr_sigmoid(0.0), 0.5, 1e-15);
	CHECK_CLOSE(bpr_sigmoid(1000.0), 1.0, 1e-15);
	CHECK_CLOSE(bpr_sigmoid(-1000.0), 0.0, 1e-300);
	CHECK(isfinite(bpr_sigmoid(-1000.0)) && isfinite(bpr_sigmoid(1000.0)));
	CHECK(!isnan(bpr_sigmoid(-1e300)) && !isnan(bpr_sigmoid(1e300)));
	CHECK_CLOSE(bpr_sigmoid(2.0), 1.0 / (1.0 + exp(-2.0)), 1e-15);
	CHECK_CLOSE(bpr_sigmoid(-2.0) + bpr_sigmoid(2.0), 1.0, 1e-15);
}

/* A two-triplet batch against hand-computed values, with and without bias */
static void
loss_check_small_batch(void)
{
	const float u[4] = {1.0f, 0.5f, -0.5f, 2.0f};
	const float p[4] = {0.2f, -0.4f, 1.0f, 1.0f};
	const float q[4] = {0.3f, 0.1f, 0.0f, -1.0f};
	const float pb[6] = {0.2f, -0.4f, 0.25f, 1.0f, 1.0f, -0.5f};
	const float qb[6] = {0.3f, 0.1f, 0.0f, 0.0f, -1.0f, 1.5f};
	float		du[4], dp[6], dq[6];
	double		reg = -1.0;
	double		loss;
	double		d0;

	loss = bpr_loss_batch(2, 2, 2, u, p, q, 0.1f, du, dp, dq, &reg);
	CHECK_CLOSE(loss, 0.4565662868456988, 1e-6);
	CHECK_CLOSE(reg, 0.22, 1e-6);

	/* triplet 0: s_pos = 0, s_neg = 0.35; dp0[0] = (-sigmoid(0.35) * 1 + 0.1 * 0.2) / 2 */
	d0 = 1.0 / (1.0 + exp(-0.35));
	CHECK_CLOSE(dp[0], (-d0 + 0.02) / 2.0, 1e-6);
	CHECK_CLOSE(dq[1], (d0 * 0.5 + 0.1 * 0.1) / 2.0, 1e-6);
	CHECK_CLOSE(du[0], (d0 * (0.3 - 0.2) + 0.1) / 2.0, 1e-6);

	loss = bpr_loss_batch(2, 2, 3, u, pb, qb, 0.1f, du, dp, dq, NULL);
	CHECK_CLOSE(loss, 0.47290496902816165, 1e-6);
	loss = bpr_loss_batch(2, 2, 3, u, pb, qb, 0.1f, du, dp, dq, &reg);
	CHECK_CLOSE(reg, 0.28406250000000005, 1e-6);
	/* triplet 0 with bias: s_pos = 0.25, s_neg = 0.35 */
	d0 = 1.0 / (1.0 + exp(-0.1));
	CHECK_CLOSE(dp[2], (-d0 + 0.1 * 0.25) / 2.0, 1e-6);
	CHECK_CLOSE(dq[2], (d0 + 0.0) / 2.0, 1e-6);

	/* extreme scores stay finite */
	{
		const float ub[2] = {100.0f, 100.0f};
		const float pe[2] = {-10.0f, -10.0f};
		const float qe[2] = {10.0f, 10.0f};
		float		g1[2], g2[2], g3[2];

		loss = bpr_loss_batch(1, 2, 2, ub, pe, qe, 0.0f, g1, g2, g3, &reg);
		CHECK_CLOSE(loss, 4000.0, 1e-6);
		CHECK(isfinite(g1[0]) && isfinite(g2[0]) && isfinite(g3[0]));
		CHECK_CLOSE(g2[0], -100.0, 1e-4);
		loss = bpr_loss_batch(1, 2, 2, ub, qe, pe, 0.0f, g1, g2, g3, &reg);
		CHECK_CLOSE(loss, 0.0, 1e-300);
		CHECK(isfinite(g1[0]) && fabs(g1[0]) < 1e-30);
	}

	/* an empty batch */
	loss = bpr_loss_batch(0, 2, 2, u, p, q, 0.1f, du, dp, dq, &reg);
	CHECK(loss == 0.0 && reg == 0.0);
}

/* Total objective (BPR part + L2 part) of a batch */
static double
loss_total(int32_t n, int32_t ud, int32_t id, const float *u, const float *p,
		   const float *q, float l2, float *du, float *dp, float *dq)
{
	double		reg = 0.0;
	double		loss = bpr_loss_batch(n, ud, id, u, p, q, l2, du, dp, dq, &reg);

	return loss + reg;
}

/* Compares one gradient array against central finite differences */
static void
loss_fd_array(int32_t n, int32_t ud, int32_t id, float *u, float *p, float *q,
			  float l2, float *x, const float *grad, size_t count,
			  float *du, float *dp, float *dq)
{
	for (size_t i = 0; i < count; i++)
	{
		float		x0 = x[i];
		float		hi = x0 + 1e-3f;
		float		lo = x0 - 1e-3f;
		double		fp,
					fm,
					fd;

		x[i] = hi;
		fp = loss_total(n, ud, id, u, p, q, l2, du, dp, dq);
		x[i] = lo;
		fm = loss_total(n, ud, id, u, p, q, l2, du, dp, dq);
		x[i] = x0;
		/* divide by the perturbation actually applied in float */
		fd = (fp - fm) / ((double) hi - (double) lo);
		CHECK_CLOSE(grad[i], fd, 2e-6 + 1e-4 * fabs(fd));
	}
}

/* Gradients of du/dp/dq against finite differences */
static void
loss_check_fd(int32_t n, int32_t ud, int32_t id, float l2, uint64_t seed)
{
	BprRng		rng;
	float	   *u = bpr_alloc_array(&unit_alloc, (size_t) n * ud, sizeof(float), "u");
	float	   *p = bpr_alloc_array(&unit_alloc, (size_t) n * id, sizeof(float), "p");
	float	   *q = bpr_alloc_array(&unit_alloc, (size_t) n * id, sizeof(float), "q");
	float	   *du = bpr_alloc_array(&unit_alloc, (size_t) n * ud, sizeof(float), "du");
	float	   *dp = bpr_alloc_array(&unit_alloc, (size_t) n * id, sizeof(float), "dp");
	float	   *dq = bpr_alloc_array(&unit_alloc, (size_t) n * id, sizeof(float), "dq");
	float	   *gu = bpr_alloc_array(&unit_alloc, (size_t) n * ud, sizeof(float), "gu");
	float	   *gp = bpr_alloc_array(&unit_alloc, (size_t) n * id, sizeof(float), "gp");
	float	   *gq = bpr_alloc_array(&unit_alloc, (size_t) n * id, sizeof(float), "gq");

	bpr_rng_seed(&rng, seed);
	for (int32_t i = 0; i < n * ud; i++)
		u[i] = bpr_rng_range(&rng, -1.0f, 1.0f);
	for (int32_t i = 0; i < n * id; i++)
	{
		p[i] = bpr_rng_range(&rng, -1.0f, 1.0f);
		q[i] = bpr_rng_range(&rng, -1.0f, 1.0f);
		/* garbage that must be overwritten */
		dp[i] = 123.0f;
		dq[i] = -7.0f;
	}
	loss_total(n, ud, id, u, p, q, l2, gu, gp, gq);
	loss_fd_array(n, ud, id, u, p, q, l2, u, gu, (size_t) n * ud, du, dp, dq);
	loss_fd_array(n, ud, id, u, p, q, l2, p, gp, (size_t) n * id, du, dp, dq);
	loss_fd_array(n, ud, id, u, p, q, l2, q, gq, (size_t) n * id, du, dp, dq);
}

/* Runs the loss suite */
void
test_loss(void)
{
	loss_check_activations();
	loss_check_small_batch();
	loss_check_fd(5, 4, 4, 0.0f, 11);
	loss_check_fd(5, 4, 4, 0.05f, 12);
	loss_check_fd(4, 3, 4, 0.0f, 13);
	loss_check_fd(6, 3, 4, 0.2f, 14);
}
