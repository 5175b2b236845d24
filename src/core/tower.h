/*
 * tower.h - one tower of the two-tower model: features (+ ids) -> embedding
 *
 * Input: standardised numeric columns, then one embedding of width field_dim
 * per categorical field (own table per field) and per multi-hot field (mean of
 * the bag's rows), concatenated.  Hidden Dense+ReLU layers, then a Dense layer
 * to out_dim with a linear or softmax output.  With ids, a per-entity id
 * embedding of width out_dim is added to the output (LightFM-style hybrid).
 * A tower without features is the id embedding alone.
 *
 * Batched forward/backward use cblas_sgemm.  The parameters (values and Adam
 * moments) live in the tower and are shared; activations and gradients live in
 * work areas (BprTowerWork), one per thread, so several threads can run passes
 * over one tower at once.  Embedding tables are "sparse" tensors: a work area
 * keeps their gradients only for the rows its passes touched (rowgrad.h), so
 * an Adam step costs what the batch touched (lazy Adam).
 */
#ifndef BPR_TOWER_H
#define BPR_TOWER_H

#include "adam.h"
#include "alloc.h"
#include "feature_matrix.h"
#include "rng.h"
#include "rowgrad.h"

/* Largest number of hidden layers a tower may have */
#define BPR_MAX_LAYERS 8

typedef enum BprOutputKind
{
	BPR_OUTPUT_LINEAR = 0,
	BPR_OUTPUT_SOFTMAX = 1
} BprOutputKind;

/* Shape of a tower; enough to rebuild it from stored tensors */
typedef struct BprTowerSpec
{
	int32_t		n_numeric;
	int32_t		n_cat;
	int32_t		cat_card[BPR_MAX_FIELDS];	/* per categorical field, code 0 = missing */
	int32_t		n_multi;
	int32_t		multi_card[BPR_MAX_FIELDS];
	int32_t		field_dim;		/* width of each field embedding */
	int32_t		n_hidden;
	int32_t		hidden[BPR_MAX_LAYERS];
	int32_t		out_dim;
	BprOutputKind output;
	int32_t		n_ids;			/* rows of the id embedding; 0 = no ids */
	float		id_init;		/* id rows start uniform in [-id_init, id_init] */
} BprTowerSpec;

/* One parameter tensor, row-major rows x cols */
typedef struct BprTensor
{
	char		name[32];		/* "cat0", "multi2", "dense0.w", "dense0.b", "ids" */
	int32_t		rows;
	int32_t		cols;
	bool		sparse;			/* embedding table: rows updated lazily */
	float	   *w;				/* values */
	float	   *m;				/* Adam first moment (training only) */
	float	   *v;				/* Adam second moment (training only) */
	size_t		dense_offset;	/* dense: where its gradient starts in a work area's dense block */
} BprTensor;

/* Activations and gradients of one thread's passes through a tower (tower_pass.c) */
typedef struct BprTowerWork BprTowerWork;

typedef struct BprTower
{
	BprTowerSpec spec;
	bool		training;		/* Adam moments allocated */
	int32_t		max_batch;		/* rows of one bpr_tower_forward call */
	int32_t		in_dim;			/* width of the concatenated input; 0 = no features */
	int32_t		n_tensors;
	BprTensor  *tensors;
	/* derived from the spec */
	int32_t		n_layers;		/* dense layers: n_hidden + 1, or 0 without features */
	int32_t		width[BPR_MAX_LAYERS + 1];	/* output width of each dense layer */
	int32_t		max_width;		/* widest of in_dim and the layer widths */
	int32_t		dense_first;	/* index of "dense0.w" */
	int32_t		ids_index;		/* index of "ids", or -1 */
	size_t		dense_count;	/* values of all dense tensors together */
	BprTowerWork *work;			/* forward-only work area of bpr_tower_forward */
} BprTower;

/* Validates a spec; returns NULL if fine, else a static message */
const char *bpr_tower_spec_check(const BprTowerSpec *spec);

/* Bytes bpr_tower_create will allocate (for memory limits); 0 on overflow */
size_t		bpr_tower_bytes(const BprTowerSpec *spec, int32_t max_batch, bool training);

/* Creates a tower with zeroed parameters; training adds gradients and Adam state */
BprTower   *bpr_tower_create(const BprTowerSpec *spec, int32_t max_batch,
							 bool training, const BprAlloc *alloc);

/* Keras-like init: field embeddings U(-0.05, 0.05), glorot-uniform kernels, zero biases, ids U(-id_init, id_init) */
void		bpr_tower_init(BprTower *tower, BprRng *rng);

/* Forward pass for n <= max_batch entity rows in the tower's own work area; out is n x out_dim */
void		bpr_tower_forward(BprTower *tower, const BprFeatures *f,
							  const int32_t *rows, int32_t n, bool with_ids,
							  float *out);

/*
 * Bytes bpr_tower_work_create allocates; 0 on overflow.  f is the side's
 * features (its multi-hot bags bound the rows a pass touches; may be NULL).
 */
size_t		bpr_tower_work_bytes(const BprTowerSpec *spec, const BprFeatures *f,
								 int32_t max_batch, int32_t grad_rows);

/*
 * A work area for passes of at most max_batch rows.  grad_rows > 0 adds
 * gradients for backward passes over at most grad_rows rows in all between
 * two clears; 0 makes a forward-only area.
 */
BprTowerWork *bpr_tower_work_create(const BprTower *tower, const BprFeatures *f,
									int32_t max_batch, int32_t grad_rows,
									const BprAlloc *alloc);

/* Forward pass of n <= the work's max_batch rows; reads the tower, writes only the work and out */
void		bpr_tower_forward_with(const BprTower *tower, BprTowerWork *work,
								   const BprFeatures *f, const int32_t *rows,
								   int32_t n, bool with_ids, float *out);

/*
 * Adam moments a work area keeps of its own for some rows of the tower's id
 * table: a row with slot[row] >= 0 keeps its moments in row slot[row] of m
 * and v (cols floats each).  Adam steps from that work alone
 * (bpr_tower_update_part with one work, bpr_tower_step) read and write them
 * instead of the tower's.  Lock-free training threads keep the most popular
 * items' moments so: the cache lines of those rows' moments stay in one core
 * instead of moving between cores at every step.
 */
typedef struct BprOwnMoments
{
	const int32_t *slot;		/* per id row: its row of m and v, or -1 */
	float	   *m;
	float	   *v;
} BprOwnMoments;

/* Gives a work area its own moments (copied; the arrays stay the caller's) */
void		bpr_tower_work_own_moments(BprTowerWork *work, const BprOwnMoments *own);

/* A work area's own moments of a tensor's rows, or NULL (not the id table, or none) */
const BprOwnMoments *bpr_tower_own_moments(const BprTower *tower, const BprTowerWork *work,
										   int32_t tensor);

/* The Adam moments of a row of t: own's (from bpr_tower_own_moments, or NULL) or t's */
static inline void
bpr_row_moments(const BprTensor *t, const BprOwnMoments *own, int32_t row, float **m, float **v)
{
	size_t		off;

	if (own != NULL && own->slot[row] >= 0)
	{
		off = (size_t) own->slot[row] * (size_t) t->cols;
		*m = own->m + off;
		*v = own->v + off;
		return;
	}
	off = (size_t) row * (size_t) t->cols;
	*m = t->m + off;
	*v = t->v + off;
}

/* Fetches, with write intent, the Adam moments of these rows' id embeddings (work's own, if it has) */
void		bpr_tower_prefetch_moments(const BprTower *tower, const BprTowerWork *work,
									   const int32_t *rows, int32_t n);

/* Asks for the cache lines a forward pass over these rows will read first (id rows, feature rows) */
void		bpr_tower_prefetch(const BprTower *tower, const BprFeatures *f,
							   const int32_t *rows, int32_t n);

/* Backward pass of the work's last forward (same rows); accumulates into the work's gradients */
void		bpr_tower_backward(const BprTower *tower, BprTowerWork *work,
							   const BprFeatures *f, const int32_t *rows, int32_t n,
							   bool with_ids, const float *dout);

/* Clears a work area's gradients (dense fully, sparse only the rows it holds) */
void		bpr_tower_zero_grad(BprTowerWork *work);

/* Gradient of a tensor row in a work area: NULL for a sparse row not touched since the last clear */
const float *bpr_tower_grad_row(const BprTower *tower, const BprTowerWork *work,
								int32_t tensor, int32_t row);

/* Rows of a sparse tensor touched since the last clear (first-touch order) */
int32_t		bpr_tower_touched(const BprTowerWork *work, int32_t tensor, const int32_t **rows);

/* One Adam step from one work area's gradients (lazy on sparse tensors), then clears them */
void		bpr_tower_step(BprTower *tower, BprTowerWork *work, const BprAdamConfig *cfg,
						   int64_t step);

/* A work area's compact gradient of a sparse tensor, or NULL (dense tensor, no gradients) */
const BprRowGrad *bpr_tower_row_grad(const BprTowerWork *work, int32_t tensor);

/* A work area's block of dense gradients (tensor i at its dense_offset), or NULL */
const float *bpr_tower_dense_grad(const BprTowerWork *work);

/* Most work areas one step may sum (one per training thread) */
#define BPR_MAX_WORKS 64

/* Dense values bpr_tower_update_part sums per block when several works contribute */
#define BPR_UPDATE_BLOCK 512

/*
 * Floats of scratch bpr_tower_update_part needs for n_works work areas made
 * with these features and grad_rows (as bpr_tower_work_create takes them)
 */
size_t		bpr_tower_update_scratch(const BprTowerSpec *spec, const BprFeatures *f,
									 int32_t grad_rows, int32_t n_works);

/*
 * Part `part` of n_parts of one Adam step whose gradient is the sum of the
 * works' gradients (added in work order).  The parts split the parameters:
 * dense values by range, an embedding row goes with a work that touched it
 * (work row % n_works if it did, else the first; work j to part j % n_parts),
 * so n_parts threads can each run one part at once.  n_works <=
 * BPR_MAX_WORKS.  Gradients are not cleared.
 */
void		bpr_tower_update_part(BprTower *tower, BprTowerWork *const *works,
								  int32_t n_works, int32_t part, int32_t n_parts,
								  const BprAdamStep *st, float *scratch);

/* Index of the tensor with this name, or -1 */
int32_t		bpr_tower_find(const BprTower *tower, const char *name);

/* Copies all parameter values of src into dst (same spec) */
void		bpr_tower_copy_params(BprTower *dst, const BprTower *src);

#endif
