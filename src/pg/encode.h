/*
 * encode.h - feature encodings: choosing columns, fitting, encoding rows
 *
 * A field is one column of the users or items table: numeric (standardised),
 * categorical (a sorted vocabulary; code 0 = missing or unseen), or multi-hot
 * (an array column; a bag of vocabulary codes).  Fields are kept in the order
 * numeric, categorical, multi: the input layout of a tower.
 */
#ifndef BPR_ENCODE_H
#define BPR_ENCODE_H

#include "postgres.h"

#include "nodes/pg_list.h"

#include "core/feature_matrix.h"
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
	bool		named;			/* named by the caller (kept even if unique per row) */
	Oid			type;			/* column type (base type of a domain) */
	double		mean;			/* numeric: subtracted */
	double		scale;			/* numeric: divided by */
	int32		n_vocab;		/* categorical, multi: codes are 1..n_vocab */
	char	  **vocab;			/* sorted (strcmp) */
} BprField;

typedef struct BprEncoding
{
	Oid			relid;			/* InvalidOid: the side has no table */
	char	   *key_column;
	int			n_fields;
	BprField   *fields;
} BprEncoding;

/* Chooses the fields of a table: named ones, or every column but the key */
void		bpr_encoding_choose(BprEncoding *enc, Oid relid, const char *key_column,
								List *features, bool explicit_features,
								List *categorical, const char *side);

/* Reads the table, fits standardisation and vocabularies on the given entities, encodes them */
void		bpr_encoding_fit(BprEncoding *enc, const int64 *ids, int32 n_ids,
							 BprPgAlloc *alloc, BprFeatures *out);

/* SELECT list (key, then fields cast to float8, text or text[]) for the table */
char	   *bpr_encoding_select(const BprEncoding *enc);

/* Encodes one row (fields as returned by bpr_encoding_select, key excluded) into a one-row matrix */
void		bpr_encoding_encode_row(const BprEncoding *enc, const Datum *values,
									const bool *nulls, BprFeatures *out);

/* Counts fields by kind */
void		bpr_encoding_counts(const BprEncoding *enc, int *numeric, int *categorical,
								int *multi);

#endif
