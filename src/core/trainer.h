/*
 * trainer.h - the BPR training loop over two towers
 *
 * Data (interactions, encoded features) and all memory come from the caller;
 * the loop calls back once per batch (interrupts) and once per epoch
 * (progress, validation, early stopping).  Vectors handed out for storage and
 * serving are vec_dim = dim + bias wide on both sides: a user vector ends with
 * a constant 1 and an item vector with its bias, so score = plain dot product.
 */
#ifndef BPR_TRAINER_H
#define BPR_TRAINER_H

#include "adam.h"
#include "alloc.h"
#include "feature_matrix.h"
#include "rng.h"
#include "sampler.h"
#include "tower.h"

typedef struct BprTrainConfig
{
	int32_t		dim;			/* embedding width */
	int32_t		field_dim;		/* width of each field embedding */
	int32_t		n_user_hidden;
	int32_t		user_hidden[BPR_MAX_LAYERS];
	int32_t		n_item_hidden;
	int32_t		item_hidden[BPR_MAX_LAYERS];
	BprOutputKind output;
	bool		use_ids;		/* id embeddings on top of the features */
	bool		bias;			/* an item bias column */
	float		id_init;		/* id embeddings start in [-id_init, id_init] */
	BprSamplerConfig sampler;
	bool		uniform_users;	/* draw a user, then a positive (the notebook) */
	int32_t		epochs;
	int64_t		epoch_triplets; /* triplets per epoch; 0 = one per positive */
	int32_t		batch_size;
	float		learning_rate;
	float		final_lr_ratio; /* linear decay to lr * ratio at the end; 1 = constant */
	float		l2;				/* on tower outputs of the batch */
	uint64_t	seed;
} BprTrainConfig;

/* What one epoch did, for progress lines and the training log */
typedef struct BprEpochReport
{
	int32_t		epoch;			/* 1-based */
	double		loss;			/* mean BPR loss over the epoch */
	double		reg;			/* mean L2 term */
	int64_t		triplets;		/* triplets this epoch */
	double		seconds;		/* this epoch */
} BprEpochReport;

typedef struct BprTrainHooks
{
	/* once per batch; may not return (e.g. a query cancel) */
	void		(*batch_done) (void *arg);
	/* once per epoch; returns false to stop training */
	bool		(*epoch_done) (void *arg, const BprEpochReport *report);
	/* wall clock in seconds */
	double		(*now) (void *arg);
	/* between chunks of other long work (vectors of all items); may not return; may be NULL */
	void		(*interrupt) (void *arg);
	void	   *arg;
} BprTrainHooks;

typedef struct BprTrainer
{
	BprTrainConfig cfg;
	const BprInteractions *data;
	const BprFeatures *user_features;	/* NULL or featureless: ids only */
	const BprFeatures *item_features;
	BprTower   *user;
	BprTower   *item;
	BprTower   *best_user;		/* snapshot of the best epoch, if saved */
	BprTower   *best_item;
	int32_t		best_epoch;
	int32_t		vec_dim;		/* dim + bias */
	BprSampler	sampler;
	BprRng		rng;
	int64_t		n_pairs;		/* trainable (user, positive) pairs */
	int64_t    *pairs;			/* positions into data->pos */
	int32_t    *pair_user;		/* user of each position of data->pos */
	int32_t		n_ok_users;
	int32_t    *ok_users;		/* users with a positive and a possible negative */
	int64_t		skipped_positives;	/* positives of users without negatives */
	float	   *item_cache;		/* n_items x item out dim: item vectors for MODEL hard negatives */
	/* batch buffers */
	int32_t    *b_user;
	int32_t    *b_items;		/* positives then negatives */
	float	   *u_out;
	float	   *i_out;
	float	   *du;
	float	   *di;
	int32_t    *chunk_rows;		/* 0..2 * batch_size - 1, for vectors of all entities */
	const BprTrainHooks *hooks; /* of the last bpr_trainer_run (NULL before) */
	int64_t		step;
	int64_t		triplets_seen;
	int32_t		epochs_run;
	double		final_loss;
	const BprAlloc *alloc;
} BprTrainer;

/* Checks a configuration; NULL if fine, else a static message */
const char *bpr_train_config_check(const BprTrainConfig *cfg);

/* Builds the tower specs the configuration implies for these features */
void		bpr_trainer_specs(const BprTrainConfig *cfg, const BprInteractions *data,
							  const BprFeatures *user_features,
							  const BprFeatures *item_features,
							  BprTowerSpec *user_spec, BprTowerSpec *item_spec);

/* Bytes bpr_trainer_create will allocate; 0 on overflow */
size_t		bpr_trainer_bytes(const BprTrainConfig *cfg, const BprInteractions *data,
							  const BprFeatures *user_features,
							  const BprFeatures *item_features);

/* Allocates towers, sampler and buffers and initialises the weights from the seed */
BprTrainer *bpr_trainer_create(const BprTrainConfig *cfg, const BprInteractions *data,
							   const BprFeatures *user_features,
							   const BprFeatures *item_features,
							   const BprAlloc *alloc);

/* Runs the epochs; returns the number of epochs run */
int32_t		bpr_trainer_run(BprTrainer *t, const BprTrainHooks *hooks);

/* Saves the current weights as the best so far (early stopping) */
void		bpr_trainer_save_best(BprTrainer *t, int32_t epoch);

/* Puts the saved best weights back, if any */
void		bpr_trainer_restore_best(BprTrainer *t);

/* Writes every user's vector (n_users x vec_dim, ending in 1 with bias) */
void		bpr_trainer_user_vectors(BprTrainer *t, float *out);

/* Writes every item's vector (n_items x vec_dim, ending in the bias) */
void		bpr_trainer_item_vectors(BprTrainer *t, float *out);

#endif
