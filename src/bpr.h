/*
 * bpr.h - shared pieces of bpr's PostgreSQL layer: GUCs, memory, clocks
 */
#ifndef BPR_H
#define BPR_H

#include "postgres.h"

#include "core.h"

/* GUC variables */
extern char *bpr_default_model;
extern int	bpr_max_memory_kb;
extern bool bpr_progress;

/* A BprAlloc over a memory context that enforces a byte budget */
typedef struct BprPgAlloc
{
	BprAlloc	base;
	MemoryContext context;
	Size		used;
	Size		limit;			/* 0 = no limit */
} BprPgAlloc;

/* Prepares an allocator in context, limited by bpr.max_memory (or maintenance_work_mem) */
void		bpr_pg_alloc_init(BprPgAlloc *a, MemoryContext context);

/* Allocates n zeroed elements of size from a, checked against overflow and the budget */
void	   *bpr_pg_alloc(BprPgAlloc *a, size_t n, size_t size, const char *what);

/* Pins search_path to pg_catalog, pg_temp for the SQL bpr runs; returns the level to restore */
int			bpr_pin_search_path(void);

/* Restores search_path as it was before bpr_pin_search_path returned level */
void		bpr_unpin_search_path(int level);

/* Seconds since an arbitrary epoch, monotonic */
double		bpr_now(void);

#endif
