/*
 * validation.c - per-epoch validation of a training on a held-out table
 */
#include "postgres.h"

#include "core/calibration.h"
#include "dataset.h"
#include "guc.h"
#include "validation.h"

/* Reads a validation table with the training's column mapping */
BprValidation *
bpr_validation_prepare(Oid relid, const BprTrainArgs *args, const BprDataset *ds,
					   BprPgAlloc *alloc, MemoryContext scratch_cxt)
{
	BprValidation *v = palloc0(sizeof(BprValidation));
	BprRowSource src;
	BprKeyDict	users,
				items;
	BprRows		rows;
	BprUserLists lists;
	int64		n_rows;
	uint8	   *liked;

	memset(&src, 0, sizeof(src));
	src.relid = relid;
	src.user_column = args->user_column;
	src.item_column = args->item_column;
	src.rating_column = args->rating_column;
	src.positive_threshold = args->positive_threshold;
	src.negative_threshold = args->negative_threshold;
	src.user_type = ds->user_type;
	src.item_type = ds->item_type;
	bpr_check_row_source(&src);

	/* rows of trained users and items only, in the training's index space */
	bpr_keydict_init(&users, ds->users.is_int, PG_INT32_MAX / 2, &alloc->base);
	bpr_keydict_init(&items, ds->items.is_int, PG_INT32_MAX / 2, &alloc->base);
	bpr_keydict_from_set(&users, &ds->users);
	bpr_keydict_from_set(&items, &ds->items);
	bpr_read_rows(&src, &users, &items, false, alloc, &rows);
	n_rows = rows.n;
	if (n_rows == 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("validation table \"%s\" has no row of a trained user and item",
						bpr_relation_name(relid)),
				 errdetail(INT64_FORMAT " rows name a user or an item the ratings table does not have; "
						   INT64_FORMAT " have a NULL or non-finite value.",
						   rows.unknown, rows.skipped_null + rows.skipped_nonfinite),
				 errhint("Validation rows must be held-out ratings of users and items that are in the ratings table.")));
	bpr_user_lists_build(&rows, ds->users.n, alloc, &lists);
	bpr_rows_free(&rows, alloc);
	bpr_keydict_free(&users);
	bpr_keydict_free(&items);
	liked = bpr_pg_alloc(alloc, Max(lists.ptr[ds->users.n], 1), 1, "validation rows");
	for (int64 p = 0; p < lists.ptr[ds->users.n]; p++)
		liked[p] = lists.cls[p] == BPR_CLASS_LIKED;
	if (n_rows > 0 && memchr(liked, 1, lists.ptr[ds->users.n]) == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("validation table \"%s\" has no liked rating of a trained user",
						bpr_relation_name(relid)),
				 errdetail("Liked means a rating of at least %g.", args->positive_threshold)));

	/* each epoch ranks a seeded sample of at most bpr.validation_users users: its cost stays bounded */
	v->eligible_users = bpr_eval_sample_users(ds->users.n, ds->items.n, ds->inter.rated_ptr,
											  ds->inter.rated, lists.ptr, lists.items, liked,
											  bpr_validation_users, args->cfg.seed);
	v->sampled = bpr_validation_users > 0 && v->eligible_users > bpr_validation_users;
	/* lists.cls no longer lines up with the compacted items (nothing reads it again) */
	v->k = 10;
	/* dim, the bias column and the offset column */
	v->user_vecs = bpr_pg_alloc(alloc, (size_t) ds->users.n, sizeof(float) * (args->cfg.dim + 2), "user vectors");
	v->item_vecs = bpr_pg_alloc(alloc, (size_t) ds->items.n, sizeof(float) * (args->cfg.dim + 2), "item vectors");
	v->offsets = args->calibrate ? bpr_pg_alloc(alloc, (size_t) ds->users.n, sizeof(float), "user offsets") : NULL;
	v->train = &ds->inter;
	bpr_pg_alloc_init_scratch(&v->scratch, alloc, scratch_cxt);
	v->input.n_users = ds->users.n;
	v->input.user_vecs = v->user_vecs;
	v->input.n_items = ds->items.n;
	v->input.item_vecs = v->item_vecs;
	v->input.item_ids = NULL;
	v->input.train_ptr = ds->inter.rated_ptr;
	v->input.train_items = ds->inter.rated;
	v->input.test_ptr = lists.ptr;
	v->input.test_items = lists.items;
	v->input.test_liked = liked;
	v->input.k = v->k;
	/* OpenBLAS is single-threaded during a training; more threads only within its budget */
	v->input.threads = bpr_evaluation_threads(ds->items.n, args->cfg.dim + 2, v->k,
											  alloc->limit == 0 ? 0 :
											  alloc->limit > alloc->used ? alloc->limit - alloc->used : 1);
	v->input.threads = Min(v->input.threads, args->cfg.threads);
	return v;
}

/* Evaluates the trainer's current weights on the validation set */
void
bpr_validation_run(BprValidation *v, BprTrainer *t, BprMetricsResult *res)
{
	float		cold_offset;

	bpr_trainer_user_vectors(t, v->user_vecs);
	bpr_trainer_item_vectors(t, v->item_vecs);
	v->input.vec_dim = t->vec_dim;
	if (v->offsets)
		v->input.vec_dim = bpr_calibrate_vectors(v->train, v->user_vecs, v->item_vecs, t->vec_dim,
												 v->offsets, &cold_offset, bpr_check_interrupts, NULL);
	/* the items' offsets are not added: they apply to cold users, and validation users are trained */
	/* the metrics' scratch is charged to the training's budget, and freed right after */
	bpr_evaluate_model(&v->input, &v->scratch.base, bpr_check_interrupts, NULL, res);
	bpr_pg_alloc_reset(&v->scratch);
}

/* Metrics as a JSON object ("sampled_from": the users the metrics count, when a sample was ranked) */
char *
bpr_metrics_json(const BprMetricsResult *r, const BprValidation *v, int32 epoch, double seconds)
{
	char	   *sampled = v->sampled ?
		psprintf(", \"sampled_from\": %d", v->eligible_users) : "";

	return psprintf("{\"epoch\": %d, \"k\": %d, \"users\": " INT64_FORMAT "%s, \"seed_auc\": %.6f, \"rank_auc\": %.6f, "
					"\"precision\": %.6f, \"recall\": %.6f, \"ndcg\": %.6f, \"map\": %.6f, "
					"\"coverage\": %.6f, \"seconds\": %.3f}",
					epoch, v->k, r->users, sampled, r->seed_auc, r->rank_auc, r->precision, r->recall,
					r->ndcg, r->map, r->coverage, seconds);
}

