/*
 * trainer_step.c - the steps of training, as one thread runs them
 *
 * Each function here touches only the tower parameters its step may touch,
 * the shared read-only data, and the thread's own shard, so threads can run
 * the same step at once (see trainer_int.h for the schedule).  Nothing here
 * allocates or calls a hook.
 */
#include <string.h>

#include "loss.h"
#include "trainer_int.h"
#include "vecmath.h"

/* Threads, most triplets per thread and batch, and chunk size of a configuration */
static void
shard_shape(const BprTrainConfig *cfg, int32_t *threads, int32_t *shard_max, int32_t *chunk)
{
	int32_t		n = cfg->threads < 1 ? 1 : cfg->threads;
	int32_t		most = cfg->batch_size / TRAIN_SHARE_MIN;

	/* shares smaller than TRAIN_SHARE_MIN cost more to coordinate than they save */
	n = n > most ? (most > 1 ? most : 1) : n;
	*threads = n;
	/* lock-free threads take whole batches */
	*shard_max = cfg->lock_free ? cfg->batch_size : (cfg->batch_size + n - 1) / n;
	*chunk = *shard_max < TRAIN_CHUNK_MAX ? *shard_max : TRAIN_CHUNK_MAX;
}

/* Items whose moments each thread keeps its own of (lock-free threads, an item id table) */
static int32_t
own_moment_rows(const BprTrainConfig *cfg, int32_t threads, const BprTowerSpec *is)
{
	if (!cfg->lock_free || threads < 2 || is->n_ids == 0)
		return 0;
	return is->n_ids < TRAIN_OWN_MOMENT_ROWS ? is->n_ids : TRAIN_OWN_MOMENT_ROWS;
}

/* Items liked more often than c */
static int32_t
count_above(const int32_t *count, int32_t n_items, int32_t c)
{
	int32_t		n = 0;

	for (int32_t i = 0; i < n_items; i++)
		n += count[i] > c;
	return n;
}

/*
 * Gives the h most liked items (ties to lower indexes) slots 0 .. h - 1 and
 * every other item -1; slot doubles as the count array
 */
static void
pick_popular(const BprInteractions *d, int32_t h, int32_t *slot)
{
	int32_t		lo = 0,
				hi = 0,
				next = 0;

	memset(slot, 0, (size_t) d->n_items * sizeof(int32_t));
	for (int64_t p = 0; p < d->pos_ptr[d->n_users]; p++)
		slot[d->pos[p]]++;
	for (int32_t i = 0; i < d->n_items; i++)
		hi = slot[i] > hi ? slot[i] : hi;
	/* the least count c with at most h items above it */
	while (lo < hi)
	{
		int32_t		mid = lo + (hi - lo) / 2;

		if (count_above(slot, d->n_items, mid) <= h)
			hi = mid;
		else
			lo = mid + 1;
	}
	/* every item above it, then those at it in index order (-2 marks them) */
	for (int32_t i = 0; i < d->n_items; i++)
		slot[i] = slot[i] > lo ? next++ : slot[i] == lo ? -2 : -1;
	for (int32_t i = 0; i < d->n_items; i++)
		if (slot[i] == -2)
			slot[i] = next < h ? next++ : -1;
}

/* Floats of UPDATE scratch a shard needs for these towers; 0 on overflow */
static size_t
scratch_floats(const BprTowerSpec *us, const BprTowerSpec *is, const BprFeatures *uf,
			   const BprFeatures *itf, int32_t threads, int32_t shard_max)
{
	size_t		u = bpr_tower_update_scratch(us, uf, shard_max, threads);
	size_t		i = bpr_tower_update_scratch(is, itf, 2 * shard_max, threads);

	return u == 0 || i == 0 ? 0 : u > i ? u : i;
}

/* Bytes of the shards bpr_trainer_create allocates (added to *total); false on overflow */
bool
bpr_shards_bytes(const BprTrainConfig *cfg, const BprTowerSpec *us, const BprTowerSpec *is,
				 const BprFeatures *uf, const BprFeatures *itf, size_t *total)
{
	int32_t		threads,
				shard_max,
				chunk;
	size_t		c,
				scratch,
				own;
	bool		ok;

	shard_shape(cfg, &threads, &shard_max, &chunk);
	c = (size_t) chunk;
	scratch = scratch_floats(us, is, uf, itf, cfg->lock_free ? 1 : threads, shard_max);
	own = (size_t) own_moment_rows(cfg, threads, is) * (size_t) is->out_dim;
	ok = scratch > 0 && bpr_aligned_bytes(total, (size_t) threads, sizeof(BprTrainShard *)) &&
		bpr_aligned_bytes(total, (size_t) threads, sizeof(BprTowerWork *)) &&
		bpr_aligned_bytes(total, (size_t) threads, sizeof(BprTowerWork *)) &&
		(own == 0 || bpr_aligned_bytes(total, (size_t) is->n_ids, sizeof(int32_t)));
	for (int32_t k = 0; ok && k < threads; k++)
	{
		size_t		uw = bpr_tower_work_bytes(us, uf, chunk, shard_max);
		size_t		iw = bpr_tower_work_bytes(is, itf, 2 * chunk,
											  2 * shard_max);

		ok = bpr_aligned_bytes(total, 1, sizeof(BprTrainShard));
		ok = ok && uw > 0 && iw > 0 && bpr_size_add(*total, uw, total) &&
			bpr_size_add(*total, iw, total) &&
			bpr_aligned_bytes(total, c, sizeof(int32_t)) &&
			bpr_aligned_bytes(total, 2 * c, sizeof(int32_t)) &&
			bpr_aligned_bytes(total, c * (size_t) us->out_dim, sizeof(float)) &&
			bpr_aligned_bytes(total, c * (size_t) us->out_dim, sizeof(float)) &&
			bpr_aligned_bytes(total, 2 * c * (size_t) is->out_dim, sizeof(float)) &&
			bpr_aligned_bytes(total, 2 * c * (size_t) is->out_dim, sizeof(float)) &&
			bpr_aligned_bytes(total, scratch, sizeof(float)) &&
			bpr_aligned_bytes(total, c, sizeof(BprSampleSlot)) &&
			bpr_aligned_bytes(total, c, sizeof(int64_t)) &&
			(own == 0 || (bpr_aligned_bytes(total, own, sizeof(float)) &&
						  bpr_aligned_bytes(total, own, sizeof(float))));
	}
	return ok;
}

/* Allocates and seeds the threads' state */
void
bpr_shards_create(BprTrainer *t, const BprAlloc *alloc)
{
	size_t		c;
	size_t		scratch;
	size_t		own;
	int32_t		hot;
	BprRng		stream;

	shard_shape(&t->cfg, &t->threads, &t->shard_max, &t->chunk);
	/* lock-free threads update from their own work alone */
	scratch = scratch_floats(&t->user->spec, &t->item->spec, t->user_features,
							 t->item_features, t->cfg.lock_free ? 1 : t->threads, t->shard_max);
	c = (size_t) t->chunk;
	hot = own_moment_rows(&t->cfg, t->threads, &t->item->spec);
	own = (size_t) hot * (size_t) t->item->spec.out_dim;
	if (own > 0)
	{
		t->own_slot = bpr_alloc_aligned(alloc, (size_t) t->item->spec.n_ids, sizeof(int32_t),
										"popular items");
		pick_popular(t->data, hot, t->own_slot);
	}
	t->shards = bpr_alloc_aligned(alloc, (size_t) t->threads, sizeof(BprTrainShard *), "threads");
	t->user_works = bpr_alloc_aligned(alloc, (size_t) t->threads, sizeof(BprTowerWork *), "threads");
	t->item_works = bpr_alloc_aligned(alloc, (size_t) t->threads, sizeof(BprTowerWork *), "threads");
	bpr_rng_seed(&stream, t->cfg.seed);
	for (int32_t k = 0; k < t->threads; k++)
	{
		/* each shard on its own cache lines: its random stream changes on every draw */
		BprTrainShard *sh = bpr_alloc_aligned(alloc, 1, sizeof(BprTrainShard), "threads");

		t->shards[k] = sh;
		/* thread k's stream: the seed's stream jumped k + 1 times (2^128 draws each) */
		bpr_rng_jump(&stream);
		sh->rng = stream;
		sh->uw = bpr_tower_work_create(t->user, t->user_features, t->chunk, t->shard_max, alloc);
		sh->iw = bpr_tower_work_create(t->item, t->item_features, 2 * t->chunk,
									   2 * t->shard_max, alloc);
		t->user_works[k] = sh->uw;
		t->item_works[k] = sh->iw;
		sh->b_user = bpr_alloc_aligned(alloc, c, sizeof(int32_t), "batch");
		sh->b_items = bpr_alloc_aligned(alloc, 2 * c, sizeof(int32_t), "batch");
		sh->u_out = bpr_alloc_aligned(alloc, c * (size_t) t->cfg.dim, sizeof(float), "batch");
		sh->du = bpr_alloc_aligned(alloc, c * (size_t) t->cfg.dim, sizeof(float), "batch");
		sh->i_out = bpr_alloc_aligned(alloc, 2 * c * (size_t) t->vec_dim, sizeof(float), "batch");
		sh->di = bpr_alloc_aligned(alloc, 2 * c * (size_t) t->vec_dim, sizeof(float), "batch");
		sh->scratch = bpr_alloc_aligned(alloc, scratch, sizeof(float), "batch");
		sh->candidates = bpr_alloc_aligned(alloc, c, sizeof(BprSampleSlot), "batch");
		sh->pair_at = bpr_alloc_aligned(alloc, c, sizeof(int64_t), "batch");
		if (own > 0)
		{
			/* zero, as the tower's moments start */
			sh->own_m = bpr_alloc_aligned(alloc, own, sizeof(float), "popular items");
			sh->own_v = bpr_alloc_aligned(alloc, own, sizeof(float), "popular items");
			bpr_tower_work_own_moments(sh->iw, &(BprOwnMoments) {
				.slot = t->own_slot, .m = sh->own_m, .v = sh->own_v
			});
		}
	}
}

/* Triplets in batch b of an epoch */
int64_t
bpr_batch_len(const TrainPlan *plan, const BprTrainConfig *cfg, int64_t b)
{
	int64_t		start = b * cfg->batch_size;
	int64_t		left = plan->per_epoch - start;

	return left < cfg->batch_size ? left : cfg->batch_size;
}

/* Chunks a batch of n triplets takes: the largest share, in chunks */
static int64_t
batch_chunks(const BprTrainer *t, int64_t n)
{
	int64_t		share = t->cfg.lock_free ? n : (n + t->threads - 1) / t->threads;

	return share == 0 ? 1 : (share + t->chunk - 1) / t->chunk;
}

/* Points a cursor at the first step of its batch (or at the epoch's end) */
static void
cursor_batch(const BprTrainer *t, const TrainPlan *plan, TrainCursor *c)
{
	c->index = 0;
	if (c->batch >= plan->batches)
		c->kind = STEP_END;
	else if (t->item_cache != NULL && c->since_refresh >= plan->refresh_every)
		c->kind = STEP_REFRESH;
	else
		c->kind = STEP_GRADS;
}

/* The cursor at the first step of an epoch (item vectors are refreshed at every epoch start) */
void
bpr_step_cursor_epoch(const BprTrainer *t, const TrainPlan *plan, TrainCursor *c,
				 int32_t epoch, int64_t step)
{
	c->epoch = epoch;
	c->batch = 0;
	c->since_refresh = plan->refresh_every;
	c->step = step;
	cursor_batch(t, plan, c);
}

/* Moves a cursor to the next step */
void
bpr_step_cursor_next(const BprTrainer *t, const TrainPlan *plan, TrainCursor *c)
{
	switch (c->kind)
	{
		case STEP_REFRESH:
			if ((c->index + 1) * plan->refresh_block < t->data->n_items)
				c->index++;
			else
			{
				c->since_refresh = 0;
				c->kind = STEP_GRADS;
				c->index = 0;
			}
			break;
		case STEP_GRADS:
			if (c->index + 1 < batch_chunks(t, bpr_batch_len(plan, &t->cfg, c->batch)))
				c->index++;
			else
				c->kind = STEP_UPDATE;
			break;
		case STEP_UPDATE:
			c->since_refresh += bpr_batch_len(plan, &t->cfg, c->batch);
			c->step++;
			c->batch++;
			cursor_batch(t, plan, c);
			break;
		case STEP_END:
			break;
	}
}

/* Forwards rows [first, first + n) of a side for thread `member`, writing n x out_dim into out */
void
bpr_step_forward_rows(BprTrainer *t, bool users, int32_t member, int32_t first, int32_t n,
					  float *out)
{
	BprTrainShard *sh = t->shards[member];
	BprTower   *tower = users ? t->user : t->item;
	BprTowerWork *work = users ? sh->uw : sh->iw;
	const BprFeatures *f = users ? t->user_features : t->item_features;
	int32_t		pass = users ? t->chunk : 2 * t->chunk;
	int32_t		out_dim = tower->spec.out_dim;

	for (int32_t at = 0; at < n; at += pass)
	{
		int32_t		m = n - at < pass ? n - at : pass;

		for (int32_t j = 0; j < m; j++)
			sh->b_items[j] = first + at + j;
		bpr_tower_forward_with(tower, work, f, sh->b_items, m, true,
							   out + (size_t) at * out_dim);
	}
}

/* REFRESH: this thread's share of one block of item vectors for MODEL hard negatives */
static void
step_refresh(BprTrainer *t, const TrainPlan *plan, const TrainCursor *c, int32_t member)
{
	int64_t		lo = c->index * plan->refresh_block;
	int64_t		hi = lo + plan->refresh_block < t->data->n_items ?
		lo + plan->refresh_block : t->data->n_items;
	int64_t		a = lo + (hi - lo) * member / t->threads;
	int64_t		b = lo + (hi - lo) * (member + 1) / t->threads;

	/* through the shard's item outputs, then into the 8-bit copy */
	for (int64_t at = a; at < b; at += 2 * t->chunk)
	{
		int32_t		m = (int32_t) (b - at < 2 * t->chunk ? b - at : 2 * t->chunk);
		const float *src = t->shards[member]->i_out;
		BprQuantVectors *qv = t->item_cache;

		bpr_step_forward_rows(t, false, member, (int32_t) at, m, t->shards[member]->i_out);
		for (int32_t r = 0; r < m; r++)
		{
			const float *v = src + (size_t) r * t->vec_dim;

			bpr_quantize_i8(v, qv->dim, qv->codes + (size_t) (at + r) * qv->stride,
							&qv->scale[at + r]);
			if (qv->bias != NULL)
				qv->bias[at + r] = v[qv->dim];
		}
	}
}

/*
 * Fills n users and positives: the triplets from epoch position `pos` on, or
 * uniform users.  Epoch positions go through the permutation to pairs, a pair
 * to its user by the bucket index and a short scan, and the user's list to
 * the item; done in passes over all n, with each pass fetching what the next
 * one reads, so the memory latencies of different triplets overlap.
 */
static void
draw_positives(BprTrainer *t, BprTrainShard *sh, int64_t pos, int32_t n)
{
	const BprInteractions *d = t->data;
	int64_t    *at = sh->pair_at;

	if (t->cfg.uniform_users)
	{
		for (int32_t j = 0; j < n; j++)
		{
			int32_t		u = t->ok_users[bpr_rng_below(&sh->rng, (uint64_t) t->n_ok_users)];
			int64_t		p = t->pos_cum != NULL ?
				bpr_cumulative_draw(t->pos_cum, d->pos_ptr[u], d->pos_ptr[u + 1], &sh->rng) :
				d->pos_ptr[u] +
				(int64_t) bpr_rng_below(&sh->rng, (uint64_t) (d->pos_ptr[u + 1] - d->pos_ptr[u]));

			sh->b_user[j] = u;
			sh->b_items[j] = d->pos[p];
		}
		bpr_tower_prefetch(t->user, t->user_features, sh->b_user, n);
		return;
	}
	for (int32_t j = 0; j < n; j++)
	{
		at[j] = t->pair_alias.n > 0 ? bpr_alias_draw(&t->pair_alias, &sh->rng) :
			(int64_t) bpr_permutation_at(&t->order, (uint64_t) ((pos + j) % t->n_pairs));
		bpr_prefetch(&t->pair_bucket[at[j] >> t->bucket_shift]);
	}
	for (int32_t j = 0; j < n; j++)
	{
		int32_t		u = t->pair_bucket[at[j] >> t->bucket_shift];

		sh->b_user[j] = u;
		bpr_prefetch(&t->pair_start[u]);
		bpr_prefetch(&d->pos_ptr[u]);
	}
	for (int32_t j = 0; j < n; j++)
	{
		int32_t		u = sh->b_user[j];

		while (t->pair_start[u + 1] <= at[j])
			u++;
		sh->b_user[j] = u;
		at[j] = d->pos_ptr[u] + (at[j] - t->pair_start[u]);
		bpr_prefetch(&d->pos[at[j]]);
		bpr_sampler_prefetch_user(&t->sampler, u);
	}
	/* the user tower reads the users' rows next */
	bpr_tower_prefetch(t->user, t->user_features, sh->b_user, n);
	for (int32_t j = 0; j < n; j++)
		sh->b_items[j] = d->pos[at[j]];
}

/* GRADS: one chunk of this thread's share of the batch through both towers, gradients summed */
static void
step_grads(BprTrainer *t, const TrainPlan *plan, const TrainCursor *c, int32_t member)
{
	const BprTrainConfig *cfg = &t->cfg;
	BprTrainShard *sh = t->shards[member];
	int64_t		n_batch = bpr_batch_len(plan, cfg, c->batch);
	int64_t		share_lo = n_batch * member / t->threads;
	int64_t		share_hi = n_batch * (member + 1) / t->threads;
	int64_t		a,
				b;
	int32_t		n;
	int32_t		idim = t->vec_dim;
	double		reg = 0.0;

	/* lock-free: the whole batch (the thread holding it alone runs its steps) */
	if (cfg->lock_free)
	{
		share_lo = 0;
		share_hi = n_batch;
	}
	a = share_lo + c->index * t->chunk;
	b = a + t->chunk < share_hi ? a + t->chunk : share_hi;
	n = (int32_t) (b - a);
	/* a new batch: the previous one's gradients have been applied (by everyone, or by this thread when lock-free) */
	if (c->index == 0)
	{
		bpr_tower_zero_grad(sh->uw);
		bpr_tower_zero_grad(sh->iw);
	}
	if (n <= 0)
		return;

	sh->trained += n;
	draw_positives(t, sh, c->batch * cfg->batch_size + a, n);
	bpr_tower_forward_with(t->user, sh->uw, t->user_features, sh->b_user, n, true, sh->u_out);
	/* the update writes these users' moments: their misses overlap the sampling */
	bpr_tower_prefetch_moments(t->user, sh->uw, sh->b_user, n);
	bpr_tower_prefetch(t->item, t->item_features, sh->b_items, n);
	bpr_sample_negatives(&t->sampler, &sh->rng, n, sh->b_user, sh->b_items, sh->u_out,
						 sh->b_items + n, sh->candidates);
	/* no negative cannot happen for users that passed bpr_sampler_user_ok; fall back to the positive */
	for (int32_t j = 0; j < n; j++)
		if (sh->b_items[n + j] < 0)
			sh->b_items[n + j] = sh->b_items[j];
	bpr_tower_prefetch(t->item, t->item_features, sh->b_items + n, n);
	bpr_tower_forward_with(t->item, sh->iw, t->item_features, sh->b_items, 2 * n, true,
						   sh->i_out);
	bpr_tower_prefetch_moments(t->item, sh->iw, sh->b_items, 2 * n);
	sh->loss += bpr_loss_part(n, cfg->dim, idim, sh->u_out, sh->i_out,
							  sh->i_out + (size_t) n * idim, cfg->l2, 1.0 / (double) n_batch,
							  sh->du, sh->di, sh->di + (size_t) n * idim, &reg);
	sh->reg += reg;
	bpr_tower_backward(t->user, sh->uw, t->user_features, sh->b_user, n, true, sh->du);
	bpr_tower_backward(t->item, sh->iw, t->item_features, sh->b_items, 2 * n, true, sh->di);
}

/* UPDATE: this thread's part of the batch's Adam step, from everyone's gradients */
static void
step_update(BprTrainer *t, const TrainPlan *plan, const TrainCursor *c, int32_t member)
{
	const BprTrainConfig *cfg = &t->cfg;
	double		progress = (double) c->step / plan->total_steps;
	float		lr = cfg->learning_rate * (float) (1.0 - (1.0 - cfg->final_lr_ratio) * progress);
	BprAdamConfig adam;
	BprAdamStep st;
	float	   *scratch = t->shards[member]->scratch;

	bpr_adam_defaults(&adam, lr);
	bpr_adam_prepare(&st, &adam, c->step + 1);
	/* lock-free: the thread holding the batch, from its own gradients, while the others run theirs */
	if (cfg->lock_free)
	{
		bpr_tower_update_part(t->user, &t->user_works[member], 1, 0, 1, &st, scratch);
		bpr_tower_update_part(t->item, &t->item_works[member], 1, 0, 1, &st, scratch);
		t->shards[member]->updates++;
		return;
	}
	bpr_tower_update_part(t->user, t->user_works, t->threads, member, t->threads, &st, scratch);
	bpr_tower_update_part(t->item, t->item_works, t->threads, member, t->threads, &st, scratch);
}

/* Runs one step for thread `member` of the trainer's threads */
void
bpr_step_run(BprTrainer *t, const TrainPlan *plan, const TrainCursor *c, int32_t member)
{
	switch (c->kind)
	{
		case STEP_REFRESH:
			step_refresh(t, plan, c, member);
			break;
		case STEP_GRADS:
			step_grads(t, plan, c, member);
			break;
		case STEP_UPDATE:
			step_update(t, plan, c, member);
			break;
		case STEP_END:
			break;
	}
}
