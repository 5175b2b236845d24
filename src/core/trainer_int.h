/*
 * trainer_int.h - what trainer.c and trainer_step.c share: threads' state and the step schedule
 *
 * Training is a fixed sequence of steps, the same for every thread:
 *
 *   for each epoch, for each batch:
 *     REFRESH blocks  (MODEL hard negatives, every ~n_items triplets: the
 *                      item vectors candidates are scored against)
 *     GRADS chunks    (each thread runs its share of the batch through the
 *                      towers, a chunk at a time, summing gradients)
 *     UPDATE          (each thread applies its part of the Adam step, from
 *                      the sum of all threads' gradients)
 *
 * Threads meet at a barrier whenever the kind of step changes.  Lock-free
 * threads (cfg.lock_free) instead run GRADS and UPDATE of whole batches,
 * each the batches it takes as it gets free (skipping the others'), and meet
 * only before and after an epoch's first REFRESH (later ones each thread
 * runs its share of when it gets there).  A cursor names a step; every thread
 * advances its own copy identically, and a round of work is the next so many
 * steps (never past the end of an epoch).  Where rounds start and end
 * changes nothing in the result of synchronous threads.
 */
#ifndef BPR_TRAINER_INT_H
#define BPR_TRAINER_INT_H

#include "trainer.h"

/* Most triplets one thread passes through the towers at once */
#define TRAIN_CHUNK_MAX 256

/*
 * Fewest triplets of a batch worth giving a thread: every batch ends with two
 * barriers and each thread reading the others' dense gradients and updated
 * weights (a few hundred cache lines), which costs about what 10-20 triplets
 * do; and a thread that the OS preempts stalls the others at the barrier.
 */
#define TRAIN_SHARE_MIN 32

/*
 * Most liked items whose Adam moments each lock-free thread keeps its own of
 * (bpr_tower_work_own_moments): ~2 MiB a thread at 64 dimensions.  With
 * popularity skewed as ratings are, these items take most of the updates, and
 * two threads writing the same moments stall each other at every step.
 */
#define TRAIN_OWN_MOMENT_ROWS 4096

typedef enum TrainStepKind
{
	STEP_REFRESH = 0,
	STEP_GRADS = 1,
	STEP_UPDATE = 2,
	STEP_END = 3				/* end of the epoch: not a step */
} TrainStepKind;

/* A position in the step sequence */
typedef struct TrainCursor
{
	TrainStepKind kind;
	int32_t		epoch;			/* 1-based */
	int64_t		batch;			/* batch of the epoch */
	int64_t		index;			/* REFRESH: item block; GRADS: chunk */
	int64_t		since_refresh;	/* triplets since the item vectors were refreshed */
	int64_t		step;			/* Adam steps taken before this batch's */
} TrainCursor;

/* Fixed quantities of a run */
typedef struct TrainPlan
{
	int64_t		per_epoch;		/* triplets per epoch */
	int64_t		batches;		/* batches per epoch */
	double		total_steps;	/* batches of the whole run, for the learning-rate decay */
	int64_t		refresh_every;	/* MODEL: triplets between item-vector refreshes */
	int64_t		refresh_block;	/* items per REFRESH step */
	int64_t		first_step;		/* t->step when the run began */
} TrainPlan;

/* One training thread's private state */
struct BprTrainShard
{
	BprRng		rng;			/* its own stream: seed, jumped index + 1 times */
	BprTowerWork *uw;			/* activations (chunk rows) and gradients (shard rows) */
	BprTowerWork *iw;			/* the same for items: positives then negatives */
	int32_t    *b_user;			/* chunk */
	int32_t    *b_items;		/* 2 x chunk: positives, then negatives */
	float	   *u_out;			/* chunk x dim */
	float	   *du;
	float	   *i_out;			/* 2 x chunk x vec_dim */
	float	   *di;
	float	   *scratch;		/* for summing gradients in UPDATE */
	float	   *own_m;			/* lock-free: own moments of popular items (t->own_slot), or NULL */
	float	   *own_v;
	BprSampleSlot *candidates;	/* chunk: the sampler's scratch */
	int64_t    *pair_at;		/* chunk: epoch pairs, then positions in data->pos */
	double		loss;			/* sums over this epoch's triplets */
	double		reg;
	int64_t		trained;		/* triplets this thread passed through the towers, ever */
	int64_t		updates;		/* lock-free: Adam steps this thread applied, ever */
};

/* Bytes of the shards bpr_trainer_create allocates (added to *total); false on overflow */
bool		bpr_shards_bytes(const BprTrainConfig *cfg, const BprTowerSpec *us,
							 const BprTowerSpec *is, const BprFeatures *uf,
							 const BprFeatures *itf, size_t *total);

/* Allocates and seeds the threads' state */
void		bpr_shards_create(BprTrainer *t, const BprAlloc *alloc);

/* Triplets in batch b of an epoch */
int64_t		bpr_batch_len(const TrainPlan *plan, const BprTrainConfig *cfg, int64_t b);

/* The cursor at the first step of an epoch */
void		bpr_step_cursor_epoch(const BprTrainer *t, const TrainPlan *plan, TrainCursor *c,
							 int32_t epoch, int64_t step);

/* Moves a cursor to the next step */
void		bpr_step_cursor_next(const BprTrainer *t, const TrainPlan *plan, TrainCursor *c);

/* Runs one step for thread `member` of the trainer's threads */
void		bpr_step_run(BprTrainer *t, const TrainPlan *plan, const TrainCursor *c,
						 int32_t member);

/* Forwards rows [first, first + n) of a side for thread `member`, writing n x out_dim into out */
void		bpr_step_forward_rows(BprTrainer *t, bool users, int32_t member,
								  int32_t first, int32_t n, float *out);

#endif
