/*
 * model_cache.c - per-backend cache of active models for scoring
 */
#include "postgres.h"

#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "access/xact.h"

#include "core/vecmath.h"
#include "guc.h"
#include "model_cache.h"
#include "util.h"

static BprCachedModel *cached_models = NULL;
static char *cached_default = NULL;
static Oid	models_relid = InvalidOid;
static Oid	embeddings_relid = InvalidOid;

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

/* Frees every cached model */
static void
cache_reset(void)
{
	while (cached_models != NULL)
	{
		BprCachedModel *m = cached_models;

		cached_models = m->next;
		if (m->rated_plan)
			SPI_freeplan(m->rated_plan);
		if (m->users.row_plan)
			SPI_freeplan(m->users.row_plan);
		if (m->items.row_plan)
			SPI_freeplan(m->items.row_plan);
		MemoryContextDelete(m->context);
	}
	if (cached_default)
		pfree(cached_default);
	cached_default = NULL;
	/* the extension may have been dropped and created again */
	models_relid = InvalidOid;
	embeddings_relid = InvalidOid;
	schema_checked = false;
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
	schema_checked = true;
}

/* Loads the active version of a model; the entry's context hangs off the caller's until done */
static BprCachedModel *
load_model(const char *name)
{
	MemoryContext cxt = AllocSetContextCreate(CurrentMemoryContext, "bpr model cache",
											  ALLOCSET_DEFAULT_SIZES);
	BprCachedModel *m = MemoryContextAllocZero(cxt, sizeof(BprCachedModel));

	m->context = cxt;
	if (!bpr_store_model_info(name, &m->info, cxt))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("bpr model \"%s\" does not exist", name)));
	m->users.n = bpr_store_load_vectors(&m->info, "user", &m->users.ids, &m->users.vectors, cxt);
	m->items.n = bpr_store_load_vectors(&m->info, "item", &m->items.ids, &m->items.vectors, cxt);
	/* loaded whole: now it may outlive the query */
	MemoryContextSetParent(cxt, CacheMemoryContext);
	return m;
}

/* The cached active version of a model (NULL name: the default model); caller is in SPI */
BprCachedModel *
bpr_cache_get(const char *model)
{
	BprCachedModel *m;
	const char *name;

	if (cache_stale && cache_pins == 0)
		cache_reset();
	bpr_cache_check_schema();
	if (!OidIsValid(models_relid))
	{
		Oid			schema = get_namespace_oid("bpr", false);

		models_relid = get_relname_relid("models", schema);
		embeddings_relid = get_relname_relid("embeddings", schema);
	}

	if (model != NULL)
		name = model;
	else if (bpr_default_model != NULL && bpr_default_model[0] != '\0')
		name = bpr_default_model;
	else
	{
		/* the only model: resolved once until the registry changes */
		if (cached_default == NULL)
		{
			int			level = bpr_pin_search_path();

			cached_default = bpr_store_resolve_model(NULL, CacheMemoryContext);
			bpr_unpin_search_path(level);
		}
		name = cached_default;
	}

	/* the caller must be allowed to read the model */
	{
		AclResult	acl = pg_class_aclcheck(embeddings_relid, GetUserId(), ACL_SELECT);

		if (acl != ACLCHECK_OK)
			aclcheck_error(acl, OBJECT_TABLE, "embeddings");
	}

	for (m = cached_models; m != NULL; m = m->next)
		if (strcmp(m->info.model, name) == 0)
			break;
	if (m == NULL)
	{
		int			level = bpr_pin_search_path();

		m = load_model(name);
		m->next = cached_models;
		cached_models = m;
		bpr_unpin_search_path(level);
	}
	cache_pins++;
	return m;
}

/* The caller is done with the entry bpr_cache_get returned */
void
bpr_cache_release(void)
{
	if (cache_pins > 0)
		cache_pins--;
}

/* The tower spec a stored encoding implies; false if it cannot be built */
static bool
cold_start_spec(const BprModelInfo *info, const BprEncoding *enc, bool user_side,
				BprTowerSpec *spec)
{
	int			n_num,
				n_cat,
				n_multi;

	memset(spec, 0, sizeof(*spec));
	bpr_encoding_counts(enc, &n_num, &n_cat, &n_multi);
	if (n_cat > BPR_MAX_FIELDS || n_multi > BPR_MAX_FIELDS)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("model \"%s\" version %d has too many %s features",
						info->model, info->version, user_side ? "user" : "item")));
	spec->n_numeric = n_num;
	spec->n_cat = n_cat;
	spec->n_multi = n_multi;
	for (int f = 0, c = 0, k = 0; f < enc->n_fields; f++)
	{
		if (!OidIsValid(enc->fields[f].type))
			return false;		/* a feature column is gone: no cold start */
		if (enc->fields[f].kind == BPR_FIELD_CATEGORICAL)
			spec->cat_card[c++] = enc->fields[f].n_vocab + 1;
		else if (enc->fields[f].kind == BPR_FIELD_MULTI)
			spec->multi_card[k++] = enc->fields[f].n_vocab + 1;
	}
	spec->field_dim = info->field_dim;
	spec->n_hidden = user_side ? info->n_user_hidden : info->n_item_hidden;
	memcpy(spec->hidden, user_side ? info->user_hidden : info->item_hidden, sizeof(spec->hidden));
	/* the item tower ends in the bias column; the offset column is added after */
	spec->out_dim = user_side ? info->dim : info->vec_dim - (info->calibrated ? 1 : 0);
	spec->output = info->output;
	return bpr_tower_spec_check(spec) == NULL;
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
		char	   *sql = psprintf("%s WHERE %s = $1", bpr_encoding_select(&enc),
								   quote_identifier(enc.key_column));
		Oid			types[1] = {INT8OID};

		plan = bpr_spi_prepare(sql, 1, types);
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

/* Vector of an entity: trained, else cold start from its feature row; false if unknown */
bool
bpr_cache_vector(BprCachedModel *m, bool user_side, int64 id, float *out)
{
	BprCachedSide *side = user_side ? &m->users : &m->items;
	int32		idx = (int32) bpr_find_i64(side->ids, side->n, id);
	Datum		arg[1];
	Datum	   *values;
	bool	   *nulls;
	BprFeatures f;
	int32		row = 0;
	int			nf;
	int			level;

	if (idx >= 0)
	{
		memcpy(out, side->vectors + (size_t) idx * m->info.vec_dim, sizeof(float) * m->info.vec_dim);
		return true;
	}
	level = bpr_pin_search_path();
	if (!side->tower_loaded)
		load_tower(m, side, user_side);
	if (side->tower == NULL)
	{
		bpr_unpin_search_path(level);
		return false;
	}

	arg[0] = Int64GetDatum(id);
	bpr_spi_execute(side->row_plan, arg, NULL, true, SPI_OK_SELECT);
	bpr_unpin_search_path(level);
	if (SPI_processed == 0)
		return false;
	if (SPI_processed > 1)
		ereport(ERROR,
				(errcode(ERRCODE_CARDINALITY_VIOLATION),
				 errmsg("relation \"%s\" has more than one row with %s = " INT64_FORMAT,
						get_rel_name(side->encoding.relid), side->encoding.key_column, id)));
	nf = side->encoding.n_fields;
	values = palloc(sizeof(Datum) * nf);
	nulls = palloc(sizeof(bool) * nf);
	for (int i = 0; i < nf; i++)
		values[i] = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, i + 2, &nulls[i]);
	bpr_encoding_encode_row(&side->encoding, values, nulls, &f);
	bpr_tower_forward(side->tower, &f, &row, 1, false, out);
	/* users: 1 in the bias column, the cold offset last; items: 1 in the offset column */
	if (user_side)
	{
		bpr_widen_rows(out, out, 1, m->info.dim, m->info.vec_dim, NULL);
		if (m->info.calibrated)
			out[m->info.vec_dim - 1] = m->info.cold_offset;
	}
	else if (m->info.calibrated)
		out[m->info.vec_dim - 1] = 1.0f;
	return true;
}
