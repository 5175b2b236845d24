/*
 * test_topk.c - bounded-heap top-k against a brute-force full sort
 */
#include <string.h>

#include "rng.h"
#include "topk.h"
#include "unit.h"

/* qsort order of the brute-force reference: best first */
static int
cmp_scored(const void *pa, const void *pb)
{
	const BprScored *a = pa;
	const BprScored *b = pb;

	if (bpr_scored_before(a, b))
		return -1;
	if (bpr_scored_before(b, a))
		return 1;
	return 0;
}

/* Compares bpr_topk with a full sort on one random case; true when equal */
static bool
check_random_case(BprRng *rng, int32_t n, int32_t k, int32_t n_levels,
				  bool use_ids, bool use_exclude, bool use_nan)
{
	float	   *scores = unit_alloc.zalloc(NULL, sizeof(float) * (n + 1));
	int64_t    *ids = unit_alloc.zalloc(NULL, sizeof(int64_t) * (n + 1));
	uint8_t    *exclude = unit_alloc.zalloc(NULL, n + 1);
	BprScored  *all = unit_alloc.zalloc(NULL, sizeof(BprScored) * (n + 1));
	BprScored  *out = unit_alloc.zalloc(NULL, sizeof(BprScored) * (k + 1));
	int32_t		m = 0;
	int32_t		got;
	int32_t		want;
	bool		ok = true;

	/* distinct ids in a random order, so the order is total */
	for (int32_t i = 0; i < n; i++)
		ids[i] = 3 * (int64_t) i + 7;
	for (int32_t i = n - 1; i > 0; i--)
	{
		int32_t		j = (int32_t) bpr_rng_below(rng, (uint64_t) i + 1);
		int64_t		t = ids[i];

		ids[i] = ids[j];
		ids[j] = t;
	}
	for (int32_t i = 0; i < n; i++)
	{
		/* few levels -> many ties */
		scores[i] = (float) bpr_rng_below(rng, (uint64_t) n_levels) - 2.0f;
		if (use_nan && bpr_rng_below(rng, 20) == 0)
			scores[i] = NAN;
		exclude[i] = use_exclude && bpr_rng_below(rng, 5) == 0;
	}
	for (int32_t i = 0; i < n; i++)
	{
		if (exclude[i] || isnan(scores[i]))
			continue;
		all[m].score = scores[i];
		all[m].index = i;
		all[m].id = use_ids ? ids[i] : i;
		m++;
	}
	qsort(all, (size_t) m, sizeof(BprScored), cmp_scored);

	got = bpr_topk(scores, use_ids ? ids : NULL, n, use_exclude ? exclude : NULL, k, out);
	want = k < m ? k : m;
	if (got != want)
		return false;
	for (int32_t r = 0; r < got; r++)
	{
		if (out[r].score != all[r].score || out[r].index != all[r].index ||
			out[r].id != all[r].id)
			ok = false;
	}
	return ok;
}

/* Runs every top-k check */
void
test_topk(void)
{
	BprRng		rng;
	BprScored	out[8];
	float		s4[4] = {1.0f, 3.0f, 3.0f, 2.0f};
	int64_t		id4[4] = {10, 5, 2, 7};
	uint8_t		ex4[4] = {0, 0, 1, 0};
	uint8_t		all4[4] = {1, 1, 1, 1};
	float		same[5] = {1.0f, 1.0f, 1.0f, 1.0f, 1.0f};
	float		nans[3] = {NAN, NAN, NAN};
	int32_t		n;
	int			failures = 0;
	int			cases = 0;

	/* hand example: ties broken by ascending id */
	n = bpr_topk(s4, id4, 4, NULL, 3, out);
	CHECK(n == 3);
	CHECK(out[0].score == 3.0f && out[0].id == 2 && out[0].index == 2);
	CHECK(out[1].score == 3.0f && out[1].id == 5 && out[1].index == 1);
	CHECK(out[2].score == 2.0f && out[2].id == 7 && out[2].index == 3);

	/* ids NULL: the positions break ties */
	n = bpr_topk(s4, NULL, 4, NULL, 2, out);
	CHECK(n == 2);
	CHECK(out[0].index == 1 && out[0].id == 1);
	CHECK(out[1].index == 2 && out[1].id == 2);

	/* exclusion, k > n */
	n = bpr_topk(s4, id4, 4, ex4, 8, out);
	CHECK(n == 3);
	CHECK(out[0].index == 1 && out[1].index == 3 && out[2].index == 0);

	/* k = 1 */
	n = bpr_topk(s4, id4, 4, NULL, 1, out);
	CHECK(n == 1 && out[0].index == 2);

	/* degenerate inputs */
	CHECK(bpr_topk(s4, id4, 4, NULL, 0, out) == 0);
	CHECK(bpr_topk(s4, id4, 4, NULL, -3, out) == 0);
	CHECK(bpr_topk(s4, id4, 0, NULL, 3, out) == 0);
	CHECK(bpr_topk(s4, id4, 4, all4, 3, out) == 0);
	CHECK(bpr_topk(nans, NULL, 3, NULL, 3, out) == 0);

	/* all tied: ascending positions */
	n = bpr_topk(same, NULL, 5, NULL, 3, out);
	CHECK(n == 3 && out[0].index == 0 && out[1].index == 1 && out[2].index == 2);

	/* status variant: skip one status value */
	{
		uint8_t		st[4] = {1, 0, 2, 1};

		n = bpr_topk_status(s4, id4, 4, st, 1, 4, out);
		CHECK(n == 2);
		CHECK(out[0].index == 2 && out[1].index == 1);
		n = bpr_topk_status(s4, id4, 4, NULL, 1, 4, out);
		CHECK(n == 4);
	}

	/* random cases against a full sort */
	bpr_rng_seed(&rng, 12345);
	for (int rep = 0; rep < 400; rep++)
	{
		int32_t		sizes[6] = {1, 2, 7, 50, 300, 2000};
		int32_t		sz = sizes[rep % 6];
		int32_t		ks[5] = {1, 3, 10, 64, 5000};
		int32_t		k = ks[(rep / 6) % 5];
		int32_t		levels = (rep % 3 == 0) ? 3 : (rep % 3 == 1) ? 50 : 100000;

		cases++;
		if (!check_random_case(&rng, sz, k, levels, rep % 2 == 0, rep % 4 < 2, rep % 5 < 3))
			failures++;
		unit_alloc_reset();
	}
	CHECK(cases == 400);
	CHECK(failures == 0);
	if (failures)
		fprintf(stderr, "topk: %d random cases differ from the full sort\n", failures);
}
