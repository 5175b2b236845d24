/*
 * feature_matrix.h - encoded feature matrices of one side (users or items)
 *
 * Row r describes entity r.  The PostgreSQL layer builds these from tables
 * (standardising numeric columns, coding categories, multi-hot arrays); the
 * towers and the feature-similarity sampler read them.
 */
#ifndef BPR_FEATURE_MATRIX_H
#define BPR_FEATURE_MATRIX_H

#include "alloc.h"

/* Largest number of categorical (and of multi-hot) fields a tower may have */
#define BPR_MAX_FIELDS 64

/* A multi-hot field: a bag of codes per entity row, in CSR form */
typedef struct BprMultiField
{
	int32_t		card;			/* vocabulary size: codes are in [0, card) */
	const int64_t *ptr;			/* n_rows + 1 offsets into idx */
	const int32_t *idx;			/* codes, sorted ascending within a row */
} BprMultiField;

/* Encoded features of every entity of one side */
typedef struct BprFeatures
{
	int32_t		n_rows;
	int32_t		n_numeric;
	const float *numeric;		/* n_rows x n_numeric, row-major, standardised */
	int32_t		n_cat;
	const int32_t *cat_card;	/* per field: embedding rows; code 0 = missing */
	const int32_t *cat;			/* n_rows x n_cat codes in [0, card) */
	int32_t		n_multi;
	const BprMultiField *multi; /* n_multi fields; an empty bag is all-zero */
} BprFeatures;

/* True when the side has any feature at all */
static inline bool
bpr_features_any(const BprFeatures *f)
{
	return f != NULL && (f->n_numeric + f->n_cat + f->n_multi) > 0;
}

#endif
