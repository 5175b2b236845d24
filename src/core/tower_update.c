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
 */
#include <string.h>

#include "tower.h"
#include "vecmath.h"

/* Dense values summed per block when several works contribute */
#define UPDATE_BLOCK 512

/* Floats of scratch bpr_tower_update_part needs */
size_t
bpr_tower_scratch_floats(const BprTower *tower)
{
	size_t		most = UPDATE_BLOCK;

	for (int32_t i = 0; i < tower->n_tensors; i++)
		if (tower->tensors[i].sparse && (size_t) tower->tensors[i].cols > most)
			most = (size_t) tower->tensors[i].cols;
	return most;
}

/* Fetches the cache lines of a row's value and moments ahead of its update */
BPR_PREFETCHER void
prefetch_param_row(const BprTensor *t, int32_t row)
{
	size_t		off = (size_t) row * (size_t) t->cols;

	for (int32_t d = 0; d < t->cols; d += 16)
	{
		bpr_prefetch(t->w + off + d);
		bpr_prefetch(t->m + off + d);
		bpr_prefetch(t->v + off + d);
	}
	bpr_prefetch(t->w + off + t->cols - 1);
	bpr_prefetch(t->m + off + t->cols - 1);
	bpr_prefetch(t->v + off + t->cols - 1);
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
		for (size_t c = a; c < b; c += UPDATE_BLOCK)
		{
			size_t		len = b - c < UPDATE_BLOCK ? b - c : UPDATE_BLOCK;

			memcpy(scratch, bpr_tower_dense_grad(works[0]) + c, len * sizeof(float));
			for (int32_t j = 1; j < n_works; j++)
				bpr_add_to(scratch, bpr_tower_dense_grad(works[j]) + c, len);
			bpr_adam_apply(t->w + (c - off), scratch, t->m + (c - off), t->v + (c - off),
						   len, st);
		}
	}
}

/* Slot of the row in work k's gradient of the tensor, or -1 */
static inline int32_t
slot_in(BprTowerWork *const *works, int32_t k, int32_t tensor, int32_t row)
{
	const BprRowGrad *rg = bpr_tower_row_grad(works[k], tensor);

	return rg != NULL && rg->n > 0 ? bpr_rowgrad_find(rg, row) : -1;
}

/*
 * The work whose part updates a row that work j holds at slot s: work
 * row % n_works when it holds the row too (rows several threads touched are
 * spread evenly), else the first work holding it.  Fills slots[k] with the
 * row's slot in every work (-1 where absent).
 */
static int32_t
row_owner(BprTowerWork *const *works, int32_t n_works, int32_t tensor, int32_t row,
		  int32_t j, int32_t s, int32_t *slots)
{
	int32_t		preferred = row % n_works;
	int32_t		first = -1;

	for (int32_t k = 0; k < n_works; k++)
	{
		slots[k] = k == j ? s : slot_in(works, k, tensor, row);
		if (first < 0 && slots[k] >= 0)
			first = k;
	}
	return slots[preferred] >= 0 ? preferred : first;
}

/* Updates the rows of one embedding table that belong to part `part` of n_parts */
static void
update_sparse(BprTower *tower, int32_t tensor, BprTowerWork *const *works,
			  int32_t n_works, int32_t part, int32_t n_parts,
			  const BprAdamStep *st, float *scratch)
{
	BprTensor  *t = &tower->tensors[tensor];
	int32_t		cols = t->cols;
	int32_t		slots[BPR_MAX_WORKS];

	/* the works this part owns rows of: part, part + n_parts, ... */
	for (int32_t j = part; j < n_works; j += n_parts)
	{
		const BprRowGrad *rg = bpr_tower_row_grad(works[j], tensor);

		if (rg == NULL)
			continue;
		/* first ask for every row: their misses overlap */
		for (int32_t s = 0; s < rg->n; s++)
			prefetch_param_row(t, rg->rows[s]);
		for (int32_t s = 0; s < rg->n; s++)
		{
			int32_t		row = rg->rows[s];
			const float *g = rg->g + (size_t) s * cols;
			size_t		off = (size_t) row * (size_t) cols;

			if (n_works > 1)
			{
				if (row_owner(works, n_works, tensor, row, j, s, slots) != j)
					continue;
				/* the sum of every work's gradient of the row, in work order */
				g = NULL;
				for (int32_t k = 0; k < n_works; k++)
				{
					const float *gk;

					if (slots[k] < 0)
						continue;
					gk = bpr_tower_row_grad(works[k], tensor)->g + (size_t) slots[k] * cols;
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
