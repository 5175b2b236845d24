/*
 * store.h - the model tables: names and owners, registry, encodings, parameters, vectors
 *
 * All access goes through SPI with bound parameters; callers are connected to
 * SPI with search_path pinned.  Training writes a new version inside the
 * caller's transaction and flips the active flag last, so other sessions see
 * the old version until commit and an error leaves nothing.  store.c holds the
 * registry (names, owners, versions, activation, retention); store_data.c the
 * bulk data of a version (encodings, parameters, vectors, the training log).
 */
#ifndef BPR_STORE_H
#define BPR_STORE_H

#include "postgres.h"

#include "utils/timestamp.h"

#include "core/keyset.h"
#include "core/tower.h"
#include "encode.h"
#include "keys.h"

/* Registry facts a scorer needs about one model version */
typedef struct BprModelInfo
{
	char	   *model;
	int32		version;
	int32		revision;		/* bumped by fold-in */
	TimestampTz created;
	bool		active;
	bool		committed;		/* the row was not written by this transaction */
	Oid			owner;
	Oid			ratings;
	Oid			users;			/* InvalidOid: none (or dropped) */
	Oid			items;
	char	   *user_column;
	char	   *item_column;
	char	   *rating_column;	/* NULL: implicit feedback */
	char	   *weight_column;
	Oid			user_key_type;	/* int8, text or uuid */
	Oid			item_key_type;
	double		positive_threshold;
	double		negative_threshold;
	int32		vec_dim;		/* stored vector width */
	bool		calibrated;		/* a users' score offset column (users: offset_u, items: 1) */
	float		cold_offset;	/* offset of a user with no ratings */
	bool		item_offsets;	/* the last column holds the items' score offsets (items: q_i;
								 * users: 1 when scored cold, from features, else 0) */
	int32		dim;
	int32		field_dim;
	BprOutputKind output;
	bool		bias;
	bool		use_ids;
	int32		n_user_hidden;
	int32		user_hidden[BPR_MAX_LAYERS];
	int32		n_item_hidden;
	int32		item_hidden[BPR_MAX_LAYERS];
	char	   *hyperparameters;	/* the registry's JSON, as text */
} BprModelInfo;

/*
 * Vector layout: [embedding (dim) | item bias (items: b_i, users: 1) | users'
 * offset (users: offset_u, items: 1) | items' offset (items: q_i, users: c_u)],
 * the last three present with bias, calibrated and item_offsets.
 */

/* Column of the users' score offset, or -1 without one */
static inline int32
bpr_offset_column(const BprModelInfo *info)
{
	return info->calibrated ? info->dim + (info->bias ? 1 : 0) : -1;
}

/* Column of the items' score offset, or -1 without one */
static inline int32
bpr_item_offset_column(const BprModelInfo *info)
{
	return info->item_offsets ? info->vec_dim - 1 : -1;
}

/* Everything a training writes in a version's registry row */
typedef struct BprModelRow
{
	const char *model;
	int32		version;
	Oid			ratings;
	Oid			users;
	Oid			items;
	const char *user_column;
	const char *item_column;
	const char *rating_column;
	const char *weight_column;
	Oid			user_key_type;
	Oid			item_key_type;
	int32		vec_dim;
	const char *hyperparameters_json;
	const char *data_json;
	int32		epochs;
	int64		triplets;
	double		final_loss;
	double		seconds;
	double		wait_seconds;
	const char *metrics_json;	/* NULL: none */
} BprModelRow;

/* One epoch's line of the training log */
typedef struct BprLogEntry
{
	int32		epoch;
	double		loss;
	double		seconds;
	char	   *metrics_json;	/* NULL or a JSON object */
} BprLogEntry;

/* Owner of a model name, or InvalidOid when the name is unknown (no lock taken) */
Oid			bpr_store_owner(const char *model);

/* ERROR 42501 unless the caller may manage the model (owner, member of it, superuser) */
void		bpr_store_check_owner(const char *model, Oid owner, const char *action);

/* ERROR 42501 unless the caller holds every privilege a training needs on bpr's tables */
void		bpr_store_check_write_privileges(void);

/* ERROR 42501 unless the caller may read the registry and vectors (serving) */
void		bpr_store_check_read_privileges(bool features);

/* Serialises trainings of one model name until the transaction ends (40001 under REPEATABLE READ) */
void		bpr_store_lock_model(const char *model);

/* Issues the model's next version number (never reused), owning a new name; locks its registry rows */
int32		bpr_store_next_version(const char *model);

/* Inserts the registry row of a new, not yet active, version */
void		bpr_store_insert_model(const BprModelRow *row);

/* Makes version the only active version of model */
void		bpr_store_activate(const char *model, int32 version);

/* Records the deployment policy and outcome of a version */
void		bpr_store_set_deployment(const char *model, int32 version, const char *json);

/* Drops the oldest inactive versions beyond keep (the active and the new one stay); returns how many */
int32		bpr_store_retain(const char *model, int32 keep, int32 new_version);

/* Bumps a version's revision (fold-in changed its vectors); returns the new revision */
int32		bpr_store_bump_revision(const char *model, int32 version);

/* Resolves a model name (NULL: bpr.model, or the only model) in mcxt; ERROR if none */
char	   *bpr_store_resolve_model(const char *model, MemoryContext mcxt);

/* Reads a version's registry facts (version 0: the active one); false if there is none */
bool		bpr_store_model_info(const char *model, int32 version, BprModelInfo *info,
								 MemoryContext mcxt);

/* Writes a tower's feature encoding */
void		bpr_store_encoding(const char *model, int32 version, const char *tower,
							   const BprEncoding *enc);

/* Writes a tower's parameters (all but the id embedding) in row chunks */
void		bpr_store_parameters(const char *model, int32 version, const char *tower,
								 const BprTower *t);

/*
 * Writes n vectors of width dim for the keys at positions first..first+n-1 of
 * keys; ids of text keys are row numbers from first_id on.  cold marks items
 * without interactions; fingerprints (users, may be NULL) their ratings' hash.
 */
void		bpr_store_vectors(const char *model, int32 version, const char *side,
							  const BprKeySet *keys, int32 first, int32 n, int64 first_id,
							  const float *vectors, int32 dim, bool cold,
							  const uint64 *fingerprints);

/* Replaces the vector (and fingerprint) of one stored entity; false if it has none */
bool		bpr_store_update_vector(const char *model, int32 version, const char *side,
									const BprKey *key, const float *vector, int32 dim,
									uint64 fingerprint);

/* Writes the per-epoch training log */
void		bpr_store_log(const char *model, int32 version, const BprLogEntry *log, int32 n);

/* Reads a tower's feature encoding (relid and key set by the caller) */
void		bpr_store_load_encoding(const BprModelInfo *info, const char *tower,
									BprEncoding *enc, MemoryContext mcxt);

/* The feature tower (no ids) a version's stored encoding implies; false if it cannot be built */
bool		bpr_store_tower_spec(const BprModelInfo *info, const BprEncoding *enc, bool user_side,
								 BprTowerSpec *spec);

/* Reads a tower's parameters into a tower built for the encoding; false if none stored */
bool		bpr_store_load_parameters(const BprModelInfo *info, const char *tower,
									  BprTower *t);

/* Counts a side's stored vectors and the bytes of their text keys */
int64		bpr_store_count_vectors(const BprModelInfo *info, const char *side,
									int64 *key_bytes);

/* A side of a model as arrays the caller provides room for (counts from bpr_store_count_vectors) */
typedef struct BprSideArrays
{
	int64	   *ints;			/* integer keys, or NULL */
	uint64	   *offsets;		/* text keys: n + 1 offsets, or NULL */
	char	   *bytes;
	float	   *vectors;		/* n x vec_dim */
	uint8	   *cold;
	uint64	   *fingerprints;	/* may be NULL */
} BprSideArrays;

/* Reads every vector of a side in key order into the arrays; returns the count read */
int64		bpr_store_read_vectors(const BprModelInfo *info, const char *side, int64 n,
								   BprSideArrays *out);

/* Reads one entity's stored vector (and fingerprint); false if it has none */
bool		bpr_store_read_vector(const BprModelInfo *info, const char *side, const BprKey *key,
								  float *vector, uint64 *fingerprint);

#endif
