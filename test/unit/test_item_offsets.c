/*
 * test_item_offsets.c - the items' score offsets for cold users (calibration.c)
 */
#include <string.h>

#include "calibration.h"
#include "vecmath.h"
#include "unit.h"

/*
 * 4 items, 5 users: item 0 liked by all 5 raters, item 1 disliked by 4 of 5,
 * item 2 liked by 1 and disliked by 1, item 3 rated by nobody.
 * Liked 7 + disliked 5: global share 7/12.
 */
static const int64_t pos_ptr[] = {0, 2, 3, 4, 6, 7};
static const int32_t pos[] = {0, 2, 0, 0, 0, 1, 0};
static const int64_t neg_ptr[] = {0, 1, 2, 3, 4, 5};
static const int32_t neg[] = {1, 1, 1, 1, 2};
static const BprInteractions inter = {
	.n_users = 5, .n_items = 4, .pos_ptr = pos_ptr, .pos = pos, .neg_ptr = neg_ptr, .neg = neg
};

/* An item's offset is a penalty only, grows with its disliked share, and is 0 without ratings */
static void
test_item_offset(void)
{
	BprCalibrationFit fit = {.spread = 2.0, .global_share = 0.6};
	double		share = (1.0 + 2.0 * 0.6) / (1.0 + 4.0 + 2.0);

	CHECK(bpr_calibration_item_offset(&fit, 0.5, 0, 0) == 0.0f);
	CHECK(bpr_calibration_item_offset(&fit, 0.5, 10, 0) == 0.0f);
	CHECK(bpr_calibration_item_offset(&fit, 0.5, 6, 4) == 0.0f);	/* the global share: 0 */
	CHECK(bpr_calibration_item_offset(&fit, 0.5, 1, 4) < 0.0f);
	CHECK(bpr_calibration_item_offset(&fit, 0.5, 1, 9) < bpr_calibration_item_offset(&fit, 0.5, 1, 4));
	CHECK_CLOSE(bpr_calibration_item_offset(&fit, 0.5, 1, 4),
				0.5 * 2.0 * (log(share / (1.0 - share)) - log(0.6 / 0.4)), 1e-6);
	/* the weight scales it */
	CHECK_CLOSE(bpr_calibration_item_offset(&fit, 1.0, 1, 4),
				2.0 * bpr_calibration_item_offset(&fit, 0.5, 1, 4), 1e-6);
}

/* The offsets land in a column of their own: q_i for items (0 unrated), 0 for users */
static void
test_calibrate_items(void)
{
	BprCalibrationFit fit = {.spread = 1.5, .global_share = 7.0 / 12.0};
	float		ivec[4 * 4],
				uvec[5 * 4],
				before_i[4 * 3],
				before_u[5 * 3],
				offsets[4];
	int64_t		counts[2 * 4];

	for (int i = 0; i < 4 * 3; i++)
		ivec[i] = before_i[i] = 0.1f * (float) i;
	for (int i = 0; i < 5 * 3; i++)
		uvec[i] = before_u[i] = 0.2f * (float) i - 1.0f;
	CHECK(bpr_calibrate_items(&inter, &fit, 0.5, uvec, ivec, 3, counts, offsets) == 4);
	/* the other columns are untouched, in rows of 4 */
	for (int i = 0; i < 4; i++)
		for (int c = 0; c < 3; c++)
			CHECK(ivec[i * 4 + c] == before_i[i * 3 + c]);
	for (int u = 0; u < 5; u++)
	{
		for (int c = 0; c < 3; c++)
			CHECK(uvec[u * 4 + c] == before_u[u * 3 + c]);
		CHECK(uvec[u * 4 + 3] == 0.0f);	/* trained users: no item offsets */
	}
	for (int i = 0; i < 4; i++)
		CHECK(ivec[i * 4 + 3] == offsets[i]);
	CHECK(offsets[0] == 0.0f);	/* liked by everyone: no penalty */
	CHECK(offsets[1] == bpr_calibration_item_offset(&fit, 0.5, 1, 4));
	CHECK(offsets[1] < 0.0f);
	CHECK(offsets[2] == bpr_calibration_item_offset(&fit, 0.5, 1, 1));
	CHECK(offsets[2] < 0.0f);
	CHECK(offsets[2] > offsets[1]);
	CHECK(offsets[3] == 0.0f);	/* rated by nobody */

	/* weight 0: nothing appended, nothing changed */
	memcpy(ivec, before_i, sizeof(before_i));
	memcpy(uvec, before_u, sizeof(before_u));
	CHECK(bpr_calibrate_items(&inter, &fit, 0.0, uvec, ivec, 3, counts, offsets) == 3);
	CHECK(memcmp(ivec, before_i, sizeof(before_i)) == 0);
	CHECK(memcmp(uvec, before_u, sizeof(before_u)) == 0);
}

/*
 * The fit of the users' offsets, then the items': the layout is [tower |
 * offset_u, 1 | c_u, q_i], and a trained user's scores are those without the
 * items' offsets, bit for bit
 */
static void
test_with_user_fit(void)
{
	float		uvec[5 * 4],
				ivec[4 * 4],
				u3[5 * 3],
				i3[4 * 3];
	float		offsets[5],
				item_offsets[4],
				cold;
	int64_t		counts[2 * 4];
	BprCalibrationFit fit;

	for (int i = 0; i < 5 * 4; i++)
		uvec[i] = 0.05f * (float) (i % 7) - 0.1f;
	for (int i = 0; i < 4 * 4; i++)
		ivec[i] = 0.03f * (float) (i % 5) + 0.2f;
	CHECK(bpr_calibrate_vectors_fit(&inter, uvec, ivec, 2, offsets, &cold, &fit, NULL, NULL) == 3);
	CHECK_CLOSE(fit.global_share, 7.0 / 12.0, 1e-12);
	memcpy(u3, uvec, sizeof(u3));
	memcpy(i3, ivec, sizeof(i3));
	CHECK(bpr_calibrate_items(&inter, &fit, 0.5, uvec, ivec, 3, counts, item_offsets) == 4);
	for (int i = 0; i < 4; i++)
	{
		CHECK(ivec[i * 4 + 2] == 1.0f);	/* items carry a 1 in the users' offset column */
		CHECK(ivec[i * 4 + 3] == item_offsets[i]);
	}
	CHECK(item_offsets[1] < 0.0f);
	for (int u = 0; u < 5; u++)
	{
		CHECK(uvec[u * 4 + 2] == offsets[u]);
		for (int i = 0; i < 4; i++)
			CHECK(bpr_dot(uvec + u * 4, ivec + i * 4, 4) == bpr_dot(u3 + u * 3, i3 + i * 3, 3));
	}
}

void
test_item_offsets(void)
{
	test_item_offset();
	test_calibrate_items();
	test_with_user_fit();
}
