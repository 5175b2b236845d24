/*
 * guc.c - bpr's settings (bpr.*) and the OpenBLAS thread count they control
 */
#include "postgres.h"

#include <cblas.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include "miscadmin.h"
#include "utils/guc.h"

#include "guc.h"
#include "core/evaluation.h"
#include "core/parallel.h"

char	   *bpr_default_model = NULL;
bool		bpr_progress = true;
int			bpr_shared_memory_mb = 1024;
int			bpr_keep_versions = 5;
int			bpr_max_threads = 8;
int			bpr_threads = 0;
bool		bpr_reproducible = false;
int			bpr_validation_users = 10000;
static int	bpr_max_memory_kb = -1;
static int	bpr_blas_threads = 1;

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

/* Makes OpenBLAS single-threaded while several training threads call it (nothing when it is) */
void
bpr_blas_threads_single(void)
{
	if (bpr_blas_threads > 1)
		set_blas_threads(1, false);
}

/* Applies bpr.blas_threads again after bpr_blas_threads_single */
void
bpr_blas_threads_restore(void)
{
	if (bpr_blas_threads > 1)
		set_blas_threads(bpr_blas_threads, false);
}

/* Registers the settings and applies bpr.blas_threads (from _PG_init) */
void
bpr_guc_init(void)
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
							"Only superusers may change it: it protects the server.",
							&bpr_max_memory_kb,
							-1, -1, MAX_KILOBYTES,
							PGC_SUSET,
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
							"Batch-sized products are fastest on one thread; only superusers may raise it.",
							&bpr_blas_threads,
							1, 1, 64,
							PGC_SUSET,
							0,
							NULL, assign_blas_threads, NULL);
	DefineCustomIntVariable("bpr.shared_memory",
							"Shared memory for one copy per server of active models' vectors; 0 keeps a copy per backend.",
							"Needs bpr in shared_preload_libraries.",
							&bpr_shared_memory_mb,
							1024, 0, INT_MAX / 2,
							PGC_SIGHUP,
							GUC_UNIT_MB,
							NULL, NULL, NULL);
	DefineCustomIntVariable("bpr.keep_versions",
							"Versions of a model kept after a training (the active and the new one always are); 0 keeps all.",
							NULL,
							&bpr_keep_versions,
							5, 0, 100000,
							PGC_USERSET,
							0,
							NULL, NULL, NULL);
	DefineCustomIntVariable("bpr.max_threads",
							"Most threads a training may use.",
							"Only superusers may change it: it protects the server.",
							&bpr_max_threads,
							8, 1, BPR_MAX_THREADS,
							PGC_SUSET,
							0,
							NULL, NULL, NULL);
	DefineCustomIntVariable("bpr.threads",
							"Threads a training uses when bpr_train names none; 0 uses the machine's cores.",
							"Capped by bpr.max_threads.",
							&bpr_threads,
							0, 0, BPR_MAX_THREADS,
							PGC_USERSET,
							0,
							NULL, NULL, NULL);
	DefineCustomBoolVariable("bpr.reproducible",
							 "Makes a training on several threads give the same weights on every run with the same seed and threads.",
							 "Off: each thread trains whole batches and updates the shared weights without waiting for the others (faster).",
							 &bpr_reproducible,
							 false,
							 PGC_USERSET,
							 0,
							 NULL, NULL, NULL);
	DefineCustomIntVariable("bpr.validation_users",
							"Most users of the validation table each training epoch ranks, a seeded sample; 0 ranks all.",
							"bpr_evaluate and activate => 'if_better' always rank every user.",
							&bpr_validation_users,
							10000, 0, INT_MAX,
							PGC_USERSET,
							0,
							NULL, NULL, NULL);
	MarkGUCPrefixReserved("bpr");
	set_blas_threads(bpr_blas_threads, true);
}

/* Threads a training uses: the argument (0: bpr.threads, or the machine's cores), capped by bpr.max_threads */
int
bpr_training_threads(int requested)
{
	int			n = requested > 0 ? requested : bpr_threads;

	if (n <= 0)
	{
		long		cores = sysconf(_SC_NPROCESSORS_ONLN);

		n = cores > 0 ? (int) Min(cores, BPR_MAX_THREADS) : 1;
	}
	return Min(n, bpr_max_threads);
}

/* Threads an evaluation uses: as a training's, fewer when their buffers would pass the budget */
int
bpr_evaluation_threads(int32 n_items, int32 vec_dim, int32 k, Size budget)
{
	int			n = bpr_training_threads(0);
	size_t		per_thread = bpr_evaluate_thread_bytes(n_items, vec_dim, k);

	if (budget == 0)
		budget = bpr_memory_limit();
	if (per_thread == 0)
		return 1;
	if (budget > 0)
		n = (int) Min((Size) n, Max((Size) 1, budget / per_thread));
	return n;
}

/* Bytes a training may use under bpr.max_memory (or maintenance_work_mem); 0 = no limit */
Size
bpr_memory_limit(void)
{
	int			kb = bpr_max_memory_kb >= 0 ? bpr_max_memory_kb : maintenance_work_mem;

	return kb > 0 ? (Size) kb * 1024 : 0;
}
