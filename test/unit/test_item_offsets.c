/*
 * test_item_offsets.c - the items' score offsets (calibration.c)
 */
#include <string.h>

#include "calibration.h"
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

/* The offsets land in the bias column of rated items only, each as its counts give it */
static void
test_calibrate_items(void)
{
	BprCalibrationFit fit = {.spread = 1.5, .global_share = 7.0 / 12.0};
	float		ivec[4 * 3],
				before[4 * 3];
	int64_t		counts[2 * 4];

	for (int i = 0; i < 4 * 3; i++)
		ivec[i] = before[i] = 0.1f * (float) i;
	bpr_calibrate_items(&inter, &fit, 0.5, ivec, 3, 1, counts);
	for (int i = 0; i < 4; i++)
	{
		/* the other columns are untouched */
		CHECK(ivec[i * 3] == before[i * 3]);
		CHECK(ivec[i * 3 + 2] == before[i * 3 + 2]);
	}
	CHECK(ivec[0 * 3 + 1] == before[0 * 3 + 1]);	/* liked by everyone: no penalty */
	CHECK(ivec[1 * 3 + 1] == before[1 * 3 + 1] + bpr_calibration_item_offset(&fit, 0.5, 1, 4));
	CHECK(ivec[1 * 3 + 1] < before[1 * 3 + 1]);
	CHECK(ivec[2 * 3 + 1] == before[2 * 3 + 1] + bpr_calibration_item_offset(&fit, 0.5, 1, 1));
	CHECK(ivec[2 * 3 + 1] < before[2 * 3 + 1]);
	CHECK(ivec[2 * 3 + 1] > ivec[1 * 3 + 1] - before[1 * 3 + 1] + before[2 * 3 + 1]);
	CHECK(ivec[3 * 3 + 1] == before[3 * 3 + 1]);	/* rated by nobody */

	/* weight 0, or no bias column: nothing changes */
	memcpy(ivec, before, sizeof(ivec));
	bpr_calibrate_items(&inter, &fit, 0.0, ivec, 3, 1, counts);
	CHECK(memcmp(ivec, before, sizeof(ivec)) == 0);
	bpr_calibrate_items(&inter, &fit, 0.5, ivec, 3, -1, counts);
	CHECK(memcmp(ivec, before, sizeof(ivec)) == 0);
}

/* The fit of the users' offsets, then the items': the global share is the fit's */
static void
test_with_user_fit(void)
{
	float		uvec[5 * 3],
				ivec[4 * 3];
	float		offsets[5],
				cold;
	int64_t		counts[2 * 4];
	BprCalibrationFit fit;

	for (int i = 0; i < 5 * 3; i++)
		uvec[i] = 0.05f * (float) (i % 7) - 0.1f;
	for (int i = 0; i < 4 * 3; i++)
		ivec[i] = 0.03f * (float) (i % 5) + 0.2f;
	CHECK(bpr_calibrate_vectors_fit(&inter, uvec, ivec, 2, offsets, &cold, &fit, NULL, NULL) == 3);
	CHECK_CLOSE(fit.global_share, 7.0 / 12.0, 1e-12);
	bpr_calibrate_items(&inter, &fit, 0.5, ivec, 3, 1, counts);
	/* items still carry a 1 in the users' offset column */
	for (int i = 0; i < 4; i++)
		CHECK(ivec[i * 3 + 2] == 1.0f);
	CHECK(ivec[1 * 3 + 1] < 0.03f * (float) (3 % 5) + 0.2f);
}

void
test_item_offsets(void)
{
	test_item_offset();
	test_calibrate_items();
	test_with_user_fit();
}
