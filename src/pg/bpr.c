/*
 * bpr.c - module entry: the library's magic block and _PG_init
 *
 * Each subsystem registers what it needs here, and nothing else lives here.
 */
#include "postgres.h"

#include "fmgr.h"

#include "guc.h"
#include "model_cache.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

/* Registers settings and the serving cache's callbacks */
void
_PG_init(void)
{
	bpr_guc_init();
	bpr_cache_init();
}
