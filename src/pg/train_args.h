/*
 * train_args.h - bpr_train's arguments: presets, overrides, validation
 */
#ifndef BPR_TRAIN_ARGS_H
#define BPR_TRAIN_ARGS_H

#include "postgres.h"

#include "fmgr.h"
#include "lib/stringinfo.h"
#include "nodes/pg_list.h"

#include "core/trainer.h"

typedef struct BprTrainArgs
{
	char	   *model;
	Oid			ratings;
	Oid			users;			/* InvalidOid: none */
	Oid			items;
	char	   *user_column;
	char	   *item_column;
	char	   *rating_column;	/* NULL: implicit feedback */
	List	   *user_features;	/* of char *; NIL with explicit_* false = every column */
	bool		explicit_user_features;
	List	   *item_features;
	bool		explicit_item_features;
	List	   *categorical;	/* of char * */
	char	   *preset;
	double		positive_threshold;
	double		negative_threshold;
	Oid			validation;		/* InvalidOid: none */
	int32		patience;		/* 0: no early stopping */
	bool		calibrate;		/* per-user score offsets (explicit ratings) */
	BprTrainConfig cfg;
} BprTrainArgs;

/* Reads and validates bpr_train's arguments (ERROR with SQLSTATE 22023 on bad values) */
void		bpr_train_args_parse(FunctionCallInfo fcinfo, BprTrainArgs *args);

/* Appends the hyperparameters as a JSON object */
void		bpr_train_args_json(const BprTrainArgs *args, StringInfo buf);

#endif
