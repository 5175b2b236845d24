/*
 * encode.h - feature encodings: choosing columns, fitting, encoding rows
 *
 * A field is one column of the users or items table: numeric (standardised),
 * categorical (a sorted vocabulary; code 0 = missing or unseen), or multi-hot
 * (an array column; a bag of vocabulary codes).  Fields are kept in the order
 * numeric, categorical, multi (by column position within a kind): the input
 * layout of a tower.  Tables are read in key order, so feature rows line up
 * with a side's sorted keys.
 */
#ifndef BPR_ENCODE_H
#define BPR_ENCODE_H

#include "postgres.h"

#include "access/htup.h"
#include "access/tupdesc.h"
#include "nodes/pg_list.h"

#include "core/feature_matrix.h"
#include "core/keydict.h"
#include "core/keyset.h"
#include "util.h"

typedef enum BprFieldKind
{
	BPR_FIELD_NUMERIC = 0,
	BPR_FIELD_CATEGORICAL = 1,
	BPR_FIELD_MULTI = 2
} BprFieldKind;

typedef struct BprField
{
	char	   *column;
	BprFieldKind kind;
	bool		named;			/* named by the caller (kept even if near-unique) */
	int			position;		/* order among the table's columns */
	Oid			type;			/* column type (base type of a domain) */
	double		mean;			/* numeric: subtracted */
	double		scale;			/* numeric: divided by */
	int32		n_vocab;		/* categorical, multi: codes are 1..n_vocab */
	char	  **vocab;			/* sorted bytewise */
} BprField;

typedef struct BprEncoding
{
	Oid			relid;			/* InvalidOid: the side has no table */
	char	   *key_column;
	Oid			key_type;		/* as bpr records it (int8, text, uuid) */
	int			n_fields;
	BprField   *fields;
} BprEncoding;

/*
 * Share of distinct values above which an unnamed text column is skipped: its
 * categories would mostly be seen once (titles, names, zip codes).
 */
#define BPR_MAX_DISTINCT_SHARE 0.5

/* Chooses the fields of a table: named ones, or every column but the key */
void		bpr_encoding_choose(BprEncoding *enc, Oid relid, const char *key_column,
								Oid key_type, List *features, bool explicit_features,
								List *categorical, const char *side);

/* Fits standardisation and vocabularies on the entities of keys, then encodes them (row = position) */
void		bpr_encoding_fit(BprEncoding *enc, const BprKeySet *keys, BprPgAlloc *alloc,
							 BprFeatures *out);

/*
 * Encodes, with a fitted encoding, the rows of the table whose key is not in
 * skip (NULL: every row); their keys go to keys (an empty dictionary), in key
 * order, and row r of out is keys' r-th.
 */
void		bpr_encoding_encode_rows(const BprEncoding *enc, const BprKeySet *skip,
									 BprKeyDict *keys, BprPgAlloc *alloc, BprFeatures *out);

/* SELECT list (key, then fields cast to float8, text or text[]) from the table */
char	   *bpr_encoding_select(const BprEncoding *enc);

/* Encodes one row (fields as returned by bpr_encoding_select, key excluded) into a one-row matrix */
void		bpr_encoding_encode_row(const BprEncoding *enc, const Datum *values,
									const bool *nulls, BprFeatures *out);

/* The key of a row read by bpr_encoding_select (column 1); false when NULL */
struct BprKey;
bool		bpr_encoding_row_key(const BprEncoding *enc, HeapTuple tuple, TupleDesc desc,
								 struct BprKey *key);

/* Raises the error for a key that has two rows in a features table */
void		bpr_encoding_duplicate_key(const BprEncoding *enc, const struct BprKey *key);

/* Code of a value (len bytes) in a field's sorted vocabulary: 1..n, or 0 when absent */
int32		bpr_field_vocab_code(const BprField *field, const char *value, size_t len);

/* Encodes the rows of sql (in key order) for the entities of keys: row r is keys' r-th */
void		bpr_encoding_encode_keys(const BprEncoding *enc, const char *sql, const BprKeySet *keys,
									 BprPgAlloc *alloc, BprFeatures *out);

/* Encodes the rows of sql (in key order) whose key is not in skip; their keys go to keys */
void		bpr_encoding_encode_others(const BprEncoding *enc, const char *sql, const BprKeySet *skip,
									   BprKeyDict *keys, BprPgAlloc *alloc, BprFeatures *out);

/* Counts fields by kind */
void		bpr_encoding_counts(const BprEncoding *enc, int *numeric, int *categorical,
								int *multi);

#endif
