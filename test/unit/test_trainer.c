/*
 * test_trainer.c - the training loop learns a planted structure, reproducibly;
 * whole-model evaluation matches a hand computation
 */
#include <string.h>

#include "calibration.h"
#include "evaluation.h"
#include "trainer.h"
#include "unit.h"

#define N_USERS 16
#define N_ITEMS 12

/* The arrays behind the planted interactions */
typedef struct Planted
{
	int64_t		pos_ptr[N_USERS + 1];
	int64_t		neg_ptr[N_USERS + 1];
	int64_t		rated_ptr[N_USERS + 1];
	int32_t		pos[N_USERS * N_ITEMS];
	int32_t		neg[N_USERS * N_ITEMS];
	int32_t		rated[N_USERS * N_ITEMS];
} Planted;

/* Users u like items of group u % 2 (even / odd items), except the last two of each group, held out */
static void
planted(Planted *pl, BprInteractions *d)
{
	int64_t    *pos_ptr = pl->pos_ptr,
			   *neg_ptr = pl->neg_ptr,
			   *rated_ptr = pl->rated_ptr;
	int32_t    *pos = pl->pos,
			   *neg = pl->neg,
			   *rated = pl->rated;
	int64_t		np = 0,
				nn = 0,
				nr = 0;

	memset(d, 0, sizeof(*d));
	pos_ptr[0] = neg_ptr[0] = rated_ptr[0] = 0;
	for (int u = 0; u < N_USERS; u++)
	{
		for (int i = 0; i < N_ITEMS - 4; i++)
		{
			if (i % 2 == u % 2)
				pos[np++] = i;
			else if (i < 4)
				neg[nn++] = i;
			if (i % 2 == u % 2 || i < 4)
				rated[nr++] = i;
		}
		pos_ptr[u + 1] = np;
		neg_ptr[u + 1] = nn;
		rated_ptr[u + 1] = nr;
	}
	d->n_users = N_USERS;
	d->n_items = N_ITEMS;
	d->pos_ptr = pos_ptr;
	d->pos = pos;
	d->neg_ptr = neg_ptr;
	d->neg = neg;
	d->rated_ptr = rated_ptr;
	d->rated = rated;
}

/* A small ids-only configuration */
static void
small_config(BprTrainConfig *c)
{
	memset(c, 0, sizeof(*c));
	c->dim = 8;
	c->field_dim = 8;
	c->output = BPR_OUTPUT_LINEAR;
	c->use_ids = true;
	c->bias = true;
	c->id_init = 0.1f;
	c->sampler.negatives = BPR_NEG_UNRATED;
	c->sampler.hard = BPR_HARD_MODEL;
	c->sampler.candidates = 3;
	c->epochs = 60;
	c->batch_size = 16;
	c->learning_rate = 0.05f;
	c->final_lr_ratio = 0.5f;
	c->l2 = 0.0001f;
	c->seed = 1;
	c->threads = 1;
}

/* A fixed clock */
static double
fake_now(void *arg)
{
	return 0.0;
}

/* Counts epochs */
static bool
count_epoch(void *arg, const BprEpochReport *r)
{
	(*(int *) arg)++;
	return true;
}

/* Trains and writes item and user vectors */
static BprTrainer *
train(const BprTrainConfig *c, const BprInteractions *d, float *uvec, float *ivec, int *epochs)
{
	BprTrainer *t = bpr_trainer_create(c, d, NULL, NULL, &unit_alloc);
	BprTrainHooks hooks = {NULL, count_epoch, fake_now, NULL, epochs};

	bpr_trainer_run(t, &hooks);
	bpr_trainer_user_vectors(t, uvec);
	bpr_trainer_item_vectors(t, ivec);
	return t;
}

/*
 * Training on `threads` threads with batches of `batch` for `n_epochs`
 * epochs learns the planted groups, and is reproducible bit for bit
 */
static void
learns(int32_t threads, int32_t batch, int32_t n_epochs)
{
	Planted		pl;
	BprInteractions d;
	BprTrainConfig c;
	float		u1[N_USERS * 9],
				i1[N_ITEMS * 9],
				u2[N_USERS * 9],
				i2[N_ITEMS * 9];
	int			epochs = 0;
	BprTrainer *t;
	int			correct = 0,
				total = 0;

	planted(&pl, &d);
	small_config(&c);
	c.threads = threads;
	c.batch_size = batch;
	c.epochs = n_epochs;
	CHECK(bpr_train_config_check(&c) == NULL);
	t = train(&c, &d, u1, i1, &epochs);
	CHECK(t->threads == threads);
	CHECK(epochs == n_epochs);
	CHECK(t->vec_dim == 9);
	CHECK(t->n_pairs == pl.pos_ptr[N_USERS]);
	CHECK(t->triplets_seen == n_epochs * pl.pos_ptr[N_USERS]);
	CHECK(t->final_loss < 0.3);
	for (int u = 0; u < N_USERS; u++)
		CHECK_CLOSE(u1[u * 9 + 8], 1.0, 0.0);
	/* trained items of the user's group outrank the other group's unrated items */
	for (int u = 0; u < N_USERS; u++)
		for (int a = 4; a < N_ITEMS - 4; a++)
			for (int b = 4; b < N_ITEMS - 4; b++)
				if (a % 2 == u % 2 && b % 2 != u % 2)
				{
					float		sa = 0,
								sb = 0;

					for (int k = 0; k < 9; k++)
					{
						sa += u1[u * 9 + k] * i1[a * 9 + k];
						sb += u1[u * 9 + k] * i1[b * 9 + k];
					}
					correct += sa > sb;
					total++;
				}
	CHECK(correct >= total * 9 / 10);

	/* same seed, same data: identical vectors; another seed: different */
	epochs = 0;
	train(&c, &d, u2, i2, &epochs);
	CHECK(memcmp(u1, u2, sizeof(u1)) == 0);
	CHECK(memcmp(i1, i2, sizeof(i1)) == 0);
	c.seed = 2;
	train(&c, &d, u2, i2, &epochs);
	CHECK(memcmp(u1, u2, sizeof(u1)) != 0);
}

/*
 * Training learns the planted structure, held-out items included, and is
 * reproducible: on one thread with batches of 16 (4 per epoch), and on two
 * threads with batches of 64 (one per epoch: smaller ones go to one thread)
 * for as many steps
 */
static void
test_learns(void)
{
	Planted		pl;
	BprInteractions d;
	BprTrainConfig c;
	float		u2[N_USERS * 9],
				i2[N_ITEMS * 9];
	int			epochs = 0;
	BprTrainer *t;

	learns(1, 16, 60);
	learns(2, 64, 240);

	/* rated negatives, the notebook's user sampling, and a fixed epoch size */
	planted(&pl, &d);
	small_config(&c);
	c.sampler.negatives = BPR_NEG_RATED;
	c.sampler.hard = BPR_HARD_NONE;
	c.uniform_users = true;
	c.epoch_triplets = 100;
	c.epochs = 3;
	epochs = 0;
	t = train(&c, &d, u2, i2, &epochs);
	CHECK(t->triplets_seen == 300);
	CHECK(epochs == 3);
}

/* Stops when the epoch hook says so */
static bool
stop_after_two(void *arg, const BprEpochReport *r)
{
	return r->epoch < 2;
}

/* Early stop, best-epoch snapshots, and configuration checks */
static void
test_control(void)
{
	Planted		pl;
	BprInteractions d;
	BprTrainConfig c;
	BprTrainer *t;
	BprTrainHooks hooks = {NULL, stop_after_two, fake_now, NULL, NULL};
	float		before[N_ITEMS * 9],
				after[N_ITEMS * 9];

	planted(&pl, &d);
	small_config(&c);
	t = bpr_trainer_create(&c, &d, NULL, NULL, &unit_alloc);
	CHECK(bpr_trainer_run(t, &hooks) == 2);
	bpr_trainer_save_best(t, 2);
	bpr_trainer_item_vectors(t, before);
	bpr_trainer_run(t, &hooks);
	bpr_trainer_item_vectors(t, after);
	CHECK(memcmp(before, after, sizeof(before)) != 0);
	bpr_trainer_restore_best(t);
	bpr_trainer_item_vectors(t, after);
	CHECK(memcmp(before, after, sizeof(before)) == 0);
	CHECK(t->best_epoch == 2);
	CHECK(bpr_trainer_bytes(&c, &d, NULL, NULL) > 0);

	small_config(&c);
	c.dim = 0;
	CHECK(bpr_train_config_check(&c) != NULL);
	small_config(&c);
	c.output = BPR_OUTPUT_SOFTMAX;
	CHECK(bpr_train_config_check(&c) != NULL);	/* bias needs a linear output */
	small_config(&c);
	c.learning_rate = 0.0f / 0.0f;
	CHECK(bpr_train_config_check(&c) != NULL);
	small_config(&c);
	c.batch_size = 0;
	CHECK(bpr_train_config_check(&c) != NULL);
}

/* Evaluation on several threads gives exactly what one thread gives, on random data */
static void
test_evaluation_threads(void)
{
	enum
	{
		NU = 700, NI = 150, DIM = 5
	};
	float	   *uv = bpr_alloc_array(&unit_alloc, NU * DIM, sizeof(float), "u");
	float	   *iv = bpr_alloc_array(&unit_alloc, NI * DIM, sizeof(float), "i");
	int64_t    *train_ptr = bpr_alloc_array(&unit_alloc, NU + 1, sizeof(int64_t), "p");
	int32_t    *train_items = bpr_alloc_array(&unit_alloc, NU * 3, sizeof(int32_t), "t");
	int64_t    *test_ptr = bpr_alloc_array(&unit_alloc, NU + 1, sizeof(int64_t), "p");
	int32_t    *test_items = bpr_alloc_array(&unit_alloc, NU * 4, sizeof(int32_t), "t");
	uint8_t    *test_liked = bpr_alloc_array(&unit_alloc, NU * 4, 1, "t");
	BprMetricsResult one,
				many;
	BprEvalInput in;
	BprRng		rng;

	bpr_rng_seed(&rng, 11);
	for (int i = 0; i < NU * DIM; i++)
		uv[i] = bpr_rng_range(&rng, -1.0f, 1.0f);
	for (int i = 0; i < NI * DIM; i++)
		iv[i] = bpr_rng_range(&rng, -1.0f, 1.0f);
	for (int u = 0; u < NU; u++)
	{
		/* users 3, 6, ... have no test rows; the others rate 3 items in train, up to 4 in test */
		int			nt = u % 3 == 0 ? 0 : 1 + u % 4;

		train_ptr[u + 1] = train_ptr[u] + 3;
		test_ptr[u + 1] = test_ptr[u] + nt;
		for (int j = 0; j < 3; j++)
			train_items[u * 3 + j] = (u + j) % NI;
		for (int j = 0; j < nt; j++)
		{
			test_items[test_ptr[u] + j] = (u + 3 + j * 7) % NI;
			test_liked[test_ptr[u] + j] = (uint8_t) ((u + j) % 2);
		}
	}
	memset(&in, 0, sizeof(in));
	in.n_users = NU;
	in.user_vecs = uv;
	in.n_items = NI;
	in.item_vecs = iv;
	in.vec_dim = DIM;
	in.train_ptr = train_ptr;
	in.train_items = train_items;
	in.test_ptr = test_ptr;
	in.test_items = test_items;
	in.test_liked = test_liked;
	in.k = 10;
	in.threads = 1;
	bpr_evaluate_model(&in, &unit_alloc, NULL, NULL, &one);
	CHECK(one.users > 300 && one.coverage > 0.0);
	for (int32_t th = 2; th <= 5; th += 3)
	{
		in.threads = th;
		bpr_evaluate_model(&in, &unit_alloc, NULL, NULL, &many);
		CHECK(memcmp(&one, &many, sizeof(one)) == 0);
	}
}

/* Whole-model evaluation against a hand computation */
static void
test_evaluation(void)
{
	float		users[2] = {1.0f, 1.0f};
	float		items[4] = {4.0f, 3.0f, 2.0f, 1.0f};
	int64_t		ids[4] = {10, 11, 12, 13};
	int64_t		train_ptr[3] = {0, 1, 1};
	int32_t		train_items[1] = {0};
	int64_t		test_ptr[3] = {0, 2, 2};
	int32_t		test_items[2] = {2, 3};
	uint8_t		test_liked[2] = {1, 0};
	BprEvalInput in = {2, users, 4, items, ids, 1, train_ptr, train_items, test_ptr,
	test_items, test_liked, 2, 1};
	BprMetricsResult r;

	/*
	 * User 0: item 0 rated in train, so the ranking is items 1 (3), 2 (2), 3 (1).
	 * Top 2 = items 1, 2: one hit at rank 2.  precision 1/2, recall 1/1, ndcg
	 * (1/log2 3) / (1/log2 2) = 0.63093, map (1/2) / 1 = 0.5.  rank_auc: the
	 * liked item 2 (score 2) against item 1, never rated (score 3): 0.
	 * seed_auc: liked 2 > disliked 1: 1.  Coverage: items 1, 2 of 4 = 0.5.
	 * User 1 has no test rows.
	 */
	bpr_evaluate_model(&in, &unit_alloc, NULL, NULL, &r);
	CHECK(r.users == 1);
	CHECK(r.test_rows == 2);
	CHECK_CLOSE(r.precision, 0.5, 1e-9);
	CHECK_CLOSE(r.recall, 1.0, 1e-9);
	CHECK_CLOSE(r.ndcg, 0.6309297535714575, 1e-9);
	CHECK_CLOSE(r.map, 0.5, 1e-9);
	CHECK_CLOSE(r.rank_auc, 0.0, 1e-9);
	CHECK_CLOSE(r.seed_auc, 1.0, 1e-9);
	CHECK_CLOSE(r.coverage, 0.5, 1e-9);
	test_evaluation_threads();
}

/* Score offsets by hand; they shift users, never reorder a user's items */
static void
test_calibration(void)
{
	/* users: 0 liked 3 of 4 rated, 1 liked 1 of 4; vectors of width 1 */
	int64_t		pos_ptr[3] = {0, 3, 4};
	int32_t		pos[4] = {0, 1, 2, 3};
	int64_t		neg_ptr[3] = {0, 1, 4};
	int32_t		neg[4] = {3, 0, 1, 2};
	int64_t		rated_ptr[3] = {0, 4, 8};
	int32_t		rated[8] = {0, 1, 2, 3, 0, 1, 2, 3};
	BprInteractions d = {2, 4, pos_ptr, pos, neg_ptr, neg, rated_ptr, rated, NULL};
	float		uvec[4] = {1.0f, 1.0f};
	float		ivec[8] = {1.0f, 2.0f, 3.0f, 4.0f};
	float		offsets[2];
	float		cold;
	double		spread;
	int32_t		w;

	/*
	 * Scores over the 8 rated pairs: 1,2,3,4 for each user: mean 2.5, spread
	 * sqrt(1.25).  Global liked share 4/8 = 0.5.  User 0: (3 + 1) / (4 + 2) =
	 * 2/3, logit ln 2; user 1: (1 + 1) / 6 = 1/3, logit -ln 2; cold: logit 0.5 = 0.
	 */
	bpr_user_offsets(&d, uvec, ivec, 1, offsets, &cold, NULL, NULL);
	spread = sqrt(1.25);
	CHECK_CLOSE(offsets[0], spread * log(2.0), 1e-5);
	CHECK_CLOSE(offsets[1], -spread * log(2.0), 1e-5);
	CHECK_CLOSE(cold, 0.0, 1e-6);

	/* appended as a last column: users carry the offset, items a 1 */
	w = bpr_calibrate_vectors(&d, uvec, ivec, 1, offsets, &cold, NULL, NULL);
	CHECK(w == 2);
	CHECK_CLOSE(uvec[0], 1.0, 0.0);
	CHECK_CLOSE(uvec[1], offsets[0], 0.0);
	CHECK_CLOSE(uvec[3], offsets[1], 0.0);
	for (int i = 0; i < 4; i++)
	{
		CHECK_CLOSE(ivec[2 * i], (double) (i + 1), 0.0);
		CHECK_CLOSE(ivec[2 * i + 1], 1.0, 0.0);
	}
	/* no disliked rating: nothing to calibrate on */
	neg_ptr[1] = neg_ptr[2] = 0;
	CHECK(bpr_calibrate_vectors(&d, uvec, ivec, 2, offsets, &cold, NULL, NULL) == 2);
}

void
test_trainer(void)
{
	test_learns();
	test_control();
	test_evaluation();
	test_calibration();
}
