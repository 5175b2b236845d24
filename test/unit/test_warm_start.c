/*
 * test_warm_start.c - unit tests of warm starts: tensors and rows carried
 * over, id rows that make a new tower reproduce previous vectors
 */
#include <string.h>

#include "unit.h"
#include "warm_start.h"

#define WS_ROWS 7
#define WS_DIM 4

/* A tower with one numeric column, one categorical field, a hidden layer and ids */
static BprTower *
ws_tower(uint64_t seed, int32_t cat_card)
{
	BprTowerSpec spec;
	BprTower   *t;
	BprRng		rng;

	memset(&spec, 0, sizeof(spec));
	spec.n_numeric = 1;
	spec.n_cat = 1;
	spec.cat_card[0] = cat_card;
	spec.field_dim = 3;
	spec.n_hidden = 1;
	spec.hidden[0] = 5;
	spec.out_dim = WS_DIM;
	spec.output = BPR_OUTPUT_LINEAR;
	spec.n_ids = WS_ROWS;
	spec.id_init = 0.1f;
	t = bpr_tower_create(&spec, 3, true, &unit_alloc);
	bpr_rng_seed(&rng, seed);
	bpr_tower_init(t, &rng);
	return t;
}

/* Features of WS_ROWS entities: a numeric column and a code below card */
static void
ws_features(BprFeatures *f, float *num, int32_t *cat, const int32_t *card)
{
	memset(f, 0, sizeof(*f));
	for (int32_t r = 0; r < WS_ROWS; r++)
	{
		num[r] = 0.3f * (float) r - 1.0f;
		cat[r] = r % card[0];
	}
	f->n_rows = WS_ROWS;
	f->n_numeric = 1;
	f->numeric = num;
	f->n_cat = 1;
	f->cat_card = card;
	f->cat = cat;
}

/* Whole tensors carry over when shapes agree, rows through a code map */
static void
test_copies(void)
{
	BprTower   *a = ws_tower(1, 4);
	BprTower   *b = ws_tower(2, 5);
	BprTensor  *wa = &a->tensors[bpr_tower_find(a, "dense0.w")];
	BprTensor  *wb = &b->tensors[bpr_tower_find(b, "dense0.w")];
	BprTensor  *ca = &a->tensors[bpr_tower_find(a, "cat0")];
	BprTensor  *cb = &b->tensors[bpr_tower_find(b, "cat0")];
	BprTensor  *ob = &b->tensors[bpr_tower_find(b, "dense1.w")];
	int32_t		map[5] = {0, 3, -1, 1, 9};
	float		kept[3];

	CHECK(bpr_warm_copy_tensor(wb, wa));
	CHECK(memcmp(wb->w, wa->w, sizeof(float) * wa->rows * wa->cols) == 0);
	CHECK(!bpr_warm_copy_tensor(ob, wa));
	memcpy(kept, cb->w + 2 * cb->cols, sizeof(kept));
	CHECK(bpr_warm_copy_rows(cb, ca, map) == 3);
	CHECK(memcmp(cb->w, ca->w, sizeof(float) * 3) == 0);
	CHECK(memcmp(cb->w + 1 * 3, ca->w + 3 * 3, sizeof(float) * 3) == 0);
	CHECK(memcmp(cb->w + 3 * 3, ca->w + 1 * 3, sizeof(float) * 3) == 0);
	CHECK(memcmp(cb->w + 2 * 3, kept, sizeof(kept)) == 0);
	CHECK(bpr_warm_copy_rows(ob, ca, map) == -1);
	unit_alloc_reset();
}

/* Id rows set from previous vectors make the tower reproduce them, features or not */
static void
test_ids(void)
{
	int32_t		card[1] = {4};
	float		num[WS_ROWS];
	int32_t		cat[WS_ROWS];
	BprFeatures f;
	BprTower   *old = ws_tower(3, 4);
	BprTower   *fresh = ws_tower(4, 4);
	BprTower   *bare = ws_tower(5, 4);
	float		prev[WS_ROWS][WS_DIM + 2];
	float		out[WS_ROWS * WS_DIM];
	float		before[WS_DIM];
	int32_t		all[WS_ROWS];
	int32_t		prev_row[WS_ROWS];
	int32_t		rows[3];
	float		scratch[3 * WS_DIM];
	BprFeatures none;

	ws_features(&f, num, cat, card);
	for (int32_t r = 0; r < WS_ROWS; r++)
		all[r] = r;
	/* previous vectors (two extra columns, as a calibrated item vector has), in reverse order */
	for (int32_t r = 0; r < WS_ROWS; r += 3)
	{
		int32_t		m = WS_ROWS - r < 3 ? WS_ROWS - r : 3;

		bpr_tower_forward(old, &f, all + r, m, true, out);
		for (int32_t j = 0; j < m; j++)
		{
			memcpy(prev[WS_ROWS - 1 - (r + j)], out + j * WS_DIM, sizeof(float) * WS_DIM);
			prev[WS_ROWS - 1 - (r + j)][WS_DIM] = 9.0f;
			prev[WS_ROWS - 1 - (r + j)][WS_DIM + 1] = 9.0f;
		}
	}
	/* entity 2 is new: it keeps its fresh row */
	for (int32_t r = 0; r < WS_ROWS; r++)
		prev_row[r] = r == 2 ? -1 : WS_ROWS - 1 - r;
	memcpy(before, fresh->tensors[bpr_tower_find(fresh, "ids")].w + 2 * WS_DIM, sizeof(before));
	CHECK(bpr_warm_ids(fresh, &f, WS_ROWS, prev_row, &prev[0][0], WS_DIM + 2, rows, scratch,
					   NULL, NULL) == WS_ROWS - 1);
	CHECK(memcmp(before, fresh->tensors[bpr_tower_find(fresh, "ids")].w + 2 * WS_DIM,
				 sizeof(before)) == 0);
	for (int32_t r = 0; r < WS_ROWS; r += 3)
	{
		int32_t		m = WS_ROWS - r < 3 ? WS_ROWS - r : 3;

		bpr_tower_forward(fresh, &f, all + r, m, true, out);
		for (int32_t j = 0; j < m; j++)
			if (r + j != 2)
				for (int32_t d = 0; d < WS_DIM; d++)
					CHECK_CLOSE(out[j * WS_DIM + d], prev[prev_row[r + j]][d], 1e-5);
	}
	/* a narrower previous vector carries nothing */
	CHECK(bpr_warm_ids(bare, &f, WS_ROWS, prev_row, &prev[0][0], WS_DIM - 1, rows, scratch,
					   NULL, NULL) == 0);
	/* a tower of ids alone: the id rows are the previous vectors */
	memset(&none, 0, sizeof(none));
	none.n_rows = WS_ROWS;
	{
		BprTowerSpec spec;
		BprTower   *ids_only;
		BprRng		rng;

		memset(&spec, 0, sizeof(spec));
		spec.out_dim = WS_DIM;
		spec.n_ids = WS_ROWS;
		spec.id_init = 0.1f;
		ids_only = bpr_tower_create(&spec, 3, true, &unit_alloc);
		bpr_rng_seed(&rng, 6);
		bpr_tower_init(ids_only, &rng);
		CHECK(bpr_warm_ids(ids_only, &none, WS_ROWS, prev_row, &prev[0][0], WS_DIM + 2, rows,
						   scratch, NULL, NULL) == WS_ROWS - 1);
		CHECK(memcmp(ids_only->tensors[bpr_tower_find(ids_only, "ids")].w, prev[prev_row[0]],
					 sizeof(float) * WS_DIM) == 0);
	}
	unit_alloc_reset();
}

/* The warm-start suite */
void
test_warm_start(void)
{
	test_copies();
	test_ids();
}
