/*
 * evaluation.h - ranking quality of a whole model over a test set
 *
 * Scores every evaluated user against every item with a GEMM over blocks of
 * users, then applies the metrics of metrics.h (definitions: EVALUATION.md).
 */
#ifndef BPR_EVALUATION_H
#define BPR_EVALUATION_H

#include "alloc.h"

typedef struct BprEvalInput
{
	int32_t		n_users;
	const float *user_vecs;		/* n_users x vec_dim */
	int32_t		n_items;
	const float *item_vecs;		/* n_items x vec_dim */
	const int64_t *item_ids;	/* ties: ascending id; NULL: ascending position */
	int32_t		vec_dim;
	const int64_t *train_ptr;	/* n_users + 1: items each user rated in train */
	const int32_t *train_items;
	const int64_t *test_ptr;	/* n_users + 1: test rows of each user */
	const int32_t *test_items;
	const uint8_t *test_liked;	/* per test row: liked (nonzero) or not */
	int32_t		k;
	/*
	 * Threads scoring blocks of users (0 or 1: the calling one alone).  The
	 * result does not depend on it: every user's metrics are summed in user
	 * order.  The caller must have made OpenBLAS single-threaded when > 1.
	 */
	int32_t		threads;
} BprEvalInput;

typedef struct BprMetricsResult
{
	int64_t		users;			/* users with a liked test item */
	int64_t		test_rows;		/* rows scored for seed_auc */
	double		seed_auc;
	double		rank_auc;
	double		precision;
	double		recall;
	double		ndcg;
	double		map;
	double		coverage;		/* share of items in anyone's top k */
} BprMetricsResult;

/*
 * Keeps the test rows of at most `most` of the users the metrics count (a
 * liked test item not in their training list, sorted ascending), every one's
 * when most <= 0 or there are no more: a uniform sample drawn with the seed,
 * the others' rows removed in place (test_ptr, test_items and test_liked
 * compacted; any other per-row array no longer lines up).  Returns the number
 * of users the metrics count; a sample was drawn when that is more than most.
 */
int32_t		bpr_eval_sample_users(int32_t n_users, int32_t n_items, const int64_t *train_ptr,
								  const int32_t *train_items, int64_t *test_ptr,
								  int32_t *test_items, uint8_t *test_liked, int32_t most,
								  uint64_t seed);

/* Bytes each thread of bpr_evaluate_model allocates beyond the first one's (0 on overflow) */
size_t		bpr_evaluate_thread_bytes(int32_t n_items, int32_t vec_dim, int32_t k);

/*
 * Computes every metric; check (may be NULL) is called on the calling thread
 * between rounds of blocks of users, when no helper thread is alive (it may
 * longjmp out)
 */
void		bpr_evaluate_model(const BprEvalInput *in, const BprAlloc *alloc,
							   void (*check) (void *), void *arg, BprMetricsResult *out);

#endif
