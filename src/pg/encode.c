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

#include "core/vecmath.h"
#include "encode.h"

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
						column, get_rel_name(relid)),
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

/* Orders fields numeric, categorical, multi; stable by position otherwise */
static int
cmp_field(const void *a, const void *b)
{
	const BprField *x = a,
			   *y = b;

	if (x->kind != y->kind)
		return x->kind < y->kind ? -1 : 1;
	return 0;
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
							column, get_rel_name(enc->relid), format_type_be(type)),
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
	enc->n_fields++;
	*added = lappend(*added, (void *) column);
}

/* Chooses the fields of a table: named ones, or every column but the key */
void
bpr_encoding_choose(BprEncoding *enc, Oid relid, const char *key_column,
					List *features, bool explicit_features,
					List *categorical, const char *side)
{
	List	   *added = NIL;
	int			natts;
	ListCell   *lc;

	memset(enc, 0, sizeof(*enc));
	enc->relid = relid;
	enc->key_column = pstrdup(key_column);
	if (!OidIsValid(relid))
		return;
	bpr_check_column(relid, key_column, BPR_COLUMN_KEY);

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
								column, get_rel_name(relid))));
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

/* SELECT list (key, then fields cast to float8, text or text[]) for the table */
char *
bpr_encoding_select(const BprEncoding *enc)
{
	StringInfoData sql;

	initStringInfo(&sql);
	appendStringInfo(&sql, "SELECT %s::int8", quote_identifier(enc->key_column));
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

/* Orders C strings bytewise */
static int
cmp_cstring(const void *a, const void *b)
{
	return strcmp(*(char *const *) a, *(char *const *) b);
}

/* Code of a value in a sorted vocabulary: 1..n, or 0 when absent */
static int32
vocab_code(const BprField *field, const char *value)
{
	int32		lo = 0,
				hi = field->n_vocab - 1;

	while (lo <= hi)
	{
		int32		mid = lo + (hi - lo) / 2;
		int			c = strcmp(field->vocab[mid], value);

		if (c == 0)
			return mid + 1;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return 0;
}

/* Raw values of one field for every entity, before fitting */
typedef struct RawField
{
	double	   *num;			/* numeric */
	bool	   *isnull;
	char	  **text;			/* categorical */
	int32	   *bag_len;		/* multi: element count per entity */
	char	 ***bag;			/* multi: elements per entity */
	int64		n_values;		/* non-null values (elements for multi) */
} RawField;

/* Text elements of a text[] datum, NULLs dropped */
static char **
array_texts(Datum d, int32 *count)
{
	ArrayType  *arr = DatumGetArrayTypeP(d);
	Datum	   *elems;
	bool	   *nulls;
	int			n;
	char	  **out;
	int32		m = 0;

	deconstruct_array(arr, TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, &n);
	out = palloc(sizeof(char *) * Max(n, 1));
	for (int i = 0; i < n; i++)
		if (!nulls[i])
			out[m++] = TextDatumGetCString(elems[i]);
	*count = m;
	return out;
}

/* Builds a field's sorted vocabulary from raw values; returns the count of distinct values */
static void
fit_vocabulary(BprField *field, RawField *raw, int32 n_ids)
{
	char	  **all = palloc_extended(sizeof(char *) * Max(raw->n_values, 1), MCXT_ALLOC_HUGE);
	int64		n = 0,
				m = 0;

	for (int32 e = 0; e < n_ids; e++)
	{
		if (field->kind == BPR_FIELD_CATEGORICAL && raw->text[e] != NULL)
			all[n++] = raw->text[e];
		else if (field->kind == BPR_FIELD_MULTI)
			for (int32 j = 0; j < raw->bag_len[e]; j++)
				all[n++] = raw->bag[e][j];
	}
	qsort(all, n, sizeof(char *), cmp_cstring);
	for (int64 i = 0; i < n; i++)
		if (m == 0 || strcmp(all[m - 1], all[i]) != 0)
			all[m++] = all[i];
	if (m > PG_INT32_MAX - 1)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("column \"%s\" has too many distinct values", field->column)));
	field->n_vocab = (int32) m;
	field->vocab = all;
}

/* Adds a code to the sorted bag idx[start, total), dropping repeats; returns the new total */
static int64
bag_add(int32 *idx, int64 start, int64 total, int32 code)
{
	int64		k;

	for (k = start; k < total && idx[k] < code; k++)
		;
	if (k < total && idx[k] == code)
		return total;
	memmove(idx + k + 1, idx + k, sizeof(int32) * (total - k));
	idx[k] = code;
	return total + 1;
}

/* Points a feature matrix at its encoded arrays */
static void
set_features(BprFeatures *out, int32 n_rows, int n_num, float *numeric, int n_cat,
			 int32 *cat_card, int32 *cat, int n_multi, BprMultiField *multi)
{
	out->n_rows = n_rows;
	out->n_numeric = n_num;
	out->numeric = numeric;
	out->n_cat = n_cat;
	out->cat_card = cat_card;
	out->cat = cat;
	out->n_multi = n_multi;
	out->multi = multi;
}

/* Reads the table, fits standardisation and vocabularies on the given entities, encodes them */
void
bpr_encoding_fit(BprEncoding *enc, const int64 *ids, int32 n_ids,
				 BprPgAlloc *alloc, BprFeatures *out)
{
	RawField   *raw;
	BprCursor	cursor;
	bool	   *seen;
	int			nf = enc->n_fields;
	int			n_num,
				n_cat,
				n_multi,
				kept;
	int64		matched = 0;
	float	   *numeric;
	int32	   *cat,
			   *cat_card;
	BprMultiField *multi;
	char	   *sql;

	memset(out, 0, sizeof(*out));
	out->n_rows = n_ids;
	if (!OidIsValid(enc->relid) || nf == 0)
		return;

	raw = palloc0(sizeof(RawField) * nf);
	for (int f = 0; f < nf; f++)
	{
		raw[f].isnull = palloc_extended(sizeof(bool) * Max(n_ids, 1), MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
		if (enc->fields[f].kind == BPR_FIELD_NUMERIC)
			raw[f].num = palloc_extended(sizeof(double) * Max(n_ids, 1), MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
		else if (enc->fields[f].kind == BPR_FIELD_CATEGORICAL)
			raw[f].text = palloc_extended(sizeof(char *) * Max(n_ids, 1), MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
		else
		{
			raw[f].bag = palloc_extended(sizeof(char **) * Max(n_ids, 1), MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
			raw[f].bag_len = palloc_extended(sizeof(int32) * Max(n_ids, 1), MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
		}
		for (int32 e = 0; e < n_ids; e++)
			raw[f].isnull[e] = true;
	}
	seen = palloc_extended(sizeof(bool) * Max(n_ids, 1), MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);

	sql = bpr_encoding_select(enc);
	bpr_cursor_open(&cursor, sql, 0, NULL, NULL);
	while (bpr_cursor_next(&cursor))
	{
		SPITupleTable *tt = cursor.batch;

		for (uint64 r = 0; r < tt->numvals; r++)
		{
			bool		isnull;
			Datum		key = SPI_getbinval(tt->vals[r], tt->tupdesc, 1, &isnull);
			int32		e;

			if (isnull)
				continue;
			e = (int32) bpr_find_i64(ids, n_ids, DatumGetInt64(key));
			if (e < 0)
				continue;		/* not in the ratings: not trained */
			if (seen[e])
				ereport(ERROR,
						(errcode(ERRCODE_CARDINALITY_VIOLATION),
						 errmsg("relation \"%s\" has more than one row with %s = " INT64_FORMAT,
								get_rel_name(enc->relid), enc->key_column, ids[e])));
			seen[e] = true;
			matched++;
			for (int f = 0; f < nf; f++)
			{
				Datum		d = SPI_getbinval(tt->vals[r], tt->tupdesc, f + 2, &isnull);

				if (isnull)
					continue;
				raw[f].isnull[e] = false;
				if (enc->fields[f].kind == BPR_FIELD_NUMERIC)
				{
					raw[f].num[e] = DatumGetFloat8(d);
					if (!isfinite(raw[f].num[e]))
						raw[f].isnull[e] = true;
					else
						raw[f].n_values++;
				}
				else if (enc->fields[f].kind == BPR_FIELD_CATEGORICAL)
				{
					raw[f].text[e] = TextDatumGetCString(d);
					raw[f].n_values++;
				}
				else
				{
					raw[f].bag[e] = array_texts(d, &raw[f].bag_len[e]);
					raw[f].n_values += raw[f].bag_len[e];
				}
			}
		}
	}
	if (matched < n_ids)
		ereport(NOTICE,
				(errmsg(INT64_FORMAT " of %d rated entities have no row in \"%s\"; their features count as missing",
						(int64) n_ids - matched, n_ids, get_rel_name(enc->relid))));

	/* fit statistics and vocabularies; drop unnamed text columns unique per row */
	kept = 0;
	for (int f = 0; f < nf; f++)
	{
		BprField   *field = &enc->fields[f];

		if (field->kind == BPR_FIELD_NUMERIC)
		{
			double		sum = 0.0,
						sq = 0.0;
			int64		n = raw[f].n_values;

			for (int32 e = 0; e < n_ids; e++)
				if (!raw[f].isnull[e])
					sum += raw[f].num[e];
			field->mean = n > 0 ? sum / n : 0.0;
			for (int32 e = 0; e < n_ids; e++)
				if (!raw[f].isnull[e])
					sq += (raw[f].num[e] - field->mean) * (raw[f].num[e] - field->mean);
			field->scale = n > 1 ? sqrt(sq / n) : 0.0;
			if (!(field->scale > 1e-12))
				field->scale = 1.0;
		}
		else
		{
			fit_vocabulary(field, &raw[f], n_ids);
			if (field->kind == BPR_FIELD_CATEGORICAL && !field->named &&
				raw[f].n_values > 1 && field->n_vocab == raw[f].n_values)
			{
				ereport(NOTICE,
						(errmsg("skipping feature \"%s\" of \"%s\": every row has its own value",
								field->column, get_rel_name(enc->relid)),
						 errhint("Name the column in the features or categorical argument to use it anyway.")));
				continue;
			}
		}
		if (kept != f)
		{
			enc->fields[kept] = *field;
			raw[kept] = raw[f];
		}
		kept++;
	}
	enc->n_fields = nf = kept;
	bpr_encoding_counts(enc, &n_num, &n_cat, &n_multi);

	/* encode */
	numeric = bpr_pg_alloc(alloc, (size_t) n_ids * Max(n_num, 1), sizeof(float), "numeric features");
	cat = bpr_pg_alloc(alloc, (size_t) n_ids * Max(n_cat, 1), sizeof(int32), "categorical features");
	cat_card = bpr_pg_alloc(alloc, Max(n_cat, 1), sizeof(int32), "categorical features");
	multi = bpr_pg_alloc(alloc, Max(n_multi, 1), sizeof(BprMultiField), "multi-hot features");
	for (int f = 0, ni = 0, ci = 0, mi = 0; f < nf; f++)
	{
		BprField   *field = &enc->fields[f];

		CHECK_FOR_INTERRUPTS();
		if (field->kind == BPR_FIELD_NUMERIC)
		{
			for (int32 e = 0; e < n_ids; e++)
				numeric[(size_t) e * n_num + ni] = raw[f].isnull[e] ? 0.0f :
					(float) ((raw[f].num[e] - field->mean) / field->scale);
			ni++;
		}
		else if (field->kind == BPR_FIELD_CATEGORICAL)
		{
			cat_card[ci] = field->n_vocab + 1;
			for (int32 e = 0; e < n_ids; e++)
				cat[(size_t) e * n_cat + ci] = raw[f].text[e] ? vocab_code(field, raw[f].text[e]) : 0;
			ci++;
		}
		else
		{
			int64	   *ptr = bpr_pg_alloc(alloc, (size_t) n_ids + 1, sizeof(int64), "multi-hot features");
			int32	   *idx;
			int64		total = 0;

			idx = bpr_pg_alloc(alloc, Max(raw[f].n_values, 1), sizeof(int32), "multi-hot features");
			for (int32 e = 0; e < n_ids; e++)
			{
				int64		start = total;

				for (int32 j = 0; j < raw[f].bag_len[e]; j++)
					total = bag_add(idx, start, total, vocab_code(field, raw[f].bag[e][j]));
				ptr[e + 1] = total;
			}
			multi[mi].card = field->n_vocab + 1;
			multi[mi].ptr = ptr;
			multi[mi].idx = idx;
			mi++;
		}
	}
	set_features(out, n_ids, n_num, numeric, n_cat, cat_card, cat, n_multi, multi);
}

/* Encodes one row (fields as returned by bpr_encoding_select, key excluded) into a one-row matrix */
void
bpr_encoding_encode_row(const BprEncoding *enc, const Datum *values,
						const bool *nulls, BprFeatures *out)
{
	int			n_num,
				n_cat,
				n_multi;
	float	   *numeric;
	int32	   *cat,
			   *cat_card;
	BprMultiField *multi;

	bpr_encoding_counts(enc, &n_num, &n_cat, &n_multi);
	numeric = palloc0(sizeof(float) * Max(n_num, 1));
	cat = palloc0(sizeof(int32) * Max(n_cat, 1));
	cat_card = palloc0(sizeof(int32) * Max(n_cat, 1));
	multi = palloc0(sizeof(BprMultiField) * Max(n_multi, 1));
	for (int f = 0, ni = 0, ci = 0, mi = 0; f < enc->n_fields; f++)
	{
		const BprField *field = &enc->fields[f];

		if (field->kind == BPR_FIELD_NUMERIC)
		{
			double		v = nulls[f] ? NAN : DatumGetFloat8(values[f]);

			numeric[ni++] = isfinite(v) ? (float) ((v - field->mean) / field->scale) : 0.0f;
		}
		else if (field->kind == BPR_FIELD_CATEGORICAL)
		{
			cat_card[ci] = field->n_vocab + 1;
			cat[ci++] = nulls[f] ? 0 : vocab_code(field, TextDatumGetCString(values[f]));
		}
		else
		{
			int32		n = 0,
						m = 0;
			char	  **texts = nulls[f] ? NULL : array_texts(values[f], &n);
			int64	   *ptr = palloc0(sizeof(int64) * 2);
			int32	   *idx = palloc0(sizeof(int32) * Max(n, 1));

			/* an element never seen in training has no trained row: left out */
			for (int32 j = 0; j < n; j++)
			{
				int32		code = vocab_code(field, texts[j]);

				if (code > 0)
					m = (int32) bag_add(idx, 0, m, code);
			}
			ptr[1] = m;
			multi[mi].card = field->n_vocab + 1;
			multi[mi].ptr = ptr;
			multi[mi].idx = idx;
			mi++;
		}
	}
	set_features(out, 1, n_num, numeric, n_cat, cat_card, cat, n_multi, multi);
}
