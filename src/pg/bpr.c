/*
 * bpr.c - module entry: the library's magic block and _PG_init
 *
 * Each subsystem registers what it needs here, and nothing else lives here.
 */
#include "postgres.h"

#include "fmgr.h"
#include "miscadmin.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"

#include "guc.h"
#include "model_cache.h"
#include "progress.h"
#include "shared_store.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

/* Requests the shared memory of the shared copies and of training progress */
static void
bpr_shmem_request(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	RequestAddinShmemSpace(add_size(bpr_shared_shmem_size(), bpr_progress_shmem_size()));
	RequestNamedLWLockTranche("bpr", 2);
}

/* Creates or attaches bpr's shared memory */
static void
bpr_shmem_startup(void)
{
	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();
	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	bpr_shared_shmem_init();
	bpr_progress_shmem_init();
	LWLockRelease(AddinShmemInitLock);
}

/* Registers settings, the serving cache's callbacks and, when preloaded, shared memory */
void
_PG_init(void)
{
	bpr_guc_init();
	bpr_cache_init();
	if (process_shared_preload_libraries_in_progress)
	{
		prev_shmem_request_hook = shmem_request_hook;
		shmem_request_hook = bpr_shmem_request;
		prev_shmem_startup_hook = shmem_startup_hook;
		shmem_startup_hook = bpr_shmem_startup;
	}
}
