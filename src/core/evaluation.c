/*
 * evaluation.c - ranking quality of a whole model over a test set
 */
#include <cblas.h>
#include <string.h>

#include "evaluation.h"
#include "metrics.h"

/* Users scored per GEMM */
#define EVAL_BLOCK 64

/* Computes every metric; check (may be NULL) is called between blocks of users */
void
bpr_evaluate_model(const BprEvalInput *in, const BprAlloc *alloc,
				   void (*check) (void *), void *arg, BprMetricsResult *out)
{
	int32_t		n_items = in->n_items;
	float	   *scores = bpr_alloc_array(alloc, (size_t) EVAL_BLOCK * (size_t) n_items, sizeof(float), "scores");
	float	   *work = bpr_alloc_array(alloc, (size_t) n_items, sizeof(float), "scores");
	uint8_t    *status = bpr_alloc_array(alloc, (size_t) n_items, 1, "item status");
	uint8_t    *covered = bpr_alloc_array(alloc, (size_t) n_items, 1, "item coverage");
	int32_t    *block_users = bpr_alloc_array(alloc, EVAL_BLOCK, sizeof(int32_t), "users");
	float	   *block_vecs = bpr_alloc_array(alloc, (size_t) EVAL_BLOCK * (size_t) in->vec_dim, sizeof(float), "users");
	int32_t		k = in->k < n_items ? in->k : n_items;
	BprScored  *top = bpr_alloc_array(alloc, (size_t) (k > 0 ? k : 1), sizeof(BprScored), "top k");
	int64_t		n_test = in->test_ptr[in->n_users];
	BprAucRow  *auc_rows = bpr_alloc_array(alloc, (size_t) (n_test > 0 ? n_test : 1), sizeof(BprAucRow), "test rows");
	int64_t		n_auc = 0;
	double		sums[5] = {0, 0, 0, 0, 0};
	int64_t		n_eval = 0,
				n_covered = 0;
	int32_t		u = 0;

	memset(out, 0, sizeof(*out));
	while (u < in->n_users)
	{
		int32_t		nb = 0;

		/* the next block of users with test rows */
		for (; u < in->n_users && nb < EVAL_BLOCK; u++)
			if (in->test_ptr[u + 1] > in->test_ptr[u])
			{
				memcpy(block_vecs + (size_t) nb * in->vec_dim, in->user_vecs + (size_t) u * in->vec_dim,
					   sizeof(float) * in->vec_dim);
				block_users[nb++] = u;
			}
		if (nb == 0)
			break;
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, nb, n_items, in->vec_dim,
					1.0f, block_vecs, in->vec_dim, in->item_vecs, in->vec_dim,
					0.0f, scores, n_items);
		for (int32_t b = 0; b < nb; b++)
		{
			int32_t		user = block_users[b];
			const float *s = scores + (size_t) b * n_items;
			BprUserMetrics m;
			int32_t		n_top;

			for (int64_t p = in->test_ptr[user]; p < in->test_ptr[user + 1]; p++)
			{
				int32_t		item = in->test_items[p];
				bool		liked = in->test_liked[p] != 0;

				auc_rows[n_auc].score = s[item];
				auc_rows[n_auc].label = liked ? 1 : 0;
				n_auc++;
				status[item] = liked ? BPR_EVAL_LIKED : BPR_EVAL_DISLIKED;
			}
			for (int64_t p = in->train_ptr[user]; p < in->train_ptr[user + 1]; p++)
				status[in->train_items[p]] = BPR_EVAL_TRAIN;

			n_top = bpr_user_metrics(s, in->item_ids, n_items, status, k, top, work, &m);
			if (m.n_relevant > 0)
			{
				n_eval++;
				sums[0] += m.precision;
				sums[1] += m.recall;
				sums[2] += m.ndcg;
				sums[3] += m.map;
				sums[4] += m.rank_auc;
				for (int32_t r = 0; r < n_top; r++)
					if (!covered[top[r].index])
					{
						covered[top[r].index] = 1;
						n_covered++;
					}
			}
			for (int64_t p = in->test_ptr[user]; p < in->test_ptr[user + 1]; p++)
				status[in->test_items[p]] = BPR_EVAL_UNRATED;
			for (int64_t p = in->train_ptr[user]; p < in->train_ptr[user + 1]; p++)
				status[in->train_items[p]] = BPR_EVAL_UNRATED;
		}
		if (check)
			check(arg);
	}
	out->users = n_eval;
	out->test_rows = n_auc;
	out->seed_auc = bpr_auc(auc_rows, n_auc);
	if (n_eval > 0)
	{
		out->precision = sums[0] / n_eval;
		out->recall = sums[1] / n_eval;
		out->ndcg = sums[2] / n_eval;
		out->map = sums[3] / n_eval;
		out->rank_auc = sums[4] / n_eval;
	}
	out->coverage = n_items > 0 ? (double) n_covered / n_items : 0.0;
}
