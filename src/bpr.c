/*
 * bpr.c - module entry: GUCs, OpenBLAS threads, memory budget helpers
 */
#include "postgres.h"

#include <cblas.h>
#include <pthread.h>
#include <signal.h>
#include <time.h>

#include "fmgr.h"
#include "miscadmin.h"
#include "utils/guc.h"

#include "bpr.h"
#include "model_cache.h"

PG_MODULE_MAGIC;

char	   *bpr_default_model = NULL;
int			bpr_max_memory_kb = -1;
bool		bpr_progress = true;
static int	bpr_blas_threads = 1;

void		_PG_init(void);

/*
 * OpenBLAS's pthread build starts its worker threads when the library loads,
 * with the backend's signal mask.  These internals (weak: other builds of the
 * library still load) let bpr restart the pool with every signal blocked, so
 * that no signal meant for the backend is handled on a BLAS thread.
 */
extern int	blas_thread_init(void) __attribute__((weak));
extern int	blas_thread_shutdown_(void) __attribute__((weak));

/* Sets OpenBLAS's thread count with signals blocked, so new workers inherit a blocked mask */
static void
set_blas_threads(int n, bool restart_pool)
{
	sigset_t	all,
				old;

	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	if (restart_pool && blas_thread_shutdown_ != NULL && blas_thread_init != NULL)
	{
		blas_thread_shutdown_();
		blas_thread_init();
	}
	openblas_set_num_threads(n);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}

/* Applies bpr.blas_threads to OpenBLAS */
static void
assign_blas_threads(int newval, void *extra)
{
	set_blas_threads(newval, false);
}

/* Registers GUCs and sets OpenBLAS to the configured thread count */
void
_PG_init(void)
{
	DefineCustomStringVariable("bpr.model",
							   "Model used by bpr_score and bpr_recommend when none is named.",
							   NULL,
							   &bpr_default_model,
							   NULL,
							   PGC_USERSET,
							   0,
							   NULL, NULL, NULL);
	DefineCustomIntVariable("bpr.max_memory",
							"Memory a training may use; -1 uses maintenance_work_mem.",
							NULL,
							&bpr_max_memory_kb,
							-1, -1, MAX_KILOBYTES,
							PGC_USERSET,
							GUC_UNIT_KB,
							NULL, NULL, NULL);
	DefineCustomBoolVariable("bpr.progress",
							 "Reports each training epoch in a NOTICE.",
							 NULL,
							 &bpr_progress,
							 true,
							 PGC_USERSET,
							 0,
							 NULL, NULL, NULL);
	DefineCustomIntVariable("bpr.blas_threads",
							"Threads OpenBLAS may use in this backend.",
							"Batch-sized products are fastest on one thread.",
							&bpr_blas_threads,
							1, 1, 64,
							PGC_USERSET,
							0,
							NULL, assign_blas_threads, NULL);
	MarkGUCPrefixReserved("bpr");
	set_blas_threads(bpr_blas_threads, true);
	bpr_cache_init();
}

/* palloc in the allocator's context, charged against its budget */
static void *
pg_zalloc(void *ctx, size_t size)
{
	BprPgAlloc *a = (BprPgAlloc *) ctx;

	if (a->limit > 0 && (size > a->limit || a->used > a->limit - size))
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("training needs more memory than bpr.max_memory allows"),
				 errdetail("%zu bytes were in use when %zu more were requested; the limit is %zu bytes.",
						   (size_t) a->used, size, (size_t) a->limit),
				 errhint("Raise bpr.max_memory (or maintenance_work_mem when bpr.max_memory is -1).")));
	a->used += size;
	return MemoryContextAllocExtended(a->context, size, MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
}

/* A size computation overflowed: the request cannot be met */
static void
pg_overflow(void *ctx, const char *what)
{
	ereport(ERROR,
			(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
			 errmsg("training data too large"),
			 errdetail("The size of the %s overflows.", what)));
}

/* Prepares an allocator in context, limited by bpr.max_memory (or maintenance_work_mem) */
void
bpr_pg_alloc_init(BprPgAlloc *a, MemoryContext context)
{
	int			kb = bpr_max_memory_kb >= 0 ? bpr_max_memory_kb : maintenance_work_mem;

	a->base.zalloc = pg_zalloc;
	a->base.overflow = pg_overflow;
	a->base.ctx = a;
	a->context = context;
	a->used = 0;
	a->limit = kb > 0 ? (Size) kb * 1024 : 0;
}

/* Allocates n zeroed elements of size from a, checked against overflow and the budget */
void *
bpr_pg_alloc(BprPgAlloc *a, size_t n, size_t size, const char *what)
{
	return bpr_alloc_array(&a->base, n, size, what);
}

/*
 * Pins search_path to pg_catalog, pg_temp for the SQL bpr runs, so that the
 * caller's schemas cannot supply functions or operators to it (tables are
 * always schema-qualified).  An ERROR restores it with the transaction.
 */
int
bpr_pin_search_path(void)
{
	int			level = NewGUCNestLevel();

	(void) set_config_option("search_path", "pg_catalog, pg_temp", PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	return level;
}

/* Restores search_path as it was before bpr_pin_search_path returned level */
void
bpr_unpin_search_path(int level)
{
	AtEOXact_GUC(true, level);
}

/* Seconds since an arbitrary epoch, monotonic */
double
bpr_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double) ts.tv_sec + (double) ts.tv_nsec * 1e-9;
}
