/*
 * store.c - the model tables: registry, encodings, parameters, embeddings
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "executor/spi.h"
#include "access/xact.h"
#include "miscadmin.h"
#include "storage/lock.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"

#include "guc.h"
#include "names.h"
#include "store.h"
#include "util.h"

/* Rows per INSERT when writing vectors, and floats per parameter chunk */
#define VECTOR_BATCH 1000
#define CHUNK_FLOATS (1024 * 1024)

/* Lock-tag field that keeps bpr's model locks apart from user advisory locks */
#define BPR_LOCK_CLASS 0x4250

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

/* Locks the model's registry rows and returns its next version number (1 for a new one) */
int32
bpr_store_next_version(const char *model)
{
	Oid			types[1] = {TEXTOID};
	Datum		values[1] = {CStringGetTextDatum(model)};
	bool		isnull;
	Datum		d;

	/*
	 * Lock the model's rows first: activations (bpr_activate, bpr_drop, other
	 * trainings) then wait for this transaction, and under REPEATABLE READ a
	 * version changed since the snapshot is a serialization failure.  Not
	 * read-only: a fresh snapshot sees a version committed while we waited.
	 */
	bpr_spi_run("SELECT version FROM bpr.models WHERE model = $1 ORDER BY version FOR UPDATE", 1, types, values, NULL, false, SPI_OK_SELECT);
	bpr_spi_run("SELECT coalesce(max(version), 0) + 1 FROM bpr.models WHERE model = $1", 1, types, values, NULL, false, SPI_OK_SELECT);
	d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	return DatumGetInt32(d);
}

/* Text datum or NULL marker */
static Datum
text_or_null(const char *s, char *null)
{
	*null = s ? ' ' : 'n';
	return s ? CStringGetTextDatum(s) : (Datum) 0;
}

/* Inserts the registry row of a new, not yet active, version */
void
bpr_store_insert_model(const char *model, int32 version, Oid ratings, Oid users,
					   Oid items, const char *user_column, const char *item_column,
					   const char *rating_column, int32 vec_dim,
					   const char *hyperparameters_json, const char *data_json,
					   int32 epochs, int64 triplets, double final_loss,
					   double seconds, const char *metrics_json)
{
	Oid			types[15] = {TEXTOID, INT4OID, OIDOID, OIDOID, OIDOID, TEXTOID, TEXTOID,
	TEXTOID, INT4OID, TEXTOID, TEXTOID, INT4OID, INT8OID, FLOAT8OID, FLOAT8OID};
	Datum		values[15];
	char		nulls[16] = "               ";

	values[0] = CStringGetTextDatum(model);
	values[1] = Int32GetDatum(version);
	values[2] = ObjectIdGetDatum(ratings);
	values[3] = ObjectIdGetDatum(users);
	nulls[3] = OidIsValid(users) ? ' ' : 'n';
	values[4] = ObjectIdGetDatum(items);
	nulls[4] = OidIsValid(items) ? ' ' : 'n';
	values[5] = CStringGetTextDatum(user_column);
	values[6] = CStringGetTextDatum(item_column);
	values[7] = text_or_null(rating_column, &nulls[7]);
	values[8] = Int32GetDatum(vec_dim);
	values[9] = CStringGetTextDatum(hyperparameters_json);
	values[10] = CStringGetTextDatum(data_json);
	values[11] = Int32GetDatum(epochs);
	values[12] = Int64GetDatum(triplets);
	values[13] = Float8GetDatum(final_loss);
	values[14] = Float8GetDatum(seconds);
	bpr_spi_run("INSERT INTO bpr.models (model, version, created, active, ratings, users, items, "
		"user_column, item_column, rating_column, vector_width, hyperparameters, data, epochs, "
		"triplets, final_loss, seconds) VALUES ($1, $2, now(), false, $3::regclass, "
		"$4::regclass, $5::regclass, $6, $7, $8, $9, $10::jsonb, $11::jsonb, $12, $13, $14, $15)", 15, types, values, nulls, false, SPI_OK_INSERT);
	if (metrics_json)
	{
		Oid			t3[3] = {TEXTOID, INT4OID, TEXTOID};
		Datum		v3[3] = {values[0], values[1], CStringGetTextDatum(metrics_json)};

		bpr_spi_run("UPDATE bpr.models SET metrics = $3::jsonb WHERE model = $1 AND version = $2", 3, t3, v3, NULL, false, SPI_OK_UPDATE);
	}
}

/* Writes a tower's feature encoding */
void
bpr_store_encoding(const char *model, int32 version, const char *tower, const BprEncoding *enc)
{
	Oid			types[9] = {TEXTOID, INT4OID, TEXTOID, INT4OID, TEXTOID, TEXTOID,
	FLOAT8OID, FLOAT8OID, TEXTARRAYOID};
	SPIPlanPtr	plan;

	if (enc->n_fields == 0)
		return;
	plan = bpr_spi_prepare("INSERT INTO bpr.features (model, version, tower, position, column_name, "
						   "kind, mean, scale, vocabulary) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
						   9, types);
	for (int f = 0; f < enc->n_fields; f++)
	{
		const BprField *field = &enc->fields[f];
		Datum		values[9];
		char		nulls[10] = "         ";

		CHECK_FOR_INTERRUPTS();
		values[0] = CStringGetTextDatum(model);
		values[1] = Int32GetDatum(version);
		values[2] = CStringGetTextDatum(tower);
		values[3] = Int32GetDatum(f);
		values[4] = CStringGetTextDatum(field->column);
		values[5] = CStringGetTextDatum(bpr_name_of(bpr_field_kind_names, field->kind));
		values[6] = Float8GetDatum(field->mean);
		values[7] = Float8GetDatum(field->scale);
		if (field->kind == BPR_FIELD_NUMERIC)
		{
			nulls[8] = 'n';
			values[8] = (Datum) 0;
		}
		else
		{
			Datum	   *elems = palloc(sizeof(Datum) * Max(field->n_vocab, 1));

			nulls[6] = nulls[7] = 'n';
			for (int32 i = 0; i < field->n_vocab; i++)
				elems[i] = CStringGetTextDatum(field->vocab[i]);
			values[8] = PointerGetDatum(construct_array(elems, field->n_vocab, TEXTOID, -1, false, TYPALIGN_INT));
		}
		bpr_spi_execute(plan, values, nulls, false, SPI_OK_INSERT);
	}
	SPI_freeplan(plan);
}

/* A real[] datum of n floats */
static Datum
float_array(const float *v, int64 n)
{
	ArrayType  *arr;
	int			dims[1];
	int			lbs[1] = {1};
	Size		bytes = ARR_OVERHEAD_NONULLS(1) + (Size) n * sizeof(float);

	if (!AllocSizeIsValid(bytes))
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("array of %lld values is too large", (long long) n)));
	dims[0] = (int) n;
	arr = (ArrayType *) palloc0(bytes);
	SET_VARSIZE(arr, bytes);
	arr->ndim = 1;
	arr->dataoffset = 0;
	arr->elemtype = FLOAT4OID;
	memcpy(ARR_DIMS(arr), dims, sizeof(dims));
	memcpy(ARR_LBOUND(arr), lbs, sizeof(lbs));
	memcpy(ARR_DATA_PTR(arr), v, (Size) n * sizeof(float));
	return PointerGetDatum(arr);
}

/* Writes a tower's parameters (all but the id embedding) in row chunks */
void
bpr_store_parameters(const char *model, int32 version, const char *tower, const BprTower *t)
{
	Oid			types[8] = {TEXTOID, INT4OID, TEXTOID, TEXTOID, INT4OID, INT4OID, INT4OID, FLOAT4ARRAYOID};
	SPIPlanPtr	plan = bpr_spi_prepare("INSERT INTO bpr.parameters (model, version, tower, tensor, "
									   "first_row, n_rows, n_cols, value) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
									   8, types);

	for (int32 k = 0; k < t->n_tensors; k++)
	{
		const BprTensor *tensor = &t->tensors[k];
		int32		chunk_rows = Max(1, CHUNK_FLOATS / Max(tensor->cols, 1));

		if (strcmp(tensor->name, "ids") == 0)
			continue;			/* folded into the stored vectors */
		for (int32 first = 0; first < tensor->rows; first += chunk_rows)
		{
			int32		n = Min(chunk_rows, tensor->rows - first);
			Datum		values[8];

			CHECK_FOR_INTERRUPTS();
			values[0] = CStringGetTextDatum(model);
			values[1] = Int32GetDatum(version);
			values[2] = CStringGetTextDatum(tower);
			values[3] = CStringGetTextDatum(tensor->name);
			values[4] = Int32GetDatum(first);
			values[5] = Int32GetDatum(n);
			values[6] = Int32GetDatum(tensor->cols);
			values[7] = float_array(tensor->w + (size_t) first * tensor->cols, (int64) n * tensor->cols);
			bpr_spi_execute(plan, values, NULL, false, SPI_OK_INSERT);
			pfree(DatumGetPointer(values[7]));
		}
	}
	SPI_freeplan(plan);
}

/* Writes n vectors of width dim for the given ids */
void
bpr_store_vectors(const char *model, int32 version, const char *side,
				  const int64 *ids, int32 n, const float *vectors, int32 dim)
{
	Oid			types[6] = {TEXTOID, INT4OID, TEXTOID, INT8ARRAYOID, FLOAT4ARRAYOID, INT4OID};
	SPIPlanPtr	plan = bpr_spi_prepare("INSERT INTO bpr.embeddings (model, version, side, id, vector) "
									   "SELECT $1, $2, $3, $4[i], $5[(i - 1) * $6 + 1 : i * $6] "
									   "FROM generate_series(1, cardinality($4)) AS i",
									   6, types);

	for (int32 first = 0; first < n; first += VECTOR_BATCH)
	{
		int32		m = Min(VECTOR_BATCH, n - first);
		Datum	   *id_datums = palloc(sizeof(Datum) * m);
		Datum		values[6];

		CHECK_FOR_INTERRUPTS();
		for (int32 i = 0; i < m; i++)
			id_datums[i] = Int64GetDatum(ids[first + i]);
		values[0] = CStringGetTextDatum(model);
		values[1] = Int32GetDatum(version);
		values[2] = CStringGetTextDatum(side);
		values[3] = PointerGetDatum(construct_array(id_datums, m, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
		values[4] = float_array(vectors + (size_t) first * dim, (int64) m * dim);
		values[5] = Int32GetDatum(dim);
		bpr_spi_execute(plan, values, NULL, false, SPI_OK_INSERT);
		pfree(DatumGetPointer(values[3]));
		pfree(DatumGetPointer(values[4]));
		pfree(id_datums);
	}
	SPI_freeplan(plan);
}

/* Writes the per-epoch training log */
void
bpr_store_log(const char *model, int32 version, const BprLogEntry *log, int32 n)
{
	Oid			types[6] = {TEXTOID, INT4OID, INT4OID, FLOAT8OID, FLOAT8OID, TEXTOID};

	for (int32 i = 0; i < n; i++)
	{
		Datum		values[6];
		char		nulls[7] = "      ";

		values[0] = CStringGetTextDatum(model);
		values[1] = Int32GetDatum(version);
		values[2] = Int32GetDatum(log[i].epoch);
		values[3] = Float8GetDatum(log[i].loss);
		values[4] = Float8GetDatum(log[i].seconds);
		values[5] = text_or_null(log[i].metrics_json, &nulls[5]);
		bpr_spi_run("INSERT INTO bpr.training_log (model, version, epoch, loss, seconds, metrics) "
			"VALUES ($1, $2, $3, $4, $5, $6::jsonb)", 6, types, values, nulls, false, SPI_OK_INSERT);
	}
}

/* Makes version the only active version of model */
void
bpr_store_activate(const char *model, int32 version)
{
	Oid			types[2] = {TEXTOID, INT4OID};
	Datum		values[2] = {CStringGetTextDatum(model), Int32GetDatum(version)};

	bpr_spi_run("UPDATE bpr.models SET active = false WHERE model = $1 AND active AND version <> $2", 2, types, values, NULL, false, SPI_OK_UPDATE);
	bpr_spi_run("UPDATE bpr.models SET active = true WHERE model = $1 AND version = $2", 2, types, values, NULL, false, SPI_OK_UPDATE);
	if (SPI_processed != 1)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("model \"%s\" has no version %d", model, version)));
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
	bpr_spi_run("SELECT DISTINCT model FROM bpr.models WHERE active LIMIT 2", 0, NULL, NULL, NULL, true, SPI_OK_SELECT);
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

/* Reads the active version's registry facts; false if the model has no active version */
bool
bpr_store_model_info(const char *model, BprModelInfo *info, MemoryContext mcxt)
{
	Oid			types[1] = {TEXTOID};
	Datum		values[1] = {CStringGetTextDatum(model)};
	HeapTuple	tup;
	TupleDesc	desc;
	bool		isnull;
	Datum		d;
	MemoryContext old;

	bpr_spi_run("SELECT version, ratings::oid, users::oid, items::oid, user_column, item_column, "
		  "rating_column, vector_width, (hyperparameters->>'dim')::int4, "
		  "(hyperparameters->>'field_dim')::int4, hyperparameters->>'output', "
		  "(hyperparameters->>'bias')::bool, "
		  "ARRAY(SELECT jsonb_array_elements_text(hyperparameters->'user_layers')::int4), "
		  "ARRAY(SELECT jsonb_array_elements_text(hyperparameters->'item_layers')::int4), "
		  "coalesce((hyperparameters->>'positive_threshold')::float8, 4), "
		  "(data->>'cold_user_offset')::float8 "
		  "FROM bpr.models WHERE model = $1 AND active", 1, types, values, NULL, true, SPI_OK_SELECT);
	if (SPI_processed == 0)
		return false;
	tup = SPI_tuptable->vals[0];
	desc = SPI_tuptable->tupdesc;
	memset(info, 0, sizeof(*info));
	old = MemoryContextSwitchTo(mcxt);
	info->model = pstrdup(model);
	info->version = DatumGetInt32(SPI_getbinval(tup, desc, 1, &isnull));
	info->ratings = DatumGetObjectId(SPI_getbinval(tup, desc, 2, &isnull));
	d = SPI_getbinval(tup, desc, 3, &isnull);
	info->users = isnull ? InvalidOid : DatumGetObjectId(d);
	d = SPI_getbinval(tup, desc, 4, &isnull);
	info->items = isnull ? InvalidOid : DatumGetObjectId(d);
	info->user_column = TextDatumGetCString(SPI_getbinval(tup, desc, 5, &isnull));
	info->item_column = TextDatumGetCString(SPI_getbinval(tup, desc, 6, &isnull));
	d = SPI_getbinval(tup, desc, 7, &isnull);
	info->rating_column = isnull ? NULL : TextDatumGetCString(d);
	info->vec_dim = DatumGetInt32(SPI_getbinval(tup, desc, 8, &isnull));
	info->dim = DatumGetInt32(SPI_getbinval(tup, desc, 9, &isnull));
	info->field_dim = DatumGetInt32(SPI_getbinval(tup, desc, 10, &isnull));
	d = SPI_getbinval(tup, desc, 11, &isnull);
	info->output = isnull ? -1 : bpr_lookup_name(bpr_output_names, TextDatumGetCString(d));
	info->bias = DatumGetBool(SPI_getbinval(tup, desc, 12, &isnull));
	d = SPI_getbinval(tup, desc, 13, &isnull);
	read_layers(d, isnull, info->user_hidden, &info->n_user_hidden);
	d = SPI_getbinval(tup, desc, 14, &isnull);
	read_layers(d, isnull, info->item_hidden, &info->n_item_hidden);
	info->positive_threshold = DatumGetFloat8(SPI_getbinval(tup, desc, 15, &isnull));
	d = SPI_getbinval(tup, desc, 16, &isnull);
	info->calibrated = !isnull;
	info->cold_offset = isnull ? 0.0f : (float) DatumGetFloat8(d);
	MemoryContextSwitchTo(old);
	/* the registry is data anyone with UPDATE can change: check what sizes depend on */
	if (info->dim < 1 || info->dim > 4096 || info->field_dim < 1 || info->field_dim > 4096 ||
		(int) info->output < 0 ||
		info->vec_dim != info->dim + (info->bias ? 1 : 0) + (info->calibrated ? 1 : 0))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("model \"%s\" version %d has inconsistent dimensions", model, info->version),
				 errdetail("dim is %d, the vector width %d.", info->dim, info->vec_dim)));
	/* a table dropped since training is treated as absent */
	if (OidIsValid(info->users) && get_rel_name(info->users) == NULL)
		info->users = InvalidOid;
	if (OidIsValid(info->items) && get_rel_name(info->items) == NULL)
		info->items = InvalidOid;
	return true;
}

/* Reads a tower's feature encoding (relid and key set by the caller) */
void
bpr_store_load_encoding(const BprModelInfo *info, const char *tower, BprEncoding *enc,
						MemoryContext mcxt)
{
	Oid			types[3] = {TEXTOID, INT4OID, TEXTOID};
	Datum		values[3] = {CStringGetTextDatum(info->model), Int32GetDatum(info->version),
	CStringGetTextDatum(tower)};
	MemoryContext old;

	bpr_spi_run("SELECT column_name, kind, mean, scale, vocabulary FROM bpr.features "
		  "WHERE model = $1 AND version = $2 AND tower = $3 ORDER BY position", 3, types, values, NULL, true, SPI_OK_SELECT);
	old = MemoryContextSwitchTo(mcxt);
	enc->n_fields = (int) SPI_processed;
	enc->fields = palloc0(sizeof(BprField) * Max(SPI_processed, 1));
	for (uint64 r = 0; r < SPI_processed; r++)
	{
		HeapTuple	tup = SPI_tuptable->vals[r];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		BprField   *field = &enc->fields[r];
		bool		isnull;
		char	   *kind;
		Datum		d;

		field->column = TextDatumGetCString(SPI_getbinval(tup, desc, 1, &isnull));
		kind = TextDatumGetCString(SPI_getbinval(tup, desc, 2, &isnull));
		field->kind = bpr_lookup_name(bpr_field_kind_names, kind);
		if ((int) field->kind < 0)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("model \"%s\" version %d has a %s feature of unknown kind \"%s\"",
							info->model, info->version, tower, kind)));
		field->named = true;
		d = SPI_getbinval(tup, desc, 3, &isnull);
		field->mean = isnull ? 0.0 : DatumGetFloat8(d);
		d = SPI_getbinval(tup, desc, 4, &isnull);
		field->scale = isnull ? 1.0 : DatumGetFloat8(d);
		d = SPI_getbinval(tup, desc, 5, &isnull);
		if (!isnull)
		{
			Datum	   *elems;
			bool	   *nulls;
			int			count;

			deconstruct_array(DatumGetArrayTypeP(d), TEXTOID, -1, false, TYPALIGN_INT,
							  &elems, &nulls, &count);
			field->n_vocab = count;
			field->vocab = palloc(sizeof(char *) * Max(count, 1));
			for (int i = 0; i < count; i++)
				field->vocab[i] = TextDatumGetCString(elems[i]);
		}
		/* the column's type today decides how it is read back */
		if (OidIsValid(enc->relid))
		{
			AttrNumber	attnum = get_attnum(enc->relid, field->column);

			field->type = attnum > 0 ? getBaseType(get_atttype(enc->relid, attnum)) : InvalidOid;
		}
	}
	MemoryContextSwitchTo(old);
}

/* Reads a tower's parameters into a tower built for the encoding; false if none stored */
bool
bpr_store_load_parameters(const BprModelInfo *info, const char *tower, BprTower *t)
{
	Oid			types[3] = {TEXTOID, INT4OID, TEXTOID};
	Datum		values[3] = {CStringGetTextDatum(info->model), Int32GetDatum(info->version),
	CStringGetTextDatum(tower)};
	int32		loaded = 0;

	bpr_spi_run("SELECT tensor, first_row, n_rows, n_cols, value FROM bpr.parameters "
		  "WHERE model = $1 AND version = $2 AND tower = $3 ORDER BY tensor, first_row", 3, types, values, NULL, true, SPI_OK_SELECT);
	for (uint64 r = 0; r < SPI_processed; r++)
	{
		HeapTuple	tup = SPI_tuptable->vals[r];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;
		char	   *name = TextDatumGetCString(SPI_getbinval(tup, desc, 1, &isnull));
		int32		first = DatumGetInt32(SPI_getbinval(tup, desc, 2, &isnull));
		int32		n_rows = DatumGetInt32(SPI_getbinval(tup, desc, 3, &isnull));
		int32		n_cols = DatumGetInt32(SPI_getbinval(tup, desc, 4, &isnull));
		ArrayType  *arr = DatumGetArrayTypeP(SPI_getbinval(tup, desc, 5, &isnull));
		int32		k = bpr_tower_find(t, name);
		BprTensor  *tensor;

		if (k < 0)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("model \"%s\" version %d has an unknown %s tensor \"%s\"",
							info->model, info->version, tower, name)));
		tensor = &t->tensors[k];
		if (n_cols != tensor->cols || first < 0 || n_rows < 0 ||
			(int64) first + n_rows > (int64) tensor->rows ||
			ARR_NDIM(arr) != 1 || ARR_HASNULL(arr) || ARR_ELEMTYPE(arr) != FLOAT4OID ||
			(int64) ARR_DIMS(arr)[0] != (int64) n_rows * n_cols)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("model \"%s\" version %d has a malformed %s tensor \"%s\"",
							info->model, info->version, tower, name)));
		memcpy(tensor->w + (size_t) first * n_cols, ARR_DATA_PTR(arr),
			   sizeof(float) * (size_t) n_rows * n_cols);
		loaded++;
	}
	return loaded > 0;
}

/* Reads all vectors of a side, ordered by id; returns the count */
int32
bpr_store_load_vectors(const BprModelInfo *info, const char *side, int64 **ids_out,
					   float **vectors_out, MemoryContext mcxt)
{
	Oid			types[3] = {TEXTOID, INT4OID, TEXTOID};
	Datum		values[3] = {CStringGetTextDatum(info->model), Int32GetDatum(info->version),
	CStringGetTextDatum(side)};
	BprCursor	cursor;
	int64		cap = 1024,
				n = 0;
	int64	   *ids = MemoryContextAllocHuge(mcxt, cap * sizeof(int64));
	float	   *vectors = MemoryContextAllocHuge(mcxt, cap * sizeof(float) * info->vec_dim);

	bpr_cursor_open(&cursor, "SELECT id, vector FROM bpr.embeddings WHERE model = $1 AND version = $2 "
					"AND side = $3 ORDER BY id", 3, types, values);
	while (bpr_cursor_next(&cursor))
	{
		SPITupleTable *tt = cursor.batch;

		if (n + (int64) tt->numvals > cap)
		{
			while (n + (int64) tt->numvals > cap)
				cap *= 2;
			if (cap > PG_INT32_MAX)
				ereport(ERROR,
						(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
						 errmsg("model \"%s\" has too many %ss", info->model, side)));
			ids = repalloc_huge(ids, cap * sizeof(int64));
			vectors = repalloc_huge(vectors, cap * sizeof(float) * info->vec_dim);
		}
		for (uint64 r = 0; r < tt->numvals; r++)
		{
			bool		isnull;
			HeapTuple	tup = tt->vals[r];
			ArrayType  *arr;

			ids[n] = DatumGetInt64(SPI_getbinval(tup, tt->tupdesc, 1, &isnull));
			arr = DatumGetArrayTypeP(SPI_getbinval(tup, tt->tupdesc, 2, &isnull));
			if (ARR_NDIM(arr) != 1 || ARR_HASNULL(arr) || ARR_ELEMTYPE(arr) != FLOAT4OID ||
				ARR_DIMS(arr)[0] != info->vec_dim)
				ereport(ERROR,
						(errcode(ERRCODE_DATA_CORRUPTED),
						 errmsg("model \"%s\" version %d has a malformed %s vector for id " INT64_FORMAT,
								info->model, info->version, side, ids[n])));
			memcpy(vectors + (size_t) n * info->vec_dim, ARR_DATA_PTR(arr), sizeof(float) * info->vec_dim);
			n++;
		}
	}
	*ids_out = ids;
	*vectors_out = vectors;
	return (int32) n;
}
