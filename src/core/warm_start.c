/*
 * warm_start.c - a new training's towers started from a previous version's
 */
#include <string.h>

#include "warm_start.h"

/* Copies src's values into dst when both have the same shape; false otherwise */
bool
bpr_warm_copy_tensor(BprTensor *dst, const BprTensor *src)
{
	if (dst->rows != src->rows || dst->cols != src->cols)
		return false;
	memcpy(dst->w, src->w, (size_t) dst->rows * (size_t) dst->cols * sizeof(float));
	return true;
}

/* Copies rows of src into dst through map; the rows copied, or -1 when the widths differ */
int32_t
bpr_warm_copy_rows(BprTensor *dst, const BprTensor *src, const int32_t *map)
{
	int32_t		copied = 0;

	if (dst->cols != src->cols)
		return -1;
	for (int32_t r = 0; r < dst->rows; r++)
	{
		if (map[r] < 0 || map[r] >= src->rows)
			continue;
		memcpy(dst->w + (size_t) r * dst->cols, src->w + (size_t) map[r] * src->cols,
			   (size_t) dst->cols * sizeof(float));
		copied++;
	}
	return copied;
}

/* Sets id rows so that the tower's output reproduces previous vectors; returns how many */
int32_t
bpr_warm_ids(BprTower *tower, const BprFeatures *f, int32_t n, const int32_t *prev_row,
			 const float *prev, int32_t prev_width, int32_t *rows, float *out,
			 void (*check) (void *), void *check_arg)
{
	int32_t		k = bpr_tower_find(tower, "ids");
	int32_t		out_dim = tower->spec.out_dim;
	int32_t		set = 0;
	BprTensor  *ids;

	if (k < 0 || prev_width < out_dim)
		return 0;
	ids = &tower->tensors[k];
	if (n > ids->rows)
		n = ids->rows;
	for (int32_t first = 0; first < n;)
	{
		int32_t		m = 0;

		/* the next chunk of entities that have a previous vector */
		while (first < n && m < tower->max_batch)
		{
			if (prev_row[first] >= 0)
				rows[m++] = first;
			first++;
		}
		if (m == 0)
			break;
		/* the features part alone (zero for a tower without features) */
		bpr_tower_forward(tower, f, rows, m, false, out);
		for (int32_t j = 0; j < m; j++)
		{
			const float *p = prev + (size_t) prev_row[rows[j]] * prev_width;
			const float *o = out + (size_t) j * out_dim;
			float	   *e = ids->w + (size_t) rows[j] * out_dim;

			for (int32_t d = 0; d < out_dim; d++)
				e[d] = p[d] - o[d];
		}
		set += m;
		if (check)
			check(check_arg);
	}
	return set;
}
