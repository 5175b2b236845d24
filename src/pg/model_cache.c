/*
 * model_cache.c - the serving cache: entries, invalidation, cold start, rated items
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "storage/proc.h"
#include "utils/builtins.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"

#include "core/vecmath.h"
#include "guc.h"
#include "model_cache.h"
#include "util.h"

static BprCachedModel *cached_models = NULL;
static char *cached_default = NULL;
static Oid	models_relid = InvalidOid;

/* the registry changed: drop everything at the next lookup that no caller is using */
static bool cache_stale = false;

/*
 * An invalidation arrived during this transaction: what the transaction
 * reloads may still be read with a snapshot from before the change, so the
 * cache is dropped once more when the transaction ends.
 */
static bool stale_this_xact = false;

/* callers between bpr_cache_get and bpr_cache_release */
static int	cache_pins = 0;

/* the installed extension's version matched the library's since the last invalidation */
static bool schema_checked = false;

/*
 * The model tables are Citus reference tables: writes go to shards and no
 * trigger fires on bpr.models, so each statement checks its models' active
 * version in its own snapshot instead of waiting for an invalidation.
 */
static bool citus_mode = false;

/* Citus: the statement that last resolved the default model */
static LocalTransactionId default_lxid = InvalidLocalTransactionId;
static TimestampTz default_statement = 0;

PG_FUNCTION_INFO_V1(bpr_models_changed);

/* Marks the cache stale; freed at the next lookup (never while in use) */
static void
invalidate_callback(Datum arg, Oid relid)
{
	if (relid == InvalidOid || relid == models_relid)
	{
		cache_stale = true;
		stale_this_xact = true;
	}
}

/* At transaction end: no caller is left, and a mid-transaction reload is not trusted */
static void
xact_callback(XactEvent event, void *arg)
{
	switch (event)
	{
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_PARALLEL_COMMIT:
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PARALLEL_ABORT:
		case XACT_EVENT_PREPARE:
			cache_pins = 0;
			if (stale_this_xact)
				cache_stale = true;
			stale_this_xact = false;
			break;
		default:
			break;
	}
}

/* Registers the invalidation and transaction callbacks (from _PG_init) */
void
bpr_cache_init(void)
{
	CacheRegisterRelcacheCallback(invalidate_callback, (Datum) 0);
	RegisterXactCallback(xact_callback, NULL);
}

/* Statement trigger on bpr.models: the registry changed */
Datum
bpr_models_changed(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("bpr_models_changed must be called as a trigger")));
	CacheInvalidateRelcacheByRelid(RelationGetRelid(trigdata->tg_relation));
	PG_RETURN_POINTER(NULL);
}

/* Frees one entry: its shared copies go back, its memory with its context */
static void
free_entry(BprCachedModel *m)
{
	bpr_side_release(&m->users);
	bpr_side_release(&m->items);
	if (m->rated_plan)
		SPI_freeplan(m->rated_plan);
	if (m->raters_plan)
		SPI_freeplan(m->raters_plan);
	if (m->users.row_plan)
		SPI_freeplan(m->users.row_plan);
	if (m->items.row_plan)
		SPI_freeplan(m->items.row_plan);
	MemoryContextDelete(m->context);
}

/* Frees every cached model */
static void
cache_reset(void)
{
	while (cached_models != NULL)
	{
		BprCachedModel *m = cached_models;

		cached_models = m->next;
		free_entry(m);
	}
	if (cached_default)
		pfree(cached_default);
	cached_default = NULL;
	/* the extension may have been dropped and created again */
	models_relid = InvalidOid;
	schema_checked = false;
	citus_mode = false;
	cache_stale = false;
}

/* Checks that the installed extension's SQL is this library's version (ERROR 55000 if not); caller is in SPI */
void
bpr_cache_check_schema(void)
{
	char	   *installed = NULL;
	int			level;

	if (schema_checked && !cache_stale)
		return;
	level = bpr_pin_search_path();
	bpr_spi_run("SELECT extversion FROM pg_catalog.pg_extension WHERE extname = 'bpr'",
				0, NULL, NULL, NULL, true, SPI_OK_SELECT);
	bpr_unpin_search_path(level);
	if (SPI_processed == 1)
		installed = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
	if (installed == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("extension \"bpr\" is not installed in this database"),
				 errhint("Run CREATE EXTENSION bpr.")));
	if (strcmp(installed, BPR_VERSION) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("the bpr library is version %s but the extension installed in this database is version %s",
						BPR_VERSION, installed),
				 errhint("Run ALTER EXTENSION bpr UPDATE.")));
	/* are bpr's tables Citus tables (bpr_distribute)? */
	level = bpr_pin_search_path();
	bpr_spi_run("SELECT to_regclass('pg_catalog.pg_dist_partition') IS NOT NULL", 0, NULL, NULL, NULL,
				true, SPI_OK_SELECT);
	citus_mode = strcmp(SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1), "t") == 0;
	if (citus_mode)
	{
		bpr_spi_run("SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_dist_partition "
					"WHERE logicalrelid = 'bpr.models'::regclass)", 0, NULL, NULL, NULL, true, SPI_OK_SELECT);
		citus_mode = strcmp(SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1), "t") == 0;
	}
	bpr_unpin_search_path(level);
	schema_checked = true;
}

/* Reads a version's registry facts into a new entry; its context hangs off the caller's until kept */
static BprCachedModel *
load_model(const char *name, int32 version)
{
	MemoryContext cxt = AllocSetContextCreate(CurrentMemoryContext, "bpr model cache",
											  ALLOCSET_DEFAULT_SIZES);
	BprCachedModel *m = MemoryContextAllocZero(cxt, sizeof(BprCachedModel));

	m->context = cxt;
	m->users.ref.slot = m->items.ref.slot = -1;
	if (!bpr_store_model_info(name, version, &m->info, cxt))
	{
		if (version == 0 && strlen(name) <= BPR_MODEL_NAME_MAX)
		{
			BprSharedKey key;

			/* no active version any more: its shared copies go once nobody holds them */
			memset(&key, 0, sizeof(key));
			key.dboid = MyDatabaseId;
			key.models_relid = models_relid;
			strlcpy(key.model, name, sizeof(key.model));
			bpr_shared_forget_model(&key);
		}
		if (version != 0)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_OBJECT),
					 errmsg("model \"%s\" has no version %d", name, version)));
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("bpr model \"%s\" does not exist", name)));
	}
	return m;
}

/* True the first time it is asked in each statement for the check that records it in lxid and stmt */
static bool
statement_changed(LocalTransactionId *lxid, TimestampTz *stmt)
{
	TimestampTz now = GetCurrentStatementStartTimestamp();

	if (MyProc->lxid == *lxid && now == *stmt)
		return false;
	*lxid = MyProc->lxid;
	*stmt = now;
	return true;
}

/* Pins search_path unless level says it already is; returns the level to unpin */
static int
pin_once(int level)
{
	return level >= 0 ? level : bpr_pin_search_path();
}

/* Unpins search_path if pin_once pinned it */
static void
unpin_if(int level)
{
	if (level >= 0)
		bpr_unpin_search_path(level);
}

/* A model version for serving, pinned until bpr_cache_release; caller is in SPI */
BprCachedModel *
bpr_cache_get(const char *model, int32 version)
{
	BprCachedModel *m;
	const char *name;
	int			level = -1;		/* search_path pinned only for the SQL a cold path runs */

	if (cache_stale && cache_pins == 0)
		cache_reset();
	bpr_cache_check_schema();
	if (!OidIsValid(models_relid))
		models_relid = get_relname_relid("models", get_namespace_oid("bpr", false));

	/* what a cold cache would need to read, checked whether or not this one is warm */
	bpr_store_check_read_privileges(false);

	if (model != NULL)
		name = model;
	else if (bpr_default_model != NULL && bpr_default_model[0] != '\0')
		name = bpr_default_model;
	else
	{
		/* the only model: resolved once until the registry changes (on Citus, once a statement) */
		if (citus_mode && statement_changed(&default_lxid, &default_statement) && cached_default != NULL)
		{
			pfree(cached_default);
			cached_default = NULL;
		}
		if (cached_default == NULL)
		{
			level = pin_once(level);
			cached_default = bpr_store_resolve_model(NULL, CacheMemoryContext);
		}
		name = cached_default;
	}

	if (version != 0)
	{
		/* a stored version by number: for this call only, never shared */
		level = pin_once(level);
		m = load_model(name, version);
		if (m->info.active && !cache_stale)
		{
			/* it is the active one after all: serve the cached entry */
			MemoryContextDelete(m->context);
			version = 0;
		}
		else
		{
			m->temporary = true;
			unpin_if(level);
			cache_pins++;
			return m;
		}
	}
	for (m = cached_models; m != NULL; m = m->next)
		if (strcmp(m->info.model, name) == 0)
			break;
	if (m != NULL && citus_mode && cache_pins == 0 && statement_changed(&m->checked_lxid, &m->checked_statement))
	{
		BprModelInfo now;

		/* once per statement: is the cached version still the active one here? */
		level = pin_once(level);
		if (!bpr_store_model_info(name, 0, &now, CurrentMemoryContext) ||
			now.version != m->info.version || now.revision != m->info.revision ||
			now.created != m->info.created)
		{
			BprCachedModel **p = &cached_models;

			while (*p != m)
				p = &(*p)->next;
			*p = m->next;
			free_entry(m);
			m = NULL;
		}
	}
	if (m == NULL)
	{
		level = pin_once(level);
		m = load_model(name, 0);
		(void) statement_changed(&m->checked_lxid, &m->checked_statement);
		/* complete: now it may outlive the query */
		MemoryContextSetParent(m->context, CacheMemoryContext);
		m->next = cached_models;
		cached_models = m;
	}
	unpin_if(level);
	cache_pins++;
	return m;
}

/* The caller is done with an entry of bpr_cache_get */
void
bpr_cache_release(BprCachedModel *m)
{
	if (cache_pins > 0)
		cache_pins--;
	if (m != NULL && m->temporary)
		free_entry(m);
}

/* A whole side of the model, loaded (shared or private) on first use */
const BprSide *
bpr_cache_side(BprCachedModel *m, bool user_side)
{
	BprCachedSide *side = user_side ? &m->users : &m->items;
	int			level;

	if (side->loaded)
		return &side->data;
	level = bpr_pin_search_path();
	bpr_side_load(&m->info, user_side, m->context, side);
	bpr_unpin_search_path(level);
	return &side->data;
}

/* The tower spec a stored encoding implies; false if it cannot be built or a column is gone */
static bool
cold_start_spec(const BprModelInfo *info, const BprEncoding *enc, bool user_side,
				BprTowerSpec *spec)
{
	for (int f = 0; f < enc->n_fields; f++)
		if (!OidIsValid(enc->fields[f].type))
			return false;		/* a feature column is gone: no cold start */
	return bpr_store_tower_spec(info, enc, user_side, spec);
}

/*
 * Builds a side's cold-start tower and row query from the stored encoding and
 * weights.  Everything is built aside and attached only once complete, so an
 * error (a permission, a cancel) leaves the side to be tried again.
 */
static void
load_tower(BprCachedModel *m, BprCachedSide *side, bool user_side)
{
	const BprModelInfo *info = &m->info;
	const char *tower_name = user_side ? "user" : "item";
	Oid			relid = user_side ? info->users : info->items;
	MemoryContext build = AllocSetContextCreate(CurrentMemoryContext, "bpr cold start",
												ALLOCSET_SMALL_SIZES);
	BprEncoding enc;
	BprTower   *tower = NULL;
	SPIPlanPtr	plan = NULL;
	BprTowerSpec spec;

	memset(&enc, 0, sizeof(enc));
	if (OidIsValid(relid))
	{
		enc.relid = relid;
		enc.key_column = MemoryContextStrdup(build, user_side ? info->user_column : info->item_column);
		enc.key_type = user_side ? info->user_key_type : info->item_key_type;
		bpr_store_load_encoding(info, tower_name, &enc, build);
	}
	if (enc.n_fields > 0 && cold_start_spec(info, &enc, user_side, &spec))
	{
		BprPgAlloc	pa;
		MemoryContext old = MemoryContextSwitchTo(build);

		bpr_pg_alloc_init(&pa, build, 0);
		tower = bpr_tower_create(&spec, 1, false, &pa.base);
		if (!bpr_store_load_parameters(info, tower_name, tower))
			tower = NULL;
		MemoryContextSwitchTo(old);
	}
	if (tower != NULL)
	{
		Oid			type;
		char	   *match = bpr_key_param_match(enc.key_column, enc.key_type, &type);

		plan = bpr_spi_prepare(psprintf("%s WHERE %s", bpr_encoding_select(&enc), match), 1, &type);
	}

	/* complete: attach */
	MemoryContextSetParent(build, m->context);
	side->encoding = enc;
	side->tower = tower;
	if (plan != NULL)
	{
		SPI_keepplan(plan);
		side->row_plan = plan;
	}
	side->tower_loaded = true;
}

/* A side's cold-start tower (NULL: none) and encoding, built on first use */
BprTower *
bpr_cache_cold_tower(BprCachedModel *m, bool user_side, const BprEncoding **enc)
{
	BprCachedSide *side = user_side ? &m->users : &m->items;

	/* a cold start reads the stored encodings and weights: check as a cold cache would */
	bpr_store_check_read_privileges(true);
	if (!side->tower_loaded)
	{
		int			level = bpr_pin_search_path();

		load_tower(m, side, user_side);
		bpr_unpin_search_path(level);
	}
	*enc = &side->encoding;
	return side->tower;
}

/*
 * An entity's vector from its feature row (cold start); false when it has no
 * row, unless missing_row, which encodes an absent row as all missing.
 */
static bool
cold_start_vector(BprCachedModel *m, bool user_side, const BprKey *key, bool missing_row,
				  float *out)
{
	BprCachedSide *side = user_side ? &m->users : &m->items;
	Datum		arg[1];
	Datum	   *values;
	bool	   *nulls;
	BprFeatures f;
	int32		row = 0;
	int			nf;
	const BprEncoding *enc;

	if (bpr_cache_cold_tower(m, user_side, &enc) == NULL)
		return false;
	arg[0] = bpr_key_param(key);
	bpr_spi_execute(side->row_plan, arg, NULL, true, SPI_OK_SELECT);
	if (SPI_processed == 0 && !missing_row)
		return false;
	if (SPI_processed > 1)
		bpr_encoding_duplicate_key(&side->encoding, key);
	nf = side->encoding.n_fields;
	values = palloc(sizeof(Datum) * Max(nf, 1));
	nulls = palloc(sizeof(bool) * Max(nf, 1));
	for (int i = 0; i < nf; i++)
	{
		if (SPI_processed == 0)
			nulls[i] = true;
		else
			values[i] = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, i + 2, &nulls[i]);
	}
	bpr_encoding_encode_row(&side->encoding, values, nulls, &f);
	bpr_tower_forward(side->tower, &f, &row, 1, false, out);
	/*
	 * Users: 1 in the bias column, the cold offset, and 1 in the items' offset
	 * column (a cold user gets the items' offsets); items: 1 in the users'
	 * offset column, and no offset of their own (nobody rated them).
	 */
	if (user_side)
	{
		bpr_widen_rows(out, out, 1, m->info.dim, m->info.vec_dim, NULL);
		if (m->info.calibrated)
			out[bpr_offset_column(&m->info)] = m->info.cold_offset;
	}
	else
	{
		if (m->info.calibrated)
			out[bpr_offset_column(&m->info)] = 1.0f;
		if (m->info.item_offsets)
			out[bpr_item_offset_column(&m->info)] = 0.0f;
	}
	return true;
}

/* The vector of an entity: stored, else scored from its feature row; false when unknown */
bool
bpr_cache_vector(BprCachedModel *m, bool user_side, const BprKey *key, float *out)
{
	BprCachedSide *side = user_side ? &m->users : &m->items;
	int			level;
	bool		found;

	/* items, and users once many were looked up, are served from the whole side */
	if (!side->loaded && (!user_side || side->lookups >= BPR_MEMO_USERS))
		(void) bpr_cache_side(m, user_side);
	if (side->loaded)
	{
		int64		pos = bpr_key_find(&side->data.keys, key);

		if (pos >= 0)
		{
			memcpy(out, side->data.vectors + (size_t) pos * side->data.vec_dim,
				   sizeof(float) * side->data.vec_dim);
			return true;
		}
	}
	/* a user looked up before is in the memo: no SQL, so no search_path to pin */
	if (!side->loaded && bpr_side_lookup(&m->info, side, m->context, key, out))
		return true;
	level = bpr_pin_search_path();
	found = cold_start_vector(m, user_side, key, false, out);
	bpr_unpin_search_path(level);
	return found;
}

/* The vector of an entity from its features alone, an absent row being all missing */
bool
bpr_cache_features_vector(BprCachedModel *m, bool user_side, const BprKey *key, float *out)
{
	int			level = bpr_pin_search_path();
	bool		found = cold_start_vector(m, user_side, key, true, out);

	bpr_unpin_search_path(level);
	return found;
}

/* Marks the keys returned by a one-column query (run as the caller) in a side */
static void
mark_keys(SPIPlanPtr *plan, BprCachedModel *m, const char *sql, const BprKey *arg_key,
		  const BprSide *side, Oid key_type, uint8 *mark)
{
	int			level = bpr_pin_search_path();
	Datum		arg[1];

	if (*plan == NULL)
	{
		Oid			type = arg_key->is_int ? INT8OID : TEXTOID;
		MemoryContext old = MemoryContextSwitchTo(m->context);

		*plan = bpr_spi_prepare(sql, 1, &type);
		SPI_keepplan(*plan);
		MemoryContextSwitchTo(old);
	}
	arg[0] = bpr_key_param(arg_key);
	bpr_spi_execute(*plan, arg, NULL, true, SPI_OK_SELECT);
	bpr_unpin_search_path(level);
	for (uint64 r = 0; r < SPI_processed; r++)
	{
		bool		isnull;
		Datum		d = SPI_getbinval(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, 1, &isnull);
		BprKey		k;
		int64		pos;

		if (isnull)
			continue;
		bpr_key_from_datum(d, bpr_key_type_is_int(key_type) ? INT8OID : TEXTOID, key_type,
						   "key", m->info.model, &k);
		pos = bpr_key_find(&side->keys, &k);
		if (pos >= 0)
			mark[pos] = 1;
	}
}

/* The model's ratings table, or ERROR 42P01 with a hint when it is gone */
static char *
ratings_table(BprCachedModel *m)
{
	if (get_rel_name(m->info.ratings) == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("the ratings table of model \"%s\" no longer exists", m->info.model),
				 errdetail("exclude_rated reads the items each user rated from it."),
				 errhint("Pass exclude_rated => false, or train the model again on an existing table.")));
	return bpr_relation_sql_name(m->info.ratings);
}

/* Items the user rated in the model's ratings table as it is now (ERROR 42P01 if the table is gone) */
void
bpr_cache_rated_items(BprCachedModel *m, const BprKey *user, const BprSide *items, uint8 *mark)
{
	char	   *sql = NULL;

	if (m->rated_plan == NULL)
	{
		Oid			type;

		sql = psprintf("SELECT %s::%s FROM %s WHERE %s", quote_identifier(m->info.item_column),
					   bpr_key_cast(m->info.item_key_type), ratings_table(m),
					   bpr_key_param_match(m->info.user_column, m->info.user_key_type, &type));
	}
	else
		(void) ratings_table(m);
	mark_keys(&m->rated_plan, m, sql, user, items, m->info.item_key_type, mark);
}

/* Users who rated the item in the model's ratings table as it is now */
void
bpr_cache_item_raters(BprCachedModel *m, const BprKey *item, const BprSide *users, uint8 *mark)
{
	char	   *sql = NULL;

	if (m->raters_plan == NULL)
	{
		Oid			type;

		sql = psprintf("SELECT %s::%s FROM %s WHERE %s", quote_identifier(m->info.user_column),
					   bpr_key_cast(m->info.user_key_type), ratings_table(m),
					   bpr_key_param_match(m->info.item_column, m->info.item_key_type, &type));
	}
	else
		(void) ratings_table(m);
	mark_keys(&m->raters_plan, m, sql, item, users, m->info.user_key_type, mark);
}
