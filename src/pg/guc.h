/*
 * guc.h - bpr's settings (bpr.*) and the OpenBLAS thread count they control
 */
#ifndef BPR_GUC_H
#define BPR_GUC_H

#include "postgres.h"

/* bpr.model: the model used when none is named */
extern char *bpr_default_model;

/* bpr.progress: one NOTICE per training epoch */
extern bool bpr_progress;

/* bpr.shared_memory: megabytes of shared copies of models (0: each backend keeps its own) */
extern int	bpr_shared_memory_mb;

/* bpr.keep_versions: versions of a model kept after a training (0: all) */
extern int	bpr_keep_versions;

/* bpr.max_threads: most threads a training may use (a superuser's cap) */
extern int	bpr_max_threads;

/* bpr.threads: threads a training uses when bpr_train names none */
extern int	bpr_threads;

/* bpr.reproducible: several training threads give the same weights every run (synchronous batches) */
extern bool bpr_reproducible;

/* bpr.validation_users: most users of a validation table each epoch ranks (0: all) */
extern int	bpr_validation_users;

/* Registers the settings and applies bpr.blas_threads (from _PG_init) */
void		bpr_guc_init(void);

/* Makes OpenBLAS single-threaded while several training threads call it */
void		bpr_blas_threads_single(void);

/* Applies bpr.blas_threads again after bpr_blas_threads_single */
void		bpr_blas_threads_restore(void);

/* Threads a training uses: the argument (0: bpr.threads, or the machine's cores), capped by bpr.max_threads */
int			bpr_training_threads(int requested);

/*
 * Threads an evaluation of n_items uses: bpr_training_threads(0), fewer when
 * the extra threads' buffers would not fit in budget bytes (0: bpr.max_memory,
 * or maintenance_work_mem)
 */
int			bpr_evaluation_threads(int32 n_items, int32 vec_dim, int32 k, Size budget);

/* Bytes a training may use under bpr.max_memory (or maintenance_work_mem); 0 = no limit */
Size		bpr_memory_limit(void);

#endif
