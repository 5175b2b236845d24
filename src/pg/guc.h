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

/* Registers the settings and applies bpr.blas_threads (from _PG_init) */
void		bpr_guc_init(void);

/* Bytes a training may use under bpr.max_memory (or maintenance_work_mem); 0 = no limit */
Size		bpr_memory_limit(void);

#endif
