/*
 * tower.c - one tower of the two-tower model: features (+ ids) -> embedding
 *
 * Tensors, in creation order: "cat<k>" (k < n_cat), "multi<k>" (k < n_multi),
 * then, when the tower has features, "dense<l>.w" and "dense<l>.b" for
 * l = 0..n_hidden (the last is the output layer), then "ids" when n_ids > 0.
 * Hidden layers of a tower without features are ignored.
 *
 * The private work area holds, for max_batch rows, the gathered input X, every
 * layer's activations (ReLU outputs; the last layer's linear or softmax
 * result), and in training two backward scratch matrices.  Forward and
 * backward allocate nothing.
 */
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "tower.h"

#define TOWER_STR2(x) #x
#define TOWER_STR(x) TOWER_STR2(x)

/* Most tensors a tower can have */
#define TOWER_MAX_TENSORS (2 * BPR_MAX_FIELDS + 2 * (BPR_MAX_LAYERS + 1) + 1)

/* Shape of one tensor as planned before allocation */
typedef struct TensorShape
{
	char		name[32];
	int32_t		rows;
	int32_t		cols;
	bool		sparse;
} TensorShape;

/* Everything create allocates, derived from a valid spec */
typedef struct TowerPlan
{
	int32_t		in_dim;
	int32_t		n_layers;		/* dense layers: n_hidden + 1, or 0 without features */
	int32_t		width[BPR_MAX_LAYERS + 1];	/* output width of each dense layer */
	int32_t		max_width;		/* widest of in_dim and the layer widths */
	int32_t		n_tensors;
	TensorShape shapes[TOWER_MAX_TENSORS];
	size_t		arena_floats;	/* floats of the work arena */
} TowerPlan;

/* The tower's private work area */
typedef struct TowerWork
{
	int32_t		n_layers;
	int32_t		width[BPR_MAX_LAYERS + 1];
	int32_t		dense_first;	/* index of "dense0.w" */
	int32_t		ids_index;		/* index of "ids", or -1 */
	float	   *x;				/* max_batch x in_dim gathered input */
	float	   *act[BPR_MAX_LAYERS + 1];	/* max_batch x width[l] activations */
	float	   *grad_a;			/* training: max_batch x max_width scratch */
	float	   *grad_b;			/* training: max_batch x max_width scratch */
} TowerWork;

/* Width of the concatenated input of a spec, in 64 bits (no overflow) */
static int64_t
spec_in_dim(const BprTowerSpec *spec)
{
	int64_t		fields = (int64_t) spec->n_cat + spec->n_multi;

	return (int64_t) spec->n_numeric + (fields > 0 ? fields * spec->field_dim : 0);
}

/* Validates a spec; returns NULL if fine, else a static message */
const char *
bpr_tower_spec_check(const BprTowerSpec *spec)
{
	int64_t		in_dim;
	int64_t		prev;

	if (spec == NULL)
		return "tower spec is missing";
	if (spec->n_numeric < 0)
		return "number of numeric features must not be negative";
	if (spec->n_cat < 0 || spec->n_cat > BPR_MAX_FIELDS)
		return "too many categorical fields (at most " TOWER_STR(BPR_MAX_FIELDS) ")";
	if (spec->n_multi < 0 || spec->n_multi > BPR_MAX_FIELDS)
		return "too many multi-hot fields (at most " TOWER_STR(BPR_MAX_FIELDS) ")";
	if (spec->n_hidden < 0 || spec->n_hidden > BPR_MAX_LAYERS)
		return "too many hidden layers (at most " TOWER_STR(BPR_MAX_LAYERS) ")";
	if (spec->out_dim < 1)
		return "output dimension must be positive";
	if (spec->output != BPR_OUTPUT_LINEAR && spec->output != BPR_OUTPUT_SOFTMAX)
		return "unknown tower output kind";
	if (spec->n_ids < 0)
		return "number of ids must not be negative";
	if (!(spec->id_init >= 0.0f) || isinf(spec->id_init))
		return "id embedding init scale must be finite and non-negative";
	if (spec->field_dim < 0 ||
		(spec->n_cat + spec->n_multi > 0 && spec->field_dim < 1))
		return "field embedding dimension must be positive";
	for (int32_t k = 0; k < spec->n_cat; k++)
	{
		if (spec->cat_card[k] < 1)
			return "categorical field cardinality must be positive";
		if ((int64_t) spec->cat_card[k] * spec->field_dim > INT32_MAX)
			return "categorical field embedding table is too large";
	}
	for (int32_t k = 0; k < spec->n_multi; k++)
	{
		if (spec->multi_card[k] < 1)
			return "multi-hot field cardinality must be positive";
		if ((int64_t) spec->multi_card[k] * spec->field_dim > INT32_MAX)
			return "multi-hot field embedding table is too large";
	}
	for (int32_t l = 0; l < spec->n_hidden; l++)
		if (spec->hidden[l] < 1)
			return "hidden layer width must be positive";
	in_dim = spec_in_dim(spec);
	if (in_dim > INT32_MAX)
		return "too many input features";
	if (in_dim == 0 && spec->n_ids == 0)
		return "tower has neither features nor ids";
	if (in_dim > 0)
	{
		prev = in_dim;
		for (int32_t l = 0; l < spec->n_hidden; l++)
		{
			if (prev * spec->hidden[l] > INT32_MAX)
				return "dense layer is too large";
			prev = spec->hidden[l];
		}
		if (prev * spec->out_dim > INT32_MAX)
			return "output layer is too large";
	}
	if ((int64_t) spec->n_ids * spec->out_dim > INT32_MAX)
		return "id embedding table is too large";
	return NULL;
}

/* Appends one tensor shape to a plan */
static void
plan_tensor(TowerPlan *plan, const char *name, int32_t rows, int32_t cols, bool sparse)
{
	TensorShape *s = &plan->shapes[plan->n_tensors++];

	snprintf(s->name, sizeof(s->name), "%s", name);
	s->rows = rows;
	s->cols = cols;
	s->sparse = sparse;
}

/* Plans the tensors and work area of a valid spec; false on size overflow */
static bool
tower_plan(const BprTowerSpec *spec, int32_t max_batch, bool training, TowerPlan *plan)
{
	char		name[32];
	int32_t		prev;
	size_t		per_row;

	memset(plan, 0, sizeof(*plan));
	plan->in_dim = (int32_t) spec_in_dim(spec);
	for (int32_t k = 0; k < spec->n_cat; k++)
	{
		snprintf(name, sizeof(name), "cat%d", (int) k);
		plan_tensor(plan, name, spec->cat_card[k], spec->field_dim, true);
	}
	for (int32_t k = 0; k < spec->n_multi; k++)
	{
		snprintf(name, sizeof(name), "multi%d", (int) k);
		plan_tensor(plan, name, spec->multi_card[k], spec->field_dim, true);
	}
	if (plan->in_dim > 0)
	{
		plan->n_layers = spec->n_hidden + 1;
		prev = plan->in_dim;
		plan->max_width = prev;
		for (int32_t l = 0; l < plan->n_layers; l++)
		{
			int32_t		w = l < spec->n_hidden ? spec->hidden[l] : spec->out_dim;

			snprintf(name, sizeof(name), "dense%d.w", (int) l);
			plan_tensor(plan, name, prev, w, false);
			snprintf(name, sizeof(name), "dense%d.b", (int) l);
			plan_tensor(plan, name, 1, w, false);
			plan->width[l] = w;
			if (w > plan->max_width)
				plan->max_width = w;
			prev = w;
		}
	}
	if (spec->n_ids > 0)
		plan_tensor(plan, "ids", spec->n_ids, spec->out_dim, true);

	/* work arena: X, activations, and in training two scratch matrices */
	per_row = (size_t) plan->in_dim;
	for (int32_t l = 0; l < plan->n_layers; l++)
		if (!bpr_size_add(per_row, (size_t) plan->width[l], &per_row))
			return false;
	if (training && plan->n_layers > 0 &&
		!bpr_size_add(per_row, 2 * (size_t) plan->max_width, &per_row))
		return false;
	return bpr_size_mul(per_row, (size_t) max_batch, &plan->arena_floats);
}

/* Adds the bytes of one bpr_alloc_array call to a total; false on overflow */
static bool
add_block(size_t *total, size_t n, size_t size)
{
	size_t		bytes;

	if (!bpr_size_mul(n, size, &bytes))
		return false;
	if (bytes == 0)
		bytes = 1;				/* bpr_alloc_array never asks for 0 bytes */
	return bpr_size_add(*total, bytes, total);
}

/* Total bytes create allocates for a plan; 0 on overflow */
static size_t
plan_bytes(const TowerPlan *plan, int32_t max_batch, bool training)
{
	size_t		total = 0;
	bool		ok = true;

	ok = ok && add_block(&total, 1, sizeof(BprTower));
	ok = ok && add_block(&total, (size_t) plan->n_tensors, sizeof(BprTensor));
	for (int32_t i = 0; ok && i < plan->n_tensors; i++)
	{
		const TensorShape *s = &plan->shapes[i];
		size_t		count = (size_t) s->rows * (size_t) s->cols;

		ok = ok && add_block(&total, count, sizeof(float));
		if (training)
		{
			ok = ok && add_block(&total, count, sizeof(float));
			ok = ok && add_block(&total, count, sizeof(float));
			ok = ok && add_block(&total, count, sizeof(float));
			if (s->sparse)
			{
				ok = ok && add_block(&total, (size_t) s->rows, sizeof(int32_t));
				ok = ok && add_block(&total, (size_t) s->rows, sizeof(uint8_t));
			}
		}
	}
	ok = ok && add_block(&total, 1, sizeof(TowerWork));
	ok = ok && add_block(&total, plan->arena_floats, sizeof(float));
	return ok ? total : 0;
}

/* Bytes bpr_tower_create will allocate (for memory limits); 0 on overflow or a bad spec */
size_t
bpr_tower_bytes(const BprTowerSpec *spec, int32_t max_batch, bool training)
{
	TowerPlan	plan;

	if (max_batch < 1 || bpr_tower_spec_check(spec) != NULL)
		return 0;
	if (!tower_plan(spec, max_batch, training, &plan))
		return 0;
	return plan_bytes(&plan, max_batch, training);
}

/*
 * Creates a tower with zeroed parameters; training adds gradients and Adam
 * state.  Returns NULL if the spec is invalid or max_batch < 1.
 */
BprTower *
bpr_tower_create(const BprTowerSpec *spec, int32_t max_batch,
				 bool training, const BprAlloc *alloc)
{
	TowerPlan	plan;
	BprTower   *tower;
	TowerWork  *wk;
	float	   *arena;

	if (max_batch < 1 || bpr_tower_spec_check(spec) != NULL)
		return NULL;
	if (!tower_plan(spec, max_batch, training, &plan) ||
		plan_bytes(&plan, max_batch, training) == 0)
	{
		alloc->overflow(alloc->ctx, "tower size");
		return NULL;
	}

	tower = bpr_alloc_array(alloc, 1, sizeof(BprTower), "tower");
	tower->spec = *spec;
	tower->training = training;
	tower->max_batch = max_batch;
	tower->in_dim = plan.in_dim;
	tower->n_tensors = plan.n_tensors;
	tower->tensors = bpr_alloc_array(alloc, (size_t) plan.n_tensors,
									 sizeof(BprTensor), "tower tensors");
	for (int32_t i = 0; i < plan.n_tensors; i++)
	{
		const TensorShape *s = &plan.shapes[i];
		BprTensor  *t = &tower->tensors[i];
		size_t		count = (size_t) s->rows * (size_t) s->cols;

		memcpy(t->name, s->name, sizeof(t->name));
		t->rows = s->rows;
		t->cols = s->cols;
		t->sparse = s->sparse;
		t->w = bpr_alloc_array(alloc, count, sizeof(float), "tower tensor");
		if (training)
		{
			t->g = bpr_alloc_array(alloc, count, sizeof(float), "tower gradient");
			t->m = bpr_alloc_array(alloc, count, sizeof(float), "tower adam m");
			t->v = bpr_alloc_array(alloc, count, sizeof(float), "tower adam v");
			if (s->sparse)
			{
				t->touched = bpr_alloc_array(alloc, (size_t) s->rows,
											 sizeof(int32_t), "tower touched rows");
				t->mark = bpr_alloc_array(alloc, (size_t) s->rows,
										  sizeof(uint8_t), "tower row marks");
			}
		}
	}

	wk = bpr_alloc_array(alloc, 1, sizeof(TowerWork), "tower work");
	arena = bpr_alloc_array(alloc, plan.arena_floats, sizeof(float), "tower activations");
	wk->n_layers = plan.n_layers;
	wk->dense_first = spec->n_cat + spec->n_multi;
	wk->ids_index = spec->n_ids > 0 ? plan.n_tensors - 1 : -1;
	if (plan.n_layers > 0)
	{
		wk->x = arena;
		arena += (size_t) max_batch * (size_t) plan.in_dim;
		for (int32_t l = 0; l < plan.n_layers; l++)
		{
			wk->width[l] = plan.width[l];
			wk->act[l] = arena;
			arena += (size_t) max_batch * (size_t) plan.width[l];
		}
		if (training)
		{
			wk->grad_a = arena;
			arena += (size_t) max_batch * (size_t) plan.max_width;
			wk->grad_b = arena;
		}
	}
	tower->work = wk;
	return tower;
}

/* Keras-like init: field embeddings U(-0.05, 0.05), glorot-uniform kernels, zero biases, ids U(-id_init, id_init) */
void
bpr_tower_init(BprTower *tower, BprRng *rng)
{
	TowerWork  *wk = tower->work;

	for (int32_t i = 0; i < tower->n_tensors; i++)
	{
		BprTensor  *t = &tower->tensors[i];
		size_t		count = (size_t) t->rows * (size_t) t->cols;
		float		limit;

		if (i == wk->ids_index)
			limit = tower->spec.id_init;
		else if (i < wk->dense_first)
			limit = 0.05f;
		else if ((i - wk->dense_first) % 2 == 0)
			limit = (float) sqrt(6.0 / ((double) t->rows + (double) t->cols));
		else
			limit = 0.0f;		/* dense bias */

		if (limit == 0.0f)
			memset(t->w, 0, count * sizeof(float));
		else
			for (size_t j = 0; j < count; j++)
				t->w[j] = bpr_rng_range(rng, -limit, limit);
	}
}

/* Concatenates numeric values and field embeddings of each row into X (n x in_dim) */
static void
gather_inputs(const BprTower *tower, const BprFeatures *f,
			  const int32_t *rows, int32_t n, float *x)
{
	const BprTowerSpec *spec = &tower->spec;
	int32_t		in_dim = tower->in_dim;
	int32_t		nn = spec->n_numeric;
	int32_t		fd = spec->field_dim;
	int32_t		n_cat = spec->n_cat;

	for (int32_t i = 0; i < n; i++)
	{
		size_t		r = (size_t) rows[i];
		float	   *xi = x + (size_t) i * in_dim;

		if (nn > 0)
			memcpy(xi, f->numeric + r * nn, (size_t) nn * sizeof(float));
		for (int32_t k = 0; k < n_cat; k++)
		{
			size_t		code = (size_t) f->cat[r * n_cat + k];

			memcpy(xi + nn + (size_t) k * fd, tower->tensors[k].w + code * fd,
				   (size_t) fd * sizeof(float));
		}
		for (int32_t k = 0; k < spec->n_multi; k++)
		{
			const BprMultiField *mf = &f->multi[k];
			const float *table = tower->tensors[n_cat + k].w;
			float	   *xs = xi + nn + (size_t) (n_cat + k) * fd;
			int64_t		b = mf->ptr[r],
						e = mf->ptr[r + 1];

			memset(xs, 0, (size_t) fd * sizeof(float));
			if (e <= b)
				continue;
			for (int64_t j = b; j < e; j++)
			{
				const float *er = table + (size_t) mf->idx[j] * fd;

				for (int32_t d = 0; d < fd; d++)
					xs[d] += er[d];
			}
			{
				float		scale = 1.0f / (float) (e - b);

				for (int32_t d = 0; d < fd; d++)
					xs[d] *= scale;
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
		float		sum = 0.0f;
		float		inv;

		for (int32_t j = 1; j < width; j++)
			mx = zi[j] > mx ? zi[j] : mx;
		for (int32_t j = 0; j < width; j++)
		{
			zi[j] = expf(zi[j] - mx);
			sum += zi[j];
		}
		inv = 1.0f / sum;
		for (int32_t j = 0; j < width; j++)
			zi[j] *= inv;
	}
}

/* Forward pass for n <= max_batch entity rows; out is n x out_dim */
void
bpr_tower_forward(BprTower *tower, const BprFeatures *f,
				  const int32_t *rows, int32_t n, bool with_ids,
				  float *out)
{
	TowerWork  *wk = tower->work;
	int32_t		out_dim = tower->spec.out_dim;
	size_t		out_count = (size_t) n * (size_t) out_dim;

	if (n <= 0)
		return;
	if (wk->n_layers > 0)
	{
		const float *a = wk->x;
		int32_t		a_w = tower->in_dim;

		gather_inputs(tower, f, rows, n, wk->x);
		for (int32_t l = 0; l < wk->n_layers; l++)
		{
			const BprTensor *tw = &tower->tensors[wk->dense_first + 2 * l];
			const float *bias = tower->tensors[wk->dense_first + 2 * l + 1].w;
			int32_t		width = wk->width[l];
			float	   *z = wk->act[l];
			size_t		count = (size_t) n * (size_t) width;

			for (int32_t i = 0; i < n; i++)
				memcpy(z + (size_t) i * width, bias, (size_t) width * sizeof(float));
			cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, width, a_w,
						1.0f, a, a_w, tw->w, width, 1.0f, z, width);
			if (l < wk->n_layers - 1)
			{
				for (size_t j = 0; j < count; j++)
					z[j] = z[j] > 0.0f ? z[j] : 0.0f;
			}
			else if (tower->spec.output == BPR_OUTPUT_SOFTMAX)
				softmax_rows(z, n, width);
			a = z;
			a_w = width;
		}
		memcpy(out, a, out_count * sizeof(float));
	}
	else
		memset(out, 0, out_count * sizeof(float));

	if (with_ids && wk->ids_index >= 0)
	{
		const float *ids = tower->tensors[wk->ids_index].w;

		for (int32_t i = 0; i < n; i++)
		{
			const float *er = ids + (size_t) rows[i] * out_dim;
			float	   *oi = out + (size_t) i * out_dim;

			for (int32_t d = 0; d < out_dim; d++)
				oi[d] += er[d];
		}
	}
}

/* Records a row of a sparse tensor as touched (once) */
static inline void
touch_row(BprTensor *t, int32_t row)
{
	if (!t->mark[row])
	{
		t->mark[row] = 1;
		t->touched[t->n_touched++] = row;
	}
}

/* Adds scale * src (cols values) into gradient row `row` of a sparse tensor */
static inline void
add_grad_row(BprTensor *t, int32_t row, const float *restrict src, float scale)
{
	float	   *restrict g = t->g + (size_t) row * t->cols;
	int32_t		cols = t->cols;

	touch_row(t, row);
	for (int32_t d = 0; d < cols; d++)
		g[d] += scale * src[d];
}

/* Scatters the input gradient of the embedding part (n x emb_w) into the field tables */
static void
scatter_embeddings(BprTower *tower, const BprFeatures *f,
				   const int32_t *rows, int32_t n, const float *dx, int32_t emb_w)
{
	const BprTowerSpec *spec = &tower->spec;
	int32_t		fd = spec->field_dim;
	int32_t		n_cat = spec->n_cat;

	for (int32_t i = 0; i < n; i++)
	{
		size_t		r = (size_t) rows[i];
		const float *dxi = dx + (size_t) i * emb_w;

		for (int32_t k = 0; k < n_cat; k++)
			add_grad_row(&tower->tensors[k], f->cat[r * n_cat + k],
						 dxi + (size_t) k * fd, 1.0f);
		for (int32_t k = 0; k < spec->n_multi; k++)
		{
			const BprMultiField *mf = &f->multi[k];
			BprTensor  *t = &tower->tensors[n_cat + k];
			const float *dxs = dxi + (size_t) (n_cat + k) * fd;
			int64_t		b = mf->ptr[r],
						e = mf->ptr[r + 1];
			float		scale;

			if (e <= b)
				continue;
			scale = 1.0f / (float) (e - b);
			for (int64_t j = b; j < e; j++)
				add_grad_row(t, mf->idx[j], dxs, scale);
		}
	}
}

/* Backward pass of the last forward (same rows); accumulates parameter gradients */
void
bpr_tower_backward(BprTower *tower, const BprFeatures *f,
				   const int32_t *rows, int32_t n, bool with_ids,
				   const float *dout)
{
	TowerWork  *wk = tower->work;
	int32_t		out_dim = tower->spec.out_dim;

	if (!tower->training || n <= 0)
		return;
	if (wk->n_layers > 0)
	{
		int32_t		last = wk->n_layers - 1;
		const float *dz = dout;
		float	   *spare = wk->grad_a;
		int32_t		nn = tower->spec.n_numeric;
		int32_t		emb_w = tower->in_dim - nn;

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
			BprTensor  *tw = &tower->tensors[wk->dense_first + 2 * l];
			float	   *gb = tower->tensors[wk->dense_first + 2 * l + 1].g;
			const float *a_in = l > 0 ? wk->act[l - 1] : wk->x;
			int32_t		in_w = l > 0 ? wk->width[l - 1] : tower->in_dim;
			int32_t		width = wk->width[l];

			/* dW += A_in^T dZ; db += column sums of dZ */
			cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, in_w, width, n,
						1.0f, a_in, in_w, dz, width, 1.0f, tw->g, width);
			for (int32_t i = 0; i < n; i++)
			{
				const float *dzi = dz + (size_t) i * width;

				for (int32_t j = 0; j < width; j++)
					gb[j] += dzi[j];
			}

			if (l > 0)
			{
				size_t		count = (size_t) n * (size_t) in_w;

				/* dA_in = dZ W^T, then through the ReLU of the previous layer */
				cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, in_w, width,
							1.0f, dz, width, tw->w, width, 0.0f, spare, in_w);
				for (size_t j = 0; j < count; j++)
					spare[j] = a_in[j] > 0.0f ? spare[j] : 0.0f;
				dz = spare;
				spare = (dz == wk->grad_a) ? wk->grad_b : wk->grad_a;
			}
			else if (emb_w > 0)
			{
				/* only the embedding columns of X need a gradient */
				cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, emb_w, width,
							1.0f, dz, width, tw->w + (size_t) nn * width, width,
							0.0f, spare, emb_w);
				scatter_embeddings(tower, f, rows, n, spare, emb_w);
			}
		}
	}

	if (with_ids && wk->ids_index >= 0)
	{
		BprTensor  *ids = &tower->tensors[wk->ids_index];

		for (int32_t i = 0; i < n; i++)
			add_grad_row(ids, rows[i], dout + (size_t) i * out_dim, 1.0f);
	}
}

/* Clears all gradients (dense fully, sparse only touched rows) */
void
bpr_tower_zero_grad(BprTower *tower)
{
	if (!tower->training)
		return;
	for (int32_t i = 0; i < tower->n_tensors; i++)
	{
		BprTensor  *t = &tower->tensors[i];

		if (t->sparse)
		{
			for (int32_t j = 0; j < t->n_touched; j++)
			{
				int32_t		row = t->touched[j];

				memset(t->g + (size_t) row * t->cols, 0, (size_t) t->cols * sizeof(float));
				t->mark[row] = 0;
			}
			t->n_touched = 0;
		}
		else
			memset(t->g, 0, (size_t) t->rows * (size_t) t->cols * sizeof(float));
	}
}

/* One Adam step over all tensors (lazy on sparse ones), then clears gradients */
void
bpr_tower_step(BprTower *tower, const BprAdamConfig *cfg, int64_t step)
{
	if (!tower->training)
		return;
	for (int32_t i = 0; i < tower->n_tensors; i++)
	{
		BprTensor  *t = &tower->tensors[i];

		if (t->sparse)
			bpr_adam_rows(t->w, t->g, t->m, t->v, t->cols, t->touched,
						  t->n_touched, cfg, step);
		else
			bpr_adam_dense(t->w, t->g, t->m, t->v,
						   (size_t) t->rows * (size_t) t->cols, cfg, step);
	}
	bpr_tower_zero_grad(tower);
}

/* Index of the tensor with this name, or -1 */
int32_t
bpr_tower_find(const BprTower *tower, const char *name)
{
	for (int32_t i = 0; i < tower->n_tensors; i++)
		if (strcmp(tower->tensors[i].name, name) == 0)
			return i;
	return -1;
}

/* Copies all parameter values of src into dst (same spec) */
void
bpr_tower_copy_params(BprTower *dst, const BprTower *src)
{
	for (int32_t i = 0; i < dst->n_tensors && i < src->n_tensors; i++)
		memcpy(dst->tensors[i].w, src->tensors[i].w,
			   (size_t) dst->tensors[i].rows * (size_t) dst->tensors[i].cols * sizeof(float));
}
