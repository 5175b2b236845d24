/*
 * store_data.c - the bulk data of a model version: encodings, parameters, vectors, log
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"

#include "names.h"
#include "store.h"
#include "util.h"

/* Rows per INSERT when writing vectors, and floats per parameter chunk */
#define VECTOR_BATCH 1000
#define CHUNK_FLOATS (1024 * 1024)

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
		values[5] = bpr_text_or_null(log[i].metrics_json, &nulls[5]);
		bpr_spi_run("INSERT INTO bpr.training_log (model, version, epoch, loss, seconds, metrics) "
			"VALUES ($1, $2, $3, $4, $5, $6::jsonb)", 6, types, values, nulls, false, SPI_OK_INSERT);
	}
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
		field->position = (int) r;
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

/* The feature tower (no ids) a version's stored encoding implies; false if it cannot be built */
bool
bpr_store_tower_spec(const BprModelInfo *info, const BprEncoding *enc, bool user_side,
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
		if (enc->fields[f].kind == BPR_FIELD_CATEGORICAL)
			spec->cat_card[c++] = enc->fields[f].n_vocab + 1;
		else if (enc->fields[f].kind == BPR_FIELD_MULTI)
			spec->multi_card[k++] = enc->fields[f].n_vocab + 1;
	}
	spec->field_dim = info->field_dim;
	spec->n_hidden = user_side ? info->n_user_hidden : info->n_item_hidden;
	memcpy(spec->hidden, user_side ? info->user_hidden : info->item_hidden, sizeof(spec->hidden));
	/* the item tower ends in the bias column; the offset columns are added after */
	spec->out_dim = user_side ? info->dim : info->dim + (info->bias ? 1 : 0);
	spec->output = info->output;
	return bpr_tower_spec_check(spec) == NULL;
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

/* Writes n vectors of width dim for the keys at positions first..first+n-1 of keys */
void
bpr_store_vectors(const char *model, int32 version, const char *side,
				  const BprKeySet *keys, int32 first, int32 n, int64 first_id,
				  const float *vectors, int32 dim, bool cold, const uint64 *fingerprints)
{
	Oid			types[9] = {TEXTOID, INT4OID, TEXTOID, INT8ARRAYOID, TEXTARRAYOID, BOOLOID,
	INT8ARRAYOID, FLOAT4ARRAYOID, INT4OID};
	SPIPlanPtr	plan = bpr_spi_prepare("INSERT INTO bpr.embeddings (model, version, side, id, key, cold, "
									   "fingerprint, vector) SELECT $1, $2, $3, $4[i], $5[i], $6, $7[i], "
									   "$8[(i - 1) * $9 + 1 : i * $9] FROM generate_series(1, cardinality($4)) AS i",
									   9, types);

	for (int32 done = 0; done < n; done += VECTOR_BATCH)
	{
		int32		m = Min(VECTOR_BATCH, n - done);
		Datum	   *ids = palloc(sizeof(Datum) * m);
		Datum	   *texts = keys->is_int ? NULL : palloc(sizeof(Datum) * m);
		Datum	   *prints = fingerprints ? palloc(sizeof(Datum) * m) : NULL;
		Datum		values[9];
		char		nulls[10] = "         ";

		CHECK_FOR_INTERRUPTS();
		for (int32 i = 0; i < m; i++)
		{
			int64		pos = (int64) first + done + i;

			if (keys->is_int)
				ids[i] = Int64GetDatum(keys->ints[pos]);
			else
			{
				size_t		len;
				const char *b = bpr_keyset_bytes_at(keys, pos, &len);

				ids[i] = Int64GetDatum(first_id + done + i);
				texts[i] = PointerGetDatum(cstring_to_text_with_len(b, (int) len));
			}
			if (prints)
				prints[i] = Int64GetDatum((int64) fingerprints[done + i]);
		}
		values[0] = CStringGetTextDatum(model);
		values[1] = Int32GetDatum(version);
		values[2] = CStringGetTextDatum(side);
		values[3] = PointerGetDatum(construct_array(ids, m, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
		if (texts)
			values[4] = PointerGetDatum(construct_array(texts, m, TEXTOID, -1, false, TYPALIGN_INT));
		else
			nulls[4] = 'n';
		values[5] = BoolGetDatum(cold);
		if (prints)
			values[6] = PointerGetDatum(construct_array(prints, m, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
		else
			nulls[6] = 'n';
		values[7] = float_array(vectors + (size_t) done * dim, (int64) m * dim);
		values[8] = Int32GetDatum(dim);
		bpr_spi_execute(plan, values, nulls, false, SPI_OK_INSERT);
		pfree(DatumGetPointer(values[7]));
	}
	SPI_freeplan(plan);
}

/* The WHERE clause that finds one entity of a side by its key: $4 is the key */
static const char *
key_match(const BprKey *key)
{
	return key->is_int ? "id = $4" : "key = $4";
}

/* The key as the bound parameter $4, and its type */
static Datum
key_param(const BprKey *key, Oid *type)
{
	*type = key->is_int ? INT8OID : TEXTOID;
	return key->is_int ? Int64GetDatum(key->ival) :
		PointerGetDatum(cstring_to_text_with_len(key->bytes, (int) key->len));
}

/* Replaces the vector (and fingerprint) of one stored entity; false if it has none */
bool
bpr_store_update_vector(const char *model, int32 version, const char *side,
						const BprKey *key, const float *vector, int32 dim, uint64 fingerprint)
{
	Oid			types[6] = {TEXTOID, INT4OID, TEXTOID, InvalidOid, FLOAT4ARRAYOID, INT8OID};
	Datum		values[6];

	values[0] = CStringGetTextDatum(model);
	values[1] = Int32GetDatum(version);
	values[2] = CStringGetTextDatum(side);
	values[3] = key_param(key, &types[3]);
	values[4] = float_array(vector, dim);
	values[5] = Int64GetDatum((int64) fingerprint);
	bpr_spi_run(psprintf("UPDATE bpr.embeddings SET vector = $5, fingerprint = $6, cold = false "
						 "WHERE model = $1 AND version = $2 AND side = $3 AND %s", key_match(key)),
				6, types, values, NULL, false, SPI_OK_UPDATE);
	return SPI_processed > 0;
}

/* Counts a side's stored vectors and the bytes of their text keys */
int64
bpr_store_count_vectors(const BprModelInfo *info, const char *side, int64 *key_bytes)
{
	Oid			types[3] = {TEXTOID, INT4OID, TEXTOID};
	Datum		values[3] = {CStringGetTextDatum(info->model), Int32GetDatum(info->version),
	CStringGetTextDatum(side)};
	bool		isnull;

	bpr_spi_run("SELECT count(*), coalesce(sum(octet_length(key)), 0)::int8 FROM bpr.embeddings "
				"WHERE model = $1 AND version = $2 AND side = $3",
				3, types, values, NULL, true, SPI_OK_SELECT);
	*key_bytes = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
	return DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
}

/* Copies a stored real[] vector of width dim; ERROR when it is malformed */
static void
copy_vector(const BprModelInfo *info, const char *side, Datum d, float *out)
{
	ArrayType  *arr = DatumGetArrayTypeP(d);

	if (ARR_NDIM(arr) != 1 || ARR_HASNULL(arr) || ARR_ELEMTYPE(arr) != FLOAT4OID ||
		ARR_DIMS(arr)[0] != info->vec_dim)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("model \"%s\" version %d has a malformed %s vector",
						info->model, info->version, side)));
	memcpy(out, ARR_DATA_PTR(arr), sizeof(float) * info->vec_dim);
}

/* Reads every vector of a side in key order into the arrays; returns the count read */
int64
bpr_store_read_vectors(const BprModelInfo *info, const char *side, int64 n, BprSideArrays *out)
{
	Oid			types[3] = {TEXTOID, INT4OID, TEXTOID};
	Datum		values[3] = {CStringGetTextDatum(info->model), Int32GetDatum(info->version),
	CStringGetTextDatum(side)};
	bool		is_int = out->ints != NULL;
	BprCursor	cursor;
	int64		r = 0;

	bpr_cursor_open(&cursor, psprintf("SELECT id, key, cold, fingerprint, vector FROM bpr.embeddings "
									  "WHERE model = $1 AND version = $2 AND side = $3 ORDER BY %s",
									  is_int ? "id" : "key"),
					3, types, values);
	if (!is_int)
		out->offsets[0] = 0;
	while (bpr_cursor_next(&cursor))
	{
		SPITupleTable *tt = cursor.batch;

		for (uint64 i = 0; i < tt->numvals; i++, r++)
		{
			HeapTuple	tup = tt->vals[i];
			bool		isnull;
			Datum		d;

			if (r >= n)
				ereport(ERROR,
						(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
						 errmsg("the vectors of model \"%s\" version %d changed while they were read",
								info->model, info->version)));
			if (is_int)
				out->ints[r] = DatumGetInt64(SPI_getbinval(tup, tt->tupdesc, 1, &isnull));
			else
			{
				text	   *t;

				d = SPI_getbinval(tup, tt->tupdesc, 2, &isnull);
				if (isnull)
					ereport(ERROR,
							(errcode(ERRCODE_DATA_CORRUPTED),
							 errmsg("model \"%s\" version %d has a %s vector without a key",
									info->model, info->version, side)));
				t = DatumGetTextPP(d);
				memcpy(out->bytes + out->offsets[r], VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t));
				out->offsets[r + 1] = out->offsets[r] + VARSIZE_ANY_EXHDR(t);
			}
			out->cold[r] = DatumGetBool(SPI_getbinval(tup, tt->tupdesc, 3, &isnull));
			if (out->fingerprints)
			{
				d = SPI_getbinval(tup, tt->tupdesc, 4, &isnull);
				out->fingerprints[r] = isnull ? 0 : (uint64) DatumGetInt64(d);
			}
			copy_vector(info, side, SPI_getbinval(tup, tt->tupdesc, 5, &isnull),
						out->vectors + (size_t) r * info->vec_dim);
		}
	}
	return r;
}

/* Reads one entity's stored vector (and fingerprint); false if it has none */
bool
bpr_store_read_vector(const BprModelInfo *info, const char *side, const BprKey *key,
					  float *vector, uint64 *fingerprint)
{
	Oid			types[4] = {TEXTOID, INT4OID, TEXTOID, InvalidOid};
	Datum		values[4];
	bool		isnull;
	Datum		d;

	values[0] = CStringGetTextDatum(info->model);
	values[1] = Int32GetDatum(info->version);
	values[2] = CStringGetTextDatum(side);
	values[3] = key_param(key, &types[3]);
	bpr_spi_run(psprintf("SELECT vector, fingerprint FROM bpr.embeddings "
						 "WHERE model = $1 AND version = $2 AND side = $3 AND %s", key_match(key)),
				4, types, values, NULL, true, SPI_OK_SELECT);
	if (SPI_processed == 0)
		return false;
	copy_vector(info, side, SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull), vector);
	d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull);
	if (fingerprint)
		*fingerprint = isnull ? 0 : (uint64) DatumGetInt64(d);
	return true;
}
