/*
 * test_metrics.c - ranking metrics on hand-worked examples (EVALUATION.md)
 */
#include <string.h>

#include "evaluation.h"
#include "metrics.h"
#include "rng.h"
#include "unit.h"

#define U BPR_EVAL_UNRATED
#define T BPR_EVAL_TRAIN
#define L BPR_EVAL_LIKED
#define D BPR_EVAL_DISLIKED

/*
 * The hand example: 10 items, ids = positions unless stated.
 *
 *   item  score  status
 *     0    0.9   TRAIN     (not ranked despite the best score)
 *     1    0.8   LIKED
 *     2    0.7   UNRATED
 *     3    0.7   LIKED     (ties item 2; id 2 < 3 so 2 ranks first)
 *     4    0.5   DISLIKED
 *     5    0.4   UNRATED
 *     6    0.3   LIKED
 *     7    0.5   UNRATED   (ties item 4; 4 ranks first)
 *     8    0.1   UNRATED
 *     9    0.3   UNRATED   (ties liked item 6)
 *
 * Ranking: r1=1 L, r2=2, r3=3 L, r4=4, r5=7, r6=5, r7=6 L, r8=9, r9=8.
 * n_relevant = 3.  IDCG(3) = 1 + 1/log2(3) + 1/log2(4) = 2.1309297535714573.
 *
 * k = 5: hits at ranks 1 and 3 -> hits 2, precision 2/5 = 0.4, recall 2/3,
 *   DCG = 1/log2(2) + 1/log2(4) = 1.5, ndcg = 1.5 / 2.1309297536 = 0.7039180890,
 *   map = (1/1 + 2/3) / min(3, 5) = 0.5555555556.
 * k = 2: hit at rank 1 -> precision 1/2, recall 1/3, IDCG(2) = 1 + 1/log2(3),
 *   ndcg = 1 / 1.6309297536 = 0.6131471928, map = (1/1) / 2 = 0.5.
 * k = 20 (more than the 9 ranked items): hits at 1, 3, 7 -> precision 3/20,
 *   recall 1, ndcg = (1 + 1/2 + 1/3) / 2.1309297536 = 0.8603443310,
 *   map = (1/1 + 2/3 + 3/7) / 3 = 0.6984126984.
 * rank_auc: liked {0.8, 0.7, 0.3} vs never-rated {0.7, 0.4, 0.5, 0.1, 0.3}:
 *   0.8 beats all 5 -> 5; 0.7 beats 4, ties 1 -> 4.5; 0.3 beats 1, ties 1 -> 1.5;
 *   (5 + 4.5 + 1.5) / 15 = 11/15 = 0.7333333333.
 * With ids[i] = 100 - i ties flip: ranking 1 L, 3 L, 2, 7, 4, 5, 9, 6 L, 8, so at
 *   k = 5 hits are at ranks 1 and 2: ndcg = (1 + 1/log2(3)) / 2.1309297536
 *   = 0.7653606370, map = (1/1 + 2/2) / 3 = 0.6666666667; rank_auc unchanged.
 */
static const float ex_scores[10] = {0.9f, 0.8f, 0.7f, 0.7f, 0.5f, 0.4f, 0.3f, 0.5f, 0.1f, 0.3f};
static const uint8_t ex_status[10] = {T, L, U, L, D, U, L, U, U, U};

/* O(n^2) reference AUC: positive-negative pairs won, ties one half */
static double
brute_auc(const BprAucRow *rows, int64_t n)
{
	double		wins = 0.0;
	double		pairs = 0.0;

	for (int64_t i = 0; i < n; i++)
	{
		if (!rows[i].label)
			continue;
		for (int64_t j = 0; j < n; j++)
		{
			if (rows[j].label)
				continue;
			pairs += 1.0;
			if (rows[i].score > rows[j].score)
				wins += 1.0;
			else if (rows[i].score == rows[j].score)
				wins += 0.5;
		}
	}
	return pairs > 0 ? wins / pairs : 0.5;
}

/* Training lists: every 13th user trained on its liked test items (items u * 10 + 0, 2, 4) */
static void
sample_train(int64_t *ptr, int32_t *items)
{
	int64_t		n = 0;

	ptr[0] = 0;
	for (int32_t u = 0; u < 1000; u++)
	{
		for (int32_t r = 0; u % 13 == 0 && r < 5; r += 2)
			items[n++] = u * 10 + r;
		ptr[u + 1] = n;
	}
}

/* Users the metrics count: a row, a liked row, and not every liked row trained on */
static bool
sample_eligible(int32_t u)
{
	return u % 11 != 0 && u % 7 != 0 && u % 13 != 0;
}

/* Test rows of 1000 users (every 7th has no liked row, every 11th no row) into ptr/items/liked */
static void
sample_fixture(int64_t *ptr, int32_t *items, uint8_t *liked)
{
	int64_t		n = 0;

	ptr[0] = 0;
	for (int32_t u = 0; u < 1000; u++)
	{
		int32_t		rows = u % 11 == 0 ? 0 : 1 + u % 5;

		for (int32_t r = 0; r < rows; r++, n++)
		{
			items[n] = u * 10 + r;
			liked[n] = u % 7 != 0 && r % 2 == 0;
		}
		ptr[u + 1] = n;
	}
}

/* A seeded uniform sample of users with a liked row keeps their rows whole and drops the others' */
static void
test_sample_users(void)
{
	static int64_t ptr[1001],
				ptr0[1001];
	static int32_t items[5000],
				items0[5000];
	static uint8_t liked[5000],
				liked0[5000];
	static int32_t kept_count[1000];
	static int64_t tptr[1001];
	static int32_t titems[300];
	int32_t		eligible = 0;
	int64_t		first_half = 0,
				second_half = 0;

	sample_fixture(ptr0, items0, liked0);
	sample_train(tptr, titems);
	for (int32_t u = 0; u < 1000; u++)
		eligible += sample_eligible(u);
	/* no limit, or a limit above the count: nothing changes */
	sample_fixture(ptr, items, liked);
	CHECK(bpr_eval_sample_users(1000, 10000, tptr, titems, ptr, items, liked, 0, 1) == eligible);
	CHECK(memcmp(ptr, ptr0, sizeof(ptr)) == 0);
	CHECK(bpr_eval_sample_users(1000, 10000, tptr, titems, ptr, items, liked, eligible, 1) == eligible);
	CHECK(memcmp(ptr, ptr0, sizeof(ptr)) == 0);
	for (uint64_t seed = 1; seed <= 200; seed++)
	{
		int32_t		kept = 0;
		bool		rows_ok = true;

		sample_fixture(ptr, items, liked);
		CHECK(bpr_eval_sample_users(1000, 10000, tptr, titems, ptr, items, liked, 100, seed) == eligible);
		for (int32_t u = 0; u < 1000; u++)
		{
			int64_t		n = ptr[u + 1] - ptr[u];

			if (n == 0)
				continue;
			kept++;
			kept_count[u]++;
			if (u < 500)
				first_half++;
			else
				second_half++;
			/* a kept user: eligible, its rows whole and in order */
			rows_ok = rows_ok && sample_eligible(u) && n == ptr0[u + 1] - ptr0[u] &&
				memcmp(items + ptr[u], items0 + ptr0[u], (size_t) n * sizeof(int32_t)) == 0 &&
				memcmp(liked + ptr[u], liked0 + ptr0[u], (size_t) n) == 0;
		}
		CHECK(kept == 100);
		CHECK(rows_ok);
		if (seed == 1)
		{
			static int64_t again[1001];

			memcpy(again, ptr, sizeof(again));
			sample_fixture(ptr, items, liked);
			bpr_eval_sample_users(1000, 10000, tptr, titems, ptr, items, liked, 100, 1);
			CHECK(memcmp(again, ptr, sizeof(again)) == 0);
			sample_fixture(ptr, items, liked);
			bpr_eval_sample_users(1000, 10000, tptr, titems, ptr, items, liked, 100, 2);
			CHECK(memcmp(again, ptr, sizeof(again)) != 0);
		}
	}
	/* uniform: each eligible user kept in about 100 / eligible of the 200 draws */
	{
		double		expect = 200.0 * 100 / eligible;
		int32_t		lo = 1000,
					hi = 0;

		for (int32_t u = 0; u < 1000; u++)
			if (sample_eligible(u))
			{
				lo = kept_count[u] < lo ? kept_count[u] : lo;
				hi = kept_count[u] > hi ? kept_count[u] : hi;
			}
		CHECK(lo >= expect / 4 && hi <= expect * 3);
		CHECK(fabs((double) first_half - (double) second_half) < 0.1 * (first_half + second_half));
	}
}

/* Runs every metrics check */
void
test_metrics(void)
{
	BprScored	top[20];
	float		work[10];
	BprUserMetrics m;
	int32_t		n;

	test_sample_users();

	/* k = 5 */
	n = bpr_user_metrics(ex_scores, NULL, 10, ex_status, 5, top, work, &m);
	CHECK(n == 5);
	CHECK(top[0].index == 1 && top[1].index == 2 && top[2].index == 3 &&
		  top[3].index == 4 && top[4].index == 7);
	CHECK(m.n_relevant == 3);
	CHECK(m.hits == 2);
	CHECK_CLOSE(m.precision, 0.4, 1e-12);
	CHECK_CLOSE(m.recall, 2.0 / 3.0, 1e-12);
	CHECK_CLOSE(m.ndcg, 0.7039180890341347, 1e-9);
	CHECK_CLOSE(m.map, 0.5555555555555556, 1e-9);
	CHECK_CLOSE(m.rank_auc, 0.7333333333333333, 1e-9);

	/* k = 2 */
	n = bpr_user_metrics(ex_scores, NULL, 10, ex_status, 2, top, work, &m);
	CHECK(n == 2);
	CHECK(m.hits == 1);
	CHECK_CLOSE(m.precision, 0.5, 1e-12);
	CHECK_CLOSE(m.recall, 1.0 / 3.0, 1e-12);
	CHECK_CLOSE(m.ndcg, 0.6131471927654584, 1e-9);
	CHECK_CLOSE(m.map, 0.5, 1e-12);
	CHECK_CLOSE(m.rank_auc, 0.7333333333333333, 1e-9);

	/* k = 20, more than the ranked items */
	n = bpr_user_metrics(ex_scores, NULL, 10, ex_status, 20, top, work, &m);
	CHECK(n == 9);
	CHECK(top[6].index == 6 && top[7].index == 9 && top[8].index == 8);
	CHECK(m.hits == 3);
	CHECK_CLOSE(m.precision, 0.15, 1e-12);
	CHECK_CLOSE(m.recall, 1.0, 1e-12);
	CHECK_CLOSE(m.ndcg, 0.86034433104172, 1e-9);
	CHECK_CLOSE(m.map, 0.6984126984126984, 1e-9);

	/* reversed ids flip the ties */
	{
		int64_t		ids[10];

		for (int i = 0; i < 10; i++)
			ids[i] = 100 - i;
		n = bpr_user_metrics(ex_scores, ids, 10, ex_status, 5, top, work, &m);
		CHECK(n == 5);
		CHECK(top[0].index == 1 && top[1].index == 3 && top[2].index == 2 &&
			  top[3].index == 7 && top[4].index == 4);
		CHECK(top[0].id == 99);
		CHECK(m.hits == 2);
		CHECK_CLOSE(m.precision, 0.4, 1e-12);
		CHECK_CLOSE(m.ndcg, 0.7653606369886217, 1e-9);
		CHECK_CLOSE(m.map, 2.0 / 3.0, 1e-9);
		CHECK_CLOSE(m.rank_auc, 0.7333333333333333, 1e-9);
	}

	/* no liked item: zero metrics, top still filled */
	{
		uint8_t		st[10];

		for (int i = 0; i < 10; i++)
			st[i] = ex_status[i] == L ? D : ex_status[i];
		n = bpr_user_metrics(ex_scores, NULL, 10, st, 5, top, work, &m);
		CHECK(n == 5);
		CHECK(top[0].index == 1 && top[4].index == 7);
		CHECK(m.n_relevant == 0 && m.hits == 0);
		CHECK(m.precision == 0.0 && m.recall == 0.0 && m.ndcg == 0.0 &&
			  m.map == 0.0 && m.rank_auc == 0.0);
	}

	/* no never-rated item: rank_auc 0.5; perfect top */
	{
		float		s[4] = {0.1f, 0.9f, 0.5f, 0.7f};
		uint8_t		st[4] = {D, L, T, L};

		n = bpr_user_metrics(s, NULL, 4, st, 2, top, work, &m);
		CHECK(n == 2);
		CHECK(m.hits == 2);
		CHECK_CLOSE(m.precision, 1.0, 1e-12);
		CHECK_CLOSE(m.ndcg, 1.0, 1e-12);
		CHECK_CLOSE(m.map, 1.0, 1e-12);
		CHECK_CLOSE(m.rank_auc, 0.5, 1e-12);
	}

	/*
	 * NaN ranks lowest: item 0 (liked, NaN) is not in the top; rank_auc pairs it
	 * with never-rated 0.5 (lost, 0) and never-rated NaN (tie, 1/2): 0.5 / 2.
	 */
	{
		float		s[3] = {NAN, 0.5f, NAN};
		uint8_t		st[3] = {L, U, U};

		n = bpr_user_metrics(s, NULL, 3, st, 3, top, work, &m);
		CHECK(n == 1 && top[0].index == 1);
		CHECK(m.n_relevant == 1 && m.hits == 0);
		CHECK_CLOSE(m.rank_auc, 0.25, 1e-12);
	}

	/*
	 * bpr_auc by hand: positives {0.4, 0.8}, negatives {0.1, 0.35, 0.4, 0.8}.
	 * Sorted: 0.1 r1, 0.35 r2, {0.4, 0.4} r3-4 (mean 3.5), {0.8, 0.8} r5-6 (mean 5.5).
	 * R = 3.5 + 5.5 = 9, U = 9 - 2*3/2 = 6, AUC = 6 / (2*4) = 0.75.
	 */
	{
		BprAucRow	rows[6] = {{0.1f, 0}, {0.4f, 1}, {0.35f, 0}, {0.8f, 1}, {0.4f, 0}, {0.8f, 0}};
		BprAucRow	sep[4] = {{0.9f, 1}, {0.1f, 0}, {0.8f, 1}, {0.2f, 0}};
		BprAucRow	rev[4] = {{0.1f, 1}, {0.9f, 0}, {0.2f, 1}, {0.8f, 0}};
		BprAucRow	flat[4] = {{0.3f, 1}, {0.3f, 0}, {0.3f, 0}, {0.3f, 1}};
		BprAucRow	one[3] = {{0.3f, 1}, {0.1f, 1}, {0.2f, 1}};
		BprAucRow	zero[3] = {{0.3f, 0}, {0.1f, 0}, {0.2f, 0}};
		bool		sorted = true;

		CHECK_CLOSE(bpr_auc(rows, 6), 0.75, 1e-12);
		for (int i = 1; i < 6; i++)
			if (rows[i - 1].score > rows[i].score)
				sorted = false;
		CHECK(sorted);
		CHECK_CLOSE(bpr_auc(sep, 4), 1.0, 1e-12);
		CHECK_CLOSE(bpr_auc(rev, 4), 0.0, 1e-12);
		CHECK_CLOSE(bpr_auc(flat, 4), 0.5, 1e-12);
		CHECK_CLOSE(bpr_auc(one, 3), 0.5, 1e-12);
		CHECK_CLOSE(bpr_auc(zero, 3), 0.5, 1e-12);
		CHECK_CLOSE(bpr_auc(rows, 0), 0.5, 1e-12);
	}

	/* bpr_auc against the O(n^2) pair count on random data with many ties */
	{
		BprRng		rng;
		BprAucRow  *rows = bpr_alloc_array(&unit_alloc, 500, sizeof(BprAucRow), "rows");
		double		worst = 0.0;

		bpr_rng_seed(&rng, 99);
		for (int rep = 0; rep < 20; rep++)
		{
			int64_t		nr = 1 + (int64_t) bpr_rng_below(&rng, 500);
			double		want,
						got;

			for (int64_t i = 0; i < nr; i++)
			{
				rows[i].label = (uint8_t) (bpr_rng_below(&rng, 3) == 0);
				rows[i].score = (float) bpr_rng_below(&rng, 7) + (rows[i].label ? 1.0f : 0.0f);
			}
			want = brute_auc(rows, nr);
			got = bpr_auc(rows, nr);
			if (fabs(want - got) > worst)
				worst = fabs(want - got);
		}
		CHECK(worst < 1e-12);
	}

	/* a user's rank_auc against the pair count, with ties, NaN scores (lowest) and every status */
	{
		BprRng		rng;
		float	   *sc = bpr_alloc_array(&unit_alloc, 300, sizeof(float), "scores");
		float	   *work = bpr_alloc_array(&unit_alloc, 300, sizeof(float), "work");
		uint8_t    *st = bpr_alloc_array(&unit_alloc, 300, 1, "status");
		BprScored	top[5];
		double		worst = 0.0;
		int			checked = 0;

		bpr_rng_seed(&rng, 7);
		for (int rep = 0; rep < 300; rep++)
		{
			int32_t		n = 1 + (int32_t) bpr_rng_below(&rng, 300);
			double		wins = 0.0,
						pairs = 0.0;
			BprUserMetrics m;

			for (int32_t i = 0; i < n; i++)
			{
				st[i] = (uint8_t) bpr_rng_below(&rng, 4);
				sc[i] = bpr_rng_below(&rng, 10) == 0 ? NAN : (float) bpr_rng_below(&rng, 9);
			}
			for (int32_t i = 0; i < n; i++)
				for (int32_t j = 0; st[i] == BPR_EVAL_LIKED && j < n; j++)
				{
					float		a = isnan(sc[i]) ? -INFINITY : sc[i];
					float		b = isnan(sc[j]) ? -INFINITY : sc[j];

					if (st[j] != BPR_EVAL_UNRATED)
						continue;
					pairs += 1.0;
					wins += a > b ? 1.0 : a == b ? 0.5 : 0.0;
				}
			bpr_user_metrics(sc, NULL, n, st, 5, top, work, &m);
			if (m.n_relevant == 0)
				continue;
			checked++;
			if (fabs(m.rank_auc - (pairs > 0 ? wins / pairs : 0.5)) > worst)
				worst = fabs(m.rank_auc - (pairs > 0 ? wins / pairs : 0.5));
		}
		CHECK(checked > 250);
		CHECK(worst < 1e-12);
	}
}
