/*
 * bpr_train.c - bpr_train: read the tables, train, store and activate a new version
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"

#include "core/calibration.h"
#include "core/trainer.h"
#include "dataset.h"
#include "encode.h"
#include "guc.h"
#include "model_cache.h"
#include "names.h"
#include "store.h"
#include "train_args.h"
#include "util.h"
#include "validation.h"

PG_FUNCTION_INFO_V1(bpr_train);

/* State the training hooks need */
typedef struct TrainState
{
	const BprTrainArgs *args;
	MemoryContext epoch_context;	/* validation's scratch, reset every epoch */
	BprTrainer *trainer;
	const BprDataset *ds;
	BprValidation *validation;	/* NULL: none */
	BprLogEntry *log;
	int32		n_log;
	double		best_metric;
	int32		best_epoch;
	int32		stale_epochs;
} TrainState;

/* Seconds, for the trainer */
static double
hook_now(void *arg)
{
	return bpr_now();
}

/* Per epoch: validation, early stopping, the progress line and the log */
static bool
hook_epoch(void *arg, const BprEpochReport *r)
{
	TrainState *st = (TrainState *) arg;
	BprLogEntry *entry = &st->log[st->n_log++];
	bool		go_on = true;
	MemoryContext old;

	entry->epoch = r->epoch;
	entry->loss = r->loss;
	entry->seconds = r->seconds;
	entry->metrics_json = NULL;
	if (st->validation != NULL)
	{
		BprMetricsResult res;

		old = MemoryContextSwitchTo(st->epoch_context);
		bpr_validation_run(st->validation, st->trainer, &res);
		MemoryContextSwitchTo(old);
		entry->metrics_json = bpr_metrics_json(&res, st->validation->k, r->epoch);
		if (res.precision > st->best_metric || st->best_epoch == 0)
		{
			st->best_metric = res.precision;
			st->best_epoch = r->epoch;
			st->stale_epochs = 0;
			bpr_trainer_save_best(st->trainer, r->epoch);
		}
		else if (++st->stale_epochs >= st->args->patience)
			go_on = false;
		if (bpr_progress)
			ereport(NOTICE,
					(errmsg("epoch %d/%d: loss %.4f, validation precision@%d %.4f, %.2f s",
							r->epoch, st->args->cfg.epochs, r->loss, st->validation->k,
							res.precision, r->seconds)));
		MemoryContextReset(st->epoch_context);
	}
	else if (bpr_progress)
		ereport(NOTICE,
				(errmsg("epoch %d/%d: loss %.4f, %.2f s",
						r->epoch, st->args->cfg.epochs, r->loss, r->seconds)));
	return go_on;
}

/* Side features: choose columns, read the table, encode the trained entities */
static void
load_side(const BprTrainArgs *a, bool user_side, const BprDataset *ds,
		  BprPgAlloc *alloc, BprEncoding *enc, BprFeatures *f)
{
	bpr_encoding_choose(enc, user_side ? a->users : a->items,
						user_side ? a->user_column : a->item_column,
						user_side ? a->user_features : a->item_features,
						user_side ? a->explicit_user_features : a->explicit_item_features,
						a->categorical, user_side ? "user" : "item");
	bpr_encoding_fit(enc, user_side ? ds->user_ids : ds->item_ids,
					 user_side ? ds->n_users : ds->n_items, alloc, f);
}

/* Checks that every categorical column named exists in the users or items table */
static void
check_categorical(const BprTrainArgs *a)
{
	ListCell   *lc;

	foreach(lc, a->categorical)
	{
		char	   *col = lfirst(lc);
		bool		found = (OidIsValid(a->users) && get_attnum(a->users, col) > 0) ||
			(OidIsValid(a->items) && get_attnum(a->items, col) > 0);

		if (!found)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_COLUMN),
					 errmsg("categorical column \"%s\" is in neither the users nor the items table", col)));
	}
}

/* Training data summary (and the cold users' score offset) as a JSON object */
static char *
data_json(const BprDataset *ds, const BprTrainer *t, bool calibrated, float cold_offset)
{
	char	   *offset = calibrated ? psprintf(", \"cold_user_offset\": %.9g", cold_offset) : "";

	return psprintf("{\"users\": %d, \"items\": %d, \"ratings\": " INT64_FORMAT
					", \"positives\": " INT64_FORMAT ", \"negatives\": " INT64_FORMAT
					", \"trained_positives\": " INT64_FORMAT ", \"skipped_rows\": " INT64_FORMAT
					", \"duplicate_rows\": " INT64_FORMAT "%s}",
					ds->n_users, ds->n_items, ds->n_ratings, ds->n_positives, ds->n_negatives,
					t->n_pairs, ds->skipped, ds->duplicates, offset);
}

/* Trains a new version of a model from ratings (and user/item features) and activates it */
Datum
bpr_train(PG_FUNCTION_ARGS)
{
	BprTrainArgs args;
	TupleDesc	tupdesc;
	MemoryContext caller = CurrentMemoryContext;
	MemoryContext train_cxt;
	BprPgAlloc	alloc;
	BprRatingRows rows;
	BprDataset	ds;
	BprEncoding uenc,
				ienc;
	BprFeatures uf,
				itf;
	BprTrainer *t;
	TrainState	st;
	BprTrainHooks hooks;
	StringInfoData hyper;
	float	   *uvec,
			   *ivec;
	int32		version;
	int32		vec_dim;
	int			search_path_level;
	float		cold_offset = 0.0f;
	double		start = bpr_now();
	double		seconds;
	Datum		values[9];
	bool		nulls[9] = {false};
	HeapTuple	tuple;
	char	   *rel;

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	tupdesc = BlessTupleDesc(tupdesc);
	bpr_train_args_parse(fcinfo, &args);

	train_cxt = AllocSetContextCreate(CurrentMemoryContext, "bpr training", ALLOCSET_DEFAULT_SIZES);
	MemoryContextSwitchTo(train_cxt);
	bpr_pg_alloc_init(&alloc, train_cxt, bpr_memory_limit());
	memset(&st, 0, sizeof(st));
	st.args = &args;
	st.epoch_context = AllocSetContextCreate(train_cxt, "bpr epoch", ALLOCSET_DEFAULT_SIZES);

	search_path_level = bpr_pin_search_path();
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	bpr_cache_check_schema();
	bpr_store_lock_model(args.model);

	/* data */
	bpr_read_ratings(args.ratings, args.user_column, args.item_column, args.rating_column,
					 &alloc, &rows);
	rel = bpr_relation_name(args.ratings);
	if (rows.skipped > 0)
		ereport(NOTICE,
				(errmsg("skipped " INT64_FORMAT " rows of \"%s\" with a NULL %s, %s or %s",
						rows.skipped, rel, args.user_column, args.item_column,
						args.rating_column ? args.rating_column : "rating")));
	if (rows.n == 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("ratings table \"%s\" has no usable rows", rel)));
	bpr_dataset_build(&rows, args.positive_threshold, args.negative_threshold, &alloc, &ds);
	if (ds.n_positives == 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("no rating of \"%s\" reaches positive_threshold %g", rel,
						args.positive_threshold)));
	check_categorical(&args);
	load_side(&args, true, &ds, &alloc, &uenc, &uf);
	load_side(&args, false, &ds, &alloc, &ienc, &itf);
	if (!args.cfg.use_ids && (!bpr_features_any(&uf) || !bpr_features_any(&itf)))
		ereport(NOTICE,
				(errmsg("the %s tower has no features: it uses id embeddings",
						!bpr_features_any(&uf) ? "user" : "item")));
	if (args.cfg.sampler.hard == BPR_HARD_FEATURES && !bpr_features_any(&itf))
	{
		/* every featureless item is as similar as any other: draw negatives uniformly */
		ereport(NOTICE,
				(errmsg("hard_negatives \"features\" needs item features, and the item tower has none: negatives are drawn uniformly"),
				 errhint("Pass an items table with feature columns, or use hard_negatives => 'model'.")));
		args.cfg.sampler.hard = BPR_HARD_NONE;
	}

	if (bpr_trainer_bytes(&args.cfg, &ds.inter, &uf, &itf) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("model too large"),
				 errdetail("The size of the towers overflows.")));
	t = bpr_trainer_create(&args.cfg, &ds.inter, &uf, &itf, &alloc.base);
	st.trainer = t;
	st.ds = &ds;
	if (t->n_pairs == 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("no user of \"%s\" has both a liked item and a negative item", rel),
				 errdetail("With negatives '%s', a user needs %s.",
						   bpr_name_of(bpr_negatives_names, args.cfg.sampler.negatives),
						   args.cfg.sampler.negatives == BPR_NEG_RATED ?
						   "a rating at or below negative_threshold" :
						   "an item they did not rate")));
	if (t->skipped_positives > 0)
		ereport(NOTICE,
				(errmsg("%d of %d users have no negative item: their " INT64_FORMAT " positives are not trained",
						ds.n_users - t->n_ok_users, ds.n_users, t->skipped_positives)));

	st.log = palloc0(sizeof(BprLogEntry) * args.cfg.epochs);
	if (OidIsValid(args.validation))
		st.validation = bpr_validation_prepare(args.validation, &args, &ds, &alloc);

	hooks.batch_done = bpr_check_interrupts;
	hooks.epoch_done = hook_epoch;
	hooks.now = hook_now;
	hooks.interrupt = bpr_check_interrupts;
	hooks.arg = &st;
	bpr_trainer_run(t, &hooks);
	if (st.validation != NULL)
		bpr_trainer_restore_best(t);

	/* the vectors to store: tower outputs, then the users' score offsets */
	uvec = bpr_pg_alloc(&alloc, (size_t) ds.n_users, sizeof(float) * (t->vec_dim + 1), "user vectors");
	ivec = bpr_pg_alloc(&alloc, (size_t) ds.n_items, sizeof(float) * (t->vec_dim + 1), "item vectors");
	bpr_trainer_user_vectors(t, uvec);
	bpr_trainer_item_vectors(t, ivec);
	vec_dim = t->vec_dim;
	if (args.calibrate)
		vec_dim = bpr_calibrate_vectors(&ds.inter, uvec, ivec, vec_dim,
										bpr_pg_alloc(&alloc, (size_t) ds.n_users, sizeof(float), "user offsets"),
										&cold_offset, bpr_check_interrupts, NULL);
	/* the registry records what was used: offsets only when there was something to fit */
	args.calibrate = vec_dim > t->vec_dim;

	/* store the new version, then make it the active one */
	version = bpr_store_next_version(args.model);
	initStringInfo(&hyper);
	bpr_train_args_json(&args, &hyper);
	seconds = bpr_now() - start;
	bpr_store_insert_model(args.model, version, args.ratings, args.users, args.items,
						   args.user_column, args.item_column, args.rating_column,
						   vec_dim, hyper.data, data_json(&ds, t, vec_dim > t->vec_dim, cold_offset), t->epochs_run,
						   t->triplets_seen, t->final_loss, seconds,
						   st.validation && st.best_epoch > 0 ?
						   st.log[st.best_epoch - 1].metrics_json : NULL);
	bpr_store_encoding(args.model, version, "user", &uenc);
	bpr_store_encoding(args.model, version, "item", &ienc);
	bpr_store_parameters(args.model, version, "user", t->user);
	bpr_store_parameters(args.model, version, "item", t->item);
	bpr_store_vectors(args.model, version, "user", ds.user_ids, ds.n_users, uvec, vec_dim);
	bpr_store_vectors(args.model, version, "item", ds.item_ids, ds.n_items, ivec, vec_dim);
	bpr_store_log(args.model, version, st.log, st.n_log);
	bpr_store_activate(args.model, version);
	SPI_finish();
	bpr_unpin_search_path(search_path_level);

	MemoryContextSwitchTo(caller);
	values[0] = CStringGetTextDatum(args.model);
	values[1] = Int32GetDatum(version);
	values[2] = Int64GetDatum(ds.n_users);
	values[3] = Int64GetDatum(ds.n_items);
	values[4] = Int64GetDatum(ds.n_positives);
	values[5] = Int64GetDatum(t->triplets_seen);
	values[6] = Int32GetDatum(t->epochs_run);
	values[7] = Float8GetDatum(t->final_loss);
	values[8] = Float8GetDatum(seconds);
	tuple = heap_form_tuple(tupdesc, values, nulls);
	MemoryContextDelete(train_cxt);
	PG_RETURN_DATUM(HeapTupleGetDatum(tuple));
}
