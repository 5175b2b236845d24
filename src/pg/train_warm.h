/*
 * train_warm.h - bpr_train(warm_start => true): a training started from the
 * model's active version
 *
 * Before the first epoch, the new towers take over what still means the same
 * in the active version: each feature embedding row of a category that is
 * still in the vocabulary, the dense layers when the tower's input layout and
 * shape are unchanged, and, where the towers have id embeddings, every known
 * user's and item's vector (its id row is set so that the tower reproduces
 * the stored vector).  New users, items and categories start fresh.
 */
#ifndef BPR_TRAIN_WARM_H
#define BPR_TRAIN_WARM_H

#include "postgres.h"

#include "core/trainer.h"
#include "dataset.h"
#include "encode.h"
#include "util.h"

/* What a warm start carried over */
typedef struct BprWarmReport
{
	int32		version;		/* the version started from; 0: none (a fresh start) */
	int32		users;			/* users whose vectors carried over */
	int32		items;
	int32		tensors;		/* feature embedding and dense tensors carried over, in whole or part */
	int32		n_tensors;		/* tensors of the new towers but the id tables */
} BprWarmReport;

/*
 * Starts the trainer's towers from the active version of model (read with
 * the caller's SPI connection; memory from alloc's budget, given back after).
 * Without an active version it says so in a NOTICE and leaves the fresh start.
 */
void		bpr_warm_start(const char *model, const BprDataset *ds, const BprEncoding *uenc,
						   const BprEncoding *ienc, BprTrainer *t, BprPgAlloc *alloc,
						   BprWarmReport *report);

/* The report as a JSON object */
char	   *bpr_warm_report_json(const BprWarmReport *report);

#endif
