/*
 * trainer.c - the BPR training loop over two towers, on one or more threads
 *
 * Threading, two ways (cfg.lock_free).  Lock-free (the PostgreSQL layer's
 * default): each thread takes the next whole batch nobody has taken, runs it
 * through the towers with its own random stream and work area, and applies
 * its Adam step to the shared weights at once, without waiting (Hogwild!).
 * The optimisation is one thread's (batch size, number of steps, learning
 * rates, lazy Adam), but a step may read rows another thread is writing, so
 * results change from run to run; popular rows' values bounce between
 * cores (their Adam moments do not: each thread keeps its own for the most
 * liked items, TRAIN_OWN_MOMENT_ROWS).  On the 20M-rating benchmark it is
 * the faster scheme (README, "Training
 * threads"), and quality matches one thread's (unit tests).
 *
 * Synchronous: every batch of batch_size triplets is split into `threads`
 * contiguous shares; each thread draws its share from its own random stream,
 * runs it through the towers with its own work area, and sums its gradients
 * (scaled by 1 / batch size) privately.  At a barrier, the Adam step is then
 * applied once from the sum of all threads' gradients, each thread updating a
 * disjoint part of the parameters (dense values by range, an embedding row by
 * a thread that touched it), and a second barrier ends the batch.  No data
 * races, and deterministic: with a seed and a given number of threads, every
 * run gives bit-for-bit the same weights.  Runs with different numbers of
 * threads differ only as two seeds do (other random draws, and gradient sums
 * added in another order), so their loss curves agree within sampling noise.
 * The price is two barriers per batch and updates of shared rows that do not
 * halve.
 *
 * Threads live for one round (trainer_int.h, parallel.h): the calling thread
 * creates them, they run the next steps for a few tens of milliseconds, and
 * it joins them before calling any hook.
 */
#include <string.h>

#include "trainer_int.h"
#include "vecmath.h"

/* Width of the item tower's output: dim plus the bias column */
static inline int32_t
item_out_dim(const BprTrainConfig *cfg)
{
	return cfg->dim + (cfg->bias ? 1 : 0);
}

/* Checks a configuration; NULL if fine, else a static message */
const char *
bpr_train_config_check(const BprTrainConfig *cfg)
{
	if (cfg->dim <= 0 || cfg->dim > 4096)
		return "dim must be between 1 and 4096";
	if (cfg->field_dim <= 0 || cfg->field_dim > 4096)
		return "field embedding width must be between 1 and 4096";
	if (cfg->n_user_hidden < 0 || cfg->n_user_hidden > BPR_MAX_LAYERS ||
		cfg->n_item_hidden < 0 || cfg->n_item_hidden > BPR_MAX_LAYERS)
		return "too many hidden layers";
	for (int i = 0; i < cfg->n_user_hidden; i++)
		if (cfg->user_hidden[i] <= 0 || cfg->user_hidden[i] > 65536)
			return "hidden layer widths must be between 1 and 65536";
	for (int i = 0; i < cfg->n_item_hidden; i++)
		if (cfg->item_hidden[i] <= 0 || cfg->item_hidden[i] > 65536)
			return "hidden layer widths must be between 1 and 65536";
	if (cfg->bias && cfg->output == BPR_OUTPUT_SOFTMAX)
		return "an item bias needs a linear output";
	if (cfg->epochs <= 0)
		return "epochs must be positive";
	if (cfg->batch_size <= 0 || cfg->batch_size > 1048576)
		return "batch size must be between 1 and 1048576";
	if (!(cfg->learning_rate > 0.0f) || cfg->learning_rate > 10.0f)
		return "learning rate must be in (0, 10]";
	if (!(cfg->final_lr_ratio > 0.0f) || cfg->final_lr_ratio > 1.0f)
		return "final learning rate ratio must be in (0, 1]";
	if (!(cfg->l2 >= 0.0f) || cfg->l2 > 100.0f)
		return "l2 must be in [0, 100]";
	if (cfg->epoch_triplets < 0)
		return "triplets per epoch must not be negative";
	if (cfg->sampler.hard != BPR_HARD_NONE &&
		(cfg->sampler.candidates < 0 || cfg->sampler.candidates > 100000))
		return "hard negative candidates must be between 1 and 100000";
	if (cfg->sampler.hard == BPR_HARD_MODEL && cfg->sampler.candidates < 1)
		return "hard negative candidates must be between 1 and 100000";
	if (!(cfg->sampler.rated_share >= 0.0f) || cfg->sampler.rated_share > 1.0f)
		return "rated negative share must be in [0, 1]";
	if (cfg->threads < 1 || cfg->threads > BPR_MAX_THREADS)
		return "threads must be between 1 and 64";
	return NULL;
}

/* Fills the input part of a tower spec from a feature matrix */
static void
spec_inputs(BprTowerSpec *spec, const BprFeatures *f)
{
	if (!bpr_features_any(f))
		return;
	spec->n_numeric = f->n_numeric;
	spec->n_cat = f->n_cat;
	for (int k = 0; k < f->n_cat && k < BPR_MAX_FIELDS; k++)
		spec->cat_card[k] = f->cat_card[k];
	spec->n_multi = f->n_multi;
	for (int k = 0; k < f->n_multi && k < BPR_MAX_FIELDS; k++)
		spec->multi_card[k] = f->multi[k].card;
}

/* Builds the tower specs the configuration implies for these features */
void
bpr_trainer_specs(const BprTrainConfig *cfg, const BprInteractions *data,
				  const BprFeatures *user_features,
				  const BprFeatures *item_features,
				  BprTowerSpec *user_spec, BprTowerSpec *item_spec)
{
	memset(user_spec, 0, sizeof(*user_spec));
	memset(item_spec, 0, sizeof(*item_spec));
	spec_inputs(user_spec, user_features);
	spec_inputs(item_spec, item_features);

	user_spec->field_dim = item_spec->field_dim = cfg->field_dim;
	user_spec->n_hidden = cfg->n_user_hidden;
	memcpy(user_spec->hidden, cfg->user_hidden, sizeof(cfg->user_hidden));
	item_spec->n_hidden = cfg->n_item_hidden;
	memcpy(item_spec->hidden, cfg->item_hidden, sizeof(cfg->item_hidden));
	user_spec->out_dim = cfg->dim;
	item_spec->out_dim = item_out_dim(cfg);
	user_spec->output = item_spec->output = cfg->output;
	user_spec->id_init = item_spec->id_init = cfg->id_init;

	/* a side without features is its id embedding alone */
	user_spec->n_ids = (cfg->use_ids || !bpr_features_any(user_features)) ? data->n_users : 0;
	item_spec->n_ids = (cfg->use_ids || !bpr_features_any(item_features)) ? data->n_items : 0;
}

/* Bytes per row of the 8-bit item vectors: dim rounded up to 16 */
static int32_t
quant_stride(int32_t dim)
{
	return (dim + 15) / 16 * 16;
}

/* Bucket shift for the pair index: about one bucket per user */
static int32_t
bucket_shift(int64_t n_pos, int32_t n_users)
{
	int32_t		shift = 0;

	while (shift < 62 && (n_pos >> shift) > (int64_t) (n_users > 0 ? n_users : 1))
		shift++;
	return shift;
}

/* Buckets the pair index has (sized from all positives, so known before counting pairs) */
static int64_t
bucket_count(int64_t n_pos, int32_t shift)
{
	return (n_pos >> shift) + 1;
}

/* Bytes bpr_trainer_create will allocate; 0 on overflow */
size_t
bpr_trainer_bytes(const BprTrainConfig *cfg, const BprInteractions *data,
				  const BprFeatures *user_features,
				  const BprFeatures *item_features)
{
	BprTowerSpec us,
				is;
	size_t		total = sizeof(BprTrainer);
	size_t		ub,
				ib,
				sb;
	int64_t		n_pos = data->pos_ptr[data->n_users];
	const BprFeatures *uf = bpr_features_any(user_features) ? user_features : NULL;
	const BprFeatures *itf = bpr_features_any(item_features) ? item_features : NULL;

	if (bpr_train_config_check(cfg) != NULL)
		return 0;
	bpr_trainer_specs(cfg, data, user_features, item_features, &us, &is);
	/* towers (a 1-row forward work area each), then best-epoch snapshots */
	ub = bpr_tower_bytes(&us, 1, true);
	ib = bpr_tower_bytes(&is, 1, true);
	if (ub == 0 || ib == 0 || !bpr_size_add(total, ub, &total) ||
		!bpr_size_add(total, ib, &total))
		return 0;
	ub = bpr_tower_bytes(&us, 1, false);
	ib = bpr_tower_bytes(&is, 1, false);
	if (ub == 0 || ib == 0 || !bpr_size_add(total, ub, &total) ||
		!bpr_size_add(total, ib, &total))
		return 0;
	if (!bpr_sampler_bytes(&cfg->sampler, itf, &sb) || !bpr_size_add(total, sb, &total))
		return 0;
	if (cfg->sampler.hard == BPR_HARD_MODEL &&
		(!bpr_array_bytes(&total, 1, sizeof(BprQuantVectors)) ||
		 !bpr_array_bytes(&total, (size_t) data->n_items * (size_t) quant_stride(cfg->dim) + BPR_ALIGN_SLACK,
					sizeof(int8_t)) ||
		 !bpr_array_bytes(&total, (size_t) data->n_items, sizeof(float)) ||
		 (cfg->bias && !bpr_array_bytes(&total, (size_t) data->n_items, sizeof(float)))))
		return 0;
	if (!bpr_array_bytes(&total, (size_t) data->n_users, sizeof(int32_t)) ||
		!bpr_array_bytes(&total, (size_t) data->n_users + 1, sizeof(int64_t)) ||
		!bpr_array_bytes(&total, (size_t) bucket_count(n_pos, bucket_shift(n_pos, data->n_users)),
				   sizeof(int32_t)))
		return 0;
	if (data->pos_weight != NULL &&
		!(cfg->uniform_users ? bpr_cumulative_bytes(n_pos, &total) : bpr_alias_bytes(n_pos, &total)))
		return 0;
	if (!bpr_shards_bytes(cfg, &us, &is, uf, itf, &total))
		return 0;
	return total;
}

/* Finds the trainable pairs: users with a positive and a possible negative, and the pair index */
static void
index_pairs(BprTrainer *t, const BprAlloc *alloc)
{
	const BprInteractions *d = t->data;
	int64_t		n_pos = d->pos_ptr[d->n_users];
	int64_t		n_buckets;
	int32_t		u = 0;

	t->ok_users = bpr_alloc_array(alloc, (size_t) d->n_users, sizeof(int32_t), "users");
	t->pair_start = bpr_alloc_array(alloc, (size_t) d->n_users + 1, sizeof(int64_t), "pairs");
	for (int32_t v = 0; v < d->n_users; v++)
	{
		int64_t		npos = d->pos_ptr[v + 1] - d->pos_ptr[v];
		bool		ok = npos > 0 && bpr_sampler_user_ok(&t->sampler, v);

		t->pair_start[v] = t->n_pairs;
		if (ok)
		{
			t->ok_users[t->n_ok_users++] = v;
			t->n_pairs += npos;
		}
		else
			t->skipped_positives += npos;
	}
	t->pair_start[d->n_users] = t->n_pairs;

	/* bucket b: the user holding pair b << shift, so a lookup scans about one user */
	t->bucket_shift = bucket_shift(n_pos, d->n_users);
	n_buckets = bucket_count(n_pos, t->bucket_shift);
	t->pair_bucket = bpr_alloc_array(alloc, (size_t) n_buckets, sizeof(int32_t), "pairs");
	for (int64_t b = 0; b < n_buckets; b++)
	{
		int64_t		q = b << t->bucket_shift;

		while (u < d->n_users - 1 && t->pair_start[u + 1] <= q)
			u++;
		t->pair_bucket[b] = u;
	}
}

/* Weighted positives: the alias table over the trainable pairs, or each user's cumulative weights */
static void
weigh_pairs(BprTrainer *t, const BprAlloc *alloc)
{
	const BprInteractions *d = t->data;

	if (t->cfg.uniform_users)
	{
		t->pos_cum = bpr_cumulative_build(d->pos_ptr, d->n_users, d->pos_weight, alloc);
		return;
	}
	if (t->n_pairs == 0)
		return;
	bpr_alias_init(&t->pair_alias, t->n_pairs, alloc);
	for (int32_t k = 0; k < t->n_ok_users; k++)
	{
		int32_t		u = t->ok_users[k];

		for (int64_t q = t->pair_start[u]; q < t->pair_start[u + 1]; q++)
			t->pair_alias.prob[q] = d->pos_weight[d->pos_ptr[u] + (q - t->pair_start[u])];
	}
	bpr_alias_build(&t->pair_alias, alloc);
}

/* Allocates towers, sampler and buffers and initialises the weights from the seed */
BprTrainer *
bpr_trainer_create(const BprTrainConfig *cfg, const BprInteractions *data,
				   const BprFeatures *user_features,
				   const BprFeatures *item_features,
				   const BprAlloc *alloc)
{
	BprTrainer *t = alloc->zalloc(alloc->ctx, sizeof(BprTrainer));
	BprTowerSpec us,
				is;
	int32_t		idim = item_out_dim(cfg);

	t->cfg = *cfg;
	t->data = data;
	t->user_features = bpr_features_any(user_features) ? user_features : NULL;
	t->item_features = bpr_features_any(item_features) ? item_features : NULL;
	t->alloc = alloc;
	t->vec_dim = idim;
	t->best_epoch = 0;
	bpr_rng_seed(&t->rng, cfg->seed);

	bpr_trainer_specs(cfg, data, user_features, item_features, &us, &is);
	t->user = bpr_tower_create(&us, 1, true, alloc);
	t->item = bpr_tower_create(&is, 1, true, alloc);
	bpr_tower_init(t->user, &t->rng);
	bpr_tower_init(t->item, &t->rng);

	bpr_sampler_init(&t->sampler, &cfg->sampler, data, t->item_features, alloc);
	t->sampler.user_dim = cfg->dim;
	t->sampler.item_dim = idim;
	if (cfg->sampler.hard == BPR_HARD_MODEL)
	{
		BprQuantVectors *qv = bpr_alloc_array(alloc, 1, sizeof(BprQuantVectors), "item vectors");

		qv->dim = cfg->dim;
		qv->stride = quant_stride(cfg->dim);
		qv->codes = bpr_alloc_aligned(alloc, (size_t) data->n_items * (size_t) qv->stride,
									  sizeof(int8_t), "item vectors");
		qv->scale = bpr_alloc_array(alloc, (size_t) data->n_items, sizeof(float), "item vectors");
		qv->bias = cfg->bias ?
			bpr_alloc_array(alloc, (size_t) data->n_items, sizeof(float), "item vectors") : NULL;
		t->item_cache = qv;
		t->sampler.item_quant = qv;
	}
	index_pairs(t, alloc);
	if (data->pos_weight != NULL)
		weigh_pairs(t, alloc);
	bpr_shards_create(t, alloc);
	t->round_steps = 16;
	t->pass_steps = 2;
	return t;
}

/* Lets the caller act on a cancel between rounds of work (no helper thread is alive) */
static inline void
interrupt_point(const BprTrainer *t)
{
	if (t->hooks != NULL && t->hooks->interrupt != NULL)
		t->hooks->interrupt(t->hooks->arg);
}

/* The caller's clock, or 0 without one */
static inline double
clock_now(const BprTrainer *t)
{
	return t->hooks != NULL && t->hooks->now != NULL ? t->hooks->now(t->hooks->arg) : 0.0;
}

/*
 * Doubles or halves a round's size (training steps, or blocks of a
 * whole-catalog pass) towards 25-100 ms of work: short enough for a cancel to
 * act at once, long enough that starting the helpers and waiting for the last
 * batch of a round cost little (~0.5 ms a round)
 */
static void
adapt_round(int32_t *steps, double seconds)
{
	if (seconds < 0.025 && *steps < (1 << 20))
		*steps *= 2;
	else if (seconds > 0.100 && *steps > 1)
		*steps /= 2;
}

/* A round of training steps, as every member of the team runs it */
typedef struct TrainRound
{
	BprTrainer *t;
	const TrainPlan *plan;
	TrainCursor start;
	int32_t		n_steps;
	TrainCursor end;			/* set by member 0 */
	BprClaims	batches;		/* lock-free: batches handed out to members as they get free */
} TrainRound;

/* True when the cursor is inside a batch (past its first step) */
static inline bool
mid_batch(const TrainCursor *c)
{
	return c->kind == STEP_UPDATE || (c->kind == STEP_GRADS && c->index > 0);
}

/*
 * Runs the round's steps for the members played.  Synchronous threads meet
 * whenever the step kind changes.  Lock-free threads meet only around an
 * epoch's first refresh, and each runs the batches it takes from the
 * round's claims: a member reaching a batch past the one it holds takes
 * the next free one, so a member slowed down (by the OS, or a core busy with
 * other work) leaves more batches to the others.  Their rounds end at a
 * batch's end.
 */
static void
train_round(BprTeam *team, int32_t first, int32_t count, void *arg)
{
	TrainRound *r = arg;
	TrainCursor c = r->start;
	bool		lock_free = r->t->cfg.lock_free;
	int64_t		held[BPR_MAX_THREADS];

	for (int32_t m = first; m < first + count; m++)
		held[m] = -1;
	for (int32_t s = 0; c.kind != STEP_END; s++)
	{
		TrainStepKind kind = c.kind;
		bool		more;

		for (int32_t m = first; m < first + count; m++)
		{
			if (lock_free && kind != STEP_REFRESH)
			{
				if (c.batch > held[m])
					held[m] = bpr_claims_take(&r->batches);
				if (c.batch != held[m])
					continue;
			}
			bpr_step_run(r->t, r->plan, &c, m);
		}
		bpr_step_cursor_next(r->t, r->plan, &c);
		more = c.kind != STEP_END && (s + 1 < r->n_steps || (lock_free && mid_batch(&c)));
		if (!more)
			break;
		/*
		 * What the next step reads, the others may have been writing in this
		 * one.  Lock-free members meet only around an epoch's first refresh
		 * (no vector may be scored before it is written); later refreshes
		 * each member runs for its share as it gets there, while the others
		 * may still score against the vectors they replace.
		 */
		if (c.kind != kind &&
			(!lock_free || ((kind == STEP_REFRESH || c.kind == STEP_REFRESH) && c.batch == 0)))
			bpr_team_barrier(team);
	}
	if (first == 0)
		r->end = c;
}

/* Triplets of the epoch in the batches before the cursor's */
static int64_t
triplets_before(const BprTrainer *t, const TrainPlan *plan, const TrainCursor *c)
{
	int64_t		done = c->batch * t->cfg.batch_size;

	return done < plan->per_epoch ? done : plan->per_epoch;
}

/* Sums the threads' loss of this epoch so far */
static void
epoch_sums(const BprTrainer *t, double *loss, double *reg)
{
	*loss = 0.0;
	*reg = 0.0;
	for (int32_t k = 0; k < t->threads; k++)
	{
		*loss += t->shards[k]->loss;
		*reg += t->shards[k]->reg;
	}
}

/* Runs the epochs; returns the number of epochs run (complete ones) */
int32_t
bpr_trainer_run(BprTrainer *t, const BprTrainHooks *hooks)
{
	const BprTrainConfig *cfg = &t->cfg;
	TrainPlan	plan;
	BprTeam		team;
	bool		stop = false;

	t->hooks = hooks;
	if (t->n_pairs == 0)
		return 0;
	plan.per_epoch = cfg->epoch_triplets > 0 ? cfg->epoch_triplets : t->n_pairs;
	plan.batches = (plan.per_epoch + cfg->batch_size - 1) / cfg->batch_size;
	plan.total_steps = (double) plan.batches * cfg->epochs;
	plan.refresh_every = t->data->n_items > cfg->batch_size ? t->data->n_items : cfg->batch_size;
	plan.refresh_block = (int64_t) t->threads * 8 * t->chunk;
	plan.first_step = t->step;

	for (int32_t epoch = 1; epoch <= cfg->epochs && !stop; epoch++)
	{
		BprEpochReport report;
		double		start = hooks->now(hooks->arg);
		TrainCursor cur;
		double		loss_sum,
					reg_sum;

		if (!cfg->uniform_users && t->pair_alias.n == 0)
			bpr_permutation_init(&t->order, (uint64_t) t->n_pairs, &t->rng);
		for (int32_t k = 0; k < t->threads; k++)
			t->shards[k]->loss = t->shards[k]->reg = 0.0;
		bpr_step_cursor_epoch(t, &plan, &cur, epoch, t->step);

		while (cur.kind != STEP_END)
		{
			TrainRound	round = {.t = t, .plan = &plan, .start = cur, .n_steps = t->round_steps, .end = cur};
			double		t0 = hooks->now(hooks->arg);
			int64_t		before = triplets_before(t, &plan, &cur);

			bpr_claims_init(&round.batches, cur.batch);
			bpr_team_run(&team, t->threads, train_round, &round);
			bpr_claims_destroy(&round.batches);
			adapt_round(&t->round_steps, hooks->now(hooks->arg) - t0);
			cur = round.end;
			t->step = cur.step;
			t->triplets_seen += triplets_before(t, &plan, &cur) - before;

			/* no helper is alive now: the hooks may unwind */
			interrupt_point(t);
			if (hooks->progress != NULL && cur.kind != STEP_END)
			{
				BprProgress p;

				p.epoch = epoch;
				p.epochs = cfg->epochs;
				p.done = triplets_before(t, &plan, &cur);
				p.triplets = plan.per_epoch;
				epoch_sums(t, &loss_sum, &reg_sum);
				p.loss = p.done > 0 ? loss_sum / (double) p.done : 0.0;
				if (!hooks->progress(hooks->arg, &p))
				{
					stop = true;
					break;
				}
			}
		}
		if (stop)
			break;

		epoch_sums(t, &loss_sum, &reg_sum);
		t->epochs_run = epoch;
		t->final_loss = loss_sum / (double) plan.per_epoch;
		report.epoch = epoch;
		report.loss = t->final_loss;
		report.reg = reg_sum / (double) plan.per_epoch;
		report.triplets = plan.per_epoch;
		report.seconds = hooks->now(hooks->arg) - start;
		if (hooks->epoch_done != NULL && !hooks->epoch_done(hooks->arg, &report))
			stop = true;
	}
	return t->epochs_run;
}

/* A round of a whole-catalog pass: blocks of rows, each split among the members */
typedef struct PassRound
{
	BprTrainer *t;
	bool		users;
	int32_t		n_rows;
	int64_t		block;			/* rows per block */
	int64_t		first_block;
	int64_t		n_blocks;
	float	   *out;
} PassRound;

/* Forwards the members' shares of the round's blocks (outputs are disjoint: no barrier) */
static void
pass_round(BprTeam *team, int32_t first, int32_t count, void *arg)
{
	PassRound  *r = arg;
	BprTrainer *t = r->t;
	int32_t		out_dim = r->users ? t->user->spec.out_dim : t->item->spec.out_dim;

	for (int64_t b = r->first_block; b < r->first_block + r->n_blocks; b++)
	{
		int64_t		lo = b * r->block;
		int64_t		hi = lo + r->block < r->n_rows ? lo + r->block : r->n_rows;

		for (int32_t m = first; m < first + count; m++)
		{
			int64_t		a = lo + (hi - lo) * m / t->threads;
			int64_t		e = lo + (hi - lo) * (m + 1) / t->threads;

			if (e > a)
				bpr_step_forward_rows(t, r->users, m, (int32_t) a, (int32_t) (e - a),
									  r->out + (size_t) a * out_dim);
		}
	}
}

/* Outputs of every user or item (n x out_dim), in rounds with interrupt points between */
static void
forward_all(BprTrainer *t, bool users, float *out)
{
	PassRound	r;
	BprTeam		team;
	int64_t		total;

	r.t = t;
	r.users = users;
	r.n_rows = users ? t->data->n_users : t->data->n_items;
	r.block = (int64_t) t->threads * 4 * (users ? t->chunk : 2 * t->chunk);
	r.out = out;
	total = (r.n_rows + r.block - 1) / r.block;
	for (r.first_block = 0; r.first_block < total; r.first_block += r.n_blocks)
	{
		double		t0 = clock_now(t);

		r.n_blocks = total - r.first_block < t->pass_steps ? total - r.first_block : t->pass_steps;
		bpr_team_run(&team, t->threads, pass_round, &r);
		adapt_round(&t->pass_steps, clock_now(t) - t0);
		interrupt_point(t);
	}
}

/* Saves the current weights as the best so far (early stopping) */
void
bpr_trainer_save_best(BprTrainer *t, int32_t epoch)
{
	if (t->best_user == NULL)
	{
		t->best_user = bpr_tower_create(&t->user->spec, 1, false, t->alloc);
		t->best_item = bpr_tower_create(&t->item->spec, 1, false, t->alloc);
	}
	bpr_tower_copy_params(t->best_user, t->user);
	bpr_tower_copy_params(t->best_item, t->item);
	t->best_epoch = epoch;
}

/* Puts the saved best weights back, if any */
void
bpr_trainer_restore_best(BprTrainer *t)
{
	if (t->best_user == NULL)
		return;
	bpr_tower_copy_params(t->user, t->best_user);
	bpr_tower_copy_params(t->item, t->best_item);
}

/* Writes every user's vector (n_users x vec_dim, ending in 1 with bias); uses the threads */
void
bpr_trainer_user_vectors(BprTrainer *t, float *out)
{
	forward_all(t, true, out);
	bpr_widen_rows(out, out, t->data->n_users, t->cfg.dim, t->vec_dim, NULL);
}

/* Writes every item's vector (n_items x vec_dim, ending in the bias); uses the threads */
void
bpr_trainer_item_vectors(BprTrainer *t, float *out)
{
	forward_all(t, false, out);
}
