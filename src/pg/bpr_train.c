/*
 * bpr_train.c - bpr_train: read the tables, train, store and deploy a new version
 *
 * Every check that can fail (arguments, a read-only transaction, privileges
 * on bpr's tables and on the source columns, the model's owner) runs before
 * any data is read and before the model's lock is taken, so a role that may
 * not train a model cannot make its owner wait.
 */
#include "postgres.h"

#include <math.h>

#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "tcop/utility.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"

#include "core/calibration.h"
#include "core/trainer.h"
#include "core/vecmath.h"
#include "dataset.h"
#include "encode.h"
#include "bpr_evaluate.h"
#include "guc.h"
#include "model_cache.h"
#include "names.h"
#include "progress.h"
#include "store.h"
#include "train_args.h"
#include "util.h"
#include "validation.h"
#include "train_warm.h"

PG_FUNCTION_INFO_V1(bpr_train);

/* State the training hooks need */
typedef struct TrainState
{
	const BprTrainArgs *args;
	BprTrainer *trainer;
	BprValidation *validation;	/* NULL: none */
	BprLogEntry *log;
	int32		n_log;
	double		best_metric;
	int32		best_epoch;
	int32		stale_epochs;
	double		started;		/* when the epochs started */
} TrainState;

/* Seconds, for the trainer */
static double
hook_now(void *arg)
{
	return bpr_now();
}

/* Per epoch: validation, early stopping, the progress line, the log and the shared progress */
static bool
hook_epoch(void *arg, const BprEpochReport *r)
{
	TrainState *st = (TrainState *) arg;
	BprLogEntry *entry = &st->log[st->n_log++];
	int32		epochs = st->args->cfg.epochs;
	double		elapsed = bpr_now() - st->started;
	double		eta = elapsed / r->epoch * (epochs - r->epoch);
	double		tps = r->seconds > 0 ? (double) r->triplets / r->seconds : 0.0;
	double		precision = NAN;
	bool		go_on = true;

	entry->epoch = r->epoch;
	entry->loss = r->loss;
	entry->seconds = r->seconds;
	entry->metrics_json = NULL;
	if (st->validation != NULL)
	{
		BprMetricsResult res;
		double		vstart = bpr_now();

		bpr_validation_run(st->validation, st->trainer, &res);
		entry->metrics_json = bpr_metrics_json(&res, st->validation, r->epoch, bpr_now() - vstart);
		precision = res.precision;
		if (res.precision > st->best_metric || st->best_epoch == 0)
		{
			st->best_metric = res.precision;
			st->best_epoch = r->epoch;
			st->stale_epochs = 0;
			bpr_trainer_save_best(st->trainer, r->epoch);
		}
		else if (++st->stale_epochs >= st->args->patience)
			go_on = false;
	}
	bpr_progress_report(r->epoch, epochs, r->loss, precision, tps, go_on ? eta : 0.0);
	if (bpr_progress && st->validation != NULL)
		ereport(NOTICE,
				(errmsg("epoch %d/%d: loss %.4f, validation precision@%d %.4f, %.2f s, %.0f triplets/s, ETA %.0f s",
						r->epoch, epochs, r->loss, st->validation->k, precision, r->seconds, tps,
						go_on ? eta : 0.0)));
	else if (bpr_progress)
		ereport(NOTICE,
				(errmsg("epoch %d/%d: loss %.4f, %.2f s, %.0f triplets/s, ETA %.0f s",
						r->epoch, epochs, r->loss, r->seconds, tps, eta)));
	return go_on;
}

/* ERROR 42501 unless the caller may read each of the columns of a table */
static void
check_columns_readable(Oid relid, List *columns)
{
	ListCell   *lc;

	if (!OidIsValid(relid) || pg_class_aclcheck(relid, GetUserId(), ACL_SELECT) == ACLCHECK_OK)
		return;
	foreach(lc, columns)
	{
		const char *col = lfirst(lc);
		AttrNumber	attnum = get_attnum(relid, col);

		if (attnum > 0 && pg_attribute_aclcheck(relid, attnum, GetUserId(), ACL_SELECT) != ACLCHECK_OK)
			aclcheck_error_col(ACLCHECK_NO_PRIV, get_relkind_objtype(get_rel_relkind(relid)),
							   bpr_relation_name(relid), col);
	}
}

/* The key column and the feature columns of an encoding */
static List *
encoding_columns(const BprEncoding *enc)
{
	List	   *cols = list_make1(enc->key_column);

	for (int f = 0; f < enc->n_fields; f++)
		cols = lappend(cols, enc->fields[f].column);
	return cols;
}

/* The columns a training reads from a ratings-like table */
static List *
source_columns(const BprRowSource *src)
{
	List	   *cols = list_make2((char *) src->user_column, (char *) src->item_column);

	if (src->rating_column)
		cols = lappend(cols, (char *) src->rating_column);
	if (src->weight_column)
		cols = lappend(cols, (char *) src->weight_column);
	return cols;
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

/* NOTICE when no index of the ratings table leads with the user column (exclude_rated scans it) */
static void
suggest_user_index(const BprRowSource *src)
{
	char		kind = get_rel_relkind(src->relid);
	Oid			types[2] = {OIDOID, INT2OID};
	Datum		values[2];

	if (kind != RELKIND_RELATION && kind != RELKIND_PARTITIONED_TABLE && kind != RELKIND_MATVIEW)
		return;
	values[0] = ObjectIdGetDatum(src->relid);
	values[1] = Int16GetDatum(get_attnum(src->relid, src->user_column));
	bpr_spi_run("SELECT 1 FROM pg_catalog.pg_index WHERE indrelid = $1 AND indkey[0] = $2 LIMIT 1",
				2, types, values, NULL, true, SPI_OK_SELECT);
	if (SPI_processed == 0)
		ereport(NOTICE,
				(errmsg("no index of \"%s\" leads with \"%s\"", bpr_relation_name(src->relid),
						src->user_column),
				 errdetail("bpr_recommend with exclude_rated reads each user's ratings, a full scan per call without one."),
				 errhint("CREATE INDEX ON %s (%s);", bpr_relation_sql_name(src->relid),
						 quote_identifier(src->user_column))));
}

/* NOTICE of the rows left out, by why */
static void
report_skipped(const BprDataset *ds, const BprTrainArgs *a, const char *rel)
{
	StringInfoData why;

	if (ds->skipped_null + ds->skipped_nonfinite + ds->skipped_weight == 0)
		return;
	initStringInfo(&why);
	if (ds->skipped_null > 0)
		appendStringInfo(&why, INT64_FORMAT " with a NULL %s, %s%s%s", ds->skipped_null,
						 a->user_column, a->item_column,
						 a->rating_column ? psprintf(" or %s", a->rating_column) : "",
						 a->weight_column ? psprintf(" or %s", a->weight_column) : "");
	if (ds->skipped_nonfinite > 0)
		appendStringInfo(&why, "%s" INT64_FORMAT " with a NaN or infinite %s", why.len ? ", " : "",
						 ds->skipped_nonfinite, a->rating_column ? a->rating_column : a->weight_column);
	if (ds->skipped_weight > 0)
		appendStringInfo(&why, "%s" INT64_FORMAT " with a %s of zero or less", why.len ? ", " : "",
						 ds->skipped_weight, a->weight_column);
	ereport(NOTICE,
			(errmsg("skipped " INT64_FORMAT " rows of \"%s\": %s",
					ds->skipped_null + ds->skipped_nonfinite + ds->skipped_weight, rel, why.data)));
}

/* Seconds of each phase of a training */
typedef struct PhaseTimes
{
	double		read;
	double		encode;
	double		train;
	double		finish;			/* vectors, score offsets, cold items */
} PhaseTimes;

/* Training data summary (and the score offsets' fit, for cold users and fold-in) as a JSON object */
/* Applies bpr.blas_threads again when the training's memory goes (success or error) */
static void
restore_blas_threads(void *arg)
{
	bpr_blas_threads_restore();
}

/* A relation's owner as a JSON string ("null" for none), for data->'table_owners' */
static char *
owner_json(Oid relid)
{
	Oid			owner = OidIsValid(relid) ? bpr_relation_owner(relid) : InvalidOid;
	char	   *name = OidIsValid(owner) ? GetUserNameFromId(owner, true) : NULL;
	StringInfoData buf;

	if (name == NULL)
		return "null";
	initStringInfo(&buf);
	escape_json(&buf, name);
	return buf.data;
}

/*
 * The owners of the source tables, by name: serving on a restored database
 * or a Citus worker reads a table found by name only when its owner is the
 * same (store.c)
 */
static char *
table_owners_json(const BprTrainArgs *a)
{
	return psprintf(", \"table_owners\": {\"ratings\": %s, \"users\": %s, \"items\": %s}",
					owner_json(a->ratings), owner_json(a->users), owner_json(a->items));
}

static char *
data_json(const BprDataset *ds, const BprTrainer *t, bool calibrated, float cold_offset,
		  const BprCalibrationFit *fit, int32 cold_items, const PhaseTimes *pt,
		  const BprWarmReport *warm, const char *owners)
{
	char	   *warm_json = warm ? psprintf(", \"warm_start\": %s", bpr_warm_report_json(warm)) : "";
	char	   *offset = calibrated ? psprintf(", \"cold_user_offset\": %.9g, \"offset_spread\": %.17g, "
											   "\"offset_global_share\": %.17g", cold_offset,
											   fit->spread, fit->global_share) : "";
	char	   *times = psprintf(", \"seconds\": {\"read\": %.3f, \"encode\": %.3f, \"train\": %.3f, \"finish\": %.3f}",
								 pt->read, pt->encode, pt->train, pt->finish);

	return psprintf("{\"users\": %d, \"items\": %d, \"cold_items\": %d, \"ratings\": " INT64_FORMAT
					", \"positives\": " INT64_FORMAT ", \"negatives\": " INT64_FORMAT
					", \"trained_positives\": " INT64_FORMAT ", \"skipped_rows\": " INT64_FORMAT
					", \"duplicate_rows\": " INT64_FORMAT ", \"threads\": %d, \"reproducible\": %s%s}",
					ds->users.n, ds->items.n, cold_items, ds->n_ratings, ds->n_positives,
					ds->n_negatives, t->n_pairs,
					ds->skipped_null + ds->skipped_nonfinite + ds->skipped_weight, ds->duplicates,
					t->threads, t->threads == 1 || !t->cfg.lock_free ? "true" : "false",
					psprintf("%s%s%s%s", times, offset, warm_json, owners));
}

/*
 * Vectors of the items of the items table that had no interactions (new
 * products), from their features alone; their keys go to cold (n = 0: none).
 */
static float *
cold_item_vectors(const BprTrainArgs *a, const BprEncoding *ienc, const BprDataset *ds,
				  BprTrainer *t, int32 vec_dim, BprPgAlloc *alloc, BprKeySet *cold)
{
	BprKeyDict	keys;
	BprFeatures f;
	int32	   *perm;
	int32	   *rows;
	float	   *vecs;
	int32		chunk = t->item->max_batch;

	memset(cold, 0, sizeof(*cold));
	cold->is_int = ds->items.is_int;
	if (!OidIsValid(a->items) || ienc->n_fields == 0)
		return NULL;
	bpr_keydict_init(&keys, ds->items.is_int, PG_INT32_MAX / 2, &alloc->base);
	bpr_encoding_encode_rows(ienc, &ds->items, &keys, alloc, &f);
	if (keys.n == 0)
		return NULL;
	/* rows come in key order: the dictionary's order is the sorted one */
	perm = bpr_pg_alloc(alloc, keys.n, sizeof(int32), "cold items");
	bpr_keydict_sort(&keys, cold, perm);
	rows = bpr_pg_alloc(alloc, chunk, sizeof(int32), "cold items");
	vecs = bpr_pg_alloc(alloc, (size_t) keys.n, sizeof(float) * vec_dim, "cold items");
	for (int32 first = 0; first < keys.n; first += chunk)
	{
		int32		m = Min(chunk, keys.n - first);

		CHECK_FOR_INTERRUPTS();
		for (int32 j = 0; j < m; j++)
			rows[j] = first + j;
		bpr_tower_forward(t->item, &f, rows, m, false, vecs + (size_t) first * vec_dim);
	}
	/* the tower's output, then 1 in the users' offset column and no offset of their own */
	bpr_widen_rows(vecs, vecs, keys.n, t->vec_dim, vec_dim, NULL);
	if (a->item_offsets > 0.0)
		for (int32 r = 0; r < keys.n; r++)
			vecs[(size_t) r * vec_dim + vec_dim - 1] = 0.0f;
	return vecs;
}

/* Applies the activate policy: whether the new version becomes the active one, as a JSON outcome */
static bool
deploy(const BprTrainArgs *a, int32 version, char **json)
{
	BprEvalRequest req;
	BprMetricsResult fresh,
				current;
	int32		active;
	bool		better;

	if (a->activate == BPR_ACTIVATE_ALWAYS)
	{
		*json = "{\"policy\": \"always\", \"activated\": true}";
		return true;
	}
	if (a->activate == BPR_ACTIVATE_NEVER)
	{
		*json = "{\"policy\": \"never\", \"activated\": false}";
		ereport(NOTICE,
				(errmsg("model \"%s\" version %d is stored but not activated (activate => 'never')",
						a->model, version),
				 errhint("Activate it with bpr.bpr_activate('%s', %d).", a->model, version)));
		return false;
	}

	/* if_better: both versions on the validation table, with bpr_evaluate's definitions */
	{
		Oid			type = TEXTOID;
		Datum		name = CStringGetTextDatum(a->model);

		bpr_spi_run("SELECT version FROM bpr.models WHERE model = $1 AND active", 1,
					&type, &name, NULL, true, SPI_OK_SELECT);
	}
	if (SPI_processed == 0)
	{
		*json = "{\"policy\": \"if_better\", \"activated\": true, \"reason\": \"no active version\"}";
		return true;
	}
	{
		bool		isnull;

		active = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	}
	/* the evaluations read this training's rows: a snapshot that sees them */
	CommandCounterIncrement();
	PushCopiedSnapshot(GetActiveSnapshot());
	UpdateActiveSnapshotCommandId();
	memset(&req, 0, sizeof(req));
	req.model = a->model;
	req.test = a->validation;
	req.user_column = a->user_column;
	req.item_column = a->item_column;
	req.rating_column = a->rating_column;
	req.rating_given = true;
	req.threshold = a->rating_column ? a->positive_threshold : NAN;
	req.k = 10;
	req.version = version;
	bpr_evaluate_version(&req, &fresh);
	req.version = active;
	bpr_evaluate_version(&req, &current);
	PopActiveSnapshot();
	better = fresh.precision > current.precision;
	*json = psprintf("{\"policy\": \"if_better\", \"activated\": %s, \"metric\": \"precision_at_10\", "
					 "\"new\": %.6f, \"active_version\": %d, \"active\": %.6f}",
					 better ? "true" : "false", fresh.precision, active, current.precision);
	ereport(NOTICE,
			(errmsg("model \"%s\" version %d %s: validation precision@10 %.4f %s %.4f of version %d",
					a->model, version, better ? "activated" : "not activated", fresh.precision,
					better ? "beats" : "does not beat", current.precision, active)));
	return better;
}

/* Trains a new version of a model from ratings (and user/item features) and deploys it */
Datum
bpr_train(PG_FUNCTION_ARGS)
{
	BprTrainArgs args;
	TupleDesc	tupdesc;
	MemoryContext caller = CurrentMemoryContext;
	MemoryContext train_cxt;
	MemoryContext epoch_cxt;
	BprPgAlloc	alloc;
	BprRowSource src;
	BprDataset	ds;
	BprEncoding uenc,
				ienc;
	BprFeatures uf,
				itf;
	BprTrainer *t;
	TrainState	st;
	BprTrainHooks hooks = {0};
	BprModelRow row;
	StringInfoData hyper;
	float	   *uvec,
			   *ivec,
			   *cvec;
	BprKeySet	cold;
	int32		version;
	int32		vec_dim;
	int			search_path_level;
	float		cold_offset = 0.0f;
	BprCalibrationFit fit = {1.0, 0.5};
	double		start;
	double		wait_seconds;
	double		seconds;
	double		mark;
	PhaseTimes	pt;
	BprWarmReport warm = {0};
	bool		activated;
	char	   *deployment;
	Datum		values[10];
	bool		nulls[10] = {false};
	HeapTuple	tuple;
	char	   *rel;
	MemoryContextCallback *blas_reset;

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	tupdesc = BlessTupleDesc(tupdesc);
	bpr_train_args_parse(fcinfo, &args);
	PreventCommandIfReadOnly("bpr_train()");

	train_cxt = AllocSetContextCreate(CurrentMemoryContext, "bpr training", ALLOCSET_DEFAULT_SIZES);
	MemoryContextSwitchTo(train_cxt);
	bpr_pg_alloc_init(&alloc, train_cxt, bpr_memory_limit());
	/* the training threads each call OpenBLAS: it starts no threads of its own until the end */
	bpr_blas_threads_single();
	blas_reset = palloc0(sizeof(MemoryContextCallback));	/* in train_cxt: outlives an error */
	blas_reset->func = restore_blas_threads;
	MemoryContextRegisterResetCallback(train_cxt, blas_reset);
	epoch_cxt = AllocSetContextCreate(train_cxt, "bpr epoch", ALLOCSET_DEFAULT_SIZES);
	memset(&st, 0, sizeof(st));
	st.args = &args;

	search_path_level = bpr_pin_search_path();
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");

	/* every check before any data is read or any lock is taken */
	bpr_cache_check_schema();
	bpr_store_check_write_privileges();
	bpr_store_check_owner(args.model, bpr_store_owner(args.model), "train");
	memset(&src, 0, sizeof(src));
	src.relid = args.ratings;
	src.user_column = args.user_column;
	src.item_column = args.item_column;
	src.rating_column = args.rating_column;
	src.weight_column = args.weight_column;
	src.positive_threshold = args.positive_threshold;
	src.negative_threshold = args.negative_threshold;
	bpr_check_row_source(&src);
	check_categorical(&args);
	bpr_encoding_choose(&uenc, args.users, args.user_column, src.user_type, args.user_features,
						args.explicit_user_features, args.categorical, "user");
	bpr_encoding_choose(&ienc, args.items, args.item_column, src.item_type, args.item_features,
						args.explicit_item_features, args.categorical, "item");
	check_columns_readable(src.relid, source_columns(&src));
	check_columns_readable(args.users, encoding_columns(&uenc));
	check_columns_readable(args.items, encoding_columns(&ienc));
	if (OidIsValid(args.validation))
	{
		BprRowSource v = src;

		v.relid = args.validation;
		v.weight_column = NULL;
		bpr_check_row_source(&v);
		check_columns_readable(v.relid, source_columns(&v));
	}

	/* one training of a model at a time; the wait is not training time */
	bpr_progress_start(args.model, args.cfg.epochs, train_cxt);
	bpr_progress_phase("waiting");
	start = bpr_now();
	bpr_store_lock_model(args.model);
	wait_seconds = bpr_now() - start;
	start = bpr_now();

	/* data */
	bpr_progress_phase("reading");
	alloc.phase = "reading the ratings";
	rel = bpr_relation_name(args.ratings);
	bpr_dataset_read(&src, &alloc, &ds);
	report_skipped(&ds, &args, rel);
	if (ds.n_ratings == 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("ratings table \"%s\" has no usable rows", rel)));
	if (ds.n_positives == 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("no rating of \"%s\" reaches positive_threshold %g", rel,
						args.positive_threshold)));
	suggest_user_index(&src);

	pt.read = bpr_now() - start;
	mark = bpr_now();
	bpr_progress_phase("encoding");
	alloc.phase = "encoding the features";
	bpr_encoding_fit(&uenc, &ds.users, &alloc, &uf);
	bpr_encoding_fit(&ienc, &ds.items, &alloc, &itf);
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
	alloc.phase = "building the model";
	t = bpr_trainer_create(&args.cfg, &ds.inter, &uf, &itf, &alloc.base);
	st.trainer = t;
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
						ds.users.n - t->n_ok_users, ds.users.n, t->skipped_positives)));

	if (args.warm_start)
	{
		alloc.phase = "reading the active version";
		bpr_warm_start(args.model, &ds, &uenc, &ienc, t, &alloc, &warm);
	}

	pt.encode = bpr_now() - mark;
	mark = bpr_now();
	st.log = palloc0(sizeof(BprLogEntry) * args.cfg.epochs);
	if (OidIsValid(args.validation))
	{
		alloc.phase = "reading the validation table";
		st.validation = bpr_validation_prepare(args.validation, &args, &ds, &alloc, epoch_cxt);
	}

	bpr_progress_phase("training");
	alloc.phase = "training";
	hooks.epoch_done = hook_epoch;
	hooks.now = hook_now;
	hooks.interrupt = bpr_check_interrupts;
	hooks.arg = &st;
	st.started = bpr_now();
	bpr_trainer_run(t, &hooks);
	if (st.validation != NULL)
		bpr_trainer_restore_best(t);

	pt.train = bpr_now() - mark;
	mark = bpr_now();
	/* the vectors to store: tower outputs, the users' score offsets, then the items' */
	bpr_progress_phase("storing");
	alloc.phase = "storing the version";
	uvec = bpr_pg_alloc(&alloc, (size_t) ds.users.n, sizeof(float) * (t->vec_dim + 2), "user vectors");
	ivec = bpr_pg_alloc(&alloc, (size_t) ds.items.n, sizeof(float) * (t->vec_dim + 2), "item vectors");
	bpr_trainer_user_vectors(t, uvec);
	bpr_trainer_item_vectors(t, ivec);
	vec_dim = t->vec_dim;
	if (args.calibrate)
		vec_dim = bpr_calibrate_vectors_fit(&ds.inter, uvec, ivec, vec_dim,
											bpr_pg_alloc(&alloc, (size_t) ds.users.n, sizeof(float), "user offsets"),
											&cold_offset, &fit, bpr_check_interrupts, NULL);
	/* the registry records what was used: offsets only when there was something to fit */
	args.calibrate = vec_dim > t->vec_dim;
	if (!args.calibrate)
		args.item_offsets = 0.0;
	/* the items' offsets, in a column of their own: trained users carry 0 there, cold ones 1 */
	if (args.item_offsets > 0.0)
		vec_dim = bpr_calibrate_items(&ds.inter, &fit, args.item_offsets, uvec, ivec, vec_dim,
									  bpr_pg_alloc(&alloc, (size_t) ds.items.n, 2 * sizeof(int64), "item rating counts"),
									  bpr_pg_alloc(&alloc, (size_t) ds.items.n, sizeof(float), "item offsets"));
	cvec = cold_item_vectors(&args, &ienc, &ds, t, vec_dim, &alloc, &cold);
	pt.finish = bpr_now() - mark;
	seconds = bpr_now() - start;

	/* store the new version, then deploy it */
	version = bpr_store_next_version(args.model);
	initStringInfo(&hyper);
	bpr_train_args_json(&args, &hyper);
	memset(&row, 0, sizeof(row));
	row.model = args.model;
	row.version = version;
	row.ratings = args.ratings;
	row.users = args.users;
	row.items = args.items;
	row.user_column = args.user_column;
	row.item_column = args.item_column;
	row.rating_column = args.rating_column;
	row.weight_column = args.weight_column;
	row.user_key_type = ds.user_type;
	row.item_key_type = ds.item_type;
	row.vec_dim = vec_dim;
	row.hyperparameters_json = hyper.data;
	row.epochs = t->epochs_run;
	row.triplets = t->triplets_seen;
	row.final_loss = t->final_loss;
	row.seconds = seconds;
	row.wait_seconds = wait_seconds;
	row.metrics_json = st.validation && st.best_epoch > 0 ? st.log[st.best_epoch - 1].metrics_json : NULL;
	row.data_json = data_json(&ds, t, args.calibrate, cold_offset, &fit, cold.n, &pt,
							  args.warm_start ? &warm : NULL, table_owners_json(&args));
	bpr_store_insert_model(&row);
	bpr_store_encoding(args.model, version, "user", &uenc);
	bpr_store_encoding(args.model, version, "item", &ienc);
	bpr_store_parameters(args.model, version, "user", t->user);
	bpr_store_parameters(args.model, version, "item", t->item);
	bpr_store_vectors(args.model, version, "user", &ds.users, 0, ds.users.n, 0, uvec, vec_dim,
					  false, ds.fingerprints);
	bpr_store_vectors(args.model, version, "item", &ds.items, 0, ds.items.n, 0, ivec, vec_dim,
					  false, NULL);
	if (cold.n > 0)
		bpr_store_vectors(args.model, version, "item", &cold, 0, cold.n, ds.items.n, cvec, vec_dim,
						  true, NULL);
	bpr_store_log(args.model, version, st.log, st.n_log);

	activated = deploy(&args, version, &deployment);
	bpr_store_set_deployment(args.model, version, deployment);
	if (activated)
		bpr_store_activate(args.model, version);
	if (args.keep_versions > 0)
		(void) bpr_store_retain(args.model, args.keep_versions, version);
	SPI_finish();
	bpr_unpin_search_path(search_path_level);

	MemoryContextSwitchTo(caller);
	values[0] = CStringGetTextDatum(args.model);
	values[1] = Int32GetDatum(version);
	values[2] = Int64GetDatum(ds.users.n);
	values[3] = Int64GetDatum(ds.items.n);
	values[4] = Int64GetDatum(ds.n_positives);
	values[5] = Int64GetDatum(t->triplets_seen);
	values[6] = Int32GetDatum(t->epochs_run);
	values[7] = Float8GetDatum(t->final_loss);
	values[8] = Float8GetDatum(seconds);
	values[9] = BoolGetDatum(activated);
	tuple = heap_form_tuple(tupdesc, values, nulls);
	MemoryContextDelete(train_cxt);
	PG_RETURN_DATUM(HeapTupleGetDatum(tuple));
}
