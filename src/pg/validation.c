/*
 * validation.c - per-epoch validation of a training on a held-out table
 */
#include "postgres.h"

#include "core/calibration.h"
#include "validation.h"

/* Reads a validation table with the training's column mapping */
BprValidation *
bpr_validation_prepare(Oid relid, const BprTrainArgs *args, const BprDataset *ds,
					   BprPgAlloc *alloc)
{
	BprValidation *v = palloc0(sizeof(BprValidation));
	BprRatingRows rows;
	BprUserLists lists;

	bpr_read_ratings(relid, args->user_column, args->item_column, args->rating_column,
					 alloc, &rows);
	bpr_group_rows(&rows, ds->user_ids, ds->n_users, ds->item_ids, ds->n_items, alloc, &lists);
	v->k = 10;
	/* dim, the bias column and the offset column */
	v->user_vecs = bpr_pg_alloc(alloc, (size_t) ds->n_users, sizeof(float) * (args->cfg.dim + 2), "user vectors");
	v->item_vecs = bpr_pg_alloc(alloc, (size_t) ds->n_items, sizeof(float) * (args->cfg.dim + 2), "item vectors");
	v->offsets = args->calibrate ? bpr_pg_alloc(alloc, (size_t) ds->n_users, sizeof(float), "user offsets") : NULL;
	v->train = &ds->inter;
	v->input.n_users = ds->n_users;
	v->input.user_vecs = v->user_vecs;
	v->input.n_items = ds->n_items;
	v->input.item_vecs = v->item_vecs;
	v->input.item_ids = ds->item_ids;
	v->input.train_ptr = ds->inter.rated_ptr;
	v->input.train_items = ds->inter.rated;
	v->input.test_ptr = lists.ptr;
	v->input.test_items = lists.items;
	v->input.test_ratings = lists.ratings;
	v->input.threshold = args->rating_column ? args->positive_threshold : 0.0;
	v->input.k = v->k;
	return v;
}

/* Evaluates the trainer's current weights on the validation set */
void
bpr_validation_run(BprValidation *v, BprTrainer *t, BprMetricsResult *res)
{
	BprPgAlloc	scratch;
	float		cold_offset;

	bpr_trainer_user_vectors(t, v->user_vecs);
	bpr_trainer_item_vectors(t, v->item_vecs);
	v->input.vec_dim = t->vec_dim;
	if (v->offsets)
		v->input.vec_dim = bpr_calibrate_vectors(v->train, v->user_vecs, v->item_vecs, t->vec_dim,
												 v->offsets, &cold_offset, bpr_check_interrupts, NULL);
	bpr_pg_alloc_init(&scratch, CurrentMemoryContext, 0);
	bpr_evaluate_model(&v->input, &scratch.base, bpr_check_interrupts, NULL, res);
}

/* Metrics as a JSON object */
char *
bpr_metrics_json(const BprMetricsResult *r, int32 k, int32 epoch)
{
	return psprintf("{\"epoch\": %d, \"k\": %d, \"users\": " INT64_FORMAT ", \"seed_auc\": %.6f, \"rank_auc\": %.6f, "
					"\"precision\": %.6f, \"recall\": %.6f, \"ndcg\": %.6f, \"map\": %.6f, "
					"\"coverage\": %.6f}",
					epoch, k, r->users, r->seed_auc, r->rank_auc, r->precision, r->recall,
					r->ndcg, r->map, r->coverage);
}

