/*
 * bpr_evaluate.h - ranking quality of a stored model version on a test table
 *
 * bpr_evaluate.c implements the SQL function bpr_evaluate on top of this,
 * and bpr_train uses it to compare a new version with the active one
 * (activate => 'if_better') on the same table with the same definitions.
 */
#ifndef BPR_BPR_EVALUATE_H
#define BPR_BPR_EVALUATE_H

#include "postgres.h"

#include "core/evaluation.h"

/* What to evaluate: a version (0: the active one) on a test table */
typedef struct BprEvalRequest
{
	const char *model;			/* NULL: the default model */
	int32		version;
	Oid			test;
	const char *user_column;	/* NULL: the model's */
	const char *item_column;
	const char *rating_column;	/* NULL with rating_given: implicit */
	bool		rating_given;
	double		threshold;		/* NaN: the model's positive threshold */
	int32		k;
} BprEvalRequest;

/* Evaluates a stored version; caller is in SPI */
void		bpr_evaluate_version(const BprEvalRequest *req, BprMetricsResult *res);

#endif
