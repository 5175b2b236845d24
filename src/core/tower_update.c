/*
 * tower_update.c - Adam steps of a tower from the gradients of its work areas
 *
 * One step may take its gradient from several work areas (one per training
 * thread): the gradient of a value is the sum of the works' gradients, added
 * in work order, so the result depends only on the number of works, never on
 * timing.  The parameters can be updated in parts by as many threads at once:
 * dense values are split into contiguous ranges; an embedding row belongs to
 * a work that touched it (work j is part j % n_parts): work row % n_works if
 * that one did, else the first that did.  So a thread mostly updates rows its
 * own passes read and wrote gradients for (still in its caches), and rows
 * several threads touched (popular items) are spread evenly.  No two parts
 * write the same value.
 *
 * Other threads' data costs a transfer between cores (several hundred ns on
 * some virtual machines), so a part never probes their hash tables row by
 * row: it reads each other work's list of rows once, in order (the loads
 * overlap), and looks those rows up in its own table.  The rows it updates
 * are fetched with write intent, since other cores read them in their passes.
 *
 * Moments a work keeps of its own (bpr_tower_work_own_moments) are used by
 * steps from that work alone; steps summing several works use the tower's.
 */
#include <string.h>

#include "tower.h"
#include "vecmath.h"


/* Floats before the slot table in the scratch: a summed block or gradient row */
static size_t
scratch_lead(const BprTower *tower)
{
	size_t		most = BPR_UPDATE_BLOCK;

	for (int32_t i = 0; i < tower->n_tensors; i++)
		if (tower->tensors[i].sparse && (size_t) tower->tensors[i].cols > most)
			most = (size_t) tower->tensors[i].cols;
	return most;
}

/* Fetches the cache lines of a row's value and moments (own's, or NULL: t's) ahead of its update */
BPR_PREFETCHER void
prefetch_param_row(const BprTensor *t, const BprOwnMoments *own, int32_t row)
{
	float	   *m,
			   *v;

	bpr_row_moments(t, own, row, &m, &v);
	bpr_prefetch_row_w(t->w + (size_t) row * (size_t) t->cols, t->cols);
	bpr_prefetch_row_w(m, t->cols);
	bpr_prefetch_row_w(v, t->cols);
}

/* Updates the dense values [lo, hi) of the tower's flat dense numbering */
static void
update_dense(BprTower *tower, BprTowerWork *const *works, int32_t n_works,
			 size_t lo, size_t hi, const BprAdamStep *st, float *scratch)
{
	for (int32_t i = tower->dense_first; i < tower->dense_first + 2 * tower->n_layers; i++)
	{
		BprTensor  *t = &tower->tensors[i];
		size_t		off = t->dense_offset;
		size_t		count = (size_t) t->rows * (size_t) t->cols;
		size_t		a = lo > off ? lo : off;
		size_t		b = hi < off + count ? hi : off + count;

		if (a >= b)
			continue;
		if (n_works == 1)
		{
			bpr_adam_apply(t->w + (a - off), bpr_tower_dense_grad(works[0]) + a,
						   t->m + (a - off), t->v + (a - off), b - a, st);
			continue;
		}
		/* the others read these values in their passes and wrote these gradients: ask for all first */
		for (size_t c = a; c < b; c += 16)
		{
			bpr_prefetch_w(t->w + (c - off));
			for (int32_t j = 0; j < n_works; j++)
				bpr_prefetch(bpr_tower_dense_grad(works[j]) + c);
		}
		for (size_t c = a; c < b; c += BPR_UPDATE_BLOCK)
		{
			size_t		len = b - c < BPR_UPDATE_BLOCK ? b - c : BPR_UPDATE_BLOCK;

			memcpy(scratch, bpr_tower_dense_grad(works[0]) + c, len * sizeof(float));
			for (int32_t j = 1; j < n_works; j++)
				bpr_add_to(scratch, bpr_tower_dense_grad(works[j]) + c, len);
			bpr_adam_apply(t->w + (c - off), scratch, t->m + (c - off), t->v + (c - off),
						   len, st);
		}
	}
}

/* Updates every row one work alone holds gradients for (with the moments it names) */
static void
update_sparse_one(BprTower *tower, int32_t tensor, const BprTowerWork *work,
				  const BprAdamStep *st)
{
	BprTensor  *t = &tower->tensors[tensor];
	const BprRowGrad *rg = bpr_tower_row_grad(work, tensor);
	const BprOwnMoments *own = bpr_tower_own_moments(tower, work, tensor);
	int32_t		cols = t->cols;

	/* first ask for every row: their misses overlap */
	for (int32_t s = 0; s < rg->n; s++)
		prefetch_param_row(t, own, rg->rows[s]);
	for (int32_t s = 0; s < rg->n; s++)
	{
		float	   *m,
				   *v;

		bpr_row_moments(t, own, rg->rows[s], &m, &v);
		bpr_adam_apply(t->w + (size_t) rg->rows[s] * (size_t) cols, rg->g + (size_t) s * cols,
					   m, v, (size_t) cols, st);
	}
}

/*
 * Fills slot[k * n + s] with the slot that work k holds own row s at (-1
 * where absent; own = work j, n its rows): each other work's row list is read
 * in order and looked up in work j's table, which is this thread's own.
 */
static void
peer_slots(BprTowerWork *const *works, int32_t n_works, int32_t tensor, int32_t j,
		   int32_t *slot)
{
	const BprRowGrad *own = bpr_tower_row_grad(works[j], tensor);
	int32_t		n = own->n;

	for (size_t i = 0; i < (size_t) n_works * (size_t) n; i++)
		slot[i] = -1;
	for (int32_t s = 0; s < n; s++)
		slot[(size_t) j * n + s] = s;
	for (int32_t k = 0; k < n_works; k++)
	{
		const BprRowGrad *rg = bpr_tower_row_grad(works[k], tensor);

		if (k == j || rg == NULL)
			continue;
		for (int32_t s = 0; s < rg->n; s++)
		{
			int32_t		mine = bpr_rowgrad_find(own, rg->rows[s]);

			if (mine >= 0)
				slot[(size_t) k * n + mine] = s;
		}
	}
}

/* True when work j updates its row at slot s: work row % n_works holds it, or j is the first holder */
static inline bool
owns_row(const int32_t *slot, int32_t n, int32_t n_works, int32_t j, int32_t row, int32_t s)
{
	int32_t		preferred = row % n_works;

	if (slot[(size_t) preferred * n + s] >= 0)
		return preferred == j;
	for (int32_t k = 0; k < j; k++)
		if (slot[(size_t) k * n + s] >= 0)
			return false;
	return true;
}

/* Updates the rows of one embedding table that belong to part `part` of n_parts */
static void
update_sparse(BprTower *tower, int32_t tensor, BprTowerWork *const *works,
			  int32_t n_works, int32_t part, int32_t n_parts,
			  const BprAdamStep *st, float *scratch)
{
	BprTensor  *t = &tower->tensors[tensor];
	int32_t		cols = t->cols;
	int32_t    *slot;

	if (n_works == 1)
	{
		if (part == 0 && bpr_tower_row_grad(works[0], tensor) != NULL)
			update_sparse_one(tower, tensor, works[0], st);
		return;
	}
	/* the slot table after the summed row (scratch is NULL only with one work) */
	slot = (int32_t *) (scratch + scratch_lead(tower));
	/* the works this part owns rows of: part, part + n_parts, ... */
	for (int32_t j = part; j < n_works; j += n_parts)
	{
		const BprRowGrad *rg = bpr_tower_row_grad(works[j], tensor);
		int32_t		n;

		if (rg == NULL || rg->n == 0)
			continue;
		n = rg->n;
		peer_slots(works, n_works, tensor, j, slot);
		/* first ask for every row this part updates and the others' gradients of it */
		for (int32_t s = 0; s < n; s++)
		{
			if (!owns_row(slot, n, n_works, j, rg->rows[s], s))
				continue;
			prefetch_param_row(t, NULL, rg->rows[s]);
			for (int32_t k = 0; k < n_works; k++)
				if (k != j && slot[(size_t) k * n + s] >= 0)
					bpr_prefetch_row(bpr_tower_row_grad(works[k], tensor)->g +
									 (size_t) slot[(size_t) k * n + s] * cols, cols);
		}
		for (int32_t s = 0; s < n; s++)
		{
			int32_t		row = rg->rows[s];
			size_t		off = (size_t) row * (size_t) cols;
			const float *g = NULL;

			if (!owns_row(slot, n, n_works, j, row, s))
				continue;
			/* the sum of every work's gradient of the row, in work order */
			for (int32_t k = 0; k < n_works; k++)
			{
				int32_t		sk = slot[(size_t) k * n + s];
				const float *gk;

				if (sk < 0)
					continue;
				gk = bpr_tower_row_grad(works[k], tensor)->g + (size_t) sk * cols;
				if (g == NULL)
					g = gk;
				else
				{
					if (g != scratch)
					{
						memcpy(scratch, g, (size_t) cols * sizeof(float));
						g = scratch;
					}
					bpr_add_to(scratch, gk, (size_t) cols);
				}
			}
			bpr_adam_apply(t->w + off, g, t->m + off, t->v + off, (size_t) cols, st);
		}
	}
}

/*
 * Part `part` of n_parts of one Adam step whose gradient is the sum of the
 * works' gradients (added in work order).  Gradients are not cleared.
 */
void
bpr_tower_update_part(BprTower *tower, BprTowerWork *const *works, int32_t n_works,
					  int32_t part, int32_t n_parts, const BprAdamStep *st, float *scratch)
{
	size_t		total = tower->dense_count;
	size_t		lo = total * (size_t) part / (size_t) n_parts;
	size_t		hi = total * (size_t) (part + 1) / (size_t) n_parts;

	if (!tower->training)
		return;
	/* part boundaries on 16-value (cache line) multiples */
	lo = part == 0 ? 0 : (lo + 15) / 16 * 16;
	hi = part == n_parts - 1 ? total : (hi + 15) / 16 * 16;
	if (lo < total && lo < hi)
		update_dense(tower, works, n_works, lo, hi < total ? hi : total, st, scratch);
	for (int32_t i = 0; i < tower->n_tensors; i++)
		if (tower->tensors[i].sparse)
			update_sparse(tower, i, works, n_works, part, n_parts, st, scratch);
}

/* One Adam step from one work area's gradients (lazy on sparse tensors), then clears them */
void
bpr_tower_step(BprTower *tower, BprTowerWork *work, const BprAdamConfig *cfg, int64_t step)
{
	BprAdamStep st;

	if (!tower->training)
		return;
	bpr_adam_prepare(&st, cfg, step);
	bpr_tower_update_part(tower, &work, 1, 0, 1, &st, NULL);
	bpr_tower_zero_grad(work);
}
