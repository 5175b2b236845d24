/*
 * tower_pass.c - forward and backward passes of a tower, in a work area
 *
 * The first dense layer is never run on the concatenated input.  Its input is
 * the numeric columns and one embedding (or bag mean of embeddings) per field,
 * so its output is the numeric part times their rows of dense0.w, plus, per
 * field, the embedding times the field's block of dense0.w.  A pass projects
 * only the distinct codes its rows use (a batch of 512 items with genre bags
 * uses at most the ~20 genres) and adds the projections up per row; the
 * backward pass sums the rows' gradients per code the same way.  Work is thus
 * proportional to the codes a pass uses, not to rows x input width.  When a
 * pass uses more codes than the work area has room for (bags longer than the
 * features promised, or no features given when it was made), that field goes
 * row by row instead: bag means times the field's block.
 *
 * A work area holds, for max_batch rows, the numeric input, every layer's
 * activations (ReLU outputs; the last layer's linear or softmax result) and,
 * per field, the codes used with their embeddings and projections; with
 * gradients also two backward scratch matrices, one block with the gradients
 * of all dense tensors, and a compact row gradient (rowgrad.h) per embedding
 * table.  Passes read the tower's parameters and write only their work area,
 * so threads with their own work areas can run passes at once; every block of
 * a work area starts on its own cache line, so two threads' work areas share
 * none.  Forward and backward allocate nothing.
 */
#include <cblas.h>
#include <math.h>
#include <string.h>

#include "rowgrad.h"
#include "tower.h"
#include "vecmath.h"

/* Numeric columns up to which the first layer's numeric part is a few vector updates, not a GEMM call */
#define SMALL_NUMERIC 4

/* Distinct codes per field a work area made without features makes room for, per row */
#define PASS_CODES_PER_ROW 16

/* One field's codes in the current pass */
typedef struct FieldPass
{
	bool		by_row;			/* too many codes this pass: row by row */
	BprRowGrad	codes;			/* code -> slot; its rows hold each code's embedding */
	float	   *proj;			/* slots x width[0]: embedding times the field's block of dense0.w */
	float	   *dproj;			/* gradients: slots x width[0], gradient of proj */
	float	   *demb;			/* gradients: slots x field_dim, gradient of the embeddings */
} FieldPass;

struct BprTowerWork
{
	int32_t		max_batch;		/* rows of one pass */
	int32_t		n_tensors;
	bool		grads;			/* backward passes allowed */
	int32_t		n_fields;		/* categorical, then multi-hot */
	FieldPass  *fields;
	float	   *x;				/* max_batch x n_numeric numeric input */
	float	   *bag;			/* max_batch x field_dim: bag means of a field passed row by row */
	float	   *dbag;			/* gradients: their gradient */
	float	   *act[BPR_MAX_LAYERS + 1];	/* max_batch x width[l] activations */
	float	   *grad_a;			/* gradients: max_batch x max_width scratch */
	float	   *grad_b;			/* gradients: max_batch x max_width scratch */
	float	   *dense_g;		/* gradients: every dense tensor's gradient, at its dense_offset */
	size_t		dense_count;
	BprRowGrad *row_g;			/* gradients: per tensor; used for sparse ones */
	BprOwnMoments own;			/* moments of its own for some id rows (own.slot NULL: none) */
};

/* Everything a work area holds, derived from a spec */
typedef struct WorkPlan
{
	int32_t		in_dim;
	int32_t		n_layers;
	int32_t		width[BPR_MAX_LAYERS + 1];
	int32_t		max_width;
	int32_t		n_tensors;
	size_t		arena_floats;
	size_t		dense_count;
	/* per tensor: width and (sparse) row capacity; dense ones have capacity -1 */
	int32_t		cols[2 * BPR_MAX_FIELDS + 2 * (BPR_MAX_LAYERS + 1) + 1];
	int32_t		capacity[2 * BPR_MAX_FIELDS + 2 * (BPR_MAX_LAYERS + 1) + 1];
	/* per field: most distinct codes one pass uses */
	int32_t		n_fields;
	int32_t		pass_codes[2 * BPR_MAX_FIELDS];
} WorkPlan;

/* Longest bag of a multi-hot field, or -1 when the features do not say */
static int64_t
longest_bag(const BprFeatures *f, int32_t k)
{
	const BprMultiField *mf;
	int64_t		longest = 0;

	if (f == NULL || k >= f->n_multi)
		return -1;
	mf = &f->multi[k];
	for (int32_t r = 0; r < f->n_rows; r++)
		if (mf->ptr[r + 1] - mf->ptr[r] > longest)
			longest = mf->ptr[r + 1] - mf->ptr[r];
	return longest;
}

/* Distinct rows of a table of `rows` rows that passes over n entities can touch, each touching `per` rows */
static int32_t
row_capacity(int32_t rows, int64_t n, int64_t per)
{
	if (per < 0)
		return rows;
	if (per > 0 && n > INT64_MAX / per)
		return rows;
	return n * per < (int64_t) rows ? (int32_t) (n * per) : rows;
}

/* Plans a work area; false on size overflow (the spec must be valid) */
static bool
work_plan(const BprTowerSpec *spec, const BprFeatures *f, int32_t max_batch,
		  int32_t grad_rows, WorkPlan *p)
{
	int32_t		fields = spec->n_cat + spec->n_multi;
	int32_t		prev;
	size_t		per_row;
	size_t		dense = 0;

	memset(p, 0, sizeof(*p));
	p->in_dim = spec->n_numeric + (fields > 0 ? fields * spec->field_dim : 0);
	for (int32_t k = 0; k < spec->n_cat; k++)
	{
		p->cols[p->n_tensors] = spec->field_dim;
		p->capacity[p->n_tensors++] = row_capacity(spec->cat_card[k], grad_rows, 1);
		p->pass_codes[p->n_fields++] = row_capacity(spec->cat_card[k], max_batch, 1);
	}
	for (int32_t k = 0; k < spec->n_multi; k++)
	{
		p->cols[p->n_tensors] = spec->field_dim;
		p->capacity[p->n_tensors++] = row_capacity(spec->multi_card[k], grad_rows,
												   longest_bag(f, k));
		p->pass_codes[p->n_fields++] = row_capacity(spec->multi_card[k], max_batch,
													f != NULL ? longest_bag(f, k) : PASS_CODES_PER_ROW);
	}
	if (p->in_dim > 0)
	{
		p->n_layers = spec->n_hidden + 1;
		prev = p->in_dim;
		p->max_width = prev;
		for (int32_t l = 0; l < p->n_layers; l++)
		{
			int32_t		w = l < spec->n_hidden ? spec->hidden[l] : spec->out_dim;

			p->width[l] = w;
			p->max_width = w > p->max_width ? w : p->max_width;
			p->cols[p->n_tensors] = w;
			p->capacity[p->n_tensors++] = -1;
			p->cols[p->n_tensors] = w;
			p->capacity[p->n_tensors++] = -1;
			dense += (size_t) prev * (size_t) w + (size_t) w;
			prev = w;
		}
	}
	if (spec->n_ids > 0)
	{
		p->cols[p->n_tensors] = spec->out_dim;
		p->capacity[p->n_tensors++] = row_capacity(spec->n_ids, grad_rows, 1);
	}
	p->dense_count = dense;

	/* arena: numeric input, bag means, activations, and with gradients their gradient and two scratch matrices */
	per_row = (size_t) spec->n_numeric + (fields > 0 ? (size_t) spec->field_dim : 0);
	if (grad_rows > 0 && fields > 0)
		per_row += (size_t) spec->field_dim;
	for (int32_t l = 0; l < p->n_layers; l++)
		per_row += (size_t) p->width[l];
	if (grad_rows > 0 && p->n_layers > 0)
		per_row += 2 * (size_t) p->max_width;
	return bpr_size_mul(per_row, (size_t) max_batch, &p->arena_floats);
}

/* Bytes bpr_tower_work_create allocates; 0 on overflow */
size_t
bpr_tower_work_bytes(const BprTowerSpec *spec, const BprFeatures *f,
					 int32_t max_batch, int32_t grad_rows)
{
	WorkPlan	p;
	size_t		total = 0;
	bool		ok;

	if (max_batch < 1 || grad_rows < 0 || !work_plan(spec, f, max_batch, grad_rows, &p))
		return 0;
	ok = bpr_aligned_bytes(&total, 1, sizeof(BprTowerWork)) &&
		bpr_aligned_bytes(&total, p.arena_floats, sizeof(float)) &&
		bpr_aligned_bytes(&total, (size_t) p.n_fields, sizeof(FieldPass));
	for (int32_t k = 0; ok && k < p.n_fields; k++)
	{
		size_t		codes = bpr_rowgrad_bytes(spec->field_dim, p.pass_codes[k]);
		size_t		slots = (size_t) p.pass_codes[k];

		ok = codes > 0 && bpr_size_add(total, codes, &total) &&
			bpr_aligned_bytes(&total, slots * (size_t) p.width[0], sizeof(float));
		if (ok && grad_rows > 0)
			ok = bpr_aligned_bytes(&total, slots * (size_t) p.width[0], sizeof(float)) &&
				bpr_aligned_bytes(&total, slots * (size_t) spec->field_dim, sizeof(float));
	}
	if (ok && grad_rows > 0)
	{
		ok = bpr_aligned_bytes(&total, p.dense_count, sizeof(float)) &&
			bpr_aligned_bytes(&total, (size_t) p.n_tensors, sizeof(BprRowGrad));
		for (int32_t i = 0; ok && i < p.n_tensors; i++)
		{
			size_t		rg;

			if (p.capacity[i] < 0)
				continue;
			rg = bpr_rowgrad_bytes(p.cols[i], p.capacity[i]);
			ok = rg > 0 && bpr_size_add(total, rg, &total);
		}
	}
	return ok ? total : 0;
}

/* Floats of scratch bpr_tower_update_part needs for n_works such work areas (0 on overflow) */
size_t
bpr_tower_update_scratch(const BprTowerSpec *spec, const BprFeatures *f,
						 int32_t grad_rows, int32_t n_works)
{
	WorkPlan	p;
	size_t		lead = BPR_UPDATE_BLOCK;
	size_t		most = 0;
	size_t		slots;

	if (grad_rows < 0 || !work_plan(spec, f, 1, grad_rows, &p))
		return 0;
	/* a summed block or gradient row, then (several works) a slot table of n_works x rows */
	for (int32_t i = 0; i < p.n_tensors; i++)
		if (p.capacity[i] >= 0)
		{
			lead = (size_t) p.cols[i] > lead ? (size_t) p.cols[i] : lead;
			most = (size_t) p.capacity[i] > most ? (size_t) p.capacity[i] : most;
		}
	if (n_works <= 1)
		return lead;
	if (!bpr_size_mul((size_t) n_works, most, &slots) || !bpr_size_add(lead, slots, &slots))
		return 0;
	return slots;
}

/* A work area for passes of at most max_batch rows, with gradients when grad_rows > 0 */
BprTowerWork *
bpr_tower_work_create(const BprTower *tower, const BprFeatures *f,
					  int32_t max_batch, int32_t grad_rows, const BprAlloc *alloc)
{
	WorkPlan	p;
	BprTowerWork *wk;
	float	   *arena;

	if (bpr_tower_work_bytes(&tower->spec, f, max_batch, grad_rows) == 0 ||
		!work_plan(&tower->spec, f, max_batch, grad_rows, &p))
	{
		alloc->overflow(alloc->ctx, "tower work area");
		return NULL;
	}
	wk = bpr_alloc_aligned(alloc, 1, sizeof(BprTowerWork), "tower work");
	arena = bpr_alloc_aligned(alloc, p.arena_floats, sizeof(float), "tower activations");
	wk->max_batch = max_batch;
	wk->n_tensors = p.n_tensors;
	wk->grads = grad_rows > 0;
	wk->n_fields = p.n_fields;
	wk->fields = bpr_alloc_aligned(alloc, (size_t) p.n_fields, sizeof(FieldPass), "tower fields");
	for (int32_t k = 0; k < p.n_fields; k++)
	{
		FieldPass  *fp = &wk->fields[k];
		size_t		slots = (size_t) p.pass_codes[k];

		bpr_rowgrad_init(&fp->codes, tower->spec.field_dim, p.pass_codes[k], alloc);
		fp->proj = bpr_alloc_aligned(alloc, slots * (size_t) p.width[0], sizeof(float), "tower fields");
		if (wk->grads)
		{
			fp->dproj = bpr_alloc_aligned(alloc, slots * (size_t) p.width[0], sizeof(float),
										"tower fields");
			fp->demb = bpr_alloc_aligned(alloc, slots * (size_t) tower->spec.field_dim,
									   sizeof(float), "tower fields");
		}
	}
	if (p.n_layers > 0)
	{
		wk->x = arena;
		arena += (size_t) max_batch * (size_t) tower->spec.n_numeric;
		if (p.n_fields > 0)
		{
			wk->bag = arena;
			arena += (size_t) max_batch * (size_t) tower->spec.field_dim;
			if (wk->grads)
			{
				wk->dbag = arena;
				arena += (size_t) max_batch * (size_t) tower->spec.field_dim;
			}
		}
		for (int32_t l = 0; l < p.n_layers; l++)
		{
			wk->act[l] = arena;
			arena += (size_t) max_batch * (size_t) p.width[l];
		}
		if (wk->grads)
		{
			wk->grad_a = arena;
			arena += (size_t) max_batch * (size_t) p.max_width;
			wk->grad_b = arena;
		}
	}
	if (wk->grads)
	{
		wk->dense_count = p.dense_count;
		wk->dense_g = bpr_alloc_aligned(alloc, p.dense_count, sizeof(float), "tower gradient");
		wk->row_g = bpr_alloc_aligned(alloc, (size_t) p.n_tensors, sizeof(BprRowGrad),
									"tower gradient");
		for (int32_t i = 0; i < p.n_tensors; i++)
			if (p.capacity[i] >= 0)
				bpr_rowgrad_init(&wk->row_g[i], p.cols[i], p.capacity[i], alloc);
	}
	return wk;
}

/* The codes row r has in field k (categorical fields first): a pointer to them and their count */
static inline int64_t
field_codes(const BprTowerSpec *spec, const BprFeatures *f, int32_t k, int32_t r,
			const int32_t **codes)
{
	if (k < spec->n_cat)
	{
		*codes = f->cat + (size_t) r * spec->n_cat + k;
		return 1;
	}
	{
		const BprMultiField *mf = &f->multi[k - spec->n_cat];

		*codes = mf->idx + mf->ptr[r];
		return mf->ptr[r + 1] - mf->ptr[r];
	}
}

/* Each row's embedding (mean of its bag's) of field k, into out (n x field_dim) */
static void
bag_means(const BprTowerSpec *spec, const BprFeatures *f, int32_t k, const float *table,
		  const int32_t *rows, int32_t n, float *out)
{
	int32_t		fd = spec->field_dim;

	for (int32_t i = 0; i < n; i++)
	{
		const int32_t *codes;
		int64_t		m = field_codes(spec, f, k, rows[i], &codes);
		float	   *restrict o = out + (size_t) i * fd;

		memset(o, 0, (size_t) fd * sizeof(float));
		for (int64_t j = 0; j < m; j++)
			bpr_add_to(o, table + (size_t) codes[j] * fd, (size_t) fd);
		if (m > 1)
		{
			float		scale = 1.0f / (float) m;

			for (int32_t d = 0; d < fd; d++)
				o[d] *= scale;
		}
	}
}

/*
 * First dense layer of n rows into z (n x width[0]): bias, numeric columns
 * times their rows of dense0.w, and per field the rows' (mean) projected
 * embeddings, each distinct code projected once.
 */
static void
first_layer(const BprTower *tower, BprTowerWork *wk, const BprFeatures *f,
			const int32_t *rows, int32_t n, float *z)
{
	const BprTowerSpec *spec = &tower->spec;
	const float *w0 = tower->tensors[tower->dense_first].w;
	const float *bias = tower->tensors[tower->dense_first + 1].w;
	int32_t		width = tower->width[0];
	int32_t		nn = spec->n_numeric;
	int32_t		fd = spec->field_dim;

	for (int32_t i = 0; i < n; i++)
		memcpy(z + (size_t) i * width, bias, (size_t) width * sizeof(float));
	if (nn > 0)
	{
		for (int32_t i = 0; i < n; i++)
			memcpy(wk->x + (size_t) i * nn, f->numeric + (size_t) rows[i] * nn,
				   (size_t) nn * sizeof(float));
		if (nn <= SMALL_NUMERIC)
			for (int32_t i = 0; i < n; i++)
				for (int32_t k = 0; k < nn; k++)
					bpr_axpy(z + (size_t) i * width, wk->x[(size_t) i * nn + k],
							 w0 + (size_t) k * width, (size_t) width);
		else
			cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, width, nn,
						1.0f, wk->x, nn, w0, width, 1.0f, z, width);
	}
	for (int32_t k = 0; k < wk->n_fields; k++)
	{
		FieldPass  *fp = &wk->fields[k];
		const float *table = tower->tensors[k].w;
		const float *block = w0 + (size_t) (nn + k * fd) * width;

		/* the distinct codes of the pass, with their embeddings */
		bpr_rowgrad_clear(&fp->codes);
		fp->by_row = false;
		for (int32_t i = 0; i < n && !fp->by_row; i++)
		{
			const int32_t *codes;
			int64_t		m = field_codes(spec, f, k, rows[i], &codes);

			for (int64_t j = 0; j < m; j++)
			{
				int32_t		held = fp->codes.n;
				float	   *e;

				if (held == fp->codes.capacity && bpr_rowgrad_find(&fp->codes, codes[j]) < 0)
				{
					fp->by_row = true;
					break;
				}
				e = bpr_rowgrad_row(&fp->codes, codes[j]);
				if (fp->codes.n > held)
					memcpy(e, table + (size_t) codes[j] * fd, (size_t) fd * sizeof(float));
			}
		}
		if (fp->by_row)
		{
			/* bag means times the field's block, row by row */
			bpr_rowgrad_clear(&fp->codes);
			bag_means(spec, f, k, table, rows, n, wk->bag);
			cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, width, fd,
						1.0f, wk->bag, fd, block, width, 1.0f, z, width);
			continue;
		}
		if (fp->codes.n == 0)
			continue;
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, fp->codes.n, width, fd,
					1.0f, fp->codes.g, fd, block, width, 0.0f, fp->proj, width);
		/* each row adds its code's projection, or the mean of its bag's */
		for (int32_t i = 0; i < n; i++)
		{
			const int32_t *codes;
			int64_t		m = field_codes(spec, f, k, rows[i], &codes);
			float	   *restrict zi = z + (size_t) i * width;

			if (m == 1)
				bpr_add_to(zi, fp->proj + (size_t) bpr_rowgrad_find(&fp->codes, codes[0]) * width,
						   (size_t) width);
			else if (m > 1)
			{
				float		scale = 1.0f / (float) m;

				for (int64_t j = 0; j < m; j++)
					bpr_axpy(zi, scale,
							 fp->proj + (size_t) bpr_rowgrad_find(&fp->codes, codes[j]) * width,
							 (size_t) width);
			}
		}
	}
}

/* Row-wise softmax in place on an n x width matrix */
static void
softmax_rows(float *z, int32_t n, int32_t width)
{
	for (int32_t i = 0; i < n; i++)
	{
		float	   *zi = z + (size_t) i * width;
		float		mx = zi[0];
		float		inv;

		for (int32_t j = 1; j < width; j++)
			mx = zi[j] > mx ? zi[j] : mx;
		inv = 1.0f / bpr_exp_sum(zi, (size_t) width, mx);
		for (int32_t j = 0; j < width; j++)
			zi[j] *= inv;
	}
}

/* Rows looked ahead when prefetching embedding rows */
#define PASS_PREFETCH 8

/* Forward pass of n <= the work's max_batch rows; reads the tower, writes only the work and out */
void
bpr_tower_forward_with(const BprTower *tower, BprTowerWork *wk,
					   const BprFeatures *f, const int32_t *rows,
					   int32_t n, bool with_ids, float *out)
{
	int32_t		out_dim = tower->spec.out_dim;
	size_t		out_count = (size_t) n * (size_t) out_dim;
	const float *ids = tower->ids_index >= 0 && with_ids ?
		tower->tensors[tower->ids_index].w : NULL;

	if (n <= 0)
		return;
	if (tower->n_layers == 0)
	{
		/* the id embedding alone (zeros when ids are not wanted) */
		if (ids == NULL)
			memset(out, 0, out_count * sizeof(float));
		else
			for (int32_t i = 0; i < n; i++)
			{
				if (i + PASS_PREFETCH < n)
					bpr_prefetch_row(ids + (size_t) rows[i + PASS_PREFETCH] * out_dim, out_dim);
				memcpy(out + (size_t) i * out_dim, ids + (size_t) rows[i] * out_dim,
					   (size_t) out_dim * sizeof(float));
			}
		return;
	}

	{
		const float *a = NULL;
		int32_t		a_w = 0;

		if (ids != NULL)
			for (int32_t i = 0; i < n && i < PASS_PREFETCH; i++)
				bpr_prefetch_row(ids + (size_t) rows[i] * out_dim, out_dim);
		for (int32_t l = 0; l < tower->n_layers; l++)
		{
			const BprTensor *tw = &tower->tensors[tower->dense_first + 2 * l];
			const float *bias = tower->tensors[tower->dense_first + 2 * l + 1].w;
			int32_t		width = tower->width[l];
			float	   *z = wk->act[l];
			size_t		count = (size_t) n * (size_t) width;

			if (l == 0)
				first_layer(tower, wk, f, rows, n, z);
			else
			{
				for (int32_t i = 0; i < n; i++)
					memcpy(z + (size_t) i * width, bias, (size_t) width * sizeof(float));
				cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, width, a_w,
							1.0f, a, a_w, tw->w, width, 1.0f, z, width);
			}
			if (l < tower->n_layers - 1)
			{
				bpr_relu(z, count);
			}
			else if (tower->spec.output == BPR_OUTPUT_SOFTMAX)
				softmax_rows(z, n, width);
			a = z;
			a_w = width;
		}
		memcpy(out, a, out_count * sizeof(float));
	}

	if (ids != NULL)
	{
		for (int32_t i = 0; i < n; i++)
		{
			const float *restrict er = ids + (size_t) rows[i] * out_dim;
			float	   *restrict oi = out + (size_t) i * out_dim;

			if (i + PASS_PREFETCH < n)
				bpr_prefetch_row(ids + (size_t) rows[i + PASS_PREFETCH] * out_dim, out_dim);
			bpr_add_to(oi, er, (size_t) out_dim);
		}
	}
}

/* Asks for the cache lines a forward pass over these rows will read first (id rows, feature rows) */
void
bpr_tower_prefetch(const BprTower *tower, const BprFeatures *f, const int32_t *rows, int32_t n)
{
	const BprTowerSpec *spec = &tower->spec;
	const float *ids = tower->ids_index >= 0 ? tower->tensors[tower->ids_index].w : NULL;

	for (int32_t i = 0; i < n; i++)
	{
		size_t		r = (size_t) rows[i];

		if (ids != NULL)
			bpr_prefetch_row(ids + r * spec->out_dim, spec->out_dim);
		if (tower->n_layers == 0 || f == NULL)
			continue;
		if (spec->n_numeric > 0)
			bpr_prefetch(f->numeric + r * spec->n_numeric);
		if (spec->n_cat > 0)
			bpr_prefetch(f->cat + r * spec->n_cat);
		for (int32_t k = 0; k < spec->n_multi; k++)
			bpr_prefetch(f->multi[k].ptr + r);
	}
}

/* Gives a work area its own moments (copied; the arrays stay the caller's) */
void
bpr_tower_work_own_moments(BprTowerWork *work, const BprOwnMoments *own)
{
	work->own = *own;
}

/* A work area's own moments of a tensor's rows, or NULL (not the id table, or none) */
const BprOwnMoments *
bpr_tower_own_moments(const BprTower *tower, const BprTowerWork *work, int32_t tensor)
{
	return work->own.slot != NULL && tensor == tower->ids_index ? &work->own : NULL;
}

/* Fetches, with write intent, the Adam moments of the id rows of these rows (the update writes them) */
void
bpr_tower_prefetch_moments(const BprTower *tower, const BprTowerWork *work,
						   const int32_t *rows, int32_t n)
{
	const BprTensor *t;
	const BprOwnMoments *own;

	if (tower->ids_index < 0 || !tower->training)
		return;
	t = &tower->tensors[tower->ids_index];
	own = bpr_tower_own_moments(tower, work, tower->ids_index);
	for (int32_t i = 0; i < n; i++)
	{
		float	   *m,
				   *v;

		bpr_row_moments(t, own, rows[i], &m, &v);
		bpr_prefetch_row_w(m, t->cols);
		bpr_prefetch_row_w(v, t->cols);
	}
}

/* Adds src (cols values) into the gradient row of a table row */
static inline void
add_grad_row1(BprRowGrad *rg, int32_t row, const float *restrict src)
{
	bpr_add_to(bpr_rowgrad_row(rg, row), src, (size_t) rg->cols);
}

/* Gradients of field k's block of dense0.w and embeddings for a field passed row by row */
static void
field_backward_by_row(const BprTower *tower, BprTowerWork *wk, const BprFeatures *f,
					  int32_t k, const int32_t *rows, int32_t n, const float *dz)
{
	const BprTowerSpec *spec = &tower->spec;
	int32_t		width = tower->width[0];
	int32_t		fd = spec->field_dim;
	size_t		block = (size_t) (spec->n_numeric + k * fd) * width;
	float	   *gw = wk->dense_g + tower->tensors[tower->dense_first].dense_offset;

	/* the bag means again (the weights have not changed since the forward pass) */
	bag_means(spec, f, k, tower->tensors[k].w, rows, n, wk->bag);
	cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, fd, width, n,
				1.0f, wk->bag, fd, dz, width, 1.0f, gw + block, width);
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, fd, width,
				1.0f, dz, width, tower->tensors[tower->dense_first].w + block, width,
				0.0f, wk->dbag, fd);
	for (int32_t i = 0; i < n; i++)
	{
		const int32_t *codes;
		int64_t		m = field_codes(spec, f, k, rows[i], &codes);
		float		scale = m > 1 ? 1.0f / (float) m : 1.0f;
		const float *restrict db = wk->dbag + (size_t) i * fd;

		for (int64_t j = 0; j < m; j++)
			bpr_axpy(bpr_rowgrad_row(&wk->row_g[k], codes[j]), scale, db, (size_t) fd);
	}
}

/*
 * Gradients of the first dense layer from dz (n x width[0]): the numeric rows
 * of dense0.w directly; per field, the rows' dz summed per code first, then
 * the field's block of dense0.w and the codes' embeddings from those sums.
 */
static void
first_layer_backward(const BprTower *tower, BprTowerWork *wk, const BprFeatures *f,
					 const int32_t *rows, int32_t n, const float *dz)
{
	const BprTowerSpec *spec = &tower->spec;
	const float *w0 = tower->tensors[tower->dense_first].w;
	float	   *gw = wk->dense_g + tower->tensors[tower->dense_first].dense_offset;
	int32_t		width = tower->width[0];
	int32_t		nn = spec->n_numeric;
	int32_t		fd = spec->field_dim;

	if (nn > 0 && nn <= SMALL_NUMERIC)
		for (int32_t i = 0; i < n; i++)
			for (int32_t k = 0; k < nn; k++)
				bpr_axpy(gw + (size_t) k * width, wk->x[(size_t) i * nn + k],
						 dz + (size_t) i * width, (size_t) width);
	else if (nn > 0)
		cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, nn, width, n,
					1.0f, wk->x, nn, dz, width, 1.0f, gw, width);
	for (int32_t k = 0; k < wk->n_fields; k++)
	{
		FieldPass  *fp = &wk->fields[k];
		int32_t		m = fp->codes.n;

		if (fp->by_row)
		{
			field_backward_by_row(tower, wk, f, k, rows, n, dz);
			continue;
		}
		if (m == 0)
			continue;
		memset(fp->dproj, 0, (size_t) m * (size_t) width * sizeof(float));
		for (int32_t i = 0; i < n; i++)
		{
			const int32_t *codes;
			int64_t		bag = field_codes(spec, f, k, rows[i], &codes);
			const float *restrict dzi = dz + (size_t) i * width;
			float		scale = bag > 1 ? 1.0f / (float) bag : 1.0f;

			for (int64_t j = 0; j < bag; j++)
				bpr_axpy(fp->dproj + (size_t) bpr_rowgrad_find(&fp->codes, codes[j]) * width,
						 scale, dzi, (size_t) width);
		}
		/* block of dense0.w: embeddings^T dproj; embeddings: dproj block^T */
		cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, fd, width, m,
					1.0f, fp->codes.g, fd, fp->dproj, width, 1.0f,
					gw + (size_t) (nn + k * fd) * width, width);
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, fd, width,
					1.0f, fp->dproj, width, w0 + (size_t) (nn + k * fd) * width, width,
					0.0f, fp->demb, fd);
		for (int32_t s = 0; s < m; s++)
			add_grad_row1(&wk->row_g[k], fp->codes.rows[s], fp->demb + (size_t) s * fd);
	}
}

/* Backward pass of the work's last forward (same rows); accumulates into the work's gradients */
void
bpr_tower_backward(const BprTower *tower, BprTowerWork *wk,
				   const BprFeatures *f, const int32_t *rows, int32_t n,
				   bool with_ids, const float *dout)
{
	int32_t		out_dim = tower->spec.out_dim;

	if (!wk->grads || n <= 0)
		return;
	if (tower->n_layers > 0)
	{
		int32_t		last = tower->n_layers - 1;
		const float *dz = dout;
		float	   *spare = wk->grad_a;

		if (tower->spec.output == BPR_OUTPUT_SOFTMAX)
		{
			/* dz_j = y_j * (dy_j - sum_k dy_k y_k) */
			const float *y = wk->act[last];

			for (int32_t i = 0; i < n; i++)
			{
				const float *yi = y + (size_t) i * out_dim;
				const float *dyi = dout + (size_t) i * out_dim;
				float	   *dzi = wk->grad_a + (size_t) i * out_dim;
				float		dot = 0.0f;

				for (int32_t j = 0; j < out_dim; j++)
					dot += dyi[j] * yi[j];
				for (int32_t j = 0; j < out_dim; j++)
					dzi[j] = yi[j] * (dyi[j] - dot);
			}
			dz = wk->grad_a;
			spare = wk->grad_b;
		}

		for (int32_t l = last; l >= 0; l--)
		{
			const BprTensor *tw = &tower->tensors[tower->dense_first + 2 * l];
			float	   *gw = wk->dense_g + tw->dense_offset;
			float	   *restrict gb = wk->dense_g +
				tower->tensors[tower->dense_first + 2 * l + 1].dense_offset;
			int32_t		width = tower->width[l];

			/* db += column sums of dZ */
			for (int32_t i = 0; i < n; i++)
				bpr_add_to(gb, dz + (size_t) i * width, (size_t) width);
			if (l == 0)
			{
				first_layer_backward(tower, wk, f, rows, n, dz);
				break;
			}
			{
				const float *a_in = wk->act[l - 1];
				int32_t		in_w = tower->width[l - 1];
				size_t		count = (size_t) n * (size_t) in_w;

				/* dW += A_in^T dZ; dA_in = dZ W^T, then through the ReLU of the previous layer */
				cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, in_w, width, n,
							1.0f, a_in, in_w, dz, width, 1.0f, gw, width);
				cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, in_w, width,
							1.0f, dz, width, tw->w, width, 0.0f, spare, in_w);
				bpr_relu_grad(spare, a_in, count);
				dz = spare;
				spare = (dz == wk->grad_a) ? wk->grad_b : wk->grad_a;
			}
		}
	}

	if (with_ids && tower->ids_index >= 0)
	{
		BprRowGrad *ids = &wk->row_g[tower->ids_index];

		for (int32_t i = 0; i < n; i++)
			add_grad_row1(ids, rows[i], dout + (size_t) i * out_dim);
	}
}

/* Clears a work area's gradients (dense fully, sparse only the rows it holds) */
void
bpr_tower_zero_grad(BprTowerWork *wk)
{
	if (!wk->grads)
		return;
	memset(wk->dense_g, 0, wk->dense_count * sizeof(float));
	for (int32_t i = 0; i < wk->n_tensors; i++)
		if (wk->row_g[i].table != NULL)
			bpr_rowgrad_clear(&wk->row_g[i]);
}

/* Gradient of a tensor row in a work area: NULL for a sparse row not touched since the last clear */
const float *
bpr_tower_grad_row(const BprTower *tower, const BprTowerWork *wk,
				   int32_t tensor, int32_t row)
{
	const BprTensor *t = &tower->tensors[tensor];
	int32_t		slot;

	if (!wk->grads)
		return NULL;
	if (!t->sparse)
		return wk->dense_g + t->dense_offset + (size_t) row * t->cols;
	slot = bpr_rowgrad_find(&wk->row_g[tensor], row);
	return slot < 0 ? NULL : wk->row_g[tensor].g + (size_t) slot * t->cols;
}

/* Rows of a sparse tensor touched since the last clear (first-touch order) */
int32_t
bpr_tower_touched(const BprTowerWork *wk, int32_t tensor, const int32_t **rows)
{
	if (!wk->grads || wk->row_g[tensor].table == NULL)
	{
		*rows = NULL;
		return 0;
	}
	*rows = wk->row_g[tensor].rows;
	return wk->row_g[tensor].n;
}

/* The work area's compact gradient of a sparse tensor (for tower_update.c), or NULL */
const BprRowGrad *
bpr_tower_row_grad(const BprTowerWork *wk, int32_t tensor)
{
	return wk->grads && wk->row_g[tensor].table != NULL ? &wk->row_g[tensor] : NULL;
}

/* The work area's block of dense gradients (for tower_update.c), or NULL */
const float *
bpr_tower_dense_grad(const BprTowerWork *wk)
{
	return wk->grads ? wk->dense_g : NULL;
}
