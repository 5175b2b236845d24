/*
 * feature_rows.c - encoding table rows into feature matrices with a fitted encoding
 *
 * A builder appends encoded rows to growing arrays (numeric values, category
 * codes, multi-hot bags in CSR form) taken from the caller's allocator, so
 * every byte is charged to the budget.  Training encodes its entities in key
 * order, cold start encodes one row, and fold-in and evaluation encode the
 * entities a model has no vector for.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"

#include "encode.h"
#include "keys.h"

/* Rows a builder starts with */
#define BUILDER_MIN_ROWS 64

/* A feature matrix being built, one row at a time */
typedef struct FeatureBuilder
{
	const BprEncoding *enc;
	BprPgAlloc *alloc;
	int			n_num;
	int			n_cat;
	int			n_multi;
	int32		n;				/* rows so far */
	int32		cap;			/* rows allocated */
	float	   *numeric;		/* cap x n_num */
	int32	   *cat;			/* cap x n_cat */
	int32	   *cat_card;
	int64	  **mptr;			/* per multi field: cap + 1 offsets */
	int32	  **midx;			/* per multi field: codes */
	int64	   *mcap;			/* per multi field: codes allocated */
} FeatureBuilder;

/* Code of a value in a field's sorted vocabulary: 1..n, or 0 when absent */
int32
bpr_field_vocab_code(const BprField *field, const char *value, size_t len)
{
	int32		lo = 0,
				hi = field->n_vocab - 1;

	while (lo <= hi)
	{
		int32		mid = lo + (hi - lo) / 2;
		int			c = bpr_key_bytes_cmp(field->vocab[mid], strlen(field->vocab[mid]), value, len);

		if (c == 0)
			return mid + 1;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return 0;
}

/* Copies an array into a larger block of the builder's allocator */
static void *
regrow(FeatureBuilder *b, void *old, size_t old_n, size_t new_n, size_t size)
{
	void	   *fresh = bpr_pg_alloc(b->alloc, new_n, size, "feature rows");

	if (old != NULL && old_n > 0)
		memcpy(fresh, old, old_n * size);
	if (old != NULL)
		bpr_free_array(&b->alloc->base, old, Max(old_n, 1), size);
	return fresh;
}

/* Prepares a builder with room for cap rows */
static void
builder_init(FeatureBuilder *b, const BprEncoding *enc, int32 cap, BprPgAlloc *alloc)
{
	memset(b, 0, sizeof(*b));
	b->enc = enc;
	b->alloc = alloc;
	bpr_encoding_counts(enc, &b->n_num, &b->n_cat, &b->n_multi);
	b->cat_card = bpr_pg_alloc(alloc, Max(b->n_cat, 1), sizeof(int32), "feature rows");
	b->mptr = palloc0(sizeof(int64 *) * Max(b->n_multi, 1));
	b->midx = palloc0(sizeof(int32 *) * Max(b->n_multi, 1));
	b->mcap = palloc0(sizeof(int64) * Max(b->n_multi, 1));
	for (int f = 0, ci = 0; f < enc->n_fields; f++)
		if (enc->fields[f].kind == BPR_FIELD_CATEGORICAL)
			b->cat_card[ci++] = enc->fields[f].n_vocab + 1;
	cap = Max(cap, 1);
	b->numeric = bpr_pg_alloc(alloc, (size_t) cap * Max(b->n_num, 1), sizeof(float), "feature rows");
	b->cat = bpr_pg_alloc(alloc, (size_t) cap * Max(b->n_cat, 1), sizeof(int32), "feature rows");
	for (int m = 0; m < b->n_multi; m++)
		b->mptr[m] = bpr_pg_alloc(alloc, (size_t) cap + 1, sizeof(int64), "feature rows");
	b->cap = cap;
}

/* Makes room for one more row */
static void
builder_reserve(FeatureBuilder *b)
{
	int32		cap;

	if (b->n < b->cap)
		return;
	if (b->cap > PG_INT32_MAX / 2)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("too many feature rows in \"%s\"", bpr_relation_name(b->enc->relid))));
	cap = Max(BUILDER_MIN_ROWS, 2 * b->cap);
	b->numeric = regrow(b, b->numeric, (size_t) b->cap * Max(b->n_num, 1),
						(size_t) cap * Max(b->n_num, 1), sizeof(float));
	b->cat = regrow(b, b->cat, (size_t) b->cap * Max(b->n_cat, 1),
					(size_t) cap * Max(b->n_cat, 1), sizeof(int32));
	for (int m = 0; m < b->n_multi; m++)
		b->mptr[m] = regrow(b, b->mptr[m], (size_t) b->cap + 1, (size_t) cap + 1, sizeof(int64));
	b->cap = cap;
}

/* Adds a code to multi-hot field m's bag of the current row, kept sorted and without repeats */
static void
bag_add(FeatureBuilder *b, int m, int32 code)
{
	int64		start = b->mptr[m][b->n];
	int64		end = b->mptr[m][b->n + 1];
	int32	   *idx;
	int64		k;

	if (end == b->mcap[m])
	{
		int64		cap = Max(256, 2 * b->mcap[m]);

		b->midx[m] = regrow(b, b->midx[m], (size_t) b->mcap[m], (size_t) cap, sizeof(int32));
		b->mcap[m] = cap;
	}
	idx = b->midx[m];
	for (k = start; k < end && idx[k] < code; k++)
		;
	if (k < end && idx[k] == code)
		return;
	memmove(idx + k + 1, idx + k, sizeof(int32) * (end - k));
	idx[k] = code;
	b->mptr[m][b->n + 1] = end + 1;
}

/* Appends a row: values[f] of each field (NULL values: missing), or every field missing */
static void
builder_add(FeatureBuilder *b, const Datum *values, const bool *nulls)
{
	const BprEncoding *enc = b->enc;

	builder_reserve(b);
	for (int m = 0; m < b->n_multi; m++)
		b->mptr[m][b->n + 1] = b->mptr[m][b->n];
	for (int f = 0, ni = 0, ci = 0, mi = 0; f < enc->n_fields; f++)
	{
		const BprField *field = &enc->fields[f];
		bool		missing = values == NULL || nulls[f];

		if (field->kind == BPR_FIELD_NUMERIC)
		{
			double		v = missing ? NAN : DatumGetFloat8(values[f]);

			/* a missing or non-finite value is the mean: 0 after standardising */
			b->numeric[(size_t) b->n * b->n_num + ni++] =
				isfinite(v) ? (float) ((v - field->mean) / field->scale) : 0.0f;
		}
		else if (field->kind == BPR_FIELD_CATEGORICAL)
		{
			int32		code = 0;

			if (!missing)
			{
				text	   *t = DatumGetTextPP(values[f]);

				code = bpr_field_vocab_code(field, VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t));
			}
			b->cat[(size_t) b->n * b->n_cat + ci++] = code;
		}
		else
		{
			if (!missing)
			{
				Datum	   *elems;
				bool	   *enulls;
				int			n;

				deconstruct_array(DatumGetArrayTypeP(values[f]), TEXTOID, -1, false,
								  TYPALIGN_INT, &elems, &enulls, &n);
				for (int j = 0; j < n; j++)
				{
					text	   *t;
					int32		code;

					if (enulls[j])
						continue;
					t = DatumGetTextPP(elems[j]);
					/* an element never seen in training has no trained row: left out */
					code = bpr_field_vocab_code(field, VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t));
					if (code > 0)
						bag_add(b, mi, code);
				}
			}
			mi++;
		}
	}
	b->n++;
}

/* Points a feature matrix at the builder's arrays */
static void
builder_finish(FeatureBuilder *b, BprFeatures *out)
{
	BprMultiField *multi = bpr_pg_alloc(b->alloc, Max(b->n_multi, 1), sizeof(BprMultiField),
										"feature rows");

	for (int m = 0, f = 0; f < b->enc->n_fields; f++)
	{
		if (b->enc->fields[f].kind != BPR_FIELD_MULTI)
			continue;
		if (b->midx[m] == NULL)
			b->midx[m] = bpr_pg_alloc(b->alloc, 1, sizeof(int32), "feature rows");
		multi[m].card = b->enc->fields[f].n_vocab + 1;
		multi[m].ptr = b->mptr[m];
		multi[m].idx = b->midx[m];
		m++;
	}
	out->n_rows = b->n;
	out->n_numeric = b->n_num;
	out->numeric = b->numeric;
	out->n_cat = b->n_cat;
	out->cat_card = b->cat_card;
	out->cat = b->cat;
	out->n_multi = b->n_multi;
	out->multi = multi;
}

/* The field values of a fetched row (columns 2..), for builder_add */
static void
row_values(const BprEncoding *enc, HeapTuple tuple, TupleDesc desc, Datum *values, bool *nulls)
{
	for (int f = 0; f < enc->n_fields; f++)
		values[f] = SPI_getbinval(tuple, desc, f + 2, &nulls[f]);
}

/* Encodes the rows of sql (in key order) for the entities of keys: row r is keys' r-th */
void
bpr_encoding_encode_keys(const BprEncoding *enc, const char *sql, const BprKeySet *keys,
						 BprPgAlloc *alloc, BprFeatures *out)
{
	FeatureBuilder b;
	BprCursor	cursor;
	Datum	   *values = palloc(sizeof(Datum) * Max(enc->n_fields, 1));
	bool	   *nulls = palloc(sizeof(bool) * Max(enc->n_fields, 1));

	builder_init(&b, enc, keys->n, alloc);
	bpr_cursor_open(&cursor, sql, 0, NULL, NULL);
	while (bpr_cursor_next(&cursor))
	{
		SPITupleTable *tt = cursor.batch;

		for (uint64 r = 0; r < tt->numvals; r++)
		{
			BprKey		key;
			int64		pos;

			if (!bpr_encoding_row_key(enc, tt->vals[r], tt->tupdesc, &key) ||
				(pos = bpr_key_find(keys, &key)) < 0)
				continue;
			if (pos < b.n)
				bpr_encoding_duplicate_key(enc, &key);
			/* entities without a row in the table: every feature missing */
			while (b.n < pos)
				builder_add(&b, NULL, NULL);
			row_values(enc, tt->vals[r], tt->tupdesc, values, nulls);
			builder_add(&b, values, nulls);
		}
	}
	while (b.n < keys->n)
		builder_add(&b, NULL, NULL);
	builder_finish(&b, out);
}

/* Encodes the rows of sql (in key order) whose key is not in skip; their keys go to keys */
void
bpr_encoding_encode_others(const BprEncoding *enc, const char *sql, const BprKeySet *skip,
						   BprKeyDict *keys, BprPgAlloc *alloc, BprFeatures *out)
{
	FeatureBuilder b;
	BprCursor	cursor;
	Datum	   *values = palloc(sizeof(Datum) * Max(enc->n_fields, 1));
	bool	   *nulls = palloc(sizeof(bool) * Max(enc->n_fields, 1));

	builder_init(&b, enc, BUILDER_MIN_ROWS, alloc);
	bpr_cursor_open(&cursor, sql, 0, NULL, NULL);
	while (bpr_cursor_next(&cursor))
	{
		SPITupleTable *tt = cursor.batch;

		for (uint64 r = 0; r < tt->numvals; r++)
		{
			BprKey		key;
			int32		idx;

			if (!bpr_encoding_row_key(enc, tt->vals[r], tt->tupdesc, &key) ||
				(skip != NULL && bpr_key_find(skip, &key) >= 0))
				continue;
			idx = bpr_key_dict_lookup(keys, &key, true);
			if (idx == -2)
				ereport(ERROR,
						(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
						 errmsg("too many rows in \"%s\"", bpr_relation_name(enc->relid))));
			if (idx < b.n)
				bpr_encoding_duplicate_key(enc, &key);
			row_values(enc, tt->vals[r], tt->tupdesc, values, nulls);
			builder_add(&b, values, nulls);
		}
	}
	builder_finish(&b, out);
}

/* Encodes one row (fields as returned by bpr_encoding_select, key excluded) into a one-row matrix */
void
bpr_encoding_encode_row(const BprEncoding *enc, const Datum *values, const bool *nulls,
						BprFeatures *out)
{
	FeatureBuilder b;
	BprPgAlloc	alloc;

	bpr_pg_alloc_init(&alloc, CurrentMemoryContext, 0);
	builder_init(&b, enc, 1, &alloc);
	builder_add(&b, values, nulls);
	builder_finish(&b, out);
}
