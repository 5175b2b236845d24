/*
 * progress.h - progress of running trainings, visible to every session
 *
 * With bpr in shared_preload_libraries, a training publishes its phase,
 * epoch, loss, validation metric, speed and an ETA in a slot of shared
 * memory, read by the view bpr.training_progress (a pg_cron job has no client
 * to receive NOTICEs).  Without the preload there are no slots: the view is
 * empty and the NOTICEs remain.
 */
#ifndef BPR_PROGRESS_H
#define BPR_PROGRESS_H

#include "postgres.h"

/* Shared memory this module needs (from the shmem request hook) */
Size		bpr_progress_shmem_size(void);

/* Creates or attaches the slots (from the shmem startup hook) */
void		bpr_progress_shmem_init(void);

/* Takes a slot for a training of model; it is freed when context is reset or deleted */
void		bpr_progress_start(const char *model, int32 epochs, MemoryContext context);

/* The training's phase: "waiting", "reading", "encoding", "training", "storing" */
void		bpr_progress_phase(const char *phase);

/* The training's position: epoch (1-based, done or running), epochs planned, figures so far */
void		bpr_progress_report(int32 epoch, int32 epochs, double loss, double validation,
								double triplets_per_second, double eta_seconds);

#endif
