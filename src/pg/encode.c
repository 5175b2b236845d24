/*
 * encode.c - feature encodings: choosing columns, fitting, encoding rows
 */
#include "postgres.h"

#include <math.h>

#include "access/htup_details.h"
#include "catalog/pg_attribute.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"

#include "encode.h"
#include "keys.h"

/* True when name is in a list of C strings */
static bool
list_has_string(List *list, const char *name)
{
	ListCell   *lc;

	foreach(lc, list)
		if (strcmp((char *) lfirst(lc), name) == 0)
		return true;
	return false;
}

/* True for types whose text is a category */
static bool
is_category_type(Oid type)
{
	return type == TEXTOID || type == VARCHAROID || type == BPCHAROID ||
		type == NAMEOID || type_is_enum(type);
}

/* True for integer types */
static bool
is_integer_type(Oid type)
{
	return type == INT2OID || type == INT4OID || type == INT8OID;
}

/*
 * Decides how a column is encoded; false if it cannot be (with *why set).
 * Errors for a type that cannot serve as asked.
 */
static bool
classify(Oid relid, const char *column, Oid type, bool as_category,
		 BprFieldKind *kind, const char **why)
{
	Oid			elem = get_element_type(type);

	if (OidIsValid(elem))
	{
		elem = getBaseType(elem);
		if (is_category_type(elem) || is_integer_type(elem) || elem == BOOLOID)
		{
			*kind = BPR_FIELD_MULTI;
			return true;
		}
		*why = "arrays of this element type cannot be encoded";
		return false;
	}
	if (as_category)
	{
		if (is_category_type(type) || is_integer_type(type) || type == BOOLOID)
		{
			*kind = BPR_FIELD_CATEGORICAL;
			return true;
		}
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("column \"%s\" of relation \"%s\" cannot be categorical",
						column, bpr_relation_name(relid)),
				 errdetail("Categorical columns must be text, varchar, char, an enum, boolean or an integer type; it has type %s.",
						   format_type_be(type))));
	}
	if (is_category_type(type))
	{
		*kind = BPR_FIELD_CATEGORICAL;
		return true;
	}
	if (type == BOOLOID || is_integer_type(type) || type == FLOAT4OID ||
		type == FLOAT8OID || type == NUMERICOID)
	{
		*kind = BPR_FIELD_NUMERIC;
		return true;
	}
	*why = "its type cannot be encoded";
	return false;
}

/* Orders fields numeric, categorical, multi; by column position within a kind */
static int
cmp_field(const void *a, const void *b)
{
	const BprField *x = a,
			   *y = b;

	if (x->kind != y->kind)
		return x->kind < y->kind ? -1 : 1;
	return (x->position > y->position) - (x->position < y->position);
}

/* Adds a field for a column (already known to exist) */
static void
add_field(BprEncoding *enc, List **added, const char *column, Oid type,
		  bool named, List *categorical, const char *side)
{
	BprFieldKind kind;
	const char *why = NULL;

	if (list_has_string(*added, column))
		ereport(ERROR,
				(errcode(ERRCODE_DUPLICATE_COLUMN),
				 errmsg("%s feature \"%s\" is listed more than once", side, column)));
	if (!classify(enc->relid, column, type, list_has_string(categorical, column), &kind, &why))
	{
		if (named)
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("column \"%s\" of relation \"%s\" has type %s, which bpr cannot encode",
							column, bpr_relation_name(enc->relid), format_type_be(type)),
					 errhint("Use boolean, numeric, text, enum or array columns, or cast the column in a view.")));
		ereport(NOTICE,
				(errmsg("skipping %s feature \"%s\": %s", side, column, why),
				 errdetail("It has type %s.", format_type_be(type))));
		return;
	}
	enc->fields[enc->n_fields].column = pstrdup(column);
	enc->fields[enc->n_fields].kind = kind;
	enc->fields[enc->n_fields].named = named || list_has_string(categorical, column);
	enc->fields[enc->n_fields].type = type;
	enc->fields[enc->n_fields].scale = 1.0;
	enc->fields[enc->n_fields].position = enc->n_fields;
	enc->n_fields++;
	*added = lappend(*added, (void *) column);
}

/* Chooses the fields of a table: named ones, or every column but the key */
void
bpr_encoding_choose(BprEncoding *enc, Oid relid, const char *key_column,
					Oid key_type, List *features, bool explicit_features,
					List *categorical, const char *side)
{
	List	   *added = NIL;
	int			natts;
	ListCell   *lc;

	memset(enc, 0, sizeof(*enc));
	enc->relid = relid;
	enc->key_column = pstrdup(key_column);
	enc->key_type = key_type;
	if (!OidIsValid(relid))
		return;
	{
		Oid			type = bpr_check_key_column(relid, key_column);

		if (bpr_key_type_of_column(type) != key_type)
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("key column \"%s\" of relation \"%s\" has type %s, but the ratings' %s keys are %s",
							key_column, bpr_relation_name(relid), format_type_be(type), side,
							format_type_be(key_type))));
	}

	natts = 0;
	for (;;)
	{
		HeapTuple	tup = SearchSysCache2(ATTNUM, ObjectIdGetDatum(relid), Int16GetDatum(natts + 1));

		if (!HeapTupleIsValid(tup))
			break;
		ReleaseSysCache(tup);
		natts++;
	}
	enc->fields = palloc0(sizeof(BprField) * Max(natts, 1));
	if (explicit_features)
	{
		foreach(lc, features)
		{
			char	   *column = lfirst(lc);
			AttrNumber	attnum = get_attnum(relid, column);

			if (attnum == InvalidAttrNumber || attnum < 0)
				ereport(ERROR,
						(errcode(ERRCODE_UNDEFINED_COLUMN),
						 errmsg("column \"%s\" of relation \"%s\" does not exist",
								column, bpr_relation_name(relid))));
			if (strcmp(column, key_column) == 0)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("the key column \"%s\" cannot be a %s feature", column, side)));
			add_field(enc, &added, column, getBaseType(get_atttype(relid, attnum)),
					  true, categorical, side);
		}
	}
	else
	{
		for (AttrNumber attnum = 1; attnum <= natts; attnum++)
		{
			HeapTuple	tup = SearchSysCache2(ATTNUM, ObjectIdGetDatum(relid), Int16GetDatum(attnum));
			Form_pg_attribute att;

			if (!HeapTupleIsValid(tup))
				continue;
			att = (Form_pg_attribute) GETSTRUCT(tup);
			if (!att->attisdropped && strcmp(NameStr(att->attname), key_column) != 0)
				add_field(enc, &added, NameStr(att->attname), getBaseType(att->atttypid),
						  false, categorical, side);
			ReleaseSysCache(tup);
		}
	}
	if (enc->n_fields > BPR_MAX_FIELDS)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("too many %s features", side),
				 errdetail("bpr takes at most %d features per table.", BPR_MAX_FIELDS)));
	qsort(enc->fields, enc->n_fields, sizeof(BprField), cmp_field);
}

/* Counts fields by kind */
void
bpr_encoding_counts(const BprEncoding *enc, int *numeric, int *categorical, int *multi)
{
	*numeric = *categorical = *multi = 0;
	for (int f = 0; f < enc->n_fields; f++)
	{
		if (enc->fields[f].kind == BPR_FIELD_NUMERIC)
			(*numeric)++;
		else if (enc->fields[f].kind == BPR_FIELD_CATEGORICAL)
			(*categorical)++;
		else
			(*multi)++;
	}
}

/* The SELECT expression that reads the key column as bpr keeps keys */
static char *
key_expr(const BprEncoding *enc)
{
	return psprintf("%s::%s", quote_identifier(enc->key_column), bpr_key_cast(enc->key_type));
}

/* SELECT list (key, then fields cast to float8, text or text[]) from the table */
char *
bpr_encoding_select(const BprEncoding *enc)
{
	StringInfoData sql;

	initStringInfo(&sql);
	appendStringInfo(&sql, "SELECT %s", key_expr(enc));
	for (int f = 0; f < enc->n_fields; f++)
	{
		const BprField *field = &enc->fields[f];
		const char *col = quote_identifier(field->column);

		if (field->kind == BPR_FIELD_NUMERIC)
			appendStringInfo(&sql, field->type == BOOLOID ? ", %s::int4::float8" : ", %s::float8", col);
		else if (field->kind == BPR_FIELD_CATEGORICAL)
			appendStringInfo(&sql, ", %s::text", col);
		else
			appendStringInfo(&sql, ", %s::text[]", col);
	}
	appendStringInfo(&sql, " FROM %s", bpr_relation_sql_name(enc->relid));
	return sql.data;
}

/* The table's rows in key order (bytewise for text keys), as bpr_encoding_select reads them */
static char *
select_in_key_order(const BprEncoding *enc)
{
	return psprintf("%s ORDER BY (%s)%s", bpr_encoding_select(enc), key_expr(enc),
					bpr_key_type_is_int(enc->key_type) ? "" : " COLLATE \"C\"");
}

/* The key of a row read by bpr_encoding_select (column 1); false when NULL */
bool
bpr_encoding_row_key(const BprEncoding *enc, HeapTuple tuple, TupleDesc desc, BprKey *key)
{
	bool		isnull;
	Datum		d = SPI_getbinval(tuple, desc, 1, &isnull);

	if (isnull)
		return false;
	bpr_key_from_datum(d, bpr_key_type_is_int(enc->key_type) ? INT8OID : TEXTOID,
					   enc->key_type, "key", "", key);
	return true;
}

/* Raises the error for a key that has two rows in a features table */
void
bpr_encoding_duplicate_key(const BprEncoding *enc, const BprKey *key)
{
	ereport(ERROR,
			(errcode(ERRCODE_CARDINALITY_VIOLATION),
			 errmsg("relation \"%s\" has more than one row with %s = %s",
					bpr_relation_name(enc->relid), enc->key_column, bpr_key_arg_text(key))));
}

/* Statistics gathered for one field over the trained entities */
typedef struct FieldStats
{
	int64		n_values;		/* non-NULL values (array elements for multi) */
	double		mean;			/* numeric: running mean (Welford) */
	double		m2;				/* numeric: running sum of squared deviations */
	BprKeyDict	values;			/* categorical, multi: distinct values */
} FieldStats;

/* Adds one value of a row to a field's statistics */
static void
stats_add(const BprField *field, FieldStats *st, Datum d)
{
	if (field->kind == BPR_FIELD_NUMERIC)
	{
		double		v = DatumGetFloat8(d);
		double		delta;

		if (!isfinite(v))
			return;
		st->n_values++;
		delta = v - st->mean;
		st->mean += delta / (double) st->n_values;
		st->m2 += delta * (v - st->mean);
	}
	else if (field->kind == BPR_FIELD_CATEGORICAL)
	{
		text	   *t = DatumGetTextPP(d);

		st->n_values++;
		if (bpr_keydict_bytes(&st->values, VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t), true) == -2)
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("column \"%s\" has too many distinct values", field->column)));
	}
	else
	{
		Datum	   *elems;
		bool	   *nulls;
		int			n;

		deconstruct_array(DatumGetArrayTypeP(d), TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, &n);
		for (int j = 0; j < n; j++)
		{
			text	   *t;

			if (nulls[j])
				continue;
			t = DatumGetTextPP(elems[j]);
			st->n_values++;
			if (bpr_keydict_bytes(&st->values, VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t), true) == -2)
				ereport(ERROR,
						(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
						 errmsg("column \"%s\" has too many distinct values", field->column)));
		}
	}
}

/* Turns a field's statistics into its standardisation or vocabulary */
static void
stats_finish(BprField *field, FieldStats *st, BprPgAlloc *alloc)
{
	if (field->kind == BPR_FIELD_NUMERIC)
	{
		field->mean = st->n_values > 0 ? st->mean : 0.0;
		field->scale = st->n_values > 1 ? sqrt(st->m2 / (double) st->n_values) : 0.0;
		if (!(field->scale > 1e-12))
			field->scale = 1.0;
		return;
	}
	{
		BprKeySet	sorted;
		int32	   *perm = bpr_pg_alloc(alloc, Max(st->values.n, 1), sizeof(int32), "vocabulary");

		bpr_keydict_sort(&st->values, &sorted, perm);
		field->n_vocab = sorted.n;
		field->vocab = palloc(sizeof(char *) * Max(sorted.n, 1));
		for (int32 i = 0; i < sorted.n; i++)
		{
			size_t		len;
			const char *b = bpr_keyset_bytes_at(&sorted, i, &len);

			field->vocab[i] = pnstrdup(b, len);
		}
		bpr_free_array(&alloc->base, perm, Max(st->values.n, 1), sizeof(int32));
		bpr_free_array(&alloc->base, (void *) sorted.offsets, (size_t) sorted.n + 1, sizeof(uint64));
		bpr_free_array(&alloc->base, (void *) sorted.bytes, Max(sorted.offsets[sorted.n], 1), 1);
		bpr_keydict_free(&st->values);
	}
}

/* Fits standardisation and vocabularies on the entities of keys, then encodes them (row = position) */
void
bpr_encoding_fit(BprEncoding *enc, const BprKeySet *keys, BprPgAlloc *alloc, BprFeatures *out)
{
	int			nf = enc->n_fields;
	FieldStats *stats;
	uint8	   *seen;
	int64		matched = 0;
	int			kept = 0;
	BprCursor	cursor;

	memset(out, 0, sizeof(*out));
	out->n_rows = keys->n;
	if (!OidIsValid(enc->relid) || nf == 0)
		return;

	/* pass 1: statistics and vocabularies over the trained entities' rows */
	stats = palloc0(sizeof(FieldStats) * nf);
	for (int f = 0; f < nf; f++)
		bpr_keydict_init(&stats[f].values, false, PG_INT32_MAX - 1, &alloc->base);
	seen = bpr_pg_alloc(alloc, Max(keys->n, 1), 1, "feature rows");
	bpr_cursor_open(&cursor, bpr_encoding_select(enc), 0, NULL, NULL);
	while (bpr_cursor_next(&cursor))
	{
		SPITupleTable *tt = cursor.batch;

		for (uint64 r = 0; r < tt->numvals; r++)
		{
			BprKey		key;
			int64		pos;

			if (!bpr_encoding_row_key(enc, tt->vals[r], tt->tupdesc, &key) ||
				(pos = bpr_key_find(keys, &key)) < 0)
				continue;		/* not in the ratings: not trained */
			if (seen[pos])
				bpr_encoding_duplicate_key(enc, &key);
			seen[pos] = 1;
			matched++;
			for (int f = 0; f < nf; f++)
			{
				bool		isnull;
				Datum		d = SPI_getbinval(tt->vals[r], tt->tupdesc, f + 2, &isnull);

				if (!isnull)
					stats_add(&enc->fields[f], &stats[f], d);
			}
		}
	}
	bpr_free_array(&alloc->base, seen, Max(keys->n, 1), 1);
	if (matched < keys->n)
		ereport(NOTICE,
				(errmsg(INT64_FORMAT " of %d rated entities have no row in \"%s\"; their features count as missing",
						(int64) keys->n - matched, keys->n, bpr_relation_name(enc->relid))));

	/* fit; drop unnamed text columns whose values are (nearly) unique per row */
	for (int f = 0; f < nf; f++)
	{
		BprField   *field = &enc->fields[f];

		if (field->kind == BPR_FIELD_CATEGORICAL && !field->named && stats[f].n_values > 1 &&
			(double) stats[f].values.n > BPR_MAX_DISTINCT_SHARE * (double) stats[f].n_values)
		{
			ereport(NOTICE,
					(errmsg("skipping feature \"%s\" of \"%s\": %d distinct values in %lld rows",
							field->column, bpr_relation_name(enc->relid), stats[f].values.n,
							(long long) stats[f].n_values),
					 errdetail("A text column whose distinct values are more than half of its values is mostly unique per row."),
					 errhint("Name the column in the features or categorical argument to use it anyway.")));
			bpr_keydict_free(&stats[f].values);
			continue;
		}
		stats_finish(field, &stats[f], alloc);
		enc->fields[kept++] = *field;
	}
	enc->n_fields = kept;
	pfree(stats);

	/* pass 2: encode every trained entity, in key order */
	bpr_encoding_encode_keys(enc, select_in_key_order(enc), keys, alloc, out);
}

/* Encodes, with a fitted encoding, the rows whose key is not in skip; their keys go to keys */
void
bpr_encoding_encode_rows(const BprEncoding *enc, const BprKeySet *skip, BprKeyDict *keys,
						 BprPgAlloc *alloc, BprFeatures *out)
{
	bpr_encoding_encode_others(enc, select_in_key_order(enc), skip, keys, alloc, out);
}
