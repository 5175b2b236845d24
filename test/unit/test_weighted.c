/*
 * test_weighted.c - alias tables, per-user cumulative weights, and a trainer
 * drawing weighted positives in proportion to their weight
 */
#include <string.h>

#include "trainer.h"
#include "unit.h"
#include "weighted.h"

/* Exact probability of each outcome of an alias table: (kept + received) / n */
static void
alias_probabilities(const BprAlias *a, double *p)
{
	for (int64_t i = 0; i < a->n; i++)
		p[i] = 0.0;
	for (int64_t i = 0; i < a->n; i++)
	{
		p[i] += a->prob[i] / (double) a->n;
		p[a->other[i]] += (1.0 - a->prob[i]) / (double) a->n;
	}
}

/* Tables give each outcome weight / sum exactly; unusable weights count as 0, all unusable as 1 */
static void
test_alias(void)
{
	const float w[7] = {1.0f, 2.0f, 3.0f, 4.0f, 0.0f, -1.0f, NAN};
	double		p[7];
	int64_t		hits[7] = {0};
	BprAlias	a;
	BprRng		rng;

	bpr_alias_init(&a, 7, &unit_alloc);
	memcpy(a.prob, w, sizeof(w));
	bpr_alias_build(&a, &unit_alloc);
	alias_probabilities(&a, p);
	for (int i = 0; i < 4; i++)
		CHECK_CLOSE(p[i], (i + 1) / 10.0, 1e-6);
	for (int i = 4; i < 7; i++)
		CHECK(p[i] == 0.0);
	/* draws follow them */
	bpr_rng_seed(&rng, 5);
	for (int k = 0; k < 200000; k++)
		hits[bpr_alias_draw(&a, &rng)]++;
	for (int i = 0; i < 4; i++)
		CHECK_CLOSE(hits[i] / 200000.0, (i + 1) / 10.0, 0.005);
	CHECK(hits[4] == 0 && hits[5] == 0 && hits[6] == 0);

	/* all unusable: uniform; one outcome: always it */
	bpr_alias_init(&a, 3, &unit_alloc);
	a.prob[0] = a.prob[1] = a.prob[2] = 0.0f;
	bpr_alias_build(&a, &unit_alloc);
	alias_probabilities(&a, p);
	for (int i = 0; i < 3; i++)
		CHECK_CLOSE(p[i], 1.0 / 3.0, 1e-6);
	bpr_alias_init(&a, 1, &unit_alloc);
	a.prob[0] = 7.0f;
	bpr_alias_build(&a, &unit_alloc);
	CHECK(bpr_alias_draw(&a, &rng) == 0);

	/* a skewed million: heavy outcomes exact too */
	{
		int64_t		n = 1000000;
		double	   *q = bpr_alloc_array(&unit_alloc, (size_t) n, sizeof(double), "q");
		double		sum = 0.0,
					worst = 0.0;

		bpr_alias_init(&a, n, &unit_alloc);
		for (int64_t i = 0; i < n; i++)
			sum += a.prob[i] = (float) (i % 1000 == 0 ? 5000.0 : 1.0 + (double) (i % 7));
		bpr_alias_build(&a, &unit_alloc);
		alias_probabilities(&a, q);
		for (int64_t i = 0; i < n; i++)
		{
			double		want = (i % 1000 == 0 ? 5000.0 : 1.0 + (double) (i % 7)) / sum;
			double		err = fabs(q[i] - want) / want;

			worst = err > worst ? err : worst;
		}
		CHECK(worst < 1e-4);
	}
}

/* Cumulative weights: draws within a group in proportion, zero weights never, all-zero groups uniform */
static void
test_cumulative(void)
{
	const int64_t ptr[4] = {0, 3, 5, 6};
	const float w[6] = {1.0f, 0.0f, 3.0f, 0.0f, 0.0f, 2.0f};
	double	   *cum = bpr_cumulative_build(ptr, 3, w, &unit_alloc);
	int64_t		hits[6] = {0};
	BprRng		rng;

	CHECK(cum[0] == 1.0 && cum[1] == 1.0 && cum[2] == 4.0);
	CHECK(cum[3] == 1.0 && cum[4] == 2.0);	/* all zero: as if all 1 */
	bpr_rng_seed(&rng, 9);
	for (int k = 0; k < 100000; k++)
	{
		hits[bpr_cumulative_draw(cum, 0, 3, &rng)]++;
		hits[bpr_cumulative_draw(cum, 3, 5, &rng)]++;
		hits[bpr_cumulative_draw(cum, 5, 6, &rng)]++;
	}
	CHECK_CLOSE(hits[0] / 100000.0, 0.25, 0.006);
	CHECK(hits[1] == 0);
	CHECK_CLOSE(hits[2] / 100000.0, 0.75, 0.006);
	CHECK_CLOSE(hits[3] / 100000.0, 0.5, 0.006);
	CHECK(hits[5] == 100000);
}

#define WU 40					/* users */
#define WI 24					/* items */
#define WP 4					/* positives per user: items u % 6 * 4 .. + 3, the first heavy */

/* Weighted interactions: each user likes 4 items of their block, the first with weight 20 */
static void
weighted_data(BprInteractions *d, float *weight)
{
	static int64_t pos_ptr[WU + 1],
				neg_ptr[WU + 1];
	static int32_t pos[WU * WP],
				neg[1];

	memset(d, 0, sizeof(*d));
	for (int u = 0; u < WU; u++)
	{
		pos_ptr[u] = (int64_t) u * WP;
		neg_ptr[u] = 0;
		for (int k = 0; k < WP; k++)
		{
			pos[u * WP + k] = (u % 6) * WP + k;
			weight[u * WP + k] = k == 0 ? 20.0f : 1.0f;
		}
	}
	pos_ptr[WU] = (int64_t) WU * WP;
	neg_ptr[WU] = 0;
	d->n_users = WU;
	d->n_items = WI;
	d->pos_ptr = pos_ptr;
	d->pos = pos;
	d->neg_ptr = neg_ptr;
	d->neg = neg;
	d->rated_ptr = pos_ptr;
	d->rated = pos;
	d->pos_weight = weight;
}

/* A small id-only configuration on unrated negatives */
static void
weighted_config(BprTrainConfig *c, bool uniform_users)
{
	memset(c, 0, sizeof(*c));
	c->dim = 8;
	c->field_dim = 8;
	c->output = BPR_OUTPUT_LINEAR;
	c->use_ids = true;
	c->bias = true;
	c->id_init = 0.1f;
	c->sampler.negatives = BPR_NEG_UNRATED;
	c->sampler.hard = BPR_HARD_NONE;
	c->uniform_users = uniform_users;
	c->epochs = 40;
	c->batch_size = 16;
	c->learning_rate = 0.05f;
	c->final_lr_ratio = 1.0f;
	c->seed = 3;
	c->threads = 1;
}

/* Returns the clock of the hooks: 0 */
static double
zero_now(void *arg)
{
	return 0.0;
}

/* Keeps training */
static bool
go_on(void *arg, const BprEpochReport *r)
{
	return true;
}

/* Bytes asked of an allocator over unit_alloc */
static void *
counting_zalloc(void *ctx, size_t size)
{
	*(size_t *) ctx += size;
	return unit_alloc.zalloc(unit_alloc.ctx, size);
}

/* Overflows do not happen here */
static void
counting_overflow(void *ctx, const char *what)
{
	unit_alloc.overflow(unit_alloc.ctx, what);
}

/* bpr_trainer_bytes plans for the weighted tables, both ways, the build stack included */
static void
test_weighted_bytes(BprInteractions *d)
{
	for (int uniform = 0; uniform < 2; uniform++)
	{
		size_t		used = 0;
		BprAlloc	a = {.zalloc = counting_zalloc, .overflow = counting_overflow, .ctx = &used};
		BprTrainConfig c;
		size_t		planned,
					unweighted;
		const float *w = d->pos_weight;

		weighted_config(&c, uniform);
		planned = bpr_trainer_bytes(&c, d, NULL, NULL);
		d->pos_weight = NULL;
		unweighted = bpr_trainer_bytes(&c, d, NULL, NULL);
		d->pos_weight = w;
		(void) bpr_trainer_create(&c, d, NULL, NULL, &a);
		CHECK(used <= planned);
		CHECK(planned >= unweighted + (size_t) WU * WP * (uniform ? 8 : 20));
	}
}

/* A trainer draws pairs in proportion to their weight, and a heavy positive ends up on top */
static void
test_trainer_weighted(void)
{
	static float weight[WU * WP];
	static float uv[WU * 9],
				iv[WI * 9];
	BprInteractions d;
	BprTrainConfig c;
	BprTrainHooks hooks = {.epoch_done = go_on, .now = zero_now};
	BprTrainer *t;
	double		p[WU * WP];
	int			heavy_first;

	weighted_data(&d, weight);
	test_weighted_bytes(&d);
	/* by pairs: the table gives pair q of user u weight / sum, mapped to u's entries in order */
	weighted_config(&c, false);
	t = bpr_trainer_create(&c, &d, NULL, NULL, &unit_alloc);
	CHECK(t->pair_alias.n == (int64_t) WU * WP);
	CHECK(t->pos_cum == NULL);
	alias_probabilities(&t->pair_alias, p);
	for (int64_t q = 0; q < (int64_t) WU * WP; q++)
		CHECK_CLOSE(p[q], weight[q] / (WU * 23.0), 1e-7);
	bpr_trainer_run(t, &hooks);
	bpr_trainer_user_vectors(t, uv);
	bpr_trainer_item_vectors(t, iv);
	/* the heavy positive ends up scored above the user's light ones, for most users */
	heavy_first = 0;
	for (int u = 0; u < WU; u++)
	{
		float		s[WP];
		bool		top = true;

		for (int k = 0; k < WP; k++)
		{
			const float *x = uv + u * t->vec_dim,
					   *y = iv + ((u % 6) * WP + k) * t->vec_dim;

			s[k] = 0.0f;
			for (int j = 0; j < t->vec_dim; j++)
				s[k] += x[j] * y[j];
		}
		for (int k = 1; k < WP; k++)
			top = top && s[0] > s[k];
		heavy_first += top;
	}
	CHECK(heavy_first >= WU * 3 / 4);

	/* uniform users: cumulative weights instead, same bytes plan as allocations */
	weighted_config(&c, true);
	t = bpr_trainer_create(&c, &d, NULL, NULL, &unit_alloc);
	CHECK(t->pos_cum != NULL && t->pair_alias.n == 0);
	CHECK(t->pos_cum[3] == 23.0 && t->pos_cum[4] == 20.0);
	/* unweighted: neither */
	d.pos_weight = NULL;
	weighted_config(&c, false);
	t = bpr_trainer_create(&c, &d, NULL, NULL, &unit_alloc);
	CHECK(t->pos_cum == NULL && t->pair_alias.n == 0);
}

/* Runs the weighted-sampling suite */
void
test_weighted(void)
{
	test_alias();
	test_cumulative();
	test_trainer_weighted();
	unit_alloc_reset();
}
