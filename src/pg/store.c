/*
 * store.c - the model registry: names and owners, versions, activation, retention
 */
#include "postgres.h"

#include "access/transam.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "storage/lock.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/regproc.h"
#include "nodes/makefuncs.h"

#include "guc.h"
#include "names.h"
#include "store.h"
#include "util.h"

/* Lock-tag field that keeps bpr's model locks apart from user advisory locks */
#define BPR_LOCK_CLASS 0x4250

/* A bpr table and the privileges a caller needs on it */
typedef struct TableNeed
{
	const char *table;
	AclMode		mode;
} TableNeed;

/*
 * OIDs of bpr's tables, looked up once per backend (serving checks privileges
 * on them at every call) and forgotten when any of them is invalidated
 */
typedef struct TableOid
{
	const char *name;
	Oid			relid;
} TableOid;

static TableOid table_oids[] = {
	{"model_names", InvalidOid}, {"models", InvalidOid}, {"features", InvalidOid},
	{"parameters", InvalidOid}, {"embeddings", InvalidOid}, {"training_log", InvalidOid}
};
static bool table_oids_watched = false;

/* Relcache invalidation: forgets the OIDs when one of them (or every relation) changes */
static void
forget_table_oids(Datum arg, Oid relid)
{
	bool		ours = !OidIsValid(relid);

	for (int i = 0; i < lengthof(table_oids) && !ours; i++)
		ours = table_oids[i].relid == relid;
	if (ours)
		for (int i = 0; i < lengthof(table_oids); i++)
			table_oids[i].relid = InvalidOid;
}

/* Oid of a table of schema bpr (ERROR if the extension's schema is gone) */
static Oid
bpr_table(const char *name)
{
	TableOid   *t = NULL;
	Oid			relid;

	for (int i = 0; i < lengthof(table_oids) && t == NULL; i++)
		if (strcmp(table_oids[i].name, name) == 0)
			t = &table_oids[i];
	if (t != NULL && OidIsValid(t->relid))
		return t->relid;
	relid = get_relname_relid(name, get_namespace_oid("bpr", false));
	if (!OidIsValid(relid))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("table bpr.%s does not exist", name),
				 errhint("The bpr extension may be damaged; reinstall it.")));
	if (t != NULL)
	{
		if (!table_oids_watched)
		{
			CacheRegisterRelcacheCallback(forget_table_oids, (Datum) 0);
			table_oids_watched = true;
		}
		t->relid = relid;
	}
	return relid;
}

/* ERROR 42501 unless the caller holds each privilege on each table */
static void
check_tables(const TableNeed *needs, int n)
{
	for (int i = 0; i < n; i++)
	{
		AclResult	acl = pg_class_aclcheck(bpr_table(needs[i].table), GetUserId(), needs[i].mode);

		if (acl != ACLCHECK_OK)
			aclcheck_error(acl, OBJECT_TABLE, psprintf("bpr.%s", needs[i].table));
	}
}

/* ERROR 42501 unless the caller holds every privilege a training needs on bpr's tables */
void
bpr_store_check_write_privileges(void)
{
	static const TableNeed needs[] = {
		{"model_names", ACL_SELECT | ACL_INSERT | ACL_UPDATE},
		{"models", ACL_SELECT | ACL_INSERT | ACL_UPDATE | ACL_DELETE},
		{"features", ACL_SELECT | ACL_INSERT},
		{"parameters", ACL_SELECT | ACL_INSERT},
		{"embeddings", ACL_SELECT | ACL_INSERT | ACL_UPDATE},
		{"training_log", ACL_INSERT},
	};

	check_tables(needs, lengthof(needs));
}

/* ERROR 42501 unless the caller may read the registry and vectors (serving) */
void
bpr_store_check_read_privileges(bool features)
{
	static const TableNeed needs[] = {
		{"model_names", ACL_SELECT},
		{"models", ACL_SELECT},
		{"embeddings", ACL_SELECT},
		{"features", ACL_SELECT},
		{"parameters", ACL_SELECT},
	};

	check_tables(needs, features ? 5 : 3);
}

/* Owner of a model name, or InvalidOid when the name is unknown (no lock taken) */
Oid
bpr_store_owner(const char *model)
{
	Oid			types[1] = {TEXTOID};
	Datum		values[1] = {CStringGetTextDatum(model)};
	bool		isnull;

	bpr_spi_run("SELECT owner::oid FROM bpr.model_names WHERE model = $1",
				1, types, values, NULL, true, SPI_OK_SELECT);
	if (SPI_processed == 0)
		return InvalidOid;
	return DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
}

/* ERROR 42501 unless the caller may manage the model (owner, member of it, superuser) */
void
bpr_store_check_owner(const char *model, Oid owner, const char *action)
{
	if (!OidIsValid(owner) || has_privs_of_role(GetUserId(), owner))
		return;
	ereport(ERROR,
			(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			 errmsg("permission denied to %s bpr model \"%s\"", action, model),
			 errdetail("The model is owned by %s.", GetUserNameFromId(owner, true) ?
					   GetUserNameFromId(owner, true) : "a role that no longer exists"),
			 errhint("Only the owner, members of the owning role and superusers may train, activate or drop a model.")));
}

/* Serialises trainings of one model name until the transaction ends (40001 under REPEATABLE READ) */
void
bpr_store_lock_model(const char *model)
{
	LOCKTAG		tag;
	uint32		h = hash_bytes((const unsigned char *) model, strlen(model));

	SET_LOCKTAG_ADVISORY(tag, MyDatabaseId, h, (uint32) strlen(model), BPR_LOCK_CLASS);
	if (LockAcquire(&tag, ExclusiveLock, false, true) != LOCKACQUIRE_NOT_AVAIL)
		return;
	/* another training of this model is under way */
	if (IsolationUsesXactSnapshot())
		ereport(ERROR,
				(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
				 errmsg("could not serialize access due to a concurrent training of model \"%s\"", model),
				 errhint("The transaction might succeed if retried.")));
	(void) LockAcquire(&tag, ExclusiveLock, false, false);
}

/* Issues the model's next version number (never reused), owning a new name; locks its registry rows */
int32
bpr_store_next_version(const char *model)
{
	Oid			types[2] = {TEXTOID, OIDOID};
	Datum		values[2] = {CStringGetTextDatum(model), ObjectIdGetDatum(GetUserId())};
	bool		isnull;
	int32		version;
	Oid			owner;

	/*
	 * The name's row holds the last version issued, so a number is never
	 * handed out twice, even after bpr_drop.  Not read-only: a fresh snapshot
	 * sees a version committed while this training waited for the lock.
	 */
	bpr_spi_run("INSERT INTO bpr.model_names AS n (model, owner, last_version) "
				"VALUES ($1, $2::regrole, 1) ON CONFLICT (model) DO UPDATE "
				"SET last_version = n.last_version + 1 RETURNING n.last_version, n.owner::oid",
				2, types, values, NULL, false, SPI_OK_INSERT_RETURNING);
	version = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	owner = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
	/* the name may have been taken by another role while this training waited */
	bpr_store_check_owner(model, owner, "train");

	/*
	 * Lock the model's versions: activations (bpr_activate, bpr_drop, other
	 * trainings) wait for this transaction, and under REPEATABLE READ a
	 * version changed since the snapshot is a serialization failure.
	 */
	bpr_spi_run("SELECT version FROM bpr.models WHERE model = $1 ORDER BY version FOR UPDATE",
				1, types, values, NULL, false, SPI_OK_SELECT);
	return version;
}

/* Inserts the registry row of a new, not yet active, version */
void
bpr_store_insert_model(const BprModelRow *r)
{
	Oid			types[23] = {TEXTOID, INT4OID, OIDOID, OIDOID, OIDOID, TEXTOID, TEXTOID,
		TEXTOID, INT4OID, TEXTOID, TEXTOID, INT4OID, INT8OID, FLOAT8OID, FLOAT8OID,
	TEXTOID, OIDOID, OIDOID, TEXTOID, FLOAT8OID, TEXTOID, TEXTOID, TEXTOID};
	Datum		values[23];
	char		nulls[24] = "                       ";

	values[0] = CStringGetTextDatum(r->model);
	values[1] = Int32GetDatum(r->version);
	values[2] = ObjectIdGetDatum(r->ratings);
	values[3] = ObjectIdGetDatum(r->users);
	nulls[3] = OidIsValid(r->users) ? ' ' : 'n';
	values[4] = ObjectIdGetDatum(r->items);
	nulls[4] = OidIsValid(r->items) ? ' ' : 'n';
	values[5] = CStringGetTextDatum(r->user_column);
	values[6] = CStringGetTextDatum(r->item_column);
	values[7] = bpr_text_or_null(r->rating_column, &nulls[7]);
	values[8] = Int32GetDatum(r->vec_dim);
	values[9] = CStringGetTextDatum(r->hyperparameters_json);
	values[10] = CStringGetTextDatum(r->data_json);
	values[11] = Int32GetDatum(r->epochs);
	values[12] = Int64GetDatum(r->triplets);
	values[13] = Float8GetDatum(r->final_loss);
	values[14] = Float8GetDatum(r->seconds);
	values[15] = bpr_text_or_null(r->metrics_json, &nulls[15]);
	values[16] = ObjectIdGetDatum(r->user_key_type);
	values[17] = ObjectIdGetDatum(r->item_key_type);
	values[18] = bpr_text_or_null(r->weight_column, &nulls[18]);
	values[19] = Float8GetDatum(r->wait_seconds);
	values[20] = CStringGetTextDatum(bpr_relation_sql_name(r->ratings));
	values[21] = bpr_text_or_null(OidIsValid(r->users) ? bpr_relation_sql_name(r->users) : NULL, &nulls[21]);
	values[22] = bpr_text_or_null(OidIsValid(r->items) ? bpr_relation_sql_name(r->items) : NULL, &nulls[22]);
	/* created: a clock reading, unique enough to tell a version from a dropped one of the same number */
	bpr_spi_run("INSERT INTO bpr.models (model, version, created, active, ratings, users, items, "
				"user_column, item_column, rating_column, vector_width, hyperparameters, data, epochs, "
				"triplets, final_loss, seconds, metrics, user_key_type, item_key_type, weight_column, "
				"wait_seconds, ratings_table, users_table, items_table) VALUES ($1, $2, clock_timestamp(), "
				"false, $3::regclass, $4::regclass, $5::regclass, "
				"$6, $7, $8, $9, $10::jsonb, $11::jsonb, $12, $13, $14, $15, $16::jsonb, "
				"$17::regtype, $18::regtype, $19, $20, $21, $22, $23)",
				23, types, values, nulls, false, SPI_OK_INSERT);
}

/* Makes version the only active version of model */
void
bpr_store_activate(const char *model, int32 version)
{
	Oid			types[2] = {TEXTOID, INT4OID};
	Datum		values[2] = {CStringGetTextDatum(model), Int32GetDatum(version)};

	bpr_spi_run("UPDATE bpr.models SET active = false WHERE model = $1 AND active AND version <> $2",
				2, types, values, NULL, false, SPI_OK_UPDATE);
	bpr_spi_run("UPDATE bpr.models SET active = true WHERE model = $1 AND version = $2",
				2, types, values, NULL, false, SPI_OK_UPDATE);
	if (SPI_processed != 1)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("model \"%s\" has no version %d", model, version)));
}

/* Records the deployment policy and outcome of a version */
void
bpr_store_set_deployment(const char *model, int32 version, const char *json)
{
	Oid			types[3] = {TEXTOID, INT4OID, TEXTOID};
	Datum		values[3] = {CStringGetTextDatum(model), Int32GetDatum(version), CStringGetTextDatum(json)};

	bpr_spi_run("UPDATE bpr.models SET deployment = $3::jsonb WHERE model = $1 AND version = $2",
				3, types, values, NULL, false, SPI_OK_UPDATE);
}

/* Drops the oldest inactive versions beyond keep (the active and the new one stay); returns how many */
int32
bpr_store_retain(const char *model, int32 keep, int32 new_version)
{
	Oid			types[3] = {TEXTOID, INT4OID, INT4OID};
	Datum		values[3] = {CStringGetTextDatum(model), Int32GetDatum(new_version), Int32GetDatum(keep)};

	bpr_spi_run("DELETE FROM bpr.models m WHERE m.model = $1 AND NOT m.active AND m.version <> $2 "
				"AND m.version NOT IN (SELECT k.version FROM bpr.models k "
				"WHERE k.model = $1 AND NOT k.active AND k.version <> $2 ORDER BY k.version DESC "
				"LIMIT greatest($3 - (SELECT count(*) FROM bpr.models a "
				"WHERE a.model = $1 AND (a.active OR a.version = $2)), 0))",
				3, types, values, NULL, false, SPI_OK_DELETE);
	return (int32) SPI_processed;
}

/* Bumps a version's revision (fold-in changed its vectors); returns the new revision */
int32
bpr_store_bump_revision(const char *model, int32 version)
{
	Oid			types[2] = {TEXTOID, INT4OID};
	Datum		values[2] = {CStringGetTextDatum(model), Int32GetDatum(version)};
	bool		isnull;

	bpr_spi_run("UPDATE bpr.models SET revision = revision + 1 WHERE model = $1 AND version = $2 "
				"RETURNING revision", 2, types, values, NULL, false, SPI_OK_UPDATE_RETURNING);
	if (SPI_processed != 1)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("model \"%s\" has no version %d", model, version)));
	return DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
}

/* Resolves a model name (NULL: bpr.model, or the only model) in mcxt; ERROR if none */
char *
bpr_store_resolve_model(const char *model, MemoryContext mcxt)
{
	bool		isnull;
	Datum		d;

	if (model != NULL)
		return MemoryContextStrdup(mcxt, model);
	if (bpr_default_model != NULL && bpr_default_model[0] != '\0')
		return MemoryContextStrdup(mcxt, bpr_default_model);
	bpr_spi_run("SELECT DISTINCT model FROM bpr.models WHERE active LIMIT 2",
				0, NULL, NULL, NULL, true, SPI_OK_SELECT);
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("no bpr model exists"),
				 errhint("Train one with bpr.bpr_train().")));
	if (SPI_processed > 1)
		ereport(ERROR,
				(errcode(ERRCODE_AMBIGUOUS_PARAMETER),
				 errmsg("more than one bpr model exists"),
				 errhint("Name the model, or set bpr.model.")));
	d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	return MemoryContextStrdup(mcxt, TextDatumGetCString(d));
}

/* Int array from a datum into a fixed buffer of layers */
static void
read_layers(Datum d, bool isnull, int32 *layers, int32 *n)
{
	ArrayType  *arr;
	Datum	   *elems;
	bool	   *nulls;
	int			count;

	*n = 0;
	if (isnull)
		return;
	arr = DatumGetArrayTypeP(d);
	deconstruct_array(arr, INT4OID, 4, true, TYPALIGN_INT, &elems, &nulls, &count);
	for (int i = 0; i < count && i < BPR_MAX_LAYERS; i++)
		layers[(*n)++] = nulls[i] ? 1 : DatumGetInt32(elems[i]);
}

/* Column n (1-based) of the one-row result, and whether it is NULL */
static Datum
col(int n, bool *isnull)
{
	return SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, n, isnull);
}

/* Text column n, or NULL */
static char *
col_text(int n)
{
	bool		isnull;
	Datum		d = col(n, &isnull);

	return isnull ? NULL : TextDatumGetCString(d);
}

/*
 * Whether serving may read a table found by its stored name instead of by
 * its stored OID: only when someone the model's owner trusts owns it, i.e.
 * the role that owned the table at training (by name, as a restore or a
 * Citus worker recreates it), the model's owner or a role whose privileges
 * it has, or a superuser. A look-alike view another role put in the place of
 * a dropped or renamed table would run that role's code.
 */
static bool
trusted_table(Oid relid, const char *trained_owner, Oid model_owner)
{
	Oid			owner = bpr_relation_owner(relid);
	char	   *name;

	if (!OidIsValid(owner))
		return false;
	if (superuser_arg(owner) || (OidIsValid(model_owner) && has_privs_of_role(model_owner, owner)))
		return true;
	name = GetUserNameFromId(owner, true);
	return trained_owner != NULL && name != NULL && strcmp(name, trained_owner) == 0;
}

/*
 * A model's table on this node: the stored OID when it still names the table
 * of the stored name, else the table of that name (a Citus worker, a restore)
 * when a role the model trusts owns it (trusted_table), else the relation of
 * the stored OID (a table renamed since) when a trusted role owns it;
 * InvalidOid when none is.
 */
static Oid
resolve_table(Oid stored, const char *name, const char *trained_owner, Oid model_owner)
{
	bool		stored_exists = OidIsValid(stored) && get_rel_name(stored) != NULL;
	Oid			by_name;

	if (stored_exists && (name == NULL || strcmp(bpr_relation_sql_name(stored), name) == 0))
		return stored;
	if (name != NULL)
	{
		by_name = RangeVarGetRelid(makeRangeVarFromNameList(stringToQualifiedNameList(name)), NoLock, true);
		if (OidIsValid(by_name) && trusted_table(by_name, trained_owner, model_owner))
			return by_name;
	}
	/* renamed since, on this node; elsewhere the OID may name any relation: trusted ones only */
	return stored_exists && trusted_table(stored, trained_owner, model_owner) ? stored : InvalidOid;
}

/* Reads a version's registry facts (version 0: the active one); false if there is none */
bool
bpr_store_model_info(const char *model, int32 version, BprModelInfo *info, MemoryContext mcxt)
{
	Oid			types[2] = {TEXTOID, INT4OID};
	Datum		values[2] = {CStringGetTextDatum(model), Int32GetDatum(version)};
	bool		isnull;
	Datum		d;
	char	   *output;
	MemoryContext old;

	bpr_spi_run("SELECT m.version, m.revision, m.created, m.active, m.xmin, n.owner::oid, "
				"m.ratings::oid, m.users::oid, m.items::oid, m.user_column, m.item_column, "
				"m.rating_column, m.weight_column, m.user_key_type::oid, m.item_key_type::oid, "
				"m.vector_width, (m.hyperparameters->>'dim')::int4, "
				"(m.hyperparameters->>'field_dim')::int4, m.hyperparameters->>'output', "
				"(m.hyperparameters->>'bias')::bool, coalesce((m.hyperparameters->>'use_ids')::bool, false), "
				"ARRAY(SELECT jsonb_array_elements_text(m.hyperparameters->'user_layers')::int4), "
				"ARRAY(SELECT jsonb_array_elements_text(m.hyperparameters->'item_layers')::int4), "
				"coalesce((m.hyperparameters->>'positive_threshold')::float8, 4), "
				"coalesce((m.hyperparameters->>'negative_threshold')::float8, 3), "
				"(m.data->>'cold_user_offset')::float8, m.hyperparameters::text, "
				"m.ratings_table, m.users_table, m.items_table, "
				"coalesce((m.hyperparameters->>'item_offsets')::float8, 0) > 0, "
				"m.data->'table_owners'->>'ratings', m.data->'table_owners'->>'users', "
				"m.data->'table_owners'->>'items' "
				"FROM bpr.models m JOIN bpr.model_names n USING (model) "
				"WHERE m.model = $1 AND (m.version = $2 OR ($2 = 0 AND m.active))",
				2, types, values, NULL, true, SPI_OK_SELECT);
	if (SPI_processed == 0)
		return false;
	memset(info, 0, sizeof(*info));
	old = MemoryContextSwitchTo(mcxt);
	info->model = pstrdup(model);
	info->version = DatumGetInt32(col(1, &isnull));
	info->revision = DatumGetInt32(col(2, &isnull));
	info->created = DatumGetTimestampTz(col(3, &isnull));
	info->active = DatumGetBool(col(4, &isnull));
	info->committed = !TransactionIdIsCurrentTransactionId(DatumGetTransactionId(col(5, &isnull)));
	info->owner = DatumGetObjectId(col(6, &isnull));
	info->ratings = DatumGetObjectId(col(7, &isnull));
	d = col(8, &isnull);
	info->users = isnull ? InvalidOid : DatumGetObjectId(d);
	d = col(9, &isnull);
	info->items = isnull ? InvalidOid : DatumGetObjectId(d);
	info->user_column = col_text(10);
	info->item_column = col_text(11);
	info->rating_column = col_text(12);
	info->weight_column = col_text(13);
	info->user_key_type = DatumGetObjectId(col(14, &isnull));
	info->item_key_type = DatumGetObjectId(col(15, &isnull));
	info->vec_dim = DatumGetInt32(col(16, &isnull));
	info->dim = DatumGetInt32(col(17, &isnull));
	info->field_dim = DatumGetInt32(col(18, &isnull));
	output = col_text(19);
	info->output = output ? bpr_lookup_name(bpr_output_names, output) : -1;
	info->bias = DatumGetBool(col(20, &isnull));
	info->use_ids = DatumGetBool(col(21, &isnull));
	d = col(22, &isnull);
	read_layers(d, isnull, info->user_hidden, &info->n_user_hidden);
	d = col(23, &isnull);
	read_layers(d, isnull, info->item_hidden, &info->n_item_hidden);
	info->positive_threshold = DatumGetFloat8(col(24, &isnull));
	info->negative_threshold = DatumGetFloat8(col(25, &isnull));
	d = col(26, &isnull);
	info->calibrated = !isnull;
	info->cold_offset = isnull ? 0.0f : (float) DatumGetFloat8(d);
	info->hyperparameters = col_text(27);

	/*
	 * The items' offsets have a column of their own, after the users'
	 * (versions trained before them have no item_offsets).  A version built
	 * while they were added to the bias column is one column narrower: it
	 * keeps serving them there, to every user.
	 */
	info->item_offsets = info->calibrated && DatumGetBool(col(31, &isnull)) &&
		info->vec_dim == info->dim + (info->bias ? 1 : 0) + 2;
	MemoryContextSwitchTo(old);
	/* the tables as this node knows them: by name when the stored OID is another node's */
	info->ratings = resolve_table(info->ratings, col_text(28), col_text(32), info->owner);
	info->users = resolve_table(info->users, col_text(29), col_text(33), info->owner);
	info->items = resolve_table(info->items, col_text(30), col_text(34), info->owner);

	/* the registry is data that a privileged role can change: check what sizes depend on */
	if (info->dim < 1 || info->dim > 4096 || info->field_dim < 1 || info->field_dim > 4096 ||
		(int) info->output < 0 ||
		info->vec_dim != info->dim + (info->bias ? 1 : 0) + (info->calibrated ? 1 : 0) +
		(info->item_offsets ? 1 : 0) ||
		!bpr_key_type_supported(info->user_key_type) || !bpr_key_type_supported(info->item_key_type))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("model \"%s\" version %d has an inconsistent registry row", model, info->version),
				 errdetail("dim is %d, the vector width %d.", info->dim, info->vec_dim)));
	return true;
}
