/*
 * metrics.h - ranking quality metrics, exactly as ../shared/EVALUATION.md
 */
#ifndef BPR_METRICS_H
#define BPR_METRICS_H

#include "alloc.h"
#include "topk.h"

/* Status of an item for one evaluated user */
#define BPR_EVAL_UNRATED 0		/* never rated in train or test */
#define BPR_EVAL_TRAIN 1		/* rated in train: not ranked */
#define BPR_EVAL_LIKED 2		/* liked in test: relevant */
#define BPR_EVAL_DISLIKED 3		/* rated in test, not liked */

typedef struct BprUserMetrics
{
	int32_t		n_relevant;		/* liked test items (0: user not evaluated) */
	int32_t		hits;			/* relevant items in the top k */
	double		precision;
	double		recall;
	double		ndcg;
	double		map;
	double		rank_auc;		/* liked vs never-rated pairs; 0.5 if no never-rated item */
} BprUserMetrics;

/* One (score, label) row for ROC AUC */
typedef struct BprAucRow
{
	float		score;
	uint8_t		label;
} BprAucRow;

/*
 * Metrics of one user: scores over all n_items, ids for ties, status per item.
 * top (room for k) receives the user's top k, best first; work holds n_items floats.
 * Returns the number of items written to top.
 */
int32_t		bpr_user_metrics(const float *scores, const int64_t *ids, int32_t n_items,
							 const uint8_t *status, int32_t k, BprScored *top,
							 float *work, BprUserMetrics *out);

/* ROC AUC of rows (sorted in place), ties counted one half; 0.5 when a class is empty */
double		bpr_auc(BprAucRow *rows, int64_t n);

#endif
