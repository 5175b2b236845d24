/*
 * test_tower.c - unit tests of the tower: layout, init, forward against a
 * reference, gradients against finite differences, sizes (Adam steps are in
 * test_tower_update.c)
 */
#include <string.h>

#include "tower_fixture.h"
#include "unit.h"

#define TT_MAXW 64				/* widest layer the reference forward handles */
#define TT_H 1e-2f				/* finite-difference step */

/*
 * Reference forward in double from the documented tensor layout; writes the
 * ReLU pattern of every hidden unit of every row into mask (if not NULL).
 */
static void
tt_ref_forward(const BprTower *t, const BprFeatures *f, const int32_t *rows,
			   int32_t n, bool with_ids, double *out, uint8_t *mask)
{
	const BprTowerSpec *s = &t->spec;
	int32_t		fd = s->field_dim;
	size_t		mpos = 0;
	char		name[32];

	for (int32_t i = 0; i < n; i++)
	{
		int32_t		r = rows[i];
		double		cur[TT_MAXW],
					z[TT_MAXW];
		int32_t		cur_w = t->in_dim;
		double	   *oi = out + (size_t) i * s->out_dim;

		for (int32_t d = 0; d < s->out_dim; d++)
			oi[d] = 0.0;
		if (t->in_dim > 0)
		{
			int32_t		pos = 0;

			for (int32_t j = 0; j < s->n_numeric; j++)
				cur[pos++] = f->numeric[(size_t) r * s->n_numeric + j];
			for (int32_t k = 0; k < s->n_cat; k++)
			{
				const BprTensor *e;

				snprintf(name, sizeof(name), "cat%d", (int) k);
				e = tt_tensor(t, name);
				for (int32_t d = 0; d < fd; d++)
					cur[pos++] = e->w[(size_t) f->cat[r * s->n_cat + k] * fd + d];
			}
			for (int32_t k = 0; k < s->n_multi; k++)
			{
				const BprTensor *e;
				int64_t		b = f->multi[k].ptr[r],
							en = f->multi[k].ptr[r + 1];

				snprintf(name, sizeof(name), "multi%d", (int) k);
				e = tt_tensor(t, name);
				for (int32_t d = 0; d < fd; d++)
				{
					double		sum = 0.0;

					for (int64_t j = b; j < en; j++)
						sum += e->w[(size_t) f->multi[k].idx[j] * fd + d];
					cur[pos++] = en > b ? sum / (double) (en - b) : 0.0;
				}
			}
			for (int32_t l = 0; l <= s->n_hidden; l++)
			{
				const BprTensor *w,
						   *b;

				snprintf(name, sizeof(name), "dense%d.w", (int) l);
				w = tt_tensor(t, name);
				snprintf(name, sizeof(name), "dense%d.b", (int) l);
				b = tt_tensor(t, name);
				for (int32_t j = 0; j < w->cols; j++)
				{
					z[j] = b->w[j];
					for (int32_t k = 0; k < cur_w; k++)
						z[j] += cur[k] * w->w[(size_t) k * w->cols + j];
				}
				if (l < s->n_hidden)
				{
					for (int32_t j = 0; j < w->cols; j++)
					{
						if (mask != NULL)
							mask[mpos++] = z[j] > 0.0;
						z[j] = z[j] > 0.0 ? z[j] : 0.0;
					}
				}
				else if (s->output == BPR_OUTPUT_SOFTMAX)
				{
					double		mx = z[0],
								sum = 0.0;

					for (int32_t j = 1; j < w->cols; j++)
						mx = z[j] > mx ? z[j] : mx;
					for (int32_t j = 0; j < w->cols; j++)
						sum += (z[j] = exp(z[j] - mx));
					for (int32_t j = 0; j < w->cols; j++)
						z[j] /= sum;
				}
				cur_w = w->cols;
				memcpy(cur, z, sizeof(double) * (size_t) cur_w);
			}
			for (int32_t d = 0; d < s->out_dim; d++)
				oi[d] = cur[d];
		}
		if (with_ids && s->n_ids > 0)
		{
			const BprTensor *ids = tt_tensor(t, "ids");

			for (int32_t d = 0; d < s->out_dim; d++)
				oi[d] += ids->w[(size_t) r * s->out_dim + d];
		}
	}
}

/* Number of hidden units over the batch (length of the ReLU pattern) */
static size_t
tt_mask_len(const BprTower *t, int32_t n)
{
	size_t		units = 0;

	if (t->in_dim > 0)
		for (int32_t l = 0; l < t->spec.n_hidden; l++)
			units += (size_t) t->spec.hidden[l];
	return units * (size_t) n + 1;
}

/* sum(out * R) of the tower's forward pass */
static double
tt_objective(BprTower *t, const BprFeatures *f, const int32_t *rows, int32_t n,
			 bool with_ids, const float *R, float *out)
{
	double		sum = 0.0;

	bpr_tower_forward(t, f, rows, n, with_ids, out);
	for (size_t i = 0; i < (size_t) n * t->spec.out_dim; i++)
		sum += (double) out[i] * R[i];
	return sum;
}

/*
 * Checks the gradient of sum(out * R) for entries of every tensor against
 * central differences, skipping entries whose perturbation flips a ReLU.
 */
static void
tt_gradcheck_in(const char *label, const BprTowerSpec *spec, const BprFeatures *f,
				const int32_t *rows, int32_t n, bool with_ids, uint64_t seed,
				bool blind)
{
	BprRng		rng;
	BprTower   *t = bpr_tower_create(spec, n + 1, true, &unit_alloc);
	/* a blind work area is made without the features: it cannot know the bags' lengths */
	BprTowerWork *wk = t ? bpr_tower_work_create(t, blind ? NULL : f, n + 1, n, &unit_alloc) : NULL;
	size_t		n_out = (size_t) n * spec->out_dim;
	float	   *R = bpr_alloc_array(&unit_alloc, n_out, sizeof(float), "R");
	float	   *out = bpr_alloc_array(&unit_alloc, n_out, sizeof(float), "out");
	double	   *ref = bpr_alloc_array(&unit_alloc, n_out, sizeof(double), "ref");
	size_t		mlen;
	uint8_t    *m0,
			   *mp,
			   *mm;
	int			checked = 0,
				skipped = 0,
				failed = 0;
	double		ga;
	const int32_t *rows_seen;

	CHECK(t != NULL);
	if (t == NULL)
		return;
	mlen = tt_mask_len(t, n);
	m0 = bpr_alloc_array(&unit_alloc, mlen, 1, "mask");
	mp = bpr_alloc_array(&unit_alloc, mlen, 1, "mask");
	mm = bpr_alloc_array(&unit_alloc, mlen, 1, "mask");
	bpr_rng_seed(&rng, seed);
	bpr_tower_init(t, &rng);
	tt_randomize(t, &rng);
	for (size_t i = 0; i < n_out; i++)
		R[i] = bpr_rng_range(&rng, -1.0f, 1.0f);

	/* forward agrees with the reference, in the tower's own work area and in another */
	bpr_tower_forward(t, f, rows, n, with_ids, out);
	tt_ref_forward(t, f, rows, n, with_ids, ref, m0);
	for (size_t i = 0; i < n_out; i++)
		CHECK_CLOSE(out[i], ref[i], 1e-5 + 1e-5 * fabs(ref[i]));
	bpr_tower_forward_with(t, wk, f, rows, n, with_ids, out);
	for (size_t i = 0; i < n_out; i++)
		CHECK_CLOSE(out[i], ref[i], 1e-5 + 1e-5 * fabs(ref[i]));

	bpr_tower_backward(t, wk, f, rows, n, with_ids, R);

	for (int32_t ti = 0; ti < t->n_tensors; ti++)
	{
		BprTensor  *ts = &t->tensors[ti];
		size_t		count = (size_t) ts->rows * ts->cols;
		size_t		n_check = count <= 60 ? count : 60;

		for (size_t c = 0; c < n_check; c++)
		{
			size_t		idx = count <= 60 ? c : (size_t) bpr_rng_below(&rng, count);
			float		w0 = ts->w[idx];
			float		hi = w0 + TT_H;
			float		lo = w0 - TT_H;
			double		fp,
						fm,
						fd,
						tol;

			ts->w[idx] = hi;
			fp = tt_objective(t, f, rows, n, with_ids, R, out);
			tt_ref_forward(t, f, rows, n, with_ids, ref, mp);
			ts->w[idx] = lo;
			fm = tt_objective(t, f, rows, n, with_ids, R, out);
			tt_ref_forward(t, f, rows, n, with_ids, ref, mm);
			ts->w[idx] = w0;
			if (memcmp(m0, mp, mlen) != 0 || memcmp(m0, mm, mlen) != 0)
			{
				skipped++;
				continue;
			}
			fd = (fp - fm) / ((double) hi - (double) lo);
			tol = 1e-4 + 2e-3 * fabs(fd);
			checked++;
			ga = tt_grad(t, wk, ti, idx);
			CHECK_CLOSE(ga, fd, tol);
			if (fabs(ga - fd) > tol && failed++ < 5)
				fprintf(stderr, "  [%s] %s[%zu]: analytic %.7g, numeric %.7g\n",
						label, ts->name, idx, ga, fd);
		}

		/* sparse bookkeeping: touched rows unique and held, no others */
		if (ts->sparse)
		{
			const int32_t *touched;
			int32_t		n_touched = bpr_tower_touched(wk, ti, &touched);
			int32_t		n_held = 0;

			for (int32_t r = 0; r < ts->rows; r++)
				n_held += bpr_tower_grad_row(t, wk, ti, r) != NULL;
			CHECK(n_held == n_touched);
			for (int32_t j = 0; j < n_touched; j++)
			{
				CHECK(bpr_tower_grad_row(t, wk, ti, touched[j]) != NULL);
				for (int32_t k = 0; k < j; k++)
					CHECK(touched[k] != touched[j]);
			}
		}
	}
	if (!with_ids && spec->n_ids > 0)
		CHECK(bpr_tower_touched(wk, bpr_tower_find(t, "ids"), &rows_seen) == 0);
	CHECK(checked > 0);
	CHECK(skipped * 10 <= checked);
	if (skipped * 10 > checked)
		fprintf(stderr, "  [%s] %d checked, %d skipped at ReLU kinks\n", label, checked, skipped);

	/* zero_grad clears everything */
	bpr_tower_zero_grad(wk);
	for (int32_t ti = 0; ti < t->n_tensors; ti++)
		CHECK(tt_grad_zero(t, wk, ti));
}

/* Gradient check with a work area made from the features */
static void
tt_gradcheck(const char *label, const BprTowerSpec *spec, const BprFeatures *f,
			 const int32_t *rows, int32_t n, bool with_ids, uint64_t seed)
{
	tt_gradcheck_in(label, spec, f, rows, n, with_ids, seed, false);
}

/* Gradient checks of every parameter kind and layer */
static void
tt_check_gradients(void)
{
	BprRng		rng;
	TestSide	side;
	BprTowerSpec s;
	const int32_t rows[6] = {0, 1, 2, 3, 4, 2};

	/* numeric input only, linear output, no hidden layer */
	s = tt_spec();
	s.n_numeric = 4;
	s.out_dim = 3;
	bpr_rng_seed(&rng, 101);
	tt_make_side(&side, &s, 7, &rng);
	tt_gradcheck("numeric", &s, &side.f, rows, 6, false, 1);

	/* numeric + categorical fields, one hidden ReLU layer */
	s = tt_spec();
	s.n_numeric = 2;
	s.n_cat = 2;
	s.cat_card[0] = 5;
	s.cat_card[1] = 3;
	s.field_dim = 3;
	s.n_hidden = 1;
	s.hidden[0] = 6;
	s.out_dim = 4;
	tt_make_side(&side, &s, 7, &rng);
	tt_gradcheck("categorical", &s, &side.f, rows, 6, false, 2);

	/* categorical + multi-hot (empty bags, shared codes), two hidden layers, softmax */
	s = tt_spec();
	s.n_cat = 1;
	s.cat_card[0] = 4;
	s.n_multi = 2;
	s.multi_card[0] = 6;
	s.multi_card[1] = 4;
	s.field_dim = 2;
	s.n_hidden = 2;
	s.hidden[0] = 5;
	s.hidden[1] = 4;
	s.out_dim = 3;
	s.output = BPR_OUTPUT_SOFTMAX;
	tt_make_side(&side, &s, 7, &rng);
	/* rows 0 and 1 have empty bags in fields 0 and 1 */
	CHECK(side.multi[0].ptr[1] == side.multi[0].ptr[0]);
	CHECK(side.multi[1].ptr[2] == side.multi[1].ptr[1]);
	tt_gradcheck("multi-hot", &s, &side.f, rows, 6, false, 3);

	/* the same with linear output */
	s.output = BPR_OUTPUT_LINEAR;
	tt_gradcheck("multi-hot linear", &s, &side.f, rows, 6, false, 4);

	/* numeric + multi-hot + ids, softmax, ids added and not */
	s = tt_spec();
	s.n_numeric = 3;
	s.n_multi = 1;
	s.multi_card[0] = 5;
	s.field_dim = 3;
	s.n_hidden = 1;
	s.hidden[0] = 4;
	s.out_dim = 3;
	s.output = BPR_OUTPUT_SOFTMAX;
	s.n_ids = 7;
	s.id_init = 0.1f;
	tt_make_side(&side, &s, 7, &rng);
	tt_gradcheck("ids softmax", &s, &side.f, rows, 6, true, 5);
	tt_gradcheck("cold start", &s, &side.f, rows, 6, false, 6);

	/* numeric + categorical + ids, linear, no hidden layer */
	s = tt_spec();
	s.n_numeric = 2;
	s.n_cat = 1;
	s.cat_card[0] = 3;
	s.field_dim = 2;
	s.out_dim = 5;
	s.n_ids = 7;
	s.id_init = 0.1f;
	tt_make_side(&side, &s, 7, &rng);
	tt_gradcheck("ids linear", &s, &side.f, rows, 6, true, 7);

	/*
	 * long bags (30 to 48 distinct codes of 400) in a work area made without
	 * the features (room for 16 codes a row): a pass has more codes than it
	 * has room for, so the field goes row by row
	 */
	{
		static int64_t ptr[8];
		static int32_t idx[7 * 48];
		BprMultiField long_bags;
		BprFeatures lf;

		s = tt_spec();
		s.n_numeric = 1;
		s.n_multi = 1;
		s.multi_card[0] = 400;
		s.field_dim = 3;
		s.n_hidden = 1;
		s.hidden[0] = 4;
		s.out_dim = 3;
		tt_make_side(&side, &s, 7, &rng);
		for (int32_t r = 0; r < 7; r++)
		{
			int32_t		len = r == 1 ? 0 : 30 + 3 * r;

			ptr[r + 1] = ptr[r] + len;
			for (int32_t j = 0; j < len; j++)
				idx[ptr[r] + j] = (r * 23 + j * 7) % 400;
			/* ascending within the bag */
			for (int32_t a = 0; a < len; a++)
				for (int32_t b = a + 1; b < len; b++)
					if (idx[ptr[r] + b] < idx[ptr[r] + a])
					{
						int32_t		tmp = idx[ptr[r] + a];

						idx[ptr[r] + a] = idx[ptr[r] + b];
						idx[ptr[r] + b] = tmp;
					}
		}
		long_bags.card = 400;
		long_bags.ptr = ptr;
		long_bags.idx = idx;
		lf = side.f;
		lf.multi = &long_bags;
		tt_gradcheck_in("long bags, blind work", &s, &lf, rows, 6, false, 9, true);
		tt_gradcheck_in("long bags", &s, &lf, rows, 6, false, 10, false);
	}

	/* pure-id tower: no features at all */
	s = tt_spec();
	s.out_dim = 4;
	s.n_ids = 7;
	s.id_init = 0.1f;
	s.n_hidden = 2;				/* ignored without features */
	s.hidden[0] = 3;
	s.hidden[1] = 3;
	tt_gradcheck("pure ids", &s, NULL, rows, 6, true, 8);
}

/* Tensor names, shapes and order */
static void
tt_check_layout(void)
{
	BprTowerSpec s = tt_spec();
	BprTower   *t;
	const char *names[] = {"cat0", "cat1", "multi0", "dense0.w", "dense0.b",
	"dense1.w", "dense1.b", "dense2.w", "dense2.b", "ids"};

	s.n_numeric = 3;
	s.n_cat = 2;
	s.cat_card[0] = 10;
	s.cat_card[1] = 4;
	s.n_multi = 1;
	s.multi_card[0] = 7;
	s.field_dim = 5;
	s.n_hidden = 2;
	s.hidden[0] = 16;
	s.hidden[1] = 8;
	s.out_dim = 6;
	s.n_ids = 11;
	s.id_init = 0.01f;
	t = bpr_tower_create(&s, 4, false, &unit_alloc);
	CHECK(t != NULL);
	CHECK(t->in_dim == 3 + 3 * 5);
	CHECK(t->n_tensors == 10);
	for (int i = 0; i < 10 && i < t->n_tensors; i++)
	{
		CHECK(strcmp(t->tensors[i].name, names[i]) == 0);
		CHECK(bpr_tower_find(t, names[i]) == i);
	}
	CHECK(bpr_tower_find(t, "dense3.w") == -1);
	CHECK(bpr_tower_find(t, "cat") == -1);
	CHECK(t->tensors[0].rows == 10 && t->tensors[0].cols == 5 && t->tensors[0].sparse);
	CHECK(t->tensors[2].rows == 7 && t->tensors[2].cols == 5 && t->tensors[2].sparse);
	CHECK(t->tensors[3].rows == 18 && t->tensors[3].cols == 16 && !t->tensors[3].sparse);
	CHECK(t->tensors[4].rows == 1 && t->tensors[4].cols == 16 && !t->tensors[4].sparse);
	CHECK(t->tensors[5].rows == 16 && t->tensors[5].cols == 8);
	CHECK(t->tensors[7].rows == 8 && t->tensors[7].cols == 6);
	CHECK(t->tensors[9].rows == 11 && t->tensors[9].cols == 6 && t->tensors[9].sparse);
	/* an inference tower has no training state */
	CHECK(t->tensors[0].m == NULL && t->tensors[0].v == NULL);
	CHECK(!t->training && t->max_batch == 4);

	/* a pure-id tower has only "ids" */
	s = tt_spec();
	s.out_dim = 8;
	s.n_ids = 3;
	t = bpr_tower_create(&s, 2, true, &unit_alloc);
	CHECK(t != NULL && t->n_tensors == 1 && t->in_dim == 0);
	CHECK(bpr_tower_find(t, "ids") == 0);
}

/* Deterministic init within the documented ranges */
static void
tt_check_init(void)
{
	BprTowerSpec s = tt_spec();
	BprTower   *a,
			   *b,
			   *c;
	BprRng		rng;
	bool		same = true,
				differ = false;

	s.n_numeric = 2;
	s.n_cat = 1;
	s.cat_card[0] = 20;
	s.n_multi = 1;
	s.multi_card[0] = 30;
	s.field_dim = 8;
	s.n_hidden = 1;
	s.hidden[0] = 12;
	s.out_dim = 4;
	s.n_ids = 50;
	s.id_init = 0.2f;
	a = bpr_tower_create(&s, 8, true, &unit_alloc);
	b = bpr_tower_create(&s, 8, false, &unit_alloc);
	c = bpr_tower_create(&s, 8, false, &unit_alloc);
	bpr_rng_seed(&rng, 42);
	bpr_tower_init(a, &rng);
	bpr_rng_seed(&rng, 42);
	bpr_tower_init(b, &rng);
	bpr_rng_seed(&rng, 43);
	bpr_tower_init(c, &rng);
	for (int32_t i = 0; i < a->n_tensors; i++)
	{
		const BprTensor *ta = &a->tensors[i];
		size_t		count = (size_t) ta->rows * ta->cols;
		float		limit;
		float		maxabs = 0.0f;

		same = same && memcmp(ta->w, b->tensors[i].w, count * sizeof(float)) == 0;
		differ = differ || memcmp(ta->w, c->tensors[i].w, count * sizeof(float)) != 0;
		if (strncmp(ta->name, "cat", 3) == 0 || strncmp(ta->name, "multi", 5) == 0)
			limit = 0.05f;
		else if (strcmp(ta->name, "ids") == 0)
			limit = 0.2f;
		else if (strstr(ta->name, ".w") != NULL)
			limit = (float) sqrt(6.0 / (ta->rows + ta->cols));
		else
			limit = 0.0f;
		for (size_t j = 0; j < count; j++)
			maxabs = fabsf(ta->w[j]) > maxabs ? fabsf(ta->w[j]) : maxabs;
		CHECK(maxabs <= limit);
		if (limit > 0.0f)
			CHECK(maxabs > 0.5f * limit);	/* actually spread over the range */
	}
	CHECK(same);
	CHECK(differ);
}

/* Forward over all rows in chunks of the tower's max_batch (as the trainer does) */
static void
tt_forward_chunks(BprTower *t, const BprFeatures *f, int32_t n, bool with_ids, float *out)
{
	int32_t		rows[16];

	for (int32_t first = 0; first < n; first += t->max_batch)
	{
		int32_t		m = n - first < t->max_batch ? n - first : t->max_batch;

		for (int32_t j = 0; j < m; j++)
			rows[j] = first + j;
		bpr_tower_forward(t, f, rows, m, with_ids, out + (size_t) first * t->spec.out_dim);
	}
}

/* Chunked forward equals row-by-row and whole-batch forward; a pure-id tower is its id table */
static void
tt_check_forward_all(void)
{
	BprTowerSpec s = tt_spec();
	BprTower   *t,
			   *big;
	BprRng		rng;
	TestSide	side;
	float		all[10 * 3],
				one[10 * 3],
				batch[10 * 3];
	int32_t		rows[10];

	s.n_numeric = 2;
	s.n_cat = 1;
	s.cat_card[0] = 4;
	s.n_multi = 1;
	s.multi_card[0] = 5;
	s.field_dim = 3;
	s.n_hidden = 1;
	s.hidden[0] = 5;
	s.out_dim = 3;
	s.output = BPR_OUTPUT_SOFTMAX;
	s.n_ids = 10;
	s.id_init = 0.3f;
	bpr_rng_seed(&rng, 77);
	tt_make_side(&side, &s, 10, &rng);
	t = bpr_tower_create(&s, 3, false, &unit_alloc);
	big = bpr_tower_create(&s, 10, true, &unit_alloc);
	bpr_tower_init(t, &rng);
	tt_randomize(t, &rng);
	bpr_tower_copy_params(big, t);

	for (int with = 0; with < 2; with++)
	{
		tt_forward_chunks(t, &side.f, 10, with, all);
		for (int32_t r = 0; r < 10; r++)
		{
			rows[r] = r;
			bpr_tower_forward(t, &side.f, &rows[r], 1, with, one + r * 3);
		}
		bpr_tower_forward(big, &side.f, rows, 10, with, batch);
		for (int i = 0; i < 30; i++)
		{
			CHECK_CLOSE(all[i], one[i], 1e-6);
			CHECK_CLOSE(all[i], batch[i], 1e-6);
		}
	}

	/* pure ids: with f NULL the rows are the ids */
	s = tt_spec();
	s.out_dim = 3;
	s.n_ids = 10;
	s.id_init = 0.5f;
	t = bpr_tower_create(&s, 4, false, &unit_alloc);
	bpr_tower_init(t, &rng);
	memset(all, 0, sizeof(all));
	tt_forward_chunks(t, NULL, 10, true, all);
	CHECK(memcmp(all, t->tensors[0].w, sizeof(all)) == 0);
}

/* spec_check accepts good specs and rejects bad ones */
static void
tt_check_spec(void)
{
	BprTowerSpec good = tt_spec();
	BprTowerSpec s;

	good.n_numeric = 3;
	good.n_cat = 1;
	good.cat_card[0] = 5;
	good.field_dim = 4;
	good.n_hidden = 1;
	good.hidden[0] = 8;
	good.out_dim = 4;
	CHECK(bpr_tower_spec_check(&good) == NULL);

	s = tt_spec();
	s.out_dim = 4;
	CHECK(bpr_tower_spec_check(&s) != NULL);	/* neither features nor ids */
	CHECK(bpr_tower_create(&s, 4, true, &unit_alloc) == NULL);
	CHECK(bpr_tower_bytes(&s, 4, true) == 0);
	s.n_ids = 3;
	CHECK(bpr_tower_spec_check(&s) == NULL);

	s = good;
	s.out_dim = 0;
	CHECK(bpr_tower_spec_check(&s) != NULL);
	s = good;
	s.cat_card[0] = 0;
	CHECK(bpr_tower_spec_check(&s) != NULL);
	s = good;
	s.n_multi = 1;
	s.multi_card[0] = 0;
	CHECK(bpr_tower_spec_check(&s) != NULL);
	s = good;
	s.field_dim = 0;
	CHECK(bpr_tower_spec_check(&s) != NULL);
	s = good;
	s.n_cat = BPR_MAX_FIELDS + 1;
	CHECK(bpr_tower_spec_check(&s) != NULL);
	s = good;
	s.n_multi = -1;
	CHECK(bpr_tower_spec_check(&s) != NULL);
	s = good;
	s.n_hidden = BPR_MAX_LAYERS + 1;
	CHECK(bpr_tower_spec_check(&s) != NULL);
	s = good;
	s.hidden[0] = 0;
	CHECK(bpr_tower_spec_check(&s) != NULL);
	s = good;
	s.n_numeric = -2;
	CHECK(bpr_tower_spec_check(&s) != NULL);
	s = good;
	s.output = (BprOutputKind) 7;
	CHECK(bpr_tower_spec_check(&s) != NULL);
	s = good;
	s.n_ids = -1;
	CHECK(bpr_tower_spec_check(&s) != NULL);
	s = good;
	s.n_ids = 5;
	s.id_init = -0.1f;
	CHECK(bpr_tower_spec_check(&s) != NULL);
	s = good;
	s.cat_card[0] = INT32_MAX / 2;	/* card * field_dim overflows int32 */
	CHECK(bpr_tower_spec_check(&s) != NULL);
	s = good;
	s.n_numeric = INT32_MAX - 2;	/* in_dim overflows int32 */
	CHECK(bpr_tower_spec_check(&s) != NULL);
	s = good;
	s.n_numeric = 100000;		/* in_dim * hidden overflows int32 */
	s.hidden[0] = 100000;
	CHECK(bpr_tower_spec_check(&s) != NULL);
	s = good;
	s.n_ids = INT32_MAX / 2;	/* ids table overflows int32 */
	CHECK(bpr_tower_spec_check(&s) != NULL);
	CHECK(bpr_tower_create(&good, 0, true, &unit_alloc) == NULL);
}

/* Counting allocator state */
typedef struct TtCount
{
	size_t		bytes;
} TtCount;

/* zalloc that counts requested bytes */
static void *
tt_count_zalloc(void *ctx, size_t size)
{
	((TtCount *) ctx)->bytes += size;
	return unit_alloc.zalloc(unit_alloc.ctx, size);
}

/* Overflow ends the run */
static void
tt_count_overflow(void *ctx, const char *what)
{
	unit_alloc.overflow(unit_alloc.ctx, what);
}

/* bpr_tower_bytes matches what create allocates */
static void
tt_check_bytes(void)
{
	BprTowerSpec s = tt_spec();
	TtCount		count;
	BprAlloc	a = {.zalloc = tt_count_zalloc, .overflow = tt_count_overflow, .ctx = &count};

	s.n_numeric = 5;
	s.n_cat = 2;
	s.cat_card[0] = 100;
	s.cat_card[1] = 7;
	s.n_multi = 1;
	s.multi_card[0] = 50;
	s.field_dim = 16;
	s.n_hidden = 2;
	s.hidden[0] = 64;
	s.hidden[1] = 32;
	s.out_dim = 24;
	s.n_ids = 1000;
	s.id_init = 0.01f;
	for (int training = 0; training < 2; training++)
	{
		count.bytes = 0;
		CHECK(bpr_tower_create(&s, 128, training, &a) != NULL);
		CHECK(count.bytes == bpr_tower_bytes(&s, 128, training));
		CHECK(count.bytes > (size_t) 1000 * 24 * 4 * (training ? 3 : 1));
	}
	/* work areas: forward-only and with gradients for 300 rows (bags of up to 3) */
	{
		BprRng		rng;
		TestSide	side;
		BprTower   *t = bpr_tower_create(&s, 2, true, &unit_alloc);

		bpr_rng_seed(&rng, 3);
		tt_make_side(&side, &s, 1000, &rng);
		for (int grads = 0; grads < 2; grads++)
		{
			count.bytes = 0;
			CHECK(bpr_tower_work_create(t, &side.f, 64, grads ? 300 : 0, &a) != NULL);
			CHECK(count.bytes == bpr_tower_work_bytes(&s, &side.f, 64, grads ? 300 : 0));
		}
	}
	s = tt_spec();
	s.out_dim = 4;
	s.n_ids = 9;
	count.bytes = 0;
	CHECK(bpr_tower_create(&s, 3, true, &a) != NULL);
	CHECK(count.bytes == bpr_tower_bytes(&s, 3, true));
	CHECK(bpr_tower_bytes(&s, 0, true) == 0);
}

/* Runs the tower suite */
void
test_tower(void)
{
	tt_check_layout();
	tt_check_spec();
	tt_check_bytes();
	tt_check_init();
	tt_check_gradients();
	tt_check_forward_all();
}
