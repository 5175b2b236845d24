/*
 * test_sampler.c - negative sampling modes, hardness, cosine and shuffling
 */
#include <string.h>

#include "sampler.h"
#include "vecmath.h"
#include "unit.h"

/*
 * Hand-built interactions over 10 items:
 *   user 0: liked {1, 4}, disliked {2, 7, 9}, rated {1, 2, 4, 7, 9}
 *   user 1: liked {0}, disliked {}, rated {0, 3, 5} (3 and 5 neutral)
 *   user 2: rated every item: liked {0..4}, disliked {5..9}
 *   user 3: rated and liked every item, disliked none
 */
static const int64_t pos_ptr[5] = {0, 2, 3, 8, 18};
static const int32_t pos_items[18] = {1, 4, 0, 0, 1, 2, 3, 4, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
static const int64_t neg_ptr[5] = {0, 3, 3, 8, 8};
static const int32_t neg_items[8] = {2, 7, 9, 5, 6, 7, 8, 9};
static const int64_t rated_ptr[5] = {0, 5, 8, 18, 28};
static const int32_t rated_items[28] = {1, 2, 4, 7, 9, 0, 3, 5,
	0, 1, 2, 3, 4, 5, 6, 7, 8, 9,
0, 1, 2, 3, 4, 5, 6, 7, 8, 9};

static const BprInteractions inter = {
	4, 10, pos_ptr, pos_items, neg_ptr, neg_items, rated_ptr, rated_items, NULL
};

/*
 * Item features: one numeric value, one categorical field (card 4, 0 missing),
 * one multi-hot field (card 5).
 *   item  num   cat  bag        |v|^2
 *     0   1.0    1   {1,2}      1+1+2 = 4
 *     1   1.0    2   {0,3}      1+1+2 = 4
 *     2   2.0    2   {3,4}      4+1+2 = 7
 *     3   0.0    0   {1}        0+0+1 = 1
 *     4   0.0    3   {4}        0+1+1 = 2
 *     5   0.0    0   {}         0      (norm 0)
 *     6   3.0    1   {2}        9+1+1 = 11
 *     7  -1.0    0   {0,3,4}    1+0+3 = 4
 *     8  -2.0    1   {}         4+1+0 = 5
 *     9   0.5    2   {0,3}      0.25+1+2 = 3.25
 * Cosines to item 1 (norm 2):
 *   2: (2 + 1 + |{3}|=1) / (2 sqrt 7) = 4 / 5.2915026 = 0.7559289
 *   7: (-1 + 0 + |{0,3}|=2) / (2 * 2) = 0.25
 *   9: (0.5 + 1 + 2) / (2 sqrt 3.25) = 3.5 / 3.6055513 = 0.9707253
 * Cosines to item 4 (norm sqrt 2):
 *   2: (0 + 0 + |{4}|=1) / (sqrt 2 sqrt 7) = 0.2672612
 *   7: (0 + 0 + 1) / (sqrt 2 * 2) = 0.3535534
 *   9: 0
 * cos(3, 7) = 0: both categorical codes are 0 (missing), which is no match.
 */
static const float feat_num[10] = {1.0f, 1.0f, 2.0f, 0.0f, 0.0f, 0.0f, 3.0f, -1.0f, -2.0f, 0.5f};
static const int32_t feat_cat_card[1] = {4};
static const int32_t feat_cat[10] = {1, 2, 2, 0, 3, 0, 1, 0, 1, 2};
static const int64_t bag_ptr[11] = {0, 2, 4, 6, 7, 8, 8, 9, 12, 12, 14};
static const int32_t bag_idx[14] = {1, 2, 0, 3, 3, 4, 1, 4, 2, 0, 3, 4, 0, 3};

/* True when item is in the sorted list [lo, hi) of arr */
static bool
in_list(const int32_t *arr, int64_t lo, int64_t hi, int32_t item)
{
	for (int64_t p = lo; p < hi; p++)
		if (arr[p] == item)
			return true;
	return false;
}

/* Makes a sampler over the hand data with the given mode */
static void
make_sampler(BprSampler *s, BprNegatives neg, float share, BprHardNegatives hard,
			 int32_t candidates, const BprFeatures *f)
{
	BprSamplerConfig cfg;

	memset(&cfg, 0, sizeof(cfg));
	cfg.negatives = neg;
	cfg.rated_share = share;
	cfg.hard = hard;
	cfg.candidates = candidates;
	bpr_sampler_init(s, &cfg, &inter, f, &unit_alloc);
}

/* Runs every sampler check */
void
test_sampler(void)
{
	BprMultiField mf = {5, bag_ptr, bag_idx};
	BprFeatures feats;
	BprSampler s;
	BprRng		rng;
	int			counts[10];
	bool		ok;

	memset(&feats, 0, sizeof(feats));
	feats.n_rows = 10;
	feats.n_numeric = 1;
	feats.numeric = feat_num;
	feats.n_cat = 1;
	feats.cat_card = feat_cat_card;
	feats.cat = feat_cat;
	feats.n_multi = 1;
	feats.multi = &mf;

	/* rated lookup against a linear scan */
	ok = true;
	for (int32_t u = 0; u < 4; u++)
		for (int32_t i = 0; i < 10; i++)
			if (bpr_interactions_rated(&inter, u, i) !=
				in_list(rated_items, rated_ptr[u], rated_ptr[u + 1], i))
				ok = false;
	CHECK(ok);

	/* the interpolation search against the binary one: even, clustered and skewed lists */
	{
		static int32_t v[3000];
		BprRng		r;

		bpr_rng_seed(&r, 3);
		ok = true;
		for (int shape = 0; shape < 3; shape++)
			for (int64_t n = 0; n < 3000; n += 1 + n / 3)
			{
				int32_t		x = 0;

				for (int64_t i = 0; i < n; i++)
				{
					/* gaps: even, bursts of neighbours, or growing */
					x += shape == 0 ? 1 + (int32_t) bpr_rng_below(&r, 20) :
						shape == 1 ? (bpr_rng_below(&r, 10) == 0 ? 500 : 1) :
						1 + (int32_t) (i * i / 50);
					v[i] = x;
				}
				for (int t = 0; t < 200; t++)
				{
					int32_t		q = (int32_t) bpr_rng_below(&r, (uint64_t) x + 10);

					if (t < 20 && n > 0)
						q = v[bpr_rng_below(&r, (uint64_t) n)];
					/* a good universe, a bad one, and none */
					if (bpr_sorted_has_i32(v, n, q, x + 10) != (bpr_find_i32(v, n, q) >= 0) ||
						bpr_sorted_has_i32(v, n, q, 3) != (bpr_find_i32(v, n, q) >= 0) ||
						bpr_sorted_has_i32(v, n, q, 0) != (bpr_find_i32(v, n, q) >= 0))
						ok = false;
				}
			}
		CHECK(ok);
	}

	/* user_ok per mode */
	make_sampler(&s, BPR_NEG_RATED, 0.5f, BPR_HARD_NONE, 0, NULL);
	CHECK(s.item_norm == NULL && s.item_vectors == NULL && s.user_dim == 0 && s.item_dim == 0);
	CHECK(bpr_sampler_user_ok(&s, 0) && !bpr_sampler_user_ok(&s, 1) &&
		  bpr_sampler_user_ok(&s, 2) && !bpr_sampler_user_ok(&s, 3));
	make_sampler(&s, BPR_NEG_UNRATED, 0.5f, BPR_HARD_NONE, 0, NULL);
	CHECK(bpr_sampler_user_ok(&s, 0) && bpr_sampler_user_ok(&s, 1) &&
		  !bpr_sampler_user_ok(&s, 2) && !bpr_sampler_user_ok(&s, 3));
	make_sampler(&s, BPR_NEG_BOTH, 0.5f, BPR_HARD_NONE, 0, NULL);
	CHECK(bpr_sampler_user_ok(&s, 0) && bpr_sampler_user_ok(&s, 1) &&
		  bpr_sampler_user_ok(&s, 2) && !bpr_sampler_user_ok(&s, 3));

	/* RATED: only the user's disliked items, about evenly (expected 1000 each) */
	bpr_rng_seed(&rng, 1);
	make_sampler(&s, BPR_NEG_RATED, 0.5f, BPR_HARD_NONE, 0, NULL);
	memset(counts, 0, sizeof(counts));
	ok = true;
	for (int t = 0; t < 3000; t++)
	{
		int32_t		q = bpr_sample_negative(&s, &rng, 0, 1, NULL);

		if (q < 0 || q >= 10 || !in_list(neg_items, 0, 3, q))
			ok = false;
		else
			counts[q]++;
	}
	CHECK(ok);
	CHECK(counts[2] > 850 && counts[2] < 1150);
	CHECK(counts[7] > 850 && counts[7] < 1150);
	CHECK(counts[9] > 850 && counts[9] < 1150);
	CHECK(bpr_sample_negative(&s, &rng, 1, 0, NULL) == -1);
	CHECK(bpr_sample_negative(&s, &rng, 3, 0, NULL) == -1);

	/* UNRATED: never a rated item, each of {0,3,5,6,8} about 1000 of 5000 */
	make_sampler(&s, BPR_NEG_UNRATED, 0.5f, BPR_HARD_NONE, 0, NULL);
	memset(counts, 0, sizeof(counts));
	ok = true;
	for (int t = 0; t < 5000; t++)
	{
		int32_t		q = bpr_sample_negative(&s, &rng, 0, 1, NULL);

		if (q < 0 || q >= 10 || bpr_interactions_rated(&inter, 0, q))
			ok = false;
		else
			counts[q]++;
	}
	CHECK(ok);
	ok = true;
	for (int i = 0; i < 10; i++)
	{
		bool		unrated = !bpr_interactions_rated(&inter, 0, i);

		if (unrated && (counts[i] < 850 || counts[i] > 1150))
			ok = false;
	}
	CHECK(ok);
	CHECK(bpr_sample_negative(&s, &rng, 2, 0, NULL) == -1);
	CHECK(bpr_sample_unrated(&s, &rng, 2) == -1);
	CHECK(bpr_sample_unrated(&s, &rng, 3) == -1);

	/* UNRATED fallback: 1000 items, 997 rated -> the exact walk is used mostly */
	{
		int64_t		rp[2] = {0, 997};
		int64_t		np[2] = {0, 0};
		int32_t    *r = bpr_alloc_array(&unit_alloc, 997, sizeof(int32_t), "rated");
		BprInteractions big = {1, 1000, np, NULL, np, NULL, rp, r, NULL};
		BprSamplerConfig cfg = {BPR_NEG_UNRATED, 0.0f, BPR_HARD_NONE, 0};
		BprSampler	bs;
		int			c[3] = {0, 0, 0};
		int32_t		free_items[3] = {17, 500, 999};
		int32_t		n = 0;

		for (int32_t i = 0; i < 1000; i++)
			if (i != 17 && i != 500 && i != 999)
				r[n++] = i;
		bpr_sampler_init(&bs, &cfg, &big, NULL, &unit_alloc);
		ok = true;
		for (int t = 0; t < 3000; t++)
		{
			int32_t		q = bpr_sample_unrated(&bs, &rng, 0);
			int			j;

			for (j = 0; j < 3; j++)
				if (q == free_items[j])
					break;
			if (j == 3)
				ok = false;
			else
				c[j]++;
		}
		CHECK(ok);
		CHECK(c[0] > 850 && c[0] < 1150);
		CHECK(c[1] > 850 && c[1] < 1150);
		CHECK(c[2] > 850 && c[2] < 1150);
	}

	/* BOTH: disliked share near rated_share, never a liked or neutral item */
	make_sampler(&s, BPR_NEG_BOTH, 0.3f, BPR_HARD_NONE, 0, NULL);
	{
		int			n_dis = 0;

		ok = true;
		for (int t = 0; t < 10000; t++)
		{
			int32_t		q = bpr_sample_negative(&s, &rng, 0, 1, NULL);

			if (q < 0 || q >= 10 || in_list(pos_items, 0, 2, q))
				ok = false;
			else if (in_list(neg_items, 0, 3, q))
				n_dis++;
			else if (bpr_interactions_rated(&inter, 0, q))
				ok = false;
		}
		CHECK(ok);
		CHECK(n_dis > 2700 && n_dis < 3300);
	}
	/* BOTH without disliked items: unrated only; with every item rated: disliked only */
	ok = true;
	for (int t = 0; t < 500; t++)
	{
		int32_t		q1 = bpr_sample_negative(&s, &rng, 1, 0, NULL);
		int32_t		q2 = bpr_sample_negative(&s, &rng, 2, 0, NULL);

		if (q1 < 0 || bpr_interactions_rated(&inter, 1, q1))
			ok = false;
		if (q2 < 5 || q2 > 9)
			ok = false;
	}
	CHECK(ok);
	CHECK(bpr_sample_negative(&s, &rng, 3, 0, NULL) == -1);

	/*
	 * MODEL: item vectors of 2 dims + bias, user vector (1, 0): score(i) = v0 + bias.
	 * Scores: item i -> (3i mod 10) so the best unrated item of user 0
	 * ({0,3,5,6,8} -> 0, 9, 5, 8, 4) is item 3.
	 */
	{
		float		iv[30];
		float		uv[2] = {1.0f, 0.0f};

		for (int i = 0; i < 10; i++)
		{
			iv[3 * i] = (float) ((3 * i) % 10) - 0.25f;
			iv[3 * i + 1] = 7.0f;
			iv[3 * i + 2] = 0.25f;
		}
		make_sampler(&s, BPR_NEG_UNRATED, 0.5f, BPR_HARD_MODEL, 200, NULL);
		s.item_vectors = iv;
		s.user_dim = 2;
		s.item_dim = 3;
		ok = true;
		for (int t = 0; t < 100; t++)
			if (bpr_sample_negative(&s, &rng, 0, 1, uv) != 3)
				ok = false;
		CHECK(ok);
		CHECK(bpr_sample_negative(&s, &rng, 2, 0, uv) == -1);

		/* the same from 8-bit vectors (bias kept apart): the best is clear enough to survive */
		{
			int8_t		codes[10 * 16];
			float		scale[10],
						bias[10];
			BprQuantVectors qv = {2, 16, codes, scale, bias};

			memset(codes, 0, sizeof(codes));
			for (int i = 0; i < 10; i++)
			{
				bpr_quantize_i8(iv + 3 * i, 2, codes + 16 * i, &scale[i]);
				bias[i] = iv[3 * i + 2];
			}
			s.item_vectors = NULL;
			s.item_quant = &qv;
			ok = true;
			for (int t = 0; t < 100; t++)
				if (bpr_sample_negative(&s, &rng, 0, 1, uv) != 3)
					ok = false;
			CHECK(ok);
			s.item_quant = NULL;
		}

		/*
		 * 3 candidates: replay the same draws on a copy of the rng.  Three
		 * candidates are drawn uniformly over all items; the best-scored one the
		 * user did not rate wins; if the user rated all three, single draws
		 * follow until an unrated one.  Scores tie in pairs (i and i + 5), so
		 * the first drawn of the best must win.
		 */
		for (int i = 0; i < 10; i++)
			iv[3 * i] = (float) (i % 5);
		make_sampler(&s, BPR_NEG_UNRATED, 0.0f, BPR_HARD_MODEL, 3, NULL);
		s.item_vectors = iv;
		s.user_dim = 2;
		s.item_dim = 3;
		ok = true;
		for (int t = 0; t < 500; t++)
		{
			BprRng		copy = rng;
			int32_t		best = -1;
			float		best_score = 0.0f;
			int32_t		got;

			for (int c = 0; c < 3; c++)
			{
				int32_t		q = (int32_t) bpr_rng_below(&copy, 10);
				float		sc = bpr_dot_score(uv, 2, iv + 3 * q, 3);

				if (!bpr_interactions_rated(&inter, 0, q) && (best < 0 || sc > best_score))
				{
					best = q;
					best_score = sc;
				}
			}
			while (best < 0)
			{
				int32_t		q = (int32_t) bpr_rng_below(&copy, 10);

				if (!bpr_interactions_rated(&inter, 0, q))
					best = q;
			}
			got = bpr_sample_negative(&s, &rng, 0, 1, uv);
			if (got != best || memcmp(&copy, &rng, sizeof(rng)) != 0)
				ok = false;
		}
		CHECK(ok);

		/* many triplets at once: every triplet's candidates drawn first, then the fall-backs */
		{
			int32_t		users[6] = {0, 1, 0, 1, 0, 0},
						pos[6] = {1, 0, 4, 0, 1, 4},
						got[6],
						want[6],
						cand[6][3];
			BprSampleSlot scratch[6];
			float		uvs[12];
			BprRng		copy = rng;

			for (int j = 0; j < 6; j++)
			{
				uvs[2 * j] = (float) (j % 3) - 1.0f;
				uvs[2 * j + 1] = 0.5f;
				for (int c = 0; c < 3; c++)
					cand[j][c] = (int32_t) bpr_rng_below(&copy, 10);
			}
			for (int j = 0; j < 6; j++)
			{
				float		best_score = 0.0f;

				want[j] = -1;
				for (int c = 0; c < 3; c++)
				{
					float		sc = bpr_dot_score(uvs + 2 * j, 2, iv + 3 * cand[j][c], 3);

					if (!bpr_interactions_rated(&inter, users[j], cand[j][c]) &&
						(want[j] < 0 || sc > best_score))
					{
						want[j] = cand[j][c];
						best_score = sc;
					}
				}
				while (want[j] < 0)
				{
					int32_t		q = (int32_t) bpr_rng_below(&copy, 10);

					if (!bpr_interactions_rated(&inter, users[j], q))
						want[j] = q;
				}
			}
			bpr_sample_negatives(&s, &rng, 6, users, pos, uvs, got, scratch);
			CHECK(memcmp(got, want, sizeof(got)) == 0);
			CHECK(memcmp(&copy, &rng, sizeof(rng)) == 0);
		}

		/*
		 * BOTH with MODEL: the pool is chosen once per triplet, so even when the
		 * disliked items (2, 7, 9) score highest, they are picked about
		 * rated_share of the time, never by winning against unrated candidates.
		 */
		for (int i = 0; i < 10; i++)
			iv[3 * i] = (i == 2 || i == 7 || i == 9) ? 100.0f : (float) i;
		make_sampler(&s, BPR_NEG_BOTH, 0.3f, BPR_HARD_MODEL, 10, NULL);
		s.item_vectors = iv;
		s.user_dim = 2;
		s.item_dim = 3;
		{
			int			n_dis = 0;

			ok = true;
			for (int t = 0; t < 10000; t++)
			{
				int32_t		q = bpr_sample_negative(&s, &rng, 0, 1, uv);

				if (q == 2 || q == 7 || q == 9)
					n_dis++;
				else if (q != 8)	/* the best unrated item: 10 candidates nearly always find it */
					ok = ok && (q == 6 || q == 5 || q == 3 || q == 0);
			}
			CHECK(ok);
			CHECK(n_dis > 2700 && n_dis < 3300);
		}
	}

	/* FEATURES: norms and cosine by hand */
	make_sampler(&s, BPR_NEG_RATED, 0.5f, BPR_HARD_FEATURES, 0, &feats);
	CHECK(s.item_norm != NULL);
	CHECK_CLOSE(s.item_norm[1], 2.0, 1e-6);
	CHECK_CLOSE(s.item_norm[2], 2.6457513, 1e-6);
	CHECK_CLOSE(s.item_norm[5], 0.0, 1e-12);
	CHECK_CLOSE(s.item_norm[6], 3.3166248, 1e-6);
	CHECK_CLOSE(s.item_norm[9], 1.8027756, 1e-6);
	CHECK_CLOSE(bpr_feature_cosine(&feats, s.item_norm, 1, 2), 0.7559289, 1e-6);
	CHECK_CLOSE(bpr_feature_cosine(&feats, s.item_norm, 2, 1), 0.7559289, 1e-6);
	CHECK_CLOSE(bpr_feature_cosine(&feats, s.item_norm, 1, 7), 0.25, 1e-6);
	CHECK_CLOSE(bpr_feature_cosine(&feats, s.item_norm, 1, 9), 0.9707253, 1e-6);
	CHECK_CLOSE(bpr_feature_cosine(&feats, s.item_norm, 4, 2), 0.2672612, 1e-6);
	CHECK_CLOSE(bpr_feature_cosine(&feats, s.item_norm, 4, 7), 0.3535534, 1e-6);
	CHECK_CLOSE(bpr_feature_cosine(&feats, s.item_norm, 4, 9), 0.0, 1e-6);
	CHECK_CLOSE(bpr_feature_cosine(&feats, s.item_norm, 3, 7), 0.0, 1e-6);
	CHECK_CLOSE(bpr_feature_cosine(&feats, s.item_norm, 5, 1), 0.0, 1e-6);
	CHECK_CLOSE(bpr_feature_cosine(&feats, s.item_norm, 6, 6), 1.0, 1e-6);

	/* FEATURES, RATED, candidates 0: the most similar disliked item (the notebook) */
	CHECK(bpr_sample_negative(&s, &rng, 0, 1, NULL) == 9);
	CHECK(bpr_sample_negative(&s, &rng, 0, 4, NULL) == 7);
	/* all similarities 0 (positive of norm 0): a tie, broken uniformly at random */
	memset(counts, 0, sizeof(counts));
	for (int t = 0; t < 3000; t++)
		counts[bpr_sample_negative(&s, &rng, 0, 5, NULL)]++;
	CHECK(counts[2] > 850 && counts[7] > 850 && counts[9] > 850);
	CHECK(counts[2] + counts[7] + counts[9] == 3000);
	CHECK(bpr_sample_negative(&s, &rng, 1, 0, NULL) == -1);
	{
		BprRng		before = rng;

		/* the full scan draws no random numbers */
		(void) bpr_sample_negative(&s, &rng, 0, 1, NULL);
		CHECK(memcmp(&before, &rng, sizeof(rng)) == 0);
	}

	/* FEATURES without any item features: uniform draws, never one repeated negative */
	{
		BprFeatures none;

		memset(&none, 0, sizeof(none));
		none.n_rows = 10;
		for (int pass = 0; pass < 2; pass++)
		{
			make_sampler(&s, BPR_NEG_RATED, 0.5f, BPR_HARD_FEATURES, 0, pass == 0 ? NULL : &none);
			CHECK(s.cfg.hard == BPR_HARD_NONE && s.item_norm == NULL);
			memset(counts, 0, sizeof(counts));
			for (int t = 0; t < 3000; t++)
				counts[bpr_sample_negative(&s, &rng, 0, 1, NULL)]++;
			CHECK(counts[2] > 850 && counts[7] > 850 && counts[9] > 850);
		}
		make_sampler(&s, BPR_NEG_RATED, 0.5f, BPR_HARD_FEATURES, 0, &feats);
	}

	/* FEATURES with candidates: the most similar of the drawn ones (replayed as above) */
	{
		make_sampler(&s, BPR_NEG_UNRATED, 0.5f, BPR_HARD_FEATURES, 2, &feats);
		ok = true;
		for (int t = 0; t < 500; t++)
		{
			BprRng		copy = rng;
			int32_t		want = -1;
			float		best_sim = 0.0f;

			for (int c = 0; c < 2; c++)
			{
				int32_t		q = (int32_t) bpr_rng_below(&copy, 10);
				float		sim = bpr_sampler_similarity(&s, 1, q);

				if (!bpr_interactions_rated(&inter, 0, q) && (want < 0 || sim > best_sim))
				{
					want = q;
					best_sim = sim;
				}
			}
			while (want < 0)
			{
				int32_t		q = (int32_t) bpr_rng_below(&copy, 10);

				if (!bpr_interactions_rated(&inter, 0, q))
					want = q;
			}
			if (bpr_sample_negative(&s, &rng, 0, 1, NULL) != want ||
				memcmp(&copy, &rng, sizeof(rng)) != 0)
				ok = false;
		}
		CHECK(ok);
		CHECK(bpr_sample_negative(&s, &rng, 2, 0, NULL) == -1);
	}

	/* the sampler's similarity (unit vectors of width 16 here) is the cosine */
	CHECK(s.item_unit != NULL && s.unit_dim == 16);
	ok = true;
	for (int32_t a = 0; a < 10; a++)
		for (int32_t b = 0; b < 10; b++)
			if (fabs(bpr_sampler_similarity(&s, a, b) - bpr_feature_cosine(&feats, s.item_norm, a, b)) > 1e-6)
				ok = false;
	CHECK(ok);

	/* same seed, same sequence */
	{
		BprRng		r1,
					r2;

		make_sampler(&s, BPR_NEG_BOTH, 0.4f, BPR_HARD_FEATURES, 3, &feats);
		bpr_rng_seed(&r1, 77);
		bpr_rng_seed(&r2, 77);
		ok = true;
		for (int t = 0; t < 300; t++)
		{
			int32_t		u = t % 3;
			int32_t		pi = u == 0 ? 1 : 0;

			if (bpr_sample_negative(&s, &r1, u, pi, NULL) !=
				bpr_sample_negative(&s, &r2, u, pi, NULL))
				ok = false;
		}
		CHECK(ok);
	}

	/* shuffle: a permutation, not the identity, reproducible */
	{
		int64_t		v[100],
					w[100];
		bool		seen[100];
		bool		moved = false;
		BprRng		r1,
					r2;

		for (int i = 0; i < 100; i++)
			v[i] = w[i] = i;
		bpr_rng_seed(&r1, 5);
		bpr_rng_seed(&r2, 5);
		bpr_shuffle_i64(&r1, v, 100);
		bpr_shuffle_i64(&r2, w, 100);
		memset(seen, 0, sizeof(seen));
		ok = true;
		for (int i = 0; i < 100; i++)
		{
			if (v[i] < 0 || v[i] >= 100 || seen[v[i]])
				ok = false;
			else
				seen[v[i]] = true;
			if (v[i] != i)
				moved = true;
		}
		CHECK(ok);
		CHECK(moved);
		CHECK(memcmp(v, w, sizeof(v)) == 0);
		/* all 6 orders of 3 values appear, about equally (1000 expected each) */
		{
			int			perm_count[6] = {0, 0, 0, 0, 0, 0};
			bool		even = true;

			for (int t = 0; t < 6000; t++)
			{
				int64_t		x[3] = {0, 1, 2};

				bpr_shuffle_i64(&r1, x, 3);
				/* code an order by its first two values */
				perm_count[x[0] * 2 + (x[1] > (x[0] == 0 ? 1 : 0) ? 1 : 0)]++;
			}
			for (int p = 0; p < 6; p++)
				if (perm_count[p] < 850 || perm_count[p] > 1150)
					even = false;
			CHECK(even);
		}
		bpr_shuffle_i64(&r1, v, 0);
		bpr_shuffle_i64(&r1, v, 1);
		CHECK(v[0] == w[0]);
	}

	/* the epoch order: a bijection of 0..n-1 for any n, not the identity, reproducible */
	{
		static const uint64_t sizes[] = {1, 2, 3, 5, 17, 100, 1000, 4097};
		static uint8_t seen[4097];
		BprRng		r1,
					r2;
		BprPermutation p1,
					p2;
		int			first[3] = {0, 0, 0};

		bpr_rng_seed(&r1, 11);
		for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++)
		{
			uint64_t	n = sizes[k];
			bool		bijective = true,
						moved = false;

			bpr_permutation_init(&p1, n, &r1);
			memset(seen, 0, sizeof(seen));
			for (uint64_t i = 0; i < n; i++)
			{
				uint64_t	x = bpr_permutation_at(&p1, i);

				if (x >= n || seen[x])
					bijective = false;
				else
					seen[x] = 1;
				moved = moved || x != i;
			}
			CHECK(bijective);
			if (n >= 5)
				CHECK(moved);
		}
		bpr_rng_seed(&r1, 12);
		bpr_rng_seed(&r2, 12);
		bpr_permutation_init(&p1, 1000, &r1);
		bpr_permutation_init(&p2, 1000, &r2);
		ok = true;
		for (uint64_t i = 0; i < 1000; i++)
			ok = ok && bpr_permutation_at(&p1, i) == bpr_permutation_at(&p2, i);
		CHECK(ok);
		bpr_permutation_init(&p2, 1000, &r2);
		ok = false;
		for (uint64_t i = 0; i < 1000; i++)
			ok = ok || bpr_permutation_at(&p1, i) != bpr_permutation_at(&p2, i);
		CHECK(ok);
		/* over fresh keys, each of 3 values comes first about a third of the time */
		for (int t = 0; t < 3000; t++)
		{
			bpr_permutation_init(&p1, 3, &r1);
			first[bpr_permutation_at(&p1, 0)]++;
		}
		CHECK(first[0] > 850 && first[1] > 850 && first[2] > 850);
	}

	/* jumped streams: reproducible, and not the original stream */
	{
		BprRng		a,
					b,
					c;

		bpr_rng_seed(&a, 5);
		b = a;
		c = a;
		bpr_rng_jump(&b);
		bpr_rng_jump(&c);
		CHECK(memcmp(&b, &c, sizeof(b)) == 0);
		CHECK(bpr_rng_next(&a) != bpr_rng_next(&b));
	}
}
