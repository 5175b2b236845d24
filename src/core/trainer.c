/*
 * trainer.c - the BPR training loop over two towers
 */
#include <string.h>

#include "loss.h"
#include "trainer.h"
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

/* Adds n elements of the given size to a byte count, with overflow checks */
static bool
add_array(size_t *total, size_t n, size_t size)
{
	size_t		bytes;

	return bpr_size_mul(n, size, &bytes) && bpr_size_add(*total, bytes, total);
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
				ib;
	size_t		b = (size_t) cfg->batch_size;
	size_t		n_pos = (size_t) data->pos_ptr[data->n_users];

	bpr_trainer_specs(cfg, data, user_features, item_features, &us, &is);
	ub = bpr_tower_bytes(&us, cfg->batch_size, true);
	ib = bpr_tower_bytes(&is, 2 * cfg->batch_size, true);
	if (ub == 0 || ib == 0 || !bpr_size_add(total, ub, &total) ||
		!bpr_size_add(total, ib, &total))
		return 0;
	/* best-epoch snapshots */
	ub = bpr_tower_bytes(&us, 1, false);
	ib = bpr_tower_bytes(&is, 1, false);
	if (ub == 0 || ib == 0 || !bpr_size_add(total, ub, &total) ||
		!bpr_size_add(total, ib, &total))
		return 0;
	if (!add_array(&total, n_pos, sizeof(int64_t)) ||
		!add_array(&total, n_pos, sizeof(int32_t)) ||
		!add_array(&total, (size_t) data->n_users, sizeof(int32_t)) ||
		!add_array(&total, 5 * b, sizeof(int32_t)) ||
		!add_array(&total, 2 * b * (size_t) cfg->dim, sizeof(float)) ||
		!add_array(&total, 4 * b * (size_t) is.out_dim, sizeof(float)))
		return 0;
	if (cfg->sampler.hard == BPR_HARD_MODEL &&
		!add_array(&total, (size_t) data->n_items * (size_t) is.out_dim, sizeof(float)))
		return 0;
	if (!bpr_sampler_bytes(&cfg->sampler, bpr_features_any(item_features) ? item_features : NULL,
						   &ib) || !bpr_size_add(total, ib, &total))
		return 0;
	return total;
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
	int64_t		n_pos = data->pos_ptr[data->n_users];
	size_t		b = (size_t) cfg->batch_size;
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
	t->user = bpr_tower_create(&us, cfg->batch_size, true, alloc);
	t->item = bpr_tower_create(&is, 2 * cfg->batch_size, true, alloc);
	bpr_tower_init(t->user, &t->rng);
	bpr_tower_init(t->item, &t->rng);

	bpr_sampler_init(&t->sampler, &cfg->sampler, data, t->item_features, alloc);
	t->sampler.user_dim = cfg->dim;
	t->sampler.item_dim = idim;
	if (cfg->sampler.hard == BPR_HARD_MODEL)
	{
		t->item_cache = bpr_alloc_array(alloc, (size_t) data->n_items * (size_t) idim,
										sizeof(float), "item vectors");
		t->sampler.item_vectors = t->item_cache;
	}

	/* trainable pairs: positives of users for whom a negative exists */
	t->pairs = bpr_alloc_array(alloc, (size_t) n_pos, sizeof(int64_t), "positive pairs");
	t->pair_user = bpr_alloc_array(alloc, (size_t) n_pos, sizeof(int32_t), "positive pairs");
	t->ok_users = bpr_alloc_array(alloc, (size_t) data->n_users, sizeof(int32_t), "users");
	for (int32_t u = 0; u < data->n_users; u++)
	{
		int64_t		lo = data->pos_ptr[u],
					hi = data->pos_ptr[u + 1];
		bool		ok = hi > lo && bpr_sampler_user_ok(&t->sampler, u);

		for (int64_t p = lo; p < hi; p++)
		{
			t->pair_user[p] = u;
			if (ok)
				t->pairs[t->n_pairs++] = p;
		}
		if (ok)
			t->ok_users[t->n_ok_users++] = u;
		else
			t->skipped_positives += hi - lo;
	}

	t->b_user = bpr_alloc_array(alloc, b, sizeof(int32_t), "batch");
	t->b_items = bpr_alloc_array(alloc, 2 * b, sizeof(int32_t), "batch");
	t->u_out = bpr_alloc_array(alloc, b * (size_t) cfg->dim, sizeof(float), "batch");
	t->du = bpr_alloc_array(alloc, b * (size_t) cfg->dim, sizeof(float), "batch");
	t->i_out = bpr_alloc_array(alloc, 2 * b * (size_t) idim, sizeof(float), "batch");
	t->di = bpr_alloc_array(alloc, 2 * b * (size_t) idim, sizeof(float), "batch");
	t->chunk_rows = bpr_alloc_array(alloc, 2 * b, sizeof(int32_t), "batch");
	return t;
}

/* Lets the caller act on a cancel between chunks of long work */
static inline void
interrupt_point(const BprTrainer *t)
{
	if (t->hooks != NULL && t->hooks->interrupt != NULL)
		t->hooks->interrupt(t->hooks->arg);
}

/* Outputs of all n entities of a tower, chunk by chunk with interrupt points; out is n x out_dim */
static void
forward_all(BprTrainer *t, BprTower *tower, const BprFeatures *f, int32_t n, float *out)
{
	int32_t		chunk = tower->max_batch;

	for (int32_t first = 0; first < n; first += chunk)
	{
		int32_t		m = n - first < chunk ? n - first : chunk;

		for (int32_t j = 0; j < m; j++)
			t->chunk_rows[j] = first + j;
		bpr_tower_forward(tower, f, t->chunk_rows, m, true,
						  out + (size_t) first * tower->spec.out_dim);
		interrupt_point(t);
	}
}

/* Recomputes the item vectors that model-based hard negatives are scored against */
static void
refresh_item_cache(BprTrainer *t)
{
	forward_all(t, t->item, t->item_features, t->data->n_items, t->item_cache);
}

/* Fills the batch's users and positives (n triplets, starting at position done of the epoch) */
static void
draw_positives(BprTrainer *t, int64_t done, int32_t n)
{
	const BprInteractions *d = t->data;

	for (int32_t j = 0; j < n; j++)
	{
		int32_t		u;
		int64_t		p;

		if (t->cfg.uniform_users)
		{
			u = t->ok_users[bpr_rng_below(&t->rng, (uint64_t) t->n_ok_users)];
			p = d->pos_ptr[u] +
				(int64_t) bpr_rng_below(&t->rng, (uint64_t) (d->pos_ptr[u + 1] - d->pos_ptr[u]));
		}
		else
		{
			p = t->pairs[(done + j) % t->n_pairs];
			u = t->pair_user[p];
		}
		t->b_user[j] = u;
		t->b_items[j] = d->pos[p];
	}
}

/* Runs one minibatch of n triplets; returns the summed BPR loss and adds the L2 sum to *reg */
static double
train_batch(BprTrainer *t, int32_t n, float lr, double *reg)
{
	const BprTrainConfig *cfg = &t->cfg;
	int32_t		idim = t->vec_dim;
	BprAdamConfig adam;
	double		loss,
				batch_reg;

	bpr_tower_forward(t->user, t->user_features, t->b_user, n, true, t->u_out);

	for (int32_t j = 0; j < n; j++)
	{
		int32_t		neg = bpr_sample_negative(&t->sampler, &t->rng, t->b_user[j],
											  t->b_items[j], t->u_out + (size_t) j * cfg->dim);

		/* cannot happen for users that passed bpr_sampler_user_ok; fall back to the positive */
		t->b_items[n + j] = neg >= 0 ? neg : t->b_items[j];
		/* many hard-negative candidates make a batch long */
		if ((j & 255) == 255)
			interrupt_point(t);
	}

	bpr_tower_forward(t->item, t->item_features, t->b_items, 2 * n, true, t->i_out);
	loss = bpr_loss_batch(n, cfg->dim, idim, t->u_out, t->i_out,
						  t->i_out + (size_t) n * idim, cfg->l2,
						  t->du, t->di, t->di + (size_t) n * idim, &batch_reg);
	bpr_tower_backward(t->user, t->user_features, t->b_user, n, true, t->du);
	bpr_tower_backward(t->item, t->item_features, t->b_items, 2 * n, true, t->di);
	bpr_adam_defaults(&adam, lr);
	t->step++;
	bpr_tower_step(t->user, &adam, t->step);
	bpr_tower_step(t->item, &adam, t->step);
	*reg += batch_reg * n;
	return loss * n;
}

/* Runs the epochs; returns the number of epochs run */
int32_t
bpr_trainer_run(BprTrainer *t, const BprTrainHooks *hooks)
{
	const BprTrainConfig *cfg = &t->cfg;
	int64_t		per_epoch = cfg->epoch_triplets > 0 ? cfg->epoch_triplets : t->n_pairs;
	int64_t		batches_per_epoch = (per_epoch + cfg->batch_size - 1) / cfg->batch_size;
	double		total_steps = (double) batches_per_epoch * cfg->epochs;
	int64_t		refresh_every = t->data->n_items > cfg->batch_size ? t->data->n_items : cfg->batch_size;

	t->hooks = hooks;
	if (t->n_pairs == 0)
		return 0;

	for (int32_t epoch = 1; epoch <= cfg->epochs; epoch++)
	{
		BprEpochReport report;
		double		start = hooks->now(hooks->arg);
		double		loss_sum = 0.0,
					reg_sum = 0.0;
		int64_t		since_refresh = refresh_every;
		bool		go_on;

		if (!cfg->uniform_users)
			bpr_shuffle_i64(&t->rng, t->pairs, t->n_pairs);

		for (int64_t done = 0; done < per_epoch;)
		{
			int32_t		n = (int32_t) (per_epoch - done < cfg->batch_size ?
									   per_epoch - done : cfg->batch_size);
			double		progress = (double) t->step / total_steps;
			float		lr = cfg->learning_rate *
				(float) (1.0 - (1.0 - cfg->final_lr_ratio) * progress);

			if (cfg->sampler.hard == BPR_HARD_MODEL && since_refresh >= refresh_every)
			{
				refresh_item_cache(t);
				since_refresh = 0;
			}
			draw_positives(t, done, n);
			loss_sum += train_batch(t, n, lr, &reg_sum);
			done += n;
			since_refresh += n;
			t->triplets_seen += n;
			if (hooks->batch_done)
				hooks->batch_done(hooks->arg);
		}

		t->epochs_run = epoch;
		t->final_loss = loss_sum / (double) per_epoch;
		report.epoch = epoch;
		report.loss = t->final_loss;
		report.reg = reg_sum / (double) per_epoch;
		report.triplets = per_epoch;
		report.seconds = hooks->now(hooks->arg) - start;
		go_on = hooks->epoch_done ? hooks->epoch_done(hooks->arg, &report) : true;
		if (!go_on)
			break;
	}
	return t->epochs_run;
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

/* Writes every user's vector (n_users x vec_dim, ending in 1 with bias) */
void
bpr_trainer_user_vectors(BprTrainer *t, float *out)
{
	forward_all(t, t->user, t->user_features, t->data->n_users, out);
	bpr_widen_rows(out, out, t->data->n_users, t->cfg.dim, t->vec_dim, NULL);
}

/* Writes every item's vector (n_items x vec_dim, ending in the bias) */
void
bpr_trainer_item_vectors(BprTrainer *t, float *out)
{
	forward_all(t, t->item, t->item_features, t->data->n_items, out);
}
