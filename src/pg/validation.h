/*
 * validation.h - per-epoch validation of a training on a held-out table
 */
#ifndef BPR_VALIDATION_H
#define BPR_VALIDATION_H

#include "postgres.h"

#include "core/evaluation.h"
#include "core/trainer.h"
#include "dataset.h"
#include "train_args.h"

/* A validation set in the training set's index space */
typedef struct BprValidation
{
	int32		k;
	int32		eligible_users; /* users the metrics count (a liked row not trained on) */
	bool		sampled;		/* each run ranks a sample of bpr.validation_users of them */
	BprEvalInput input;
	float	   *user_vecs;
	float	   *item_vecs;
	float	   *offsets;		/* NULL: no calibration */
	const BprInteractions *train;
	BprPgAlloc	scratch;		/* each run's scratch, charged to the training's budget */
} BprValidation;

/* Reads a validation table with the training's column mapping; scratch goes in scratch_cxt */
BprValidation *bpr_validation_prepare(Oid relid, const BprTrainArgs *args,
									  const BprDataset *ds, BprPgAlloc *alloc,
									  MemoryContext scratch_cxt);

/* Evaluates the trainer's current weights on the validation set */
void		bpr_validation_run(BprValidation *v, BprTrainer *t, BprMetricsResult *res);

/* Metrics of a validation run as a JSON object (seconds: the validation's time) */
char	   *bpr_metrics_json(const BprMetricsResult *r, const BprValidation *v, int32 epoch,
							 double seconds);

#endif
