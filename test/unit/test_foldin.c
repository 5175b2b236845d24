/*
 * test_foldin.c - fold-in of one user against frozen items; the score offsets' fit
 */
#include <string.h>

#include "calibration.h"
#include "foldin.h"
#include "vecmath.h"
#include "unit.h"

#define N_ITEMS 12
#define DIM 4
/* stored item rows: the embedding, the bias, the score offset column's 1 */
#define WIDTH (DIM + 2)

/*
 * Planted items: 0..5 point along the first axis (group A), 6..11 along the
 * second (group B), each a little off its axis; group B is more popular (a
 * larger bias), so a user who likes A has to overcome it.
 *   user 0: liked {0, 2, 4} (group A), nothing else rated
 *   user 1: rated and liked every item (no unrated negative)
 *   user 2: disliked {7}, liked nothing
 *   user 3: liked {1, 3}, disliked {6, 8}
 */
static const int64_t pos_ptr[5] = {0, 3, 15, 15, 17};
static const int32_t pos_items[17] = {0, 2, 4, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 1, 3};
static const int64_t neg_ptr[5] = {0, 0, 0, 1, 3};
static const int32_t neg_items[3] = {7, 6, 8};
static const int64_t rated_ptr[5] = {0, 3, 15, 16, 20};
static const int32_t rated_items[20] = {0, 2, 4, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 7, 1, 3, 6, 8};

static const BprInteractions inter = {
	4, N_ITEMS, pos_ptr, pos_items, neg_ptr, neg_items, rated_ptr, rated_items, NULL
};

/* The planted item rows, filled by test_foldin */
static float items[N_ITEMS * WIDTH];

/* Fills the planted item rows */
static void
planted_items(void)
{
	for (int i = 0; i < N_ITEMS; i++)
	{
		float	   *v = items + (size_t) i * WIDTH;

		memset(v, 0, sizeof(float) * WIDTH);
		v[i < 6 ? 0 : 1] = 1.0f;
		v[2] = 0.1f * (float) (i % 3);
		v[3] = -0.05f * (float) (i % 2);
		v[DIM] = i < 6 ? 0.0f : 0.5f;
		v[DIM + 1] = 1.0f;
	}
}

/* A sampler over the planted data with the given pool and hardness */
static void
make_sampler(BprSampler *s, BprNegatives neg, BprHardNegatives hard, int32_t candidates)
{
	BprSamplerConfig cfg;

	memset(&cfg, 0, sizeof(cfg));
	cfg.negatives = neg;
	cfg.hard = hard;
	cfg.candidates = candidates;
	bpr_sampler_init(s, &cfg, &inter, NULL, &unit_alloc);
	s->item_vectors = items;
	s->user_dim = DIM;
	s->item_dim = WIDTH;
}

/* A configuration that learns the planted structure */
static BprFoldInConfig
config(int32_t steps)
{
	BprFoldInConfig cfg = {.dim = DIM, .steps = steps, .batch_size = 256, .learning_rate = 0.05f,
	.l2 = 0.01f};

	return cfg;
}

/* Folds a user in from u (WIDTH values), seeded; returns the last step's loss */
static double
fold(const BprFoldInConfig *cfg, const BprSampler *s, int32_t user, uint64_t seed, float *u)
{
	BprRng		rng;
	float		work[3 * DIM];

	CHECK(bpr_fold_in_work_floats(cfg) <= 3 * DIM);
	bpr_rng_seed(&rng, seed);
	return bpr_fold_in_user(cfg, s, user, &rng, u, work);
}

/* A new user's vector: a zero embedding, then the bias column's 1 and no offset */
static void
fresh(float *u)
{
	memset(u, 0, sizeof(float) * WIDTH);
	u[DIM] = 1.0f;
}

/* True when every item of group A scores above every item of group B for u */
static bool
group_a_first(const float *u)
{
	float		worst_a = 1e30f,
				best_b = -1e30f;

	for (int i = 0; i < N_ITEMS; i++)
	{
		float		sc = bpr_dot(u, items + (size_t) i * WIDTH, WIDTH);

		if (i < 6 && sc < worst_a)
			worst_a = sc;
		if (i >= 6 && sc > best_b)
			best_b = sc;
	}
	return worst_a > best_b;
}

/* A new user folded in from zero toward liked group-A items ranks all of group A first */
static void
test_learns_liked_group(void)
{
	float		u[WIDTH] = {0, 0, 0, 0, 1.0f, 0.25f};
	BprSampler	s;
	BprFoldInConfig cfg = config(100);
	double		first,
				last;

	make_sampler(&s, BPR_NEG_UNRATED, BPR_HARD_NONE, 0);
	CHECK(bpr_fold_in_config_check(&cfg) == NULL);
	CHECK(!group_a_first(u));
	last = fold(&cfg, &s, 0, 7, u);
	CHECK(group_a_first(u));
	/* only the embedding moves: the bias column's 1 and the offset stay */
	CHECK(u[DIM] == 1.0f && u[DIM + 1] == 0.25f);

	/* the loss went down: one step from zero against the last of a hundred */
	{
		float		z[WIDTH] = {0, 0, 0, 0, 1.0f, 0.25f};
		BprFoldInConfig one = config(1);

		first = fold(&one, &s, 0, 7, z);
		CHECK(first > 0.6);		/* about softplus(0.5): group B's bias */
		CHECK(last < 0.5 * first);
	}
}

/* Zero steps leave the vector as it is; fold-in is reproducible from a seed */
static void
test_zero_steps_and_reproducible(void)
{
	float		start[WIDTH] = {0.1f, -0.2f, 0.3f, 0.05f, 1.0f, 0.0f};
	float		u[WIDTH],
				a[WIDTH],
				b[WIDTH],
				c[WIDTH];
	BprSampler	s;
	BprFoldInConfig none = config(0);
	BprFoldInConfig cfg = config(40);

	make_sampler(&s, BPR_NEG_UNRATED, BPR_HARD_MODEL, 3);
	memcpy(u, start, sizeof(u));
	CHECK(fold(&none, &s, 0, 1, u) == 0.0);
	CHECK(memcmp(u, start, sizeof(u)) == 0);

	memcpy(a, start, sizeof(a));
	memcpy(b, start, sizeof(b));
	memcpy(c, start, sizeof(c));
	fold(&cfg, &s, 0, 11, a);
	fold(&cfg, &s, 0, 11, b);
	fold(&cfg, &s, 0, 12, c);
	CHECK(memcmp(a, b, sizeof(a)) == 0);
	CHECK(memcmp(a, start, sizeof(a)) != 0);
	/* model-hard negatives learn the structure too, whatever the seed */
	CHECK(group_a_first(a));
	CHECK(group_a_first(c));
}

/* Users without a liked item or without a possible negative are left as they are */
static void
test_nothing_to_learn(void)
{
	float		start[WIDTH] = {0.3f, 0.3f, 0.0f, 0.0f, 1.0f, 0.0f};
	float		u[WIDTH];
	BprSampler	s;
	BprFoldInConfig cfg = config(20);

	make_sampler(&s, BPR_NEG_UNRATED, BPR_HARD_NONE, 0);
	memcpy(u, start, sizeof(u));
	CHECK(fold(&cfg, &s, 1, 3, u) == 0.0);	/* rated every item */
	CHECK(memcmp(u, start, sizeof(u)) == 0);
	CHECK(fold(&cfg, &s, 2, 3, u) == 0.0);	/* liked nothing */
	CHECK(memcmp(u, start, sizeof(u)) == 0);
}

/* Rated negatives: liked items above the user's disliked ones; a batch smaller than the liked items */
static void
test_rated_negatives_and_batches(void)
{
	float		u[WIDTH],
				w[WIDTH],
				w2[WIDTH];
	BprSampler	s;
	BprFoldInConfig cfg = config(100);

	make_sampler(&s, BPR_NEG_RATED, BPR_HARD_NONE, 0);
	fresh(u);
	fold(&cfg, &s, 3, 5, u);
	for (int lk = 0; lk < 2; lk++)
		for (int dk = 0; dk < 2; dk++)
			CHECK(bpr_dot(u, items + (size_t) (lk ? 3 : 1) * WIDTH, WIDTH) >
				  bpr_dot(u, items + (size_t) (dk ? 8 : 6) * WIDTH, WIDTH));

	/* two triplets a step out of three liked items: sampled, still learnt, still reproducible */
	make_sampler(&s, BPR_NEG_UNRATED, BPR_HARD_NONE, 0);
	cfg.batch_size = 2;
	fresh(w);
	fresh(w2);
	fold(&cfg, &s, 0, 9, w);
	fold(&cfg, &s, 0, 9, w2);
	CHECK(group_a_first(w));
	CHECK(memcmp(w, w2, sizeof(w)) == 0);
}

/* A larger l2 keeps the embedding shorter */
static void
test_l2_shrinks(void)
{
	float		a[WIDTH],
				b[WIDTH];
	BprSampler	s;
	BprFoldInConfig cfg = config(200);

	make_sampler(&s, BPR_NEG_UNRATED, BPR_HARD_NONE, 0);
	fresh(a);
	fresh(b);
	cfg.l2 = 0.0f;
	fold(&cfg, &s, 0, 2, a);
	cfg.l2 = 1.0f;
	fold(&cfg, &s, 0, 2, b);
	CHECK(bpr_dot_f64(b, b, DIM) < bpr_dot_f64(a, a, DIM));
}

/* Bad configurations are refused */
static void
test_config_check(void)
{
	BprFoldInConfig cfg = config(10);

	CHECK(bpr_fold_in_config_check(&cfg) == NULL);
	cfg.steps = -1;
	CHECK(bpr_fold_in_config_check(&cfg) != NULL);
	cfg = config(10);
	cfg.learning_rate = 0.0f;
	CHECK(bpr_fold_in_config_check(&cfg) != NULL);
	cfg = config(10);
	cfg.batch_size = 0;
	CHECK(bpr_fold_in_config_check(&cfg) != NULL);
}

/* The fit of the score offsets gives back every user's offset and the cold one */
static void
test_calibration_fit(void)
{
	float		uvec[4 * 3],
				ivec[N_ITEMS * 3];
	float		offsets[4],
				cold = 0.0f;
	BprCalibrationFit fit;
	int32_t		width;

	/* rows of 2 values, widened in place to 3 */
	for (int u = 0; u < 4; u++)
		for (int d = 0; d < 2; d++)
			uvec[u * 2 + d] = 0.1f * (float) (u + 1) * (d ? -1.0f : 1.0f);
	for (int i = 0; i < N_ITEMS; i++)
		for (int d = 0; d < 2; d++)
			ivec[i * 2 + d] = 0.2f * (float) ((i + d) % 5) - 0.3f;
	width = bpr_calibrate_vectors_fit(&inter, uvec, ivec, 2, offsets, &cold, &fit, NULL, NULL);
	CHECK(width == 3);
	/* 17 liked and 3 disliked pairs */
	CHECK_CLOSE(fit.global_share, 17.0 / 20.0, 1e-12);
	CHECK(fit.spread > 0.0);
	for (int u = 0; u < 4; u++)
	{
		CHECK(offsets[u] == bpr_calibration_offset(&fit, pos_ptr[u + 1] - pos_ptr[u],
												   neg_ptr[u + 1] - neg_ptr[u]));
		CHECK(uvec[u * 3 + 2] == offsets[u]);
	}
	CHECK(cold == bpr_calibration_offset(&fit, 0, 0));
	/* more liked than the global share: a higher offset */
	CHECK(bpr_calibration_offset(&fit, 10, 0) > cold);
	CHECK(bpr_calibration_offset(&fit, 0, 10) < cold);
}

/*
 * With weights, the heavier of two liked items ends up scored higher,
 * whichever it is; the margin between them follows the weights (ignored
 * weights would give the same margin three times: same seed, same draws)
 */
static void
test_weighted_positives(void)
{
	static const int64_t wp_ptr[2] = {0, 2};
	static const int32_t wp_items[2] = {0, 6};
	static const int64_t wn_ptr[2] = {0, 0};
	static const int32_t wn_items[1] = {0};
	static const float w[3][2] = {{20.0f, 1.0f}, {1.0f, 1.0f}, {1.0f, 20.0f}};
	float		weights[2];
	BprInteractions one = {1, N_ITEMS, wp_ptr, wp_items, wn_ptr, wn_items, wp_ptr, wp_items, weights};
	BprSamplerConfig scfg;
	BprFoldInConfig cfg = config(150);
	float		margin[3];

	memset(&scfg, 0, sizeof(scfg));
	scfg.negatives = BPR_NEG_UNRATED;
	for (int k = 0; k < 3; k++)
	{
		BprSampler	s;
		float		u[WIDTH];

		weights[0] = w[k][0];
		weights[1] = w[k][1];
		bpr_sampler_init(&s, &scfg, &one, NULL, &unit_alloc);
		s.item_vectors = items;
		s.user_dim = DIM;
		s.item_dim = WIDTH;
		fresh(u);
		fold(&cfg, &s, 0, 3, u);
		margin[k] = bpr_dot(u, items, WIDTH) - bpr_dot(u, items + 6 * WIDTH, WIDTH);
	}
	CHECK(margin[0] > 0.0f);
	CHECK(margin[2] < 0.0f);
	CHECK(margin[0] > margin[1] + 0.01f);
	CHECK(margin[1] > margin[2] + 0.01f);
}

void
test_foldin(void)
{
	planted_items();
	test_learns_liked_group();
	test_zero_steps_and_reproducible();
	test_nothing_to_learn();
	test_rated_negatives_and_batches();
	test_l2_shrinks();
	test_config_check();
	test_calibration_fit();
	test_weighted_positives();
}
