/*
 * train_args.c - bpr_train's arguments: presets, overrides, validation
 *
 * A preset fills every hyperparameter; each argument that is not NULL then
 * overrides it.  Every value is checked here, before any data is read.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/float.h"
#include "utils/json.h"
#include "utils/lsyscache.h"

#include "guc.h"
#include "shared_store.h"
#include "names.h"
#include "train_args.h"
#include "util.h"

/* Argument positions of bpr_train, as in sql/bpr.sql */
enum
{
	A_MODEL, A_RATINGS, A_USERS, A_ITEMS, A_USER_COLUMN, A_ITEM_COLUMN,
	A_RATING_COLUMN, A_USER_FEATURES, A_ITEM_FEATURES, A_CATEGORICAL, A_PRESET,
	A_DIM, A_USER_LAYERS, A_ITEM_LAYERS, A_OUTPUT, A_USE_IDS, A_POS_THRESHOLD,
	A_NEG_THRESHOLD, A_NEGATIVES, A_HARD, A_HARD_CANDIDATES, A_EPOCHS,
	A_BATCH_SIZE, A_LEARNING_RATE, A_L2, A_SEED, A_VALIDATION, A_PATIENCE,
	A_RATED_SHARE, A_ACTIVATE, A_KEEP_VERSIONS, A_THREADS, A_WARM_START, A_WEIGHT_COLUMN
};

/* Raises the standard error for a bad hyperparameter */
#define BAD_VALUE(...) \
	ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg(__VA_ARGS__)))

/* A preset: every hyperparameter, before the arguments override it */
typedef struct BprPreset
{
	const char *name;
	BprTrainConfig cfg;
	double		positive_threshold;
	double		negative_threshold;
	bool		calibrate;
	double		item_offsets;	/* weight of the items' offsets for cold users (with calibrate and a bias column) */
} BprPreset;

static const BprPreset presets[] = {
	/* the configuration that ranks best on MovieLens (README explains the choice) */
	{
		.name = "default",
		.cfg = {
			.dim = 64, .field_dim = 64, .output = BPR_OUTPUT_LINEAR, .use_ids = true,
			.bias = true, .id_init = 0.01f,
			.sampler = {.negatives = BPR_NEG_UNRATED, .rated_share = 0.0f,
			.hard = BPR_HARD_MODEL, .candidates = 5},
			.uniform_users = false, .epochs = 30, .epoch_triplets = 0, .batch_size = 256,
			.learning_rate = 0.002f, .final_lr_ratio = 0.1f, .l2 = 0.04f, .seed = 42
		},
		.positive_threshold = 4, .negative_threshold = 3, .calibrate = true, .item_offsets = 0.5
	},
	/* the lecture notebook's model and training (field-separated embeddings and the true BPR loss aside) */
	{
		.name = "notebook",
		.cfg = {
			.dim = 32, .field_dim = 32, .n_item_hidden = 2, .item_hidden = {64, 32},
			.output = BPR_OUTPUT_SOFTMAX, .use_ids = false, .bias = false, .id_init = 0.05f,
			.sampler = {.negatives = BPR_NEG_RATED, .rated_share = 1.0f,
			.hard = BPR_HARD_FEATURES, .candidates = 0},
			/* 25 x 16,000 = 400,000 triplets, 25,000 batches of 16 */
			.uniform_users = true, .epochs = 25, .epoch_triplets = 16000, .batch_size = 16,
			.learning_rate = 0.001f, .final_lr_ratio = 1.0f, .l2 = 0.0f, .seed = 42
		},
		.positive_threshold = 4, .negative_threshold = 3, .calibrate = false, .item_offsets = 0.0
	},
};

/* Fills every hyperparameter from the named preset (ERROR 22023 for an unknown name) */
static void
apply_preset(BprTrainArgs *a, const char *name)
{
	for (size_t i = 0; i < lengthof(presets); i++)
	{
		if (strcmp(presets[i].name, name) != 0)
			continue;
		a->cfg = presets[i].cfg;
		a->positive_threshold = presets[i].positive_threshold;
		a->negative_threshold = presets[i].negative_threshold;
		a->calibrate = presets[i].calibrate;
		a->item_offsets = presets[i].item_offsets;
		return;
	}
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("unknown preset \"%s\"", name),
			 errhint("Valid presets are \"default\" and \"notebook\".")));
}

/* List of C strings from a text[] argument; rejects NULL elements */
static List *
arg_text_list(FunctionCallInfo fcinfo, int n, const char *name)
{
	ArrayType  *arr = PG_GETARG_ARRAYTYPE_P(n);
	Datum	   *elems;
	bool	   *nulls;
	int			count;
	List	   *result = NIL;

	if (ARR_NDIM(arr) > 1)
		BAD_VALUE("%s must be a one-dimensional array", name);
	deconstruct_array(arr, TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, &count);
	for (int i = 0; i < count; i++)
	{
		if (nulls[i])
			BAD_VALUE("%s must not contain NULL", name);
		result = lappend(result, TextDatumGetCString(elems[i]));
	}
	return result;
}

/* Hidden layer widths from an int[] argument */
static void
arg_layers(FunctionCallInfo fcinfo, int n, const char *name, int32_t *layers, int32_t *count)
{
	ArrayType  *arr = PG_GETARG_ARRAYTYPE_P(n);
	Datum	   *elems;
	bool	   *nulls;
	int			nelems;

	if (ARR_NDIM(arr) > 1)
		BAD_VALUE("%s must be a one-dimensional array", name);
	deconstruct_array(arr, INT4OID, 4, true, TYPALIGN_INT, &elems, &nulls, &nelems);
	if (nelems > BPR_MAX_LAYERS)
		BAD_VALUE("%s may have at most %d layers", name, BPR_MAX_LAYERS);
	for (int i = 0; i < nelems; i++)
	{
		int32		width = nulls[i] ? 0 : DatumGetInt32(elems[i]);

		if (width < 1 || width > 65536)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("%s must hold layer widths between 1 and 65536", name)));
		layers[i] = width;
	}
	*count = nelems;
}

/* A finite double argument within [lo, hi] */
static double
arg_double(FunctionCallInfo fcinfo, int n, const char *name, double lo, double hi)
{
	double		v = PG_GETARG_FLOAT8(n);

	if (!isfinite(v) || v < lo || v > hi)
	{
		if (lo <= -1e15)
			BAD_VALUE("%s must be a finite number", name);
		BAD_VALUE("%s must be a finite number between %g and %g", name, lo, hi);
	}
	return v;
}

/* An integer argument within [lo, hi] */
static int32
arg_int(FunctionCallInfo fcinfo, int n, const char *name, int32 lo, int32 hi)
{
	int32		v = PG_GETARG_INT32(n);

	if (v < lo || v > hi)
		BAD_VALUE("%s must be between %d and %d", name, lo, hi);
	return v;
}

/* A regclass argument (InvalidOid when NULL) */
static Oid
arg_relation(FunctionCallInfo fcinfo, int n)
{
	return PG_ARGISNULL(n) ? InvalidOid : PG_GETARG_OID(n);
}

/* Reads and validates bpr_train's arguments (ERROR with SQLSTATE 22023 on bad values) */
void
bpr_train_args_parse(FunctionCallInfo fcinfo, BprTrainArgs *a)
{
	BprTrainConfig *c = &a->cfg;
	char	   *s;

	memset(a, 0, sizeof(*a));

	if (PG_ARGISNULL(A_MODEL))
		BAD_VALUE("model name must not be NULL");
	a->model = bpr_arg_text(fcinfo, A_MODEL, NULL);
	if (strlen(a->model) == 0 || strlen(a->model) > BPR_MODEL_NAME_MAX)
		BAD_VALUE("model name must have between 1 and %d bytes", BPR_MODEL_NAME_MAX);
	if (PG_ARGISNULL(A_RATINGS))
		BAD_VALUE("ratings table must not be NULL");
	a->ratings = PG_GETARG_OID(A_RATINGS);
	a->users = arg_relation(fcinfo, A_USERS);
	a->items = arg_relation(fcinfo, A_ITEMS);
	a->validation = arg_relation(fcinfo, A_VALIDATION);

	if (PG_ARGISNULL(A_USER_COLUMN) || PG_ARGISNULL(A_ITEM_COLUMN))
		BAD_VALUE("user_column and item_column must not be NULL");
	a->user_column = bpr_arg_text(fcinfo, A_USER_COLUMN, NULL);
	a->item_column = bpr_arg_text(fcinfo, A_ITEM_COLUMN, NULL);
	a->rating_column = bpr_arg_text(fcinfo, A_RATING_COLUMN, NULL);
	if (!PG_ARGISNULL(A_USER_FEATURES))
	{
		a->user_features = arg_text_list(fcinfo, A_USER_FEATURES, "user_features");
		a->explicit_user_features = true;
	}
	if (!PG_ARGISNULL(A_ITEM_FEATURES))
	{
		a->item_features = arg_text_list(fcinfo, A_ITEM_FEATURES, "item_features");
		a->explicit_item_features = true;
	}
	if (!PG_ARGISNULL(A_CATEGORICAL))
		a->categorical = arg_text_list(fcinfo, A_CATEGORICAL, "categorical");

	a->preset = bpr_arg_text(fcinfo, A_PRESET, "default");
	apply_preset(a, a->preset);

	if (!PG_ARGISNULL(A_DIM))
	{
		c->dim = arg_int(fcinfo, A_DIM, "dim", 1, 4096);
		c->field_dim = c->dim;
	}
	if (!PG_ARGISNULL(A_USER_LAYERS))
		arg_layers(fcinfo, A_USER_LAYERS, "user_layers", c->user_hidden, &c->n_user_hidden);
	if (!PG_ARGISNULL(A_ITEM_LAYERS))
		arg_layers(fcinfo, A_ITEM_LAYERS, "item_layers", c->item_hidden, &c->n_item_hidden);
	if ((s = bpr_arg_text(fcinfo, A_OUTPUT, NULL)) != NULL)
		c->output = bpr_value_of(bpr_output_names, s, "output");
	/* an item bias is a linear score term: a softmax output has none */
	if (c->output != BPR_OUTPUT_LINEAR)
		c->bias = false;
	if (!PG_ARGISNULL(A_USE_IDS))
		c->use_ids = PG_GETARG_BOOL(A_USE_IDS);
	if (!PG_ARGISNULL(A_POS_THRESHOLD))
		a->positive_threshold = arg_double(fcinfo, A_POS_THRESHOLD, "positive_threshold", -1e15, 1e15);
	if (!PG_ARGISNULL(A_NEG_THRESHOLD))
		a->negative_threshold = arg_double(fcinfo, A_NEG_THRESHOLD, "negative_threshold", -1e15, 1e15);
	if (a->rating_column != NULL && a->negative_threshold >= a->positive_threshold)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("negative_threshold must be below positive_threshold"),
				 errdetail("negative_threshold is %g and positive_threshold is %g.",
						   a->negative_threshold, a->positive_threshold)));
	if ((s = bpr_arg_text(fcinfo, A_NEGATIVES, NULL)) != NULL)
		c->sampler.negatives = bpr_value_of(bpr_negatives_names, s, "negatives");
	/* implicit feedback: no thresholds, and no score offsets (nothing is disliked) */
	if (a->rating_column == NULL)
		a->calibrate = false;
	if (a->rating_column == NULL && c->sampler.negatives != BPR_NEG_UNRATED)
	{
		/* implicit feedback: nothing is disliked, so negatives are unrated items */
		if (!PG_ARGISNULL(A_NEGATIVES))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("negatives \"%s\" needs a rating column",
							bpr_name_of(bpr_negatives_names, c->sampler.negatives)),
					 errhint("With rating_column => NULL every rating is a positive; use negatives => 'unrated'.")));
		c->sampler.negatives = BPR_NEG_UNRATED;
	}
	if ((s = bpr_arg_text(fcinfo, A_HARD, NULL)) != NULL)
	{
		c->sampler.hard = bpr_value_of(bpr_hard_names, s, "hard_negatives");
		/* candidates follow the mode unless given */
		if (PG_ARGISNULL(A_HARD_CANDIDATES))
			c->sampler.candidates =
				(c->sampler.hard == BPR_HARD_FEATURES && c->sampler.negatives == BPR_NEG_RATED) ? 0 : 5;
	}
	if (!PG_ARGISNULL(A_HARD_CANDIDATES))
		c->sampler.candidates = arg_int(fcinfo, A_HARD_CANDIDATES, "hard_candidates", 1, 100000);
	if (c->sampler.hard == BPR_HARD_FEATURES && c->sampler.candidates == 0 &&
		c->sampler.negatives != BPR_NEG_RATED)
		c->sampler.candidates = 5;
	if (!PG_ARGISNULL(A_RATED_SHARE))
	{
		c->sampler.rated_share = (float) arg_double(fcinfo, A_RATED_SHARE, "rated_share", 0.0, 1.0);
		if (c->sampler.negatives != BPR_NEG_BOTH)
			BAD_VALUE("rated_share needs negatives 'both'");
	}
	else if (c->sampler.negatives == BPR_NEG_BOTH &&
			 (c->sampler.rated_share <= 0.0f || c->sampler.rated_share >= 1.0f))
		c->sampler.rated_share = 0.2f;
	if (c->sampler.negatives == BPR_NEG_RATED)
		c->sampler.rated_share = 1.0f;
	else if (c->sampler.negatives == BPR_NEG_UNRATED)
		c->sampler.rated_share = 0.0f;
	if (!PG_ARGISNULL(A_EPOCHS))
		c->epochs = arg_int(fcinfo, A_EPOCHS, "epochs", 1, 100000);
	if (!PG_ARGISNULL(A_BATCH_SIZE))
		c->batch_size = arg_int(fcinfo, A_BATCH_SIZE, "batch_size", 1, 65536);
	if (!PG_ARGISNULL(A_LEARNING_RATE))
	{
		c->learning_rate = (float) arg_double(fcinfo, A_LEARNING_RATE, "learning_rate", 0.0, 10.0);
		if (!(c->learning_rate > 0.0f))
			BAD_VALUE("learning_rate must be a finite number between %g and %g", 0.0, 10.0);
	}
	if (!PG_ARGISNULL(A_L2))
		c->l2 = (float) arg_double(fcinfo, A_L2, "l2", 0.0, 100.0);
	if (!PG_ARGISNULL(A_SEED))
		c->seed = (uint64_t) PG_GETARG_INT64(A_SEED);
	if (!PG_ARGISNULL(A_PATIENCE))
	{
		a->patience = arg_int(fcinfo, A_PATIENCE, "patience", 1, 100000);
		if (a->validation == InvalidOid)
			BAD_VALUE("patience needs a validation table");
	}
	else if (a->validation != InvalidOid)
		a->patience = 5;

	/* deployment, retention and resources; absent from the 0.1 signature */
	if ((s = bpr_arg_text(fcinfo, A_ACTIVATE, NULL)) != NULL)
		a->activate = bpr_value_of(bpr_activate_names, s, "activate");
	if (a->activate == BPR_ACTIVATE_IF_BETTER && a->validation == InvalidOid)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("activate => 'if_better' needs a validation table"),
				 errhint("The new version is activated only if its precision@10 on the validation table beats the active version's.")));
	a->keep_versions = bpr_keep_versions;
	if (bpr_arg_given(fcinfo, A_KEEP_VERSIONS))
		a->keep_versions = arg_int(fcinfo, A_KEEP_VERSIONS, "keep_versions", 0, 100000);
	if (bpr_arg_given(fcinfo, A_THREADS))
		a->threads = arg_int(fcinfo, A_THREADS, "threads", 1, BPR_MAX_THREADS);
	c->threads = bpr_training_threads(a->threads);
	c->lock_free = !bpr_reproducible;
	a->warm_start = bpr_arg_given(fcinfo, A_WARM_START) && PG_GETARG_BOOL(A_WARM_START);
	a->weight_column = bpr_arg_text(fcinfo, A_WEIGHT_COLUMN, NULL);
	if (a->weight_column != NULL && a->rating_column != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("weight_column is for implicit feedback"),
				 errhint("Pass rating_column => NULL: every row is then a positive, sampled in proportion to its weight.")));

	if ((s = (char *) bpr_train_config_check(c)) != NULL)
		BAD_VALUE("%s", s);
	/* the items' offsets go with the users' and make up for what a linear output's item bias learns */
	if (!a->calibrate || !c->bias)
		a->item_offsets = 0.0;
}

/* Appends a JSON array of layer widths */
static void
json_layers(StringInfo buf, const int32_t *layers, int32_t n)
{
	appendStringInfoChar(buf, '[');
	for (int i = 0; i < n; i++)
		appendStringInfo(buf, "%s%d", i ? ", " : "", layers[i]);
	appendStringInfoChar(buf, ']');
}

/* Appends the hyperparameters as a JSON object */
void
bpr_train_args_json(const BprTrainArgs *a, StringInfo buf)
{
	const BprTrainConfig *c = &a->cfg;

	appendStringInfoString(buf, "{\"preset\": ");
	escape_json(buf, a->preset);
	appendStringInfo(buf, ", \"dim\": %d, \"field_dim\": %d, \"user_layers\": ", c->dim, c->field_dim);
	json_layers(buf, c->user_hidden, c->n_user_hidden);
	appendStringInfoString(buf, ", \"item_layers\": ");
	json_layers(buf, c->item_hidden, c->n_item_hidden);
	appendStringInfo(buf, ", \"output\": \"%s\", \"use_ids\": %s, \"bias\": %s",
					 bpr_name_of(bpr_output_names, c->output), c->use_ids ? "true" : "false",
					 c->bias ? "true" : "false");
	/* thresholds in the shortest text that reads back exactly; implicit feedback has none */
	if (a->rating_column != NULL)
		appendStringInfo(buf, ", \"positive_threshold\": %s, \"negative_threshold\": %s",
						 float8out_internal(a->positive_threshold),
						 float8out_internal(a->negative_threshold));
	else
		appendStringInfoString(buf, ", \"positive_threshold\": null, \"negative_threshold\": null");
	appendStringInfo(buf, ", \"negatives\": \"%s\", \"rated_share\": %g, \"hard_negatives\": \"%s\", \"hard_candidates\": %d",
					 bpr_name_of(bpr_negatives_names, c->sampler.negatives), c->sampler.rated_share,
					 bpr_name_of(bpr_hard_names, c->sampler.hard), c->sampler.candidates);
	appendStringInfo(buf, ", \"uniform_users\": %s, \"epochs\": %d, \"epoch_triplets\": " INT64_FORMAT,
					 c->uniform_users ? "true" : "false", c->epochs, (int64) c->epoch_triplets);
	appendStringInfo(buf, ", \"batch_size\": %d, \"learning_rate\": %g, \"final_lr_ratio\": %g, \"l2\": %g, \"seed\": " INT64_FORMAT,
					 c->batch_size, c->learning_rate, c->final_lr_ratio, c->l2, (int64) c->seed);
	appendStringInfo(buf, ", \"id_init\": %g, \"patience\": %d, \"calibrate\": %s, \"item_offsets\": %g",
					 c->id_init, a->patience, a->calibrate ? "true" : "false", a->item_offsets);
	appendStringInfo(buf, ", \"activate\": \"%s\", \"keep_versions\": %d, \"warm_start\": %s}",
					 bpr_name_of(bpr_activate_names, a->activate), a->keep_versions,
					 a->warm_start ? "true" : "false");
}
