/*
 * model_cache.h - per-backend cache of active models for scoring
 *
 * The active version's vectors are loaded once per backend and kept until the
 * registry changes: a statement trigger on bpr.models sends a relcache
 * invalidation, which every backend sees at its next transaction (and the
 * changing backend at its next command, or at abort).
 */
#ifndef BPR_MODEL_CACHE_H
#define BPR_MODEL_CACHE_H

#include "postgres.h"

#include "executor/spi.h"

#include "core/tower.h"
#include "encode.h"
#include "store.h"

/* One side (users or items) of a cached model */
typedef struct BprCachedSide
{
	int32		n;
	int64	   *ids;			/* sorted */
	float	   *vectors;		/* n x vec_dim */
	bool		tower_loaded;
	BprEncoding encoding;		/* n_fields = 0: no cold start */
	BprTower   *tower;			/* NULL: no cold start */
	SPIPlanPtr	row_plan;		/* fetches one entity's feature row */
} BprCachedSide;

typedef struct BprCachedModel
{
	MemoryContext context;
	BprModelInfo info;
	BprCachedSide users;
	BprCachedSide items;
	SPIPlanPtr	rated_plan;		/* items a user rated in the ratings table */
	struct BprCachedModel *next;
} BprCachedModel;

/* Registers the invalidation and transaction callbacks (from _PG_init) */
void		bpr_cache_init(void);

/* Checks that the installed extension's SQL is this library's version (ERROR 55000 if not); caller is in SPI */
void		bpr_cache_check_schema(void);

/* The cached active version of a model (NULL name: the default model); caller is in SPI */
BprCachedModel *bpr_cache_get(const char *model);

/* The caller is done with the entry bpr_cache_get returned (at transaction end anyway) */
void		bpr_cache_release(void);

/* Vector of an entity: trained, else cold start from its feature row; false if unknown */
bool		bpr_cache_vector(BprCachedModel *m, bool user_side, int64 id, float *out);

#endif
