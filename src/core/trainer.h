/*
 * trainer.h - the BPR training loop over two towers, on one or more threads
 *
 * Data (interactions, encoded features) and all memory come from the caller;
 * bpr_trainer_create allocates everything up front through the caller's
 * BprAlloc, and bpr_trainer_bytes says beforehand how much that is.  Vectors
 * handed out for storage and serving are vec_dim = dim + bias wide on both
 * sides: a user vector ends with a constant 1 and an item vector with its
 * bias, so score = plain dot product.
 *
 * Threads (cfg.threads > 1) work in rounds of a few tens of milliseconds:
 * each round creates its helper threads (every signal blocked) and joins them
 * before returning, and the hooks are called only between rounds, on the
 * calling thread, when no helper exists.  A hook may therefore longjmp out
 * (e.g. a query cancel) and the caller may free all of the trainer's memory.
 * The caller must have made OpenBLAS single-threaded
 * (openblas_set_num_threads(1)): every training thread calls cblas_sgemm on
 * its own small matrices, and the core never changes BLAS threading itself.
 *
 * The hook contract:
 *   progress    after every round (a few tens of ms of work), on the calling
 *               thread; returns false to stop training at once (the current
 *               epoch is left unfinished and not reported); may be NULL
 *   epoch_done  once after every epoch; returns false to stop training
 *   now         wall clock in seconds (epoch times, round sizing)
 *   interrupt   between rounds of training and of whole-catalog passes (the
 *               vectors of all users or items), at least every ~50 ms of
 *               work; may not return; may be NULL
 */
#ifndef BPR_TRAINER_H
#define BPR_TRAINER_H

#include "adam.h"
#include "alloc.h"
#include "feature_matrix.h"
#include "parallel.h"
#include "rng.h"
#include "sampler.h"
#include "tower.h"
#include "weighted.h"

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
	/*
	 * Training threads, 1 .. BPR_MAX_THREADS; at most batch_size / 32 are
	 * used (smaller shares of a batch cost more to coordinate than they save;
	 * the `threads` field of BprTrainer says how many are).  Synchronous
	 * (lock_free false): every batch is
	 * split among them and its gradient summed before one Adam step, so more
	 * threads train the same model (same batch size, steps and learning
	 * rates) faster.  With a seed, the result is bit-for-bit the same on
	 * every run with the same number of threads used (on one machine and
	 * build: OpenBLAS picks its kernels by CPU).  Runs with different numbers
	 * of threads draw different, equally random samples and add gradients in
	 * another order: their loss curves agree within sampling noise.
	 */
	int32_t		threads;
	/*
	 * With threads > 1: each thread trains whole batches (the next one not
	 * taken, whenever it gets free) and applies its Adam step to the shared
	 * weights at once, without locks or barriers (Hogwild!-style; threads
	 * meet only around an epoch's first refresh of the item vectors for
	 * MODEL hard negatives; each refreshes its share of later ones as it
	 * gets there).  With an item id table, each thread keeps its own Adam
	 * moments for its 4,096 most liked rows.  Same batch size, number of
	 * steps and learning rates as one thread, but a step may read rows
	 * another thread is writing: faster, and not reproducible run to run.
	 * Each thread's gradients hold a whole batch (bpr_trainer_bytes counts
	 * them and the own moments).  With one thread it changes nothing.
	 */
	bool		lock_free;
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

/* Where the epoch in progress stands, after a round of work */
typedef struct BprProgress
{
	int32_t		epoch;			/* 1-based */
	int32_t		epochs;
	int64_t		done;			/* triplets of this epoch trained so far */
	int64_t		triplets;		/* triplets of this epoch in all */
	double		loss;			/* mean BPR loss of this epoch so far (0 before any) */
} BprProgress;

/* Callbacks, always on the calling thread with no helper thread alive (see above) */
typedef struct BprTrainHooks
{
	/* after every round of work; returns false to stop training now; may be NULL */
	bool		(*progress) (void *arg, const BprProgress *progress);
	/* once per epoch; returns false to stop training */
	bool		(*epoch_done) (void *arg, const BprEpochReport *report);
	/* wall clock in seconds */
	double		(*now) (void *arg);
	/* at least every ~50 ms of work; may not return (e.g. a query cancel); may be NULL */
	void		(*interrupt) (void *arg);
	void	   *arg;
} BprTrainHooks;

/* One training thread's private state (trainer_step.c) */
typedef struct BprTrainShard BprTrainShard;

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
	BprRng		rng;			/* initial weights and epoch orders */
	int64_t		n_pairs;		/* trainable (user, positive) pairs */
	int32_t		n_ok_users;
	int32_t    *ok_users;		/* users with a positive and a possible negative */
	int64_t		skipped_positives;	/* positives of users without negatives */
	int64_t    *pair_start;		/* n_users + 1: trainable pairs before each user */
	int32_t    *pair_bucket;	/* user holding trainable pair b << bucket_shift */
	int32_t		bucket_shift;
	BprPermutation order;		/* this epoch's order of the pairs (unweighted) */
	BprAlias	pair_alias;		/* weighted, by pairs: pairs drawn in proportion to weight (n = 0: unweighted) */
	double	   *pos_cum;		/* weighted, uniform users: each user's cumulative weights (NULL: unweighted) */
	BprQuantVectors *item_cache;	/* MODEL hard negatives: the item vectors, 8-bit (NULL otherwise) */
	/* threads */
	int32_t		threads;		/* members of a round: cfg.threads, at most batch_size / 32 */
	int32_t		shard_max;		/* most triplets of a batch one thread trains */
	int32_t		chunk;			/* most triplets a thread passes through the towers at once */
	BprTrainShard **shards;		/* one per thread, each on its own cache lines */
	int32_t    *own_slot;		/* lock-free: per item, its row of the own moments, or -1 (or NULL) */
	BprTowerWork **user_works;	/* the shards' work areas, for summing gradients */
	BprTowerWork **item_works;
	int32_t		round_steps;	/* steps per training round (adapts to 25-100 ms) */
	int32_t		pass_steps;		/* blocks per round of whole-catalog passes */
	const BprTrainHooks *hooks; /* of the last bpr_trainer_run (NULL before) */
	int64_t		step;			/* Adam steps taken */
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

/* Runs the epochs; returns the number of epochs run (complete ones) */
int32_t		bpr_trainer_run(BprTrainer *t, const BprTrainHooks *hooks);

/* Saves the current weights as the best so far (early stopping) */
void		bpr_trainer_save_best(BprTrainer *t, int32_t epoch);

/* Puts the saved best weights back, if any */
void		bpr_trainer_restore_best(BprTrainer *t);

/* Writes every user's vector (n_users x vec_dim, ending in 1 with bias); uses the threads */
void		bpr_trainer_user_vectors(BprTrainer *t, float *out);

/* Writes every item's vector (n_items x vec_dim, ending in the bias); uses the threads */
void		bpr_trainer_item_vectors(BprTrainer *t, float *out);

#endif
