/*
 * tower.c - one tower of the two-tower model: features (+ ids) -> embedding
 *
 * Tensors, in creation order: "cat<k>" (k < n_cat), "multi<k>" (k < n_multi),
 * then, when the tower has features, "dense<l>.w" and "dense<l>.b" for
 * l = 0..n_hidden (the last is the output layer), then "ids" when n_ids > 0.
 * Hidden layers of a tower without features are ignored.
 *
 * This file holds the parameters: planning, creation, initialisation and
 * copies.  Passes and gradients are in tower_pass.c, Adam steps in
 * tower_update.c.
 */
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
} TowerPlan;

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

/* Plans the tensors of a valid spec */
static void
tower_plan(const BprTowerSpec *spec, TowerPlan *plan)
{
	char		name[32];
	int32_t		prev;

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
}

/* Adds the bytes of one bpr_alloc_aligned call to a total; false on overflow */
static bool
add_aligned(size_t *total, size_t n, size_t size)
{
	size_t		bytes;

	return bpr_size_mul(n, size, &bytes) && bpr_size_add(bytes, BPR_ALIGN_SLACK, &bytes) &&
		bpr_size_add(*total, bytes, total);
}

/* Total bytes create allocates for a plan; 0 on overflow */
static size_t
plan_bytes(const BprTowerSpec *spec, const TowerPlan *plan, int32_t max_batch, bool training)
{
	size_t		total = 0;
	size_t		work = bpr_tower_work_bytes(spec, NULL, max_batch, 0);
	bool		ok = work > 0;

	ok = ok && bpr_array_bytes(&total, 1, sizeof(BprTower));
	ok = ok && bpr_array_bytes(&total, (size_t) plan->n_tensors, sizeof(BprTensor));
	for (int32_t i = 0; ok && i < plan->n_tensors; i++)
	{
		const TensorShape *s = &plan->shapes[i];
		size_t		count = (size_t) s->rows * (size_t) s->cols;

		ok = ok && add_aligned(&total, count, sizeof(float));
		if (training)
		{
			ok = ok && add_aligned(&total, count, sizeof(float));
			ok = ok && add_aligned(&total, count, sizeof(float));
		}
	}
	ok = ok && bpr_size_add(total, work, &total);
	return ok ? total : 0;
}

/* Bytes bpr_tower_create will allocate (for memory limits); 0 on overflow or a bad spec */
size_t
bpr_tower_bytes(const BprTowerSpec *spec, int32_t max_batch, bool training)
{
	TowerPlan	plan;

	if (max_batch < 1 || bpr_tower_spec_check(spec) != NULL)
		return 0;
	tower_plan(spec, &plan);
	return plan_bytes(spec, &plan, max_batch, training);
}

/*
 * Creates a tower with zeroed parameters; training adds the Adam moments.
 * Returns NULL if the spec is invalid or max_batch < 1.
 */
BprTower *
bpr_tower_create(const BprTowerSpec *spec, int32_t max_batch,
				 bool training, const BprAlloc *alloc)
{
	TowerPlan	plan;
	BprTower   *tower;
	size_t		dense = 0;

	if (max_batch < 1 || bpr_tower_spec_check(spec) != NULL)
		return NULL;
	tower_plan(spec, &plan);
	if (plan_bytes(spec, &plan, max_batch, training) == 0)
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
	tower->n_layers = plan.n_layers;
	memcpy(tower->width, plan.width, sizeof(plan.width));
	tower->max_width = plan.max_width;
	tower->dense_first = spec->n_cat + spec->n_multi;
	tower->ids_index = spec->n_ids > 0 ? plan.n_tensors - 1 : -1;
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
		/* on cache-line boundaries: a 64-wide embedding row is then 4 lines, not 5 */
		t->w = bpr_alloc_aligned(alloc, count, sizeof(float), "tower tensor");
		if (training)
		{
			t->m = bpr_alloc_aligned(alloc, count, sizeof(float), "tower adam m");
			t->v = bpr_alloc_aligned(alloc, count, sizeof(float), "tower adam v");
		}
		if (!s->sparse)
		{
			t->dense_offset = dense;
			dense += count;
		}
	}
	tower->dense_count = dense;
	tower->work = bpr_tower_work_create(tower, NULL, max_batch, 0, alloc);
	return tower;
}

/* Keras-like init: field embeddings U(-0.05, 0.05), glorot-uniform kernels, zero biases, ids U(-id_init, id_init) */
void
bpr_tower_init(BprTower *tower, BprRng *rng)
{
	for (int32_t i = 0; i < tower->n_tensors; i++)
	{
		BprTensor  *t = &tower->tensors[i];
		size_t		count = (size_t) t->rows * (size_t) t->cols;
		float		limit;

		if (i == tower->ids_index)
			limit = tower->spec.id_init;
		else if (i < tower->dense_first)
			limit = 0.05f;
		else if ((i - tower->dense_first) % 2 == 0)
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

/* Forward pass for n <= max_batch entity rows in the tower's own work area; out is n x out_dim */
void
bpr_tower_forward(BprTower *tower, const BprFeatures *f,
				  const int32_t *rows, int32_t n, bool with_ids,
				  float *out)
{
	bpr_tower_forward_with(tower, tower->work, f, rows, n, with_ids, out);
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
