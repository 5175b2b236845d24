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
#include "names.h"

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
	double		item_offsets;	/* weight of the items' offsets for cold users (0: none; needs calibrate and a bias column) */
	BprActivate activate;		/* when the new version becomes the active one */
	int32		keep_versions;	/* versions kept after training (0: all) */
	int32		threads;		/* training threads (0: bpr.threads) */
	bool		warm_start;		/* start from the active version's weights */
	char	   *weight_column;	/* implicit feedback: each row's weight */
	BprTrainConfig cfg;
} BprTrainArgs;

/* Reads and validates bpr_train's arguments (ERROR with SQLSTATE 22023 on bad values) */
void		bpr_train_args_parse(FunctionCallInfo fcinfo, BprTrainArgs *args);

/* Appends the hyperparameters as a JSON object */
void		bpr_train_args_json(const BprTrainArgs *args, StringInfo buf);

#endif
