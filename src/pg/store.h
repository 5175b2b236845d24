/*
 * store.h - the model tables: registry, encodings, parameters, embeddings
 *
 * All access goes through SPI with bound parameters; callers are connected to
 * SPI, and results that must outlive it are allocated in the given context.  Training writes a new
 * version inside the caller's transaction and flips the active flag last, so
 * other sessions see the old version until commit and an error leaves nothing.
 */
#ifndef BPR_STORE_H
#define BPR_STORE_H

#include "postgres.h"

#include "core/tower.h"
#include "encode.h"

/* Registry facts a scorer needs about one model version */
typedef struct BprModelInfo
{
	char	   *model;
	int32		version;
	Oid			ratings;
	Oid			users;			/* InvalidOid: none (or dropped) */
	Oid			items;
	char	   *user_column;
	char	   *item_column;
	char	   *rating_column;	/* NULL: implicit feedback */
	double		positive_threshold;
	int32		vec_dim;		/* stored vector width */
	bool		calibrated;		/* the last column is a user score offset */
	float		cold_offset;	/* offset of a user with no ratings */
	int32		dim;
	int32		field_dim;
	BprOutputKind output;
	bool		bias;
	int32		n_user_hidden;
	int32		user_hidden[BPR_MAX_LAYERS];
	int32		n_item_hidden;
	int32		item_hidden[BPR_MAX_LAYERS];
} BprModelInfo;

/* One epoch's line of the training log */
typedef struct BprLogEntry
{
	int32		epoch;
	double		loss;
	double		seconds;
	char	   *metrics_json;	/* NULL or a JSON object */
} BprLogEntry;

/* Serialises trainings of one model name until the transaction ends (40001 under REPEATABLE READ) */
void		bpr_store_lock_model(const char *model);

/* Locks the model's registry rows and returns its next version number (1 for a new one) */
int32		bpr_store_next_version(const char *model);

/* Inserts the registry row of a new, not yet active, version */
void		bpr_store_insert_model(const char *model, int32 version, Oid ratings, Oid users,
								   Oid items, const char *user_column, const char *item_column,
								   const char *rating_column, int32 vec_dim,
								   const char *hyperparameters_json, const char *data_json,
								   int32 epochs, int64 triplets, double final_loss,
								   double seconds, const char *metrics_json);

/* Writes a tower's feature encoding */
void		bpr_store_encoding(const char *model, int32 version, const char *tower,
							   const BprEncoding *enc);

/* Writes a tower's parameters (all but the id embedding) in row chunks */
void		bpr_store_parameters(const char *model, int32 version, const char *tower,
								 const BprTower *t);

/* Writes n vectors of width dim for the given ids */
void		bpr_store_vectors(const char *model, int32 version, const char *side,
							  const int64 *ids, int32 n, const float *vectors, int32 dim);

/* Writes the per-epoch training log */
void		bpr_store_log(const char *model, int32 version, const BprLogEntry *log, int32 n);

/* Makes version the only active version of model */
void		bpr_store_activate(const char *model, int32 version);

/* Resolves a model name (NULL: bpr.model, or the only model) in mcxt; ERROR if none */
char	   *bpr_store_resolve_model(const char *model, MemoryContext mcxt);

/* Reads the active version's registry facts; false if the model has no active version */
bool		bpr_store_model_info(const char *model, BprModelInfo *info, MemoryContext mcxt);

/* Reads a tower's feature encoding (relid and key set by the caller) */
void		bpr_store_load_encoding(const BprModelInfo *info, const char *tower,
									BprEncoding *enc, MemoryContext mcxt);

/* Reads a tower's parameters into a tower built for the encoding; false if none stored */
bool		bpr_store_load_parameters(const BprModelInfo *info, const char *tower,
									  BprTower *t);

/* Reads all vectors of a side, ordered by id; returns the count */
int32		bpr_store_load_vectors(const BprModelInfo *info, const char *side,
								   int64 **ids, float **vectors, MemoryContext mcxt);

#endif
