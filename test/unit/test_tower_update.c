/*
 * test_tower_update.c - Adam steps of a tower: lazy on embedding rows, from
 * one work area or summed over several, whole or in parts
 */
#include <string.h>

#include "tower_fixture.h"
#include "unit.h"

/* Lazy Adam: only touched embedding rows move; gradients are cleared after */
static void
tt_check_step(void)
{
	BprTowerSpec s = tt_spec();
	BprTower   *t;
	BprRng		rng;
	TestSide	side;
	BprAdamConfig cfg;
	const int32_t rows[3] = {1, 4, 1};
	float	   *before[8];
	float	   *m_before[8];
	float		dout[3 * 3];
	BprTowerWork *wk;

	s.n_numeric = 2;
	s.n_cat = 1;
	s.cat_card[0] = 6;
	s.n_multi = 1;
	s.multi_card[0] = 5;
	s.field_dim = 2;
	s.n_hidden = 1;
	s.hidden[0] = 4;
	s.out_dim = 3;
	s.n_ids = 7;
	s.id_init = 0.1f;
	bpr_rng_seed(&rng, 5);
	tt_make_side(&side, &s, 7, &rng);
	t = bpr_tower_create(&s, 4, true, &unit_alloc);
	wk = bpr_tower_work_create(t, &side.f, 4, 4, &unit_alloc);
	bpr_tower_init(t, &rng);
	tt_randomize(t, &rng);
	CHECK(t->n_tensors == 7);

	/* a first step on other rows so some moments are non-zero */
	{
		const int32_t other[1] = {6};
		float		o[3];
		const float d1[3] = {0.5f, -0.5f, 0.25f};

		bpr_tower_forward_with(t, wk, &side.f, other, 1, true, o);
		bpr_tower_backward(t, wk, &side.f, other, 1, true, d1);
		bpr_adam_defaults(&cfg, 0.01f);
		bpr_tower_step(t, wk, &cfg, 1);
	}

	for (int32_t i = 0; i < t->n_tensors; i++)
	{
		size_t		bytes = (size_t) t->tensors[i].rows * t->tensors[i].cols * sizeof(float);

		before[i] = bpr_alloc_array(&unit_alloc, bytes, 1, "w copy");
		m_before[i] = bpr_alloc_array(&unit_alloc, bytes, 1, "m copy");
		memcpy(before[i], t->tensors[i].w, bytes);
		memcpy(m_before[i], t->tensors[i].m, bytes);
	}
	for (int i = 0; i < 9; i++)
		dout[i] = bpr_rng_range(&rng, -1.0f, 1.0f);
	{
		float		o[9];

		bpr_tower_forward_with(t, wk, &side.f, rows, 3, true, o);
		bpr_tower_backward(t, wk, &side.f, rows, 3, true, dout);
	}

	/* touched rows are exactly the rows the batch used */
	for (int32_t i = 0; i < t->n_tensors; i++)
	{
		BprTensor  *ts = &t->tensors[i];
		bool		expect[16] = {false};
		int32_t		n_expect = 0;
		const int32_t *touched;
		int32_t		n_touched;

		if (!ts->sparse)
			continue;
		for (int j = 0; j < 3; j++)
		{
			int32_t		r = rows[j];

			if (strcmp(ts->name, "ids") == 0)
				expect[r] = true;
			else if (strcmp(ts->name, "cat0") == 0)
				expect[side.f.cat[r]] = true;
			else
				for (int64_t b = side.multi[0].ptr[r]; b < side.multi[0].ptr[r + 1]; b++)
					expect[side.multi[0].idx[b]] = true;
		}
		for (int32_t r = 0; r < ts->rows; r++)
			n_expect += expect[r];
		n_touched = bpr_tower_touched(wk, i, &touched);
		CHECK(n_touched == n_expect);
		for (int32_t j = 0; j < n_touched; j++)
			CHECK(expect[touched[j]]);
		CHECK(n_expect > 0);
	}

	bpr_tower_step(t, wk, &cfg, 2);

	for (int32_t i = 0; i < t->n_tensors; i++)
	{
		BprTensor  *ts = &t->tensors[i];
		int32_t		cols = ts->cols;
		int32_t		n_changed = 0;

		for (int32_t r = 0; r < ts->rows; r++)
		{
			bool		changed = memcmp(before[i] + (size_t) r * cols, ts->w + (size_t) r * cols,
										 (size_t) cols * sizeof(float)) != 0;
			bool		m_changed = memcmp(m_before[i] + (size_t) r * cols, ts->m + (size_t) r * cols,
										   (size_t) cols * sizeof(float)) != 0;

			n_changed += changed;
			if (ts->sparse)
			{
				bool		used = false;

				/* rows used by the batch: ids 1, 4 and their codes */
				for (int j = 0; j < 3; j++)
				{
					int32_t		e = rows[j];

					if (strcmp(ts->name, "ids") == 0)
						used = used || e == r;
					else if (strcmp(ts->name, "cat0") == 0)
						used = used || side.f.cat[e] == r;
					else
						for (int64_t b = side.multi[0].ptr[e]; b < side.multi[0].ptr[e + 1]; b++)
							used = used || side.multi[0].idx[b] == r;
				}
				CHECK(changed == used);
				CHECK(m_changed == used);
			}
		}
		if (!ts->sparse)
			CHECK(n_changed > 0);
		/* gradients cleared */
		CHECK(tt_grad_zero(t, wk, i));
	}
}

/* Copies values and moments of every tensor of src into dst (same spec, both training) */
static void
tt_copy_state(BprTower *dst, const BprTower *src)
{
	for (int32_t i = 0; i < dst->n_tensors; i++)
	{
		size_t		bytes = (size_t) dst->tensors[i].rows * dst->tensors[i].cols * sizeof(float);

		memcpy(dst->tensors[i].w, src->tensors[i].w, bytes);
		memcpy(dst->tensors[i].m, src->tensors[i].m, bytes);
		memcpy(dst->tensors[i].v, src->tensors[i].v, bytes);
	}
}

/* True when two towers hold bit-identical values */
static bool
tt_same_values(const BprTower *a, const BprTower *b)
{
	for (int32_t i = 0; i < a->n_tensors; i++)
		if (memcmp(a->tensors[i].w, b->tensors[i].w,
				   (size_t) a->tensors[i].rows * a->tensors[i].cols * sizeof(float)) != 0)
			return false;
	return true;
}

/*
 * A step from two work areas' gradients equals the step from one work area
 * that saw all rows (up to the order of addition); a step split into parts
 * equals the unsplit one bit for bit.
 */
static void
tt_check_update_parts(void)
{
	BprTowerSpec s = tt_spec();
	BprTower   *one,
			   *two,
			   *parts;
	BprTowerWork *w_all,
			   *w[2];
	BprRng		rng;
	TestSide	side;
	BprAdamConfig cfg;
	BprAdamStep st;
	const int32_t rows[6] = {0, 1, 2, 2, 3, 4};
	float		out[6 * 4],
				dout[6 * 4];
	float	   *scratch;
	double		worst = 0.0;

	s.n_numeric = 2;
	s.n_cat = 1;
	s.cat_card[0] = 3;
	s.n_multi = 1;
	s.multi_card[0] = 4;
	s.field_dim = 3;
	s.n_hidden = 1;
	s.hidden[0] = 5;
	s.out_dim = 4;
	s.n_ids = 6;
	s.id_init = 0.1f;
	bpr_rng_seed(&rng, 9);
	tt_make_side(&side, &s, 6, &rng);
	one = bpr_tower_create(&s, 1, true, &unit_alloc);
	two = bpr_tower_create(&s, 1, true, &unit_alloc);
	parts = bpr_tower_create(&s, 1, true, &unit_alloc);
	bpr_tower_init(one, &rng);
	tt_randomize(one, &rng);
	tt_copy_state(two, one);
	tt_copy_state(parts, one);
	w_all = bpr_tower_work_create(one, &side.f, 6, 6, &unit_alloc);
	w[0] = bpr_tower_work_create(one, &side.f, 3, 3, &unit_alloc);
	w[1] = bpr_tower_work_create(one, &side.f, 3, 3, &unit_alloc);
	/* enough for both the one-work and the two-work steps */
	CHECK(bpr_tower_update_scratch(&s, &side.f, 6, 1) >= BPR_UPDATE_BLOCK);
	CHECK(bpr_tower_update_scratch(&s, &side.f, 3, 2) > bpr_tower_update_scratch(&s, &side.f, 3, 1));
	scratch = bpr_alloc_array(&unit_alloc, bpr_tower_update_scratch(&s, &side.f, 6, 2),
							  sizeof(float), "scratch");
	for (int i = 0; i < 6 * 4; i++)
		dout[i] = bpr_rng_range(&rng, -1.0f, 1.0f);

	/* all six rows in one work; the first three and the last three in two */
	bpr_tower_forward_with(one, w_all, &side.f, rows, 6, true, out);
	bpr_tower_backward(one, w_all, &side.f, rows, 6, true, dout);
	bpr_tower_forward_with(two, w[0], &side.f, rows, 3, true, out);
	bpr_tower_backward(two, w[0], &side.f, rows, 3, true, dout);
	bpr_tower_forward_with(two, w[1], &side.f, rows + 3, 3, true, out);
	bpr_tower_backward(two, w[1], &side.f, rows + 3, 3, true, dout + 3 * 4);

	bpr_adam_defaults(&cfg, 0.01f);
	bpr_adam_prepare(&st, &cfg, 1);
	bpr_tower_update_part(one, &w_all, 1, 0, 1, &st, scratch);
	bpr_tower_update_part(two, w, 2, 0, 1, &st, scratch);
	bpr_tower_update_part(parts, w, 2, 1, 2, &st, scratch);
	bpr_tower_update_part(parts, w, 2, 0, 2, &st, scratch);
	CHECK(tt_same_values(two, parts));
	for (int32_t i = 0; i < one->n_tensors; i++)
		for (size_t j = 0; j < (size_t) one->tensors[i].rows * one->tensors[i].cols; j++)
		{
			double		d = fabs((double) one->tensors[i].w[j] - two->tensors[i].w[j]);

			worst = d > worst ? d : worst;
		}
	CHECK(worst < 1e-5);
	/* row 5 of the ids was in no batch: untouched in all three */
	CHECK(one->tensors[one->ids_index].w[5 * 4] == two->tensors[two->ids_index].w[5 * 4]);
	/* update_part leaves the gradients for their owners to clear */
	CHECK(!tt_grad_zero(two, w[0], two->ids_index));
	bpr_tower_zero_grad(w[0]);
	CHECK(tt_grad_zero(two, w[0], two->ids_index));
}

/*
 * Three works whose rows overlap in every way (a row in all three, in two,
 * in one; held or not by work row % 3): the step split into three parts, or
 * into two parts of one and two works, equals the one-part step bit for bit,
 * and that the step from one work that saw all rows (up to the order of
 * addition: each row updated once, from its whole gradient).
 */
static void
tt_check_update_three_works(void)
{
	BprTowerSpec s = tt_spec();
	BprTower   *whole,
			   *thirds,
			   *halves,
			   *one;
	BprTowerWork *w[3],
			   *w_all;
	BprRng		rng;
	TestSide	side;
	BprAdamConfig cfg;
	BprAdamStep st;
	const int32_t rows[3][3] = {{0, 1, 2}, {2, 3, 4}, {4, 5, 1}};
	float		out[9 * 4],
				dout[9 * 4];
	float	   *scratch;
	double		worst = 0.0;

	s.n_numeric = 2;
	s.n_cat = 1;
	s.cat_card[0] = 3;
	s.n_multi = 1;
	s.multi_card[0] = 4;
	s.field_dim = 3;
	s.n_hidden = 1;
	s.hidden[0] = 5;
	s.out_dim = 4;
	s.n_ids = 6;
	s.id_init = 0.1f;
	bpr_rng_seed(&rng, 11);
	tt_make_side(&side, &s, 6, &rng);
	whole = bpr_tower_create(&s, 1, true, &unit_alloc);
	thirds = bpr_tower_create(&s, 1, true, &unit_alloc);
	halves = bpr_tower_create(&s, 1, true, &unit_alloc);
	one = bpr_tower_create(&s, 1, true, &unit_alloc);
	bpr_tower_init(whole, &rng);
	tt_randomize(whole, &rng);
	tt_copy_state(thirds, whole);
	tt_copy_state(halves, whole);
	tt_copy_state(one, whole);
	for (int i = 0; i < 9 * 4; i++)
		dout[i] = bpr_rng_range(&rng, -1.0f, 1.0f);
	/* rows 1 and 4 in two works (1 not in work 1 % 3), row 2 in all three */
	w_all = bpr_tower_work_create(one, &side.f, 9, 9, &unit_alloc);
	bpr_tower_forward_with(one, w_all, &side.f, &rows[0][0], 9, true, out);
	bpr_tower_backward(one, w_all, &side.f, &rows[0][0], 9, true, dout);
	for (int k = 0; k < 3; k++)
	{
		w[k] = bpr_tower_work_create(whole, &side.f, 3, 3, &unit_alloc);
		bpr_tower_forward_with(whole, w[k], &side.f, rows[k], 3, true, out);
		bpr_tower_backward(whole, w[k], &side.f, rows[k], 3, true, dout + k * 3 * 4);
	}
	scratch = bpr_alloc_array(&unit_alloc, bpr_tower_update_scratch(&s, &side.f, 3, 3),
							  sizeof(float), "scratch");

	bpr_adam_defaults(&cfg, 0.01f);
	bpr_adam_prepare(&st, &cfg, 1);
	bpr_tower_update_part(one, &w_all, 1, 0, 1, &st, scratch);
	bpr_tower_update_part(whole, w, 3, 0, 1, &st, scratch);
	for (int32_t part = 2; part >= 0; part--)
		bpr_tower_update_part(thirds, w, 3, part, 3, &st, scratch);
	bpr_tower_update_part(halves, w, 3, 1, 2, &st, scratch);
	bpr_tower_update_part(halves, w, 3, 0, 2, &st, scratch);
	CHECK(tt_same_values(whole, thirds));
	CHECK(tt_same_values(whole, halves));
	for (int32_t i = 0; i < one->n_tensors; i++)
		for (size_t j = 0; j < (size_t) one->tensors[i].rows * one->tensors[i].cols; j++)
		{
			double		d = fabs((double) one->tensors[i].w[j] - whole->tensors[i].w[j]);

			worst = d > worst ? d : worst;
		}
	CHECK(worst < 1e-5);
}

/* Runs the tower update suite */
void
test_tower_update(void)
{
	tt_check_step();
	tt_check_update_parts();
	tt_check_update_three_works();
}
