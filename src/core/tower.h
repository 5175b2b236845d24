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
 * Batched forward/backward use cblas_sgemm.  Embedding tables are "sparse"
 * tensors: their gradients are kept only for the rows a batch touched, so an
 * Adam step costs what the batch touched (lazy Adam).
 */
#ifndef BPR_TOWER_H
#define BPR_TOWER_H

#include "adam.h"
#include "alloc.h"
#include "feature_matrix.h"
#include "rng.h"

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
	float	   *g;				/* gradient (training only) */
	float	   *m;				/* Adam first moment (training only) */
	float	   *v;				/* Adam second moment (training only) */
	int32_t    *touched;		/* sparse: rows with a gradient this step */
	int32_t		n_touched;
	uint8_t    *mark;			/* sparse: 1 when the row is in touched */
} BprTensor;

typedef struct BprTower
{
	BprTowerSpec spec;
	bool		training;
	int32_t		max_batch;
	int32_t		in_dim;			/* width of the concatenated input; 0 = no features */
	int32_t		n_tensors;
	BprTensor  *tensors;
	void	   *work;			/* private activations and scratch */
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

/* Forward pass for n <= max_batch entity rows; out is n x out_dim */
void		bpr_tower_forward(BprTower *tower, const BprFeatures *f,
							  const int32_t *rows, int32_t n, bool with_ids,
							  float *out);

/* Backward pass of the last forward (same rows); accumulates parameter gradients */
void		bpr_tower_backward(BprTower *tower, const BprFeatures *f,
							   const int32_t *rows, int32_t n, bool with_ids,
							   const float *dout);

/* Clears all gradients (dense fully, sparse only touched rows) */
void		bpr_tower_zero_grad(BprTower *tower);

/* One Adam step over all tensors (lazy on sparse ones), then clears gradients */
void		bpr_tower_step(BprTower *tower, const BprAdamConfig *cfg, int64_t step);

/* Index of the tensor with this name, or -1 */
int32_t		bpr_tower_find(const BprTower *tower, const char *name);

/* Copies all parameter values of src into dst (same spec) */
void		bpr_tower_copy_params(BprTower *dst, const BprTower *src);

#endif
