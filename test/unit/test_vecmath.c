/*
 * test_vecmath.c - the vector helpers: elementwise updates against their
 * scalar definitions, the polynomial exp against exp, bfloat16 round trips
 * and the dot products used for choices
 */
#include <string.h>

#include "rng.h"
#include "vecmath.h"
#include "unit.h"

/* Elementwise helpers equal their one-line definitions exactly, for every length */
static void
tv_elementwise(void)
{
	float		x[19],
				y[19],
				a[19],
				ref[19];
	BprRng		rng;
	bool		ok = true;

	bpr_rng_seed(&rng, 4);
	for (size_t n = 0; n <= 19; n++)
	{
		for (size_t i = 0; i < 19; i++)
		{
			x[i] = bpr_rng_range(&rng, -2.0f, 2.0f);
			y[i] = bpr_rng_range(&rng, -2.0f, 2.0f);
			a[i] = bpr_rng_range(&rng, -1.0f, 1.0f);
		}
		memcpy(ref, y, sizeof(y));
		for (size_t i = 0; i < n; i++)
			ref[i] += x[i];
		bpr_add_to(y, x, n);
		ok = ok && memcmp(ref, y, sizeof(y)) == 0;
		for (size_t i = 0; i < n; i++)
			ref[i] += 0.375f * x[i];
		bpr_axpy(y, 0.375f, x, n);
		ok = ok && memcmp(ref, y, sizeof(y)) == 0;
		for (size_t i = 0; i < n; i++)
			ref[i] = a[i] > 0.0f ? ref[i] : 0.0f;
		bpr_relu_grad(y, a, n);
		ok = ok && memcmp(ref, y, sizeof(y)) == 0;
		for (size_t i = 0; i < n; i++)
			ref[i] = x[i] > 0.0f ? x[i] : 0.0f;
		memcpy(y, x, sizeof(x));
		memcpy(ref + n, x + n, (19 - n) * sizeof(float));
		bpr_relu(y, n);
		ok = ok && memcmp(ref, y, sizeof(y)) == 0;
	}
	CHECK(ok);
}

/* exp within a few ulp over the float range softmax uses; the sum is the sum */
static void
tv_exp(void)
{
	float		z[37],
				in[37];
	double		worst = 0.0;
	double		sum = 0.0;
	float		got;

	for (int i = 0; i < 37; i++)
		in[i] = z[i] = -80.0f + 4.4f * (float) i;
	got = bpr_exp_sum(z, 37, 1.5f);
	for (int i = 0; i < 37; i++)
	{
		double		want = exp((double) (in[i] - 1.5f));
		double		rel = fabs(z[i] - want) / want;

		sum += z[i];
		worst = rel > worst ? rel : worst;
	}
	CHECK(worst < 5e-7);
	CHECK_CLOSE(got, sum, 1e-6 * sum);
	/* very negative arguments are (almost) 0, never NaN or negative */
	z[0] = -1e30f;
	z[1] = -100.0f;
	z[2] = 0.0f;
	got = bpr_exp_sum(z, 3, 0.0f);
	CHECK(z[0] >= 0.0f && z[0] < 1e-37f && z[1] >= 0.0f && z[1] < 1e-37f);
	CHECK_CLOSE(z[2], 1.0, 1e-7);
	CHECK_CLOSE(got, 1.0, 1e-6);
}

/* 8-bit codes keep values within half a step; dot products for choices agree with exact ones */
static void
tv_i8_and_dots(void)
{
	float		a[67],
				b[67],
				scale;
	int8_t		c[67];
	BprRng		rng;
	double		exact = 0.0,
				approx = 0.0;
	bool		ok = true;

	bpr_rng_seed(&rng, 8);
	for (int i = 0; i < 67; i++)
	{
		a[i] = bpr_rng_range(&rng, -1.0f, 1.0f);
		b[i] = bpr_rng_range(&rng, -2.0f, 2.0f);
	}
	bpr_quantize_i8(b, 67, c, &scale);
	for (int i = 0; i < 67; i++)
	{
		ok = ok && fabs(scale * c[i] - b[i]) <= 0.5 * scale + 1e-7 && c[i] != -128;
		exact += (double) a[i] * b[i];
		approx += (double) a[i] * c[i];
	}
	CHECK(ok);
	CHECK(scale > 0.0f && scale <= 2.0f / 127.0f);
	CHECK_CLOSE(bpr_dot_i8(a, c, 67), approx, 1e-3);
	CHECK_CLOSE(scale * bpr_dot_i8(a, c, 67), exact, 0.05);
	{
		double		head = 0.0;

		for (int i = 0; i < 9; i++)
			head += (double) a[i] * c[i];
		CHECK_CLOSE(bpr_dot_i8(a, c, 9), head, 1e-4);	/* shorter than one SSE block */
	}
	CHECK_CLOSE(bpr_dot_fast(a, b, 67), exact, 1e-5);
	CHECK_CLOSE(bpr_dot_fast(a, b, 5), bpr_dot(a, b, 5), 1e-6);
	/* all zero: scale 0, codes 0 */
	memset(b, 0, sizeof(b));
	bpr_quantize_i8(b, 67, c, &scale);
	CHECK(scale == 0.0f && c[0] == 0 && c[66] == 0);
}

/* Runs the vector helper suite */
void
test_vecmath(void)
{
	tv_elementwise();
	tv_exp();
	tv_i8_and_dots();
}
