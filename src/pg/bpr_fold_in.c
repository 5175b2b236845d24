/*
 * bpr_fold_in.c - bpr_fold_in: users' vectors recomputed, and new items added, in place
 *
 * Training is a batch job; between two trainings users rate items and new
 * products arrive.  bpr_fold_in brings the active version up to date without
 * training again.  It recomputes the vectors of the users whose ratings
 * changed since the version was trained (their fingerprints differ) and of
 * users who have ratings but no vector yet, or of the users named, from their
 * ratings as they are now with every item vector frozen (core/foldin.h); and
 * it gives the products of the items table that the version has no vector
 * for a cold vector from their features.  Like a training it writes in the
 * caller's transaction and only for the model's owner; it bumps the version's
 * revision, so every backend serves the new vectors from the commit on.
 *
 * A user vector is [embedding (dim) | 1 (with an item bias) | score offset
 * (calibrated models) | c_u (with the items' offsets)], c_u 1 for a user
 * scored from their features alone, who gets the items' offsets, else 0; a
 * new item's is [embedding | bias | 1 | 0: nobody rated it].  With id
 * embeddings (a hybrid, or a tower without features) fold-in optimises the
 * embedding: for a hybrid it is the features tower's output plus the id
 * embedding, so moving it with the features part fixed moves the id
 * embedding.  Without them (use_ids false, as the notebook preset) a user's
 * vector is a function of their features, and fold-in recomputes it from
 * their feature row.  The offset follows the user's liked share, as
 * calibration fitted it at training; c_u is 0 once the embedding is fitted
 * to the user's ratings (fold_user).
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "tcop/utility.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"

#include "core/calibration.h"
#include "core/foldin.h"
#include "dataset.h"
#include "guc.h"
#include "model_cache.h"
#include "names.h"
#include "ranking.h"
#include "store.h"
#include "util.h"

PG_FUNCTION_INFO_V1(bpr_fold_in);

/* Argument positions of bpr_fold_in, as in sql/bpr.sql */
enum
{
	A_MODEL, A_USERS, A_STEPS
};

/* Adam steps per user when steps is NULL (README: bpr_fold_in) */
#define BPR_FOLD_IN_STEPS 150

/* Most steps a call may ask for */
#define BPR_FOLD_IN_MAX_STEPS 100000

/* New users' vectors written per INSERT batch */
#define NEW_USER_BATCH 1000

/* What fold-in reads from the active version's registry row */
typedef struct FoldModel
{
	int32		version;
	int32		revision;
	BprFoldInConfig cfg;
	BprSamplerConfig sampler;
	uint64		seed;
	bool		have_fit;		/* the offsets' fit was stored at training */
	BprCalibrationFit fit;
	int64		user_fields;	/* user features the version was trained with */
} FoldModel;

/* New users' vectors waiting to be inserted, in key order */
typedef struct NewUsers
{
	BprKeyDict	keys;
	float	   *vectors;		/* NEW_USER_BATCH x vec_dim */
	uint64	   *fingerprints;
	int64		next_id;		/* text keys: the row number of the next one */
	int64		written;
} NewUsers;

/* The state of one call */
typedef struct FoldIn
{
	BprCachedModel *m;
	FoldModel	fm;
	BprPgAlloc	alloc;
	const BprSide *items;
	bool		optimise;		/* the embedding has an id part: optimise it, else recompute it */
	BprDataset	ds;				/* the ratings of the users folded in, as they are now */
	int32	   *item_pos;		/* per item of ds: its position in items, or -1 */
	int32	   *cold_pos;		/* positions of cold items (never negatives), ascending */
	int32		n_cold;
	/* one user's interactions in positions of items, and the sampler over them */
	int64		pos_ptr[2],
				neg_ptr[2],
				rated_ptr[2];
	int32	   *pos,
			   *neg,
			   *rated;
	float	   *pos_weight;		/* per liked item (read with a weight column) */
	BprInteractions one;
	float	   *work;
	float	   *vector;			/* a stored user's vector, folded in place */
	NewUsers	fresh;
	int64		next_item_id;	/* text keys: the row number of the next new item */
	int64		n_users;		/* vectors written */
} FoldIn;

/* The key at position pos of a key set */
static void
key_at(const BprKeySet *keys, int64 pos, BprKey *key)
{
	memset(key, 0, sizeof(*key));
	key->is_int = keys->is_int;
	if (keys->is_int)
		key->ival = keys->ints[pos];
	else
		key->bytes = bpr_keyset_bytes_at(keys, pos, &key->len);
}

/* Steps argument: NULL means the default; ERROR 22023 out of range */
static int32
arg_steps(FunctionCallInfo fcinfo)
{
	int32		steps;

	if (!bpr_arg_given(fcinfo, A_STEPS))
		return BPR_FOLD_IN_STEPS;
	steps = PG_GETARG_INT32(A_STEPS);
	if (steps < 0 || steps > BPR_FOLD_IN_MAX_STEPS)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("steps must be between 0 and %d", BPR_FOLD_IN_MAX_STEPS)));
	return steps;
}

/*
 * Locks the model's versions (activations wait for this transaction; under
 * REPEATABLE READ a version changed since the snapshot is a serialization
 * failure) and reads what fold-in needs of the active one.
 */
static void
lock_active(const char *model, FoldModel *fm)
{
	Oid			types[1] = {TEXTOID};
	Datum		values[1] = {CStringGetTextDatum(model)};
	bool		found = false;

	/* not read-only: a fresh snapshot sees a version committed while this call waited */
	bpr_spi_run("SELECT m.active, m.version, m.revision, "
				"coalesce((m.hyperparameters->>'learning_rate')::float8, 0.002), "
				"coalesce((m.hyperparameters->>'l2')::float8, 0), "
				"coalesce((m.hyperparameters->>'batch_size')::int4, 256), "
				"coalesce((m.hyperparameters->>'seed')::int8, 42), "
				"coalesce(m.hyperparameters->>'negatives', 'unrated'), "
				"coalesce((m.hyperparameters->>'rated_share')::float8, 0), "
				"coalesce(m.hyperparameters->>'hard_negatives', 'none'), "
				"coalesce((m.hyperparameters->>'hard_candidates')::int4, 1), "
				"(m.data->>'offset_spread')::float8, (m.data->>'offset_global_share')::float8, "
				"(SELECT count(*) FROM bpr.features f WHERE f.model = m.model AND f.version = m.version "
				"AND f.tower = 'user') "
				"FROM bpr.models m WHERE m.model = $1 ORDER BY m.version FOR UPDATE OF m",
				1, types, values, NULL, false, SPI_OK_SELECT);
	for (uint64 r = 0; r < SPI_processed && !found; r++)
	{
		HeapTuple	tup = SPI_tuptable->vals[r];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;
		bool		spread_null,
					share_null;
		double		spread,
					share;
		int			negatives,
					hard;

		if (!DatumGetBool(SPI_getbinval(tup, desc, 1, &isnull)))
			continue;
		found = true;
		memset(fm, 0, sizeof(*fm));
		fm->version = DatumGetInt32(SPI_getbinval(tup, desc, 2, &isnull));
		fm->revision = DatumGetInt32(SPI_getbinval(tup, desc, 3, &isnull));
		fm->cfg.learning_rate = (float) DatumGetFloat8(SPI_getbinval(tup, desc, 4, &isnull));
		fm->cfg.l2 = (float) DatumGetFloat8(SPI_getbinval(tup, desc, 5, &isnull));
		fm->cfg.batch_size = DatumGetInt32(SPI_getbinval(tup, desc, 6, &isnull));
		fm->seed = (uint64) DatumGetInt64(SPI_getbinval(tup, desc, 7, &isnull));
		negatives = bpr_lookup_name(bpr_negatives_names,
									TextDatumGetCString(SPI_getbinval(tup, desc, 8, &isnull)));
		fm->sampler.rated_share = (float) DatumGetFloat8(SPI_getbinval(tup, desc, 9, &isnull));
		hard = bpr_lookup_name(bpr_hard_names, TextDatumGetCString(SPI_getbinval(tup, desc, 10, &isnull)));
		fm->sampler.candidates = DatumGetInt32(SPI_getbinval(tup, desc, 11, &isnull));
		spread = DatumGetFloat8(SPI_getbinval(tup, desc, 12, &spread_null));
		share = DatumGetFloat8(SPI_getbinval(tup, desc, 13, &share_null));
		fm->user_fields = DatumGetInt64(SPI_getbinval(tup, desc, 14, &isnull));
		if (negatives < 0 || hard < 0 || (hard == BPR_HARD_MODEL && fm->sampler.candidates < 1) ||
			!(fm->sampler.rated_share >= 0.0f && fm->sampler.rated_share <= 1.0f))
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("model \"%s\" version %d has inconsistent hyperparameters", model,
							fm->version)));
		fm->sampler.negatives = negatives;
		/* feature-similar negatives need the item features, which fold-in does not read */
		fm->sampler.hard = hard == BPR_HARD_MODEL ? BPR_HARD_MODEL : BPR_HARD_NONE;
		fm->have_fit = !spread_null && !share_null;
		fm->fit.spread = spread;
		fm->fit.global_share = share;
	}
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("bpr model \"%s\" does not exist", model)));
	if (!found)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("bpr model \"%s\" has no active version", model),
				 errhint("Activate a version with bpr_activate() first.")));
}

/* The keys as an int8[] or text[] Datum, for a user filter */
static Datum
keys_array(const BprKeySet *keys)
{
	Datum	   *elems = palloc(sizeof(Datum) * Max(keys->n, 1));

	for (int32 i = 0; i < keys->n; i++)
	{
		BprKey		k;

		key_at(keys, i, &k);
		elems[i] = bpr_key_param(&k);
	}
	if (keys->is_int)
		return PointerGetDatum(construct_array(elems, keys->n, INT8OID, 8, FLOAT8PASSBYVAL,
											   TYPALIGN_DOUBLE));
	return PointerGetDatum(construct_array(elems, keys->n, TEXTOID, -1, false, TYPALIGN_INT));
}

/* Reads the ratings of the users (NULL: of everyone) as they are now, and maps their items */
static void
read_ratings(FoldIn *f, const BprKeySet *users)
{
	const BprModelInfo *info = &f->m->info;
	BprRowSource src = {
		.relid = info->ratings, .user_column = info->user_column, .item_column = info->item_column,
		.rating_column = info->rating_column, .weight_column = info->weight_column,
		.positive_threshold = info->positive_threshold, .negative_threshold = info->negative_threshold,
		.user_type = info->user_key_type, .item_type = info->item_key_type,
		.user_keys = users != NULL ? keys_array(users) : (Datum) 0
	};

	if (get_rel_name(info->ratings) == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("the ratings table of model \"%s\" no longer exists", info->model),
				 errdetail("Fold-in recomputes users' vectors from their ratings as they are now."),
				 errhint("Train the model again on an existing table.")));
	bpr_check_row_source(&src);
	bpr_dataset_read(&src, &f->alloc, &f->ds);

	/* both key sets are sorted the same way: positions of the items rated, ascending */
	f->item_pos = bpr_pg_alloc(&f->alloc, Max(f->ds.items.n, 1), sizeof(int32), "item positions");
	for (int32 i = 0; i < f->ds.items.n; i++)
	{
		BprKey		k;

		key_at(&f->ds.items, i, &k);
		f->item_pos[i] = (int32) bpr_key_find(&f->items->keys, &k);
	}
	f->cold_pos = bpr_pg_alloc(&f->alloc, Max(f->items->n_cold, 1), sizeof(int32), "cold items");
	for (int32 i = 0; i < f->items->n; i++)
		if (f->items->cold[i])
			f->cold_pos[f->n_cold++] = i;
}

/* Copies the items of a list that the model has, in positions of items; returns the count */
static int64
map_list(const FoldIn *f, const int32 *list, int64 n, int32 *out)
{
	int64		m = 0;

	for (int64 p = 0; p < n; p++)
		if (f->item_pos[list[p]] >= 0)
			out[m++] = f->item_pos[list[p]];
	return m;
}

/*
 * Sets f->one to the interactions of ds user u in positions of items: liked,
 * disliked, and rated merged with the cold items, so that neither is drawn
 * as a negative.
 */
static void
user_interactions(FoldIn *f, int32 u)
{
	const BprInteractions *d = &f->ds.inter;
	int64		n_rated = d->rated_ptr[u + 1] - d->rated_ptr[u];
	int32	   *rated = palloc(sizeof(int32) * Max(n_rated, 1));
	int64		nr = map_list(f, d->rated + d->rated_ptr[u], n_rated, rated);
	int64		a = 0,
				c = 0,
				m = 0;

	f->pos = repalloc(f->pos, sizeof(int32) * Max(d->pos_ptr[u + 1] - d->pos_ptr[u], 1));
	f->neg = repalloc(f->neg, sizeof(int32) * Max(d->neg_ptr[u + 1] - d->neg_ptr[u], 1));
	f->rated = repalloc(f->rated, sizeof(int32) * Max(nr + f->n_cold, 1));
	f->pos_ptr[1] = map_list(f, d->pos + d->pos_ptr[u], d->pos_ptr[u + 1] - d->pos_ptr[u], f->pos);
	if (d->pos_weight != NULL)
	{
		/* the weights of the liked items map_list kept, in the same order */
		int64		m = 0;

		f->pos_weight = repalloc(f->pos_weight, sizeof(float) * Max(d->pos_ptr[u + 1] - d->pos_ptr[u], 1));
		for (int64 p = d->pos_ptr[u]; p < d->pos_ptr[u + 1]; p++)
			if (f->item_pos[d->pos[p]] >= 0)
				f->pos_weight[m++] = d->pos_weight[p];
	}
	f->neg_ptr[1] = map_list(f, d->neg + d->neg_ptr[u], d->neg_ptr[u + 1] - d->neg_ptr[u], f->neg);
	while (a < nr || c < f->n_cold)
	{
		if (c >= f->n_cold || (a < nr && rated[a] < f->cold_pos[c]))
			f->rated[m++] = rated[a++];
		else
		{
			if (a < nr && rated[a] == f->cold_pos[c])
				a++;
			f->rated[m++] = f->cold_pos[c++];
		}
	}
	f->rated_ptr[1] = m;
	pfree(rated);
	f->one.n_users = 1;
	f->one.n_items = f->items->n;
	f->one.pos_ptr = f->pos_ptr;
	f->one.pos = f->pos;
	f->one.pos_weight = d->pos_weight != NULL ? f->pos_weight : NULL;
	f->one.neg_ptr = f->neg_ptr;
	f->one.neg = f->neg;
	f->one.rated_ptr = f->rated_ptr;
	f->one.rated = f->rated;
}

/* A new user's first vector, a cold user's: from their features when the user tower has any, else zero */
static void
start_vector(FoldIn *f, const BprKey *key, float *v)
{
	const BprModelInfo *info = &f->m->info;

	if (!bpr_cache_features_vector(f->m, true, key, v))
	{
		memset(v, 0, sizeof(float) * info->vec_dim);
		if (info->calibrated)
			v[bpr_offset_column(info)] = info->cold_offset;
		if (info->item_offsets)
			v[bpr_item_offset_column(info)] = 1.0f;
	}
	if (info->bias)
		v[info->dim] = 1.0f;
}

/*
 * Computes the vector of a user (u: their index in ds, or -1 without ratings)
 * into v, which holds the stored vector or, for a new user, nothing yet.
 */
static void
fold_user(FoldIn *f, const BprKey *key, int32 u, bool stored, float *v)
{
	const BprModelInfo *info = &f->m->info;
	const BprInteractions *d = &f->ds.inter;
	int64		liked = u >= 0 ? d->pos_ptr[u + 1] - d->pos_ptr[u] : 0;
	int64		disliked = u >= 0 ? d->neg_ptr[u + 1] - d->neg_ptr[u] : 0;
	float		stored_offset = stored && info->calibrated ? v[bpr_offset_column(info)] : 0.0f;
	float		stored_cold = stored && info->item_offsets ? v[bpr_item_offset_column(info)] : 1.0f;
	bool		fitted = false;

	if (!f->optimise)
	{
		/* no id embeddings: the vector is the user tower's output for their features */
		if (!bpr_cache_features_vector(f->m, true, key, v))
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("cannot recompute the user vectors of model \"%s\" from their features",
							info->model),
					 errdetail("The model has no id embeddings, and its users table or one of its user feature columns is gone.")));
	}
	else
	{
		if (!stored)
			start_vector(f, key, v);
		if (u >= 0 && f->fm.cfg.steps > 0 && liked > 0)
		{
			BprSampler	s;
			BprRng		rng;

			user_interactions(f, u);
			bpr_sampler_init(&s, &f->fm.sampler, &f->one, NULL, &f->alloc.base);
			s.item_vectors = f->items->vectors;
			s.user_dim = info->dim;
			s.item_dim = info->vec_dim;
			/* the same vector whichever users a call folds in with this one */
			bpr_rng_seed(&rng, f->fm.seed ^ bpr_key_hash(key));
			fitted = f->one.pos_ptr[1] > 0 && bpr_sampler_user_ok(&s, 0);
			(void) bpr_fold_in_user(&f->fm.cfg, &s, 0, &rng, v, f->work);
		}
	}
	if (info->bias)
		v[info->dim] = 1.0f;
	/*
	 * The offset follows the user's liked share.  A version trained before
	 * its fit was stored keeps a user's offset, and gives a new one the cold
	 * offset.
	 */
	if (info->calibrated && f->fm.have_fit)
		v[bpr_offset_column(info)] = bpr_calibration_offset(&f->fm.fit, liked, disliked);
	else if (info->calibrated && stored)
		v[bpr_offset_column(info)] = stored_offset;
	/*
	 * The items' offsets are for users scored from their features alone: a
	 * vector fitted to the user's ratings now drops them (0), a stored one
	 * not fitted now keeps its own (0 once trained or fitted), and a new user
	 * whose vector could not be fitted (no liked item the model has, no
	 * negative, steps 0, or a model without id embeddings) gets the cold
	 * user's 1.
	 */
	if (info->item_offsets)
		v[bpr_item_offset_column(info)] = fitted ? 0.0f : stored ? stored_cold : 1.0f;
}

/* Inserts the new users' vectors waiting in f->fresh */
static void
flush_new_users(FoldIn *f)
{
	NewUsers   *nu = &f->fresh;
	BprKeySet	keys;

	if (nu->keys.n == 0)
		return;
	/* users are folded in key order: the dictionary's keys are a sorted set already */
	memset(&keys, 0, sizeof(keys));
	keys.n = nu->keys.n;
	keys.is_int = nu->keys.is_int;
	keys.ints = nu->keys.ints;
	keys.offsets = nu->keys.offsets;
	keys.bytes = nu->keys.bytes;
	Assert(bpr_keyset_is_sorted(&keys));
	bpr_store_vectors(f->m->info.model, f->fm.version, "user", &keys, 0, keys.n, nu->next_id,
					  nu->vectors, f->m->info.vec_dim, false, nu->fingerprints);
	nu->next_id += keys.n;
	nu->written += keys.n;
	bpr_keydict_free(&nu->keys);
	bpr_keydict_init(&nu->keys, keys.is_int, NEW_USER_BATCH, &f->alloc.base);
}

/*
 * Folds one user in and writes the vector (updating the stored one, or
 * queueing a new user's): u is the user's index in ds, -1 when they have no
 * ratings now.  False, with nothing written, for a user with neither ratings
 * nor a vector.
 */
static bool
fold_and_write(FoldIn *f, const BprKey *key, int32 u)
{
	const BprModelInfo *info = &f->m->info;
	uint64		fingerprint = u >= 0 ? f->ds.fingerprints[u] : 0;
	NewUsers   *nu = &f->fresh;
	bool		stored;

	CHECK_FOR_INTERRUPTS();
	/* an inner connection: what SPI and its arguments allocate for a user goes with it */
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	stored = bpr_store_read_vector(info, "user", key, f->vector, NULL);
	if (stored)
	{
		fold_user(f, key, u, true, f->vector);
		(void) bpr_store_update_vector(info->model, f->fm.version, "user", key, f->vector,
									   info->vec_dim, fingerprint);
	}
	else if (u >= 0)
	{
		int32		i = nu->keys.n;

		(void) bpr_key_dict_lookup(&nu->keys, key, true);
		fold_user(f, key, u, false, nu->vectors + (size_t) i * info->vec_dim);
		nu->fingerprints[i] = fingerprint;
		if (nu->keys.n == NEW_USER_BATCH)
			flush_new_users(f);
	}
	SPI_finish();
	if (stored || u >= 0)
		f->n_users++;
	return stored || u >= 0;
}

/* The row numbers after the last stored user and item (the ids of new text keys) */
static void
next_row_ids(FoldIn *f)
{
	Oid			types[2] = {TEXTOID, INT4OID};
	Datum		values[2] = {CStringGetTextDatum(f->m->info.model), Int32GetDatum(f->fm.version)};
	bool		isnull;

	bpr_spi_run("SELECT coalesce(max(id) FILTER (WHERE side = 'user') + 1, 0), "
				"coalesce(max(id) FILTER (WHERE side = 'item') + 1, 0) "
				"FROM bpr.embeddings WHERE model = $1 AND version = $2",
				2, types, values, NULL, true, SPI_OK_SELECT);
	f->fresh.next_id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	f->next_item_id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
}

/* The users named in the users argument, sorted, each once */
static void
given_users(FoldIn *f, FunctionCallInfo fcinfo, BprKeySet *users)
{
	BprKey	   *keys;
	int32		n = bpr_key_array_arg(fcinfo, A_USERS, f->m->info.user_key_type, "users",
									  f->m->info.model, &keys);
	BprKeyDict	dict;
	int32	   *perm;

	bpr_keydict_init(&dict, bpr_key_type_is_int(f->m->info.user_key_type), PG_INT32_MAX / 2,
					 &f->alloc.base);
	for (int32 i = 0; i < n; i++)
		(void) bpr_key_dict_lookup(&dict, &keys[i], true);
	perm = bpr_pg_alloc(&f->alloc, Max(dict.n, 1), sizeof(int32), "users");
	bpr_keydict_sort(&dict, users, perm);
}

/* Folds in the users named: those with ratings now or a stored vector */
static void
fold_given(FoldIn *f, const BprKeySet *users)
{
	int64		skipped = 0;

	read_ratings(f, users);
	for (int32 i = 0; i < users->n; i++)
	{
		BprKey		key;

		key_at(users, i, &key);
		if (!fold_and_write(f, &key, (int32) bpr_key_find(&f->ds.users, &key)))
			skipped++;
	}
	if (skipped > 0)
		ereport(NOTICE,
				(errmsg(INT64_FORMAT " of the users named have no ratings and no vector in model \"%s\": left out",
						skipped, f->m->info.model),
				 errdetail("Serving scores such users from their features, if they have a row in the users table.")));
}

/*
 * Folds in every user whose ratings changed since their vector was computed
 * (the fingerprints differ), with users who have ratings but no vector, and
 * users whose ratings are all gone.
 */
static void
fold_changed(FoldIn *f)
{
	const BprModelInfo *info = &f->m->info;
	Oid			types[2] = {TEXTOID, INT4OID};
	Datum		values[2] = {CStringGetTextDatum(info->model), Int32GetDatum(f->fm.version)};
	int64		key_bytes;
	int64		n = bpr_store_count_vectors(info, "user", &key_bytes);
	BprKeyDict	stored;
	uint64	   *prints = bpr_pg_alloc(&f->alloc, Max(n, 1), sizeof(uint64), "fingerprints");
	uint8	   *seen = bpr_pg_alloc(&f->alloc, Max(n, 1), 1, "fingerprints");
	BprCursor	cursor;

	/* the stored users' fingerprints, by key */
	bpr_keydict_init(&stored, bpr_key_type_is_int(info->user_key_type), PG_INT32_MAX / 2,
					 &f->alloc.base);
	bpr_cursor_open(&cursor, "SELECT id, key, fingerprint FROM bpr.embeddings "
					"WHERE model = $1 AND version = $2 AND side = 'user'", 2, types, values);
	while (bpr_cursor_next(&cursor))
	{
		for (uint64 r = 0; r < cursor.batch->numvals; r++)
		{
			HeapTuple	tup = cursor.batch->vals[r];
			TupleDesc	desc = cursor.batch->tupdesc;
			bool		isnull;
			Datum		fp = SPI_getbinval(tup, desc, 3, &isnull);
			BprKey		key;
			int32		idx;

			memset(&key, 0, sizeof(key));
			key.is_int = stored.is_int;
			if (key.is_int)
				key.ival = DatumGetInt64(SPI_getbinval(tup, desc, 1, &isnull));
			else
			{
				text	   *t = DatumGetTextPP(SPI_getbinval(tup, desc, 2, &isnull));

				if (isnull)
					continue;
				key.bytes = VARDATA_ANY(t);
				key.len = VARSIZE_ANY_EXHDR(t);
			}
			idx = bpr_key_dict_lookup(&stored, &key, true);
			if (idx >= n)
				ereport(ERROR,
						(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
						 errmsg("the vectors of model \"%s\" version %d changed while they were read",
								info->model, f->fm.version)));
			prints[idx] = isnull ? 0 : (uint64) DatumGetInt64(fp);
		}
	}

	read_ratings(f, NULL);
	/* users with ratings: new ones, and those whose ratings changed */
	for (int32 u = 0; u < f->ds.users.n; u++)
	{
		BprKey		key;
		int32		idx;

		key_at(&f->ds.users, u, &key);
		idx = bpr_key_dict_lookup(&stored, &key, false);
		if (idx >= 0)
			seen[idx] = 1;
		if (idx < 0 || prints[idx] != f->ds.fingerprints[u])
			(void) fold_and_write(f, &key, u);
	}
	/* users whose ratings are all gone */
	for (int32 idx = 0; idx < stored.n; idx++)
	{
		BprKey		key;

		if (seen[idx] || prints[idx] == 0)
			continue;
		memset(&key, 0, sizeof(key));
		key.is_int = stored.is_int;
		if (key.is_int)
			key.ival = stored.ints[idx];
		else
		{
			key.bytes = stored.bytes + stored.offsets[idx];
			key.len = (size_t) (stored.offsets[idx + 1] - stored.offsets[idx]);
		}
		(void) fold_and_write(f, &key, -1);
	}
}

/*
 * Gives the products of the items table that the version has no vector for
 * a cold vector from their features, as training gives its cold items;
 * returns how many.
 */
static int64
add_new_items(FoldIn *f)
{
	const BprModelInfo *info = &f->m->info;
	const BprEncoding *enc;
	BprTower   *tower = bpr_cache_cold_tower(f->m, false, &enc);
	BprKeyDict	keys;
	BprKeySet	sorted;
	BprFeatures feats;
	int32	   *perm;
	float	   *vecs;

	if (tower == NULL)
		return 0;
	bpr_keydict_init(&keys, f->items->keys.is_int, PG_INT32_MAX / 2, &f->alloc.base);
	bpr_encoding_encode_rows(enc, &f->items->keys, &keys, &f->alloc, &feats);
	if (keys.n == 0)
		return 0;
	/* rows come in key order: the dictionary's order is the sorted one */
	perm = bpr_pg_alloc(&f->alloc, keys.n, sizeof(int32), "new items");
	bpr_keydict_sort(&keys, &sorted, perm);
	vecs = bpr_pg_alloc(&f->alloc, (size_t) keys.n, sizeof(float) * info->vec_dim, "new items");
	for (int32 r = 0; r < keys.n; r++)
	{
		float	   *v = vecs + (size_t) r * info->vec_dim;

		if ((r & 1023) == 0)
			CHECK_FOR_INTERRUPTS();
		/* the tower's output (the embedding and the bias), 1 in the users' offset column, no offset of its own */
		bpr_tower_forward(tower, &feats, &r, 1, false, v);
		if (info->calibrated)
			v[bpr_offset_column(info)] = 1.0f;
		if (info->item_offsets)
			v[bpr_item_offset_column(info)] = 0.0f;
	}
	bpr_store_vectors(info->model, f->fm.version, "item", &sorted, 0, sorted.n,
					  f->next_item_id, vecs, info->vec_dim, true, NULL);
	return sorted.n;
}

/* Prepares a call's state once the model is pinned: checks, the item side, scratch */
static void
fold_prepare(FoldIn *f, int32 steps)
{
	const BprModelInfo *info = &f->m->info;
	const char *problem;

	f->fm.cfg.dim = info->dim;
	f->fm.cfg.steps = steps;
	problem = bpr_fold_in_config_check(&f->fm.cfg);
	if (problem != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("model \"%s\" version %d has inconsistent hyperparameters", info->model,
						f->fm.version),
				 errdetail("Fold-in needs: %s.", problem)));
	f->optimise = info->use_ids || f->fm.user_fields == 0;
	f->items = bpr_cache_side(f->m, false);
	f->work = palloc(sizeof(float) * bpr_fold_in_work_floats(&f->fm.cfg));
	f->vector = palloc(sizeof(float) * info->vec_dim);
	f->pos = palloc(sizeof(int32));
	f->pos_weight = palloc(sizeof(float));
	f->neg = palloc(sizeof(int32));
	f->rated = palloc(sizeof(int32));
	bpr_keydict_init(&f->fresh.keys, bpr_key_type_is_int(info->user_key_type), NEW_USER_BATCH,
					 &f->alloc.base);
	f->fresh.vectors = bpr_pg_alloc(&f->alloc, NEW_USER_BATCH, sizeof(float) * info->vec_dim,
									"new users");
	f->fresh.fingerprints = bpr_pg_alloc(&f->alloc, NEW_USER_BATCH, sizeof(uint64), "new users");
	next_row_ids(f);
}

/* Recomputes users' vectors and adds new items in the active version of a model */
Datum
bpr_fold_in(PG_FUNCTION_ARGS)
{
	MemoryContext caller = CurrentMemoryContext;
	MemoryContext fold_cxt;
	TupleDesc	tupdesc;
	FoldIn	   *f;
	char	   *model;
	int32		steps;
	int64		n_items = 0;
	double		start = bpr_now();
	int			level;
	Datum		values[6];
	bool		nulls[6] = {false};
	HeapTuple	tuple;

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	tupdesc = BlessTupleDesc(tupdesc);
	if (PG_ARGISNULL(A_MODEL))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("model must not be NULL")));
	model = text_to_cstring(PG_GETARG_TEXT_PP(A_MODEL));
	steps = arg_steps(fcinfo);
	PreventCommandIfReadOnly("bpr_fold_in()");

	fold_cxt = AllocSetContextCreate(CurrentMemoryContext, "bpr fold-in", ALLOCSET_DEFAULT_SIZES);
	f = MemoryContextAllocZero(fold_cxt, sizeof(FoldIn));
	bpr_pg_alloc_init(&f->alloc, fold_cxt, bpr_memory_limit());
	level = bpr_pin_search_path();
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");

	/* every check before any lock is taken, so a role that may not fold in makes nobody wait */
	bpr_cache_check_schema();
	bpr_store_check_write_privileges();
	bpr_store_check_owner(model, bpr_store_owner(model), "fold in");
	bpr_store_lock_model(model);
	lock_active(model, &f->fm);

	/*
	 * Read the model as the lock found it, with what another fold-in or a
	 * training committed while this call waited (under REPEATABLE READ,
	 * lock_active has failed with 40001 instead); the serving cache learns of
	 * it too.
	 */
	AcceptInvalidationMessages();
	PushActiveSnapshot(GetTransactionSnapshot());
	PG_TRY();
	{
		f->m = bpr_cache_get(model, 0);
		if (f->m->info.version != f->fm.version || f->m->info.revision != f->fm.revision)
			ereport(ERROR,
					(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
					 errmsg("model \"%s\" changed while bpr_fold_in waited for it", model),
					 errhint("Run bpr_fold_in again.")));
		fold_prepare(f, steps);
		if (bpr_arg_given(fcinfo, A_USERS))
		{
			BprKeySet	users;

			given_users(f, fcinfo, &users);
			fold_given(f, &users);
		}
		else
		{
			fold_changed(f);
			n_items = add_new_items(f);
		}
		flush_new_users(f);
		if (f->n_users > 0 || n_items > 0)
			f->fm.revision = bpr_store_bump_revision(model, f->fm.version);
	}
	PG_FINALLY();
	{
		bpr_cache_release(f->m);
	}
	PG_END_TRY();
	PopActiveSnapshot();
	SPI_finish();
	bpr_unpin_search_path(level);

	MemoryContextSwitchTo(caller);
	values[0] = Int32GetDatum(f->fm.version);
	values[1] = Int64GetDatum(f->n_users);
	values[2] = Int64GetDatum(f->fresh.written);
	values[3] = Int64GetDatum(n_items);
	values[4] = Float8GetDatum(bpr_now() - start);
	values[5] = Int32GetDatum(f->fm.revision);
	tuple = heap_form_tuple(tupdesc, values, nulls);
	MemoryContextDelete(fold_cxt);
	PG_RETURN_DATUM(HeapTupleGetDatum(tuple));
}
