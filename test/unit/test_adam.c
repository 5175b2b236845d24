/*
 * test_adam.c - unit tests of the Adam optimiser (dense and lazy rows)
 *
 * Expected values were computed by hand in double precision (Python); the
 * second moments carry float's rounding of 1 - 0.999f (relative 1.3e-5).
 */
#include <string.h>

#include "adam.h"
#include "unit.h"

/* Checks the Keras defaults */
static void
adam_check_defaults(void)
{
	BprAdamConfig cfg;

	bpr_adam_defaults(&cfg, 0.25f);
	CHECK_CLOSE(cfg.lr, 0.25, 0.0);
	CHECK_CLOSE(cfg.beta1, 0.9f, 0.0);
	CHECK_CLOSE(cfg.beta2, 0.999f, 0.0);
	CHECK_CLOSE(cfg.eps, 1e-7f, 0.0);
}

/* One step from zero moments: the step is lr * g / (|g| + eps) */
static void
adam_check_one_step(void)
{
	BprAdamConfig cfg;
	float		w[3] = {1.0f, -0.5f, 0.2f};
	float		g[3] = {0.1f, -0.2f, 0.0f};
	float		m[3] = {0};
	float		v[3] = {0};

	bpr_adam_defaults(&cfg, 0.01f);
	bpr_adam_dense(w, g, m, v, 3, &cfg, 1);
	CHECK_CLOSE(w[0], 0.99000000999999, 1e-6);
	CHECK_CLOSE(w[1], -0.4900000049999975, 1e-6);
	CHECK_CLOSE(w[2], 0.2, 1e-7);
	CHECK_CLOSE(m[0], 0.01, 1e-8);
	CHECK_CLOSE(m[1], -0.02, 1e-8);
	CHECK_CLOSE(v[0], 1e-5, 2e-10);	/* 1 - 0.999f is 0.00099998713 */
	CHECK_CLOSE(v[1], 4e-5, 6e-10);
	CHECK(v[2] == 0.0f && m[2] == 0.0f);
}

/* Three steps with varying gradients */
static void
adam_check_several_steps(void)
{
	BprAdamConfig cfg;
	float		w[4] = {1.0f, -0.5f, 0.2f, 3.0f};
	float		m[4] = {0};
	float		v[4] = {0};
	const float g[3][4] = {
		{0.1f, -0.2f, 0.0f, 2.0f},
		{-0.3f, 0.1f, 0.5f, 2.0f},
		{0.2f, 0.2f, -0.1f, -1.0f}
	};

	bpr_adam_defaults(&cfg, 0.05f);
	for (int s = 0; s < 3; s++)
		bpr_adam_dense(w, g[s], m, v, 4, &cfg, s + 1);
	CHECK_CLOSE(w[0], 0.973770146330857, 2e-6);
	CHECK_CLOSE(w[1], -0.450318013115806, 2e-6);
	CHECK_CLOSE(w[2], 0.14085833917936857, 2e-6);
	CHECK_CLOSE(w[3], 2.8742173361995453, 2e-6);
	CHECK_CLOSE(m[0], 0.0011, 1e-7);
	CHECK_CLOSE(m[2], 0.035, 1e-7);
	CHECK_CLOSE(m[3], 0.242, 1e-7);
	CHECK_CLOSE(v[0], 0.00013989001, 3e-9);
	CHECK_CLOSE(v[3], 0.008988004, 2e-7);
}

/* A later step from non-zero moments with non-default hyperparameters */
static void
adam_check_custom(void)
{
	BprAdamConfig cfg = {0.1f, 0.8f, 0.99f, 1e-3f};
	float		w[2] = {0.5f, -0.25f};
	float		g[2] = {0.4f, -0.1f};
	float		m[2] = {0.2f, 0.1f};
	float		v[2] = {0.05f, 0.01f};

	bpr_adam_dense(w, g, m, v, 2, &cfg, 4);
	CHECK_CLOSE(w[0], 0.46433490850283954, 2e-6);
	CHECK_CLOSE(w[1], -0.2701332442642301, 2e-6);
	CHECK_CLOSE(m[0], 0.24, 1e-6);
	CHECK_CLOSE(m[1], 0.06, 1e-6);
	CHECK_CLOSE(v[0], 0.0511, 1e-7);
	CHECK_CLOSE(v[1], 0.01, 1e-7);
}

/* Lazy rows: listed rows equal the dense update, others keep values and moments */
static void
adam_check_rows(void)
{
	BprAdamConfig cfg;
	enum
	{
		R = 5, C = 3
	};
	float		w[R * C], g[R * C], m[R * C], v[R * C];
	float		w0[R * C], m0[R * C], v0[R * C];
	const int32_t rows[2] = {3, 0};

	bpr_adam_defaults(&cfg, 0.02f);
	for (int i = 0; i < R * C; i++)
	{
		w[i] = 0.1f * (float) (i - 7);
		g[i] = 0.05f * (float) ((i * 7) % 11 - 5);
		m[i] = 0.01f * (float) (i % 4 - 1);
		v[i] = 0.001f * (float) (i % 5 + 1);
	}
	memcpy(w0, w, sizeof(w));
	memcpy(m0, m, sizeof(m));
	memcpy(v0, v, sizeof(v));

	bpr_adam_rows(w, g, m, v, C, rows, 2, &cfg, 7);

	for (int r = 0; r < R; r++)
	{
		bool		listed = (r == 0 || r == 3);
		float		we[C], me[C], ve[C];

		memcpy(we, w0 + r * C, sizeof(we));
		memcpy(me, m0 + r * C, sizeof(me));
		memcpy(ve, v0 + r * C, sizeof(ve));
		if (listed)
			bpr_adam_dense(we, g + r * C, me, ve, C, &cfg, 7);
		for (int c = 0; c < C; c++)
		{
			CHECK(w[r * C + c] == we[c]);
			CHECK(m[r * C + c] == me[c]);
			CHECK(v[r * C + c] == ve[c]);
			if (listed && g[r * C + c] != 0.0f)
				CHECK(w[r * C + c] != w0[r * C + c]);
		}
	}

	/* no rows: nothing changes */
	memcpy(w0, w, sizeof(w));
	bpr_adam_rows(w, g, m, v, C, rows, 0, &cfg, 8);
	CHECK(memcmp(w0, w, sizeof(w)) == 0);
}

/* Runs the Adam suite */
void
test_adam(void)
{
	adam_check_defaults();
	adam_check_one_step();
	adam_check_several_steps();
	adam_check_custom();
	adam_check_rows();
}
