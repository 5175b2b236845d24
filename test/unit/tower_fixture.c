/*
 * tower_fixture.c - what the tower tests share: random features for a spec,
 * randomised weights, gradient look-ups
 */
#include <string.h>

#include "tower_fixture.h"
#include "unit.h"

/* Builds random features matching a spec: bag sizes cycle through 0..3 */
void
tt_make_side(TestSide *side, const BprTowerSpec *spec, int32_t n_rows, BprRng *rng)
{
	float	   *num = bpr_alloc_array(&unit_alloc, (size_t) n_rows * spec->n_numeric,
									  sizeof(float), "numeric");
	int32_t    *cat = bpr_alloc_array(&unit_alloc, (size_t) n_rows * spec->n_cat,
									  sizeof(int32_t), "cat");

	memset(side, 0, sizeof(*side));
	for (int32_t i = 0; i < n_rows * spec->n_numeric; i++)
		num[i] = bpr_rng_range(rng, -1.5f, 1.5f);
	for (int32_t r = 0; r < n_rows; r++)
		for (int32_t k = 0; k < spec->n_cat; k++)
			cat[r * spec->n_cat + k] = (int32_t) bpr_rng_below(rng, (uint64_t) spec->cat_card[k]);
	for (int32_t k = 0; k < spec->n_multi; k++)
	{
		int64_t    *ptr = bpr_alloc_array(&unit_alloc, (size_t) n_rows + 1, sizeof(int64_t), "ptr");
		int32_t    *idx = bpr_alloc_array(&unit_alloc, (size_t) n_rows * 3 + 1, sizeof(int32_t), "idx");
		int64_t		pos = 0;

		for (int32_t r = 0; r < n_rows; r++)
		{
			int32_t		size = (3 * r + k) % 4;

			ptr[r] = pos;
			for (int32_t j = 0; j < size; j++)
			{
				int32_t		code = (int32_t) bpr_rng_below(rng, (uint64_t) spec->multi_card[k]);
				int64_t		at = pos;

				/* insertion keeps codes ascending (duplicates allowed) */
				while (at > ptr[r] && idx[at - 1] > code)
				{
					idx[at] = idx[at - 1];
					at--;
				}
				idx[at] = code;
				pos++;
			}
		}
		ptr[n_rows] = pos;
		side->multi[k].card = spec->multi_card[k];
		side->multi[k].ptr = ptr;
		side->multi[k].idx = idx;
	}
	side->f.n_rows = n_rows;
	side->f.n_numeric = spec->n_numeric;
	side->f.numeric = num;
	side->f.n_cat = spec->n_cat;
	side->f.cat_card = spec->cat_card;
	side->f.cat = cat;
	side->f.n_multi = spec->n_multi;
	side->f.multi = side->multi;
}

/* Tensor by name, or NULL */
const BprTensor *
tt_tensor(const BprTower *t, const char *name)
{
	int32_t		i = bpr_tower_find(t, name);

	return i < 0 ? NULL : &t->tensors[i];
}

/* Replaces the init by larger random values so every path carries gradient */
void
tt_randomize(BprTower *t, BprRng *rng)
{
	for (int32_t i = 0; i < t->n_tensors; i++)
	{
		BprTensor  *ts = &t->tensors[i];
		float		a = strstr(ts->name, ".b") != NULL ? 0.3f : 0.8f;

		for (size_t j = 0; j < (size_t) ts->rows * ts->cols; j++)
			ts->w[j] = bpr_rng_range(rng, -a, a);
	}
}

/* Gradient of entry idx of tensor ti in a work area (0 for an untouched sparse row) */
double
tt_grad(const BprTower *t, const BprTowerWork *wk, int32_t ti, size_t idx)
{
	int32_t		cols = t->tensors[ti].cols;
	const float *g = bpr_tower_grad_row(t, wk, ti, (int32_t) (idx / (size_t) cols));

	return g == NULL ? 0.0 : g[idx % (size_t) cols];
}

/* True when a tensor has no gradient in the work area: dense all zero, sparse no row held */
bool
tt_grad_zero(const BprTower *t, const BprTowerWork *wk, int32_t ti)
{
	const BprTensor *ts = &t->tensors[ti];
	const int32_t *rows;

	if (ts->sparse)
		return bpr_tower_touched(wk, ti, &rows) == 0;
	for (size_t j = 0; j < (size_t) ts->rows * ts->cols; j++)
		if (tt_grad(t, wk, ti, j) != 0.0)
			return false;
	return true;
}

/* A spec with everything zeroed */
BprTowerSpec
tt_spec(void)
{
	BprTowerSpec s;

	memset(&s, 0, sizeof(s));
	return s;
}

