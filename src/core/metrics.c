/*
 * metrics.c - ranking quality metrics, exactly as ../shared/EVALUATION.md
 *
 * NaN scores rank lowest: a NaN-scored item never enters a top k (bpr_topk
 * skips it), loses every AUC pair against a non-NaN score and ties (one half)
 * with another NaN.
 */
#include <math.h>
#include <stdlib.h>

#include "metrics.h"

/* qsort order of floats, ascending (no NaN in the input) */
static int
cmp_float_asc(const void *pa, const void *pb)
{
	float		a = *(const float *) pa;
	float		b = *(const float *) pb;

	return (a > b) - (a < b);
}

/* Number of values of the sorted array v[0..n) below x, or at or below x when inclusive */
static int64_t
count_below(const float *v, int64_t n, float x, bool inclusive)
{
	int64_t		lo = 0,
				hi = n;

	while (lo < hi)
	{
		int64_t		mid = lo + (hi - lo) / 2;

		if (v[mid] < x || (inclusive && v[mid] == x))
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/*
 * rank_auc of one user: liked vs never-rated pairs, ties one half; 0.5 without
 * never-rated items.  Only the liked scores are sorted (a handful), and each
 * never-rated item finds its place among them by binary search: the work is
 * O(items log liked), not a sort of every item.  NaN scores rank lowest.
 */
static double
user_rank_auc(const float *scores, int32_t n_items, const uint8_t *status,
			  int32_t n_relevant, float *work)
{
	int64_t		n_liked = 0;	/* non-NaN liked scores, sorted in work */
	int64_t		n_liked_nan;
	int64_t		n_unrated = 0;
	double		wins = 0.0;

	for (int32_t i = 0; i < n_items; i++)
		if (status[i] == BPR_EVAL_LIKED && !isnan(scores[i]))
			work[n_liked++] = scores[i];
	n_liked_nan = n_relevant - n_liked;
	qsort(work, (size_t) n_liked, sizeof(float), cmp_float_asc);

	for (int32_t i = 0; i < n_items; i++)
	{
		float		x = scores[i];

		if (status[i] != BPR_EVAL_UNRATED)
			continue;
		n_unrated++;
		if (isnan(x))
		{
			/* every non-NaN liked item beats it; a NaN liked item ties it */
			wins += (double) n_liked + 0.5 * (double) n_liked_nan;
			continue;
		}
		{
			int64_t		at_most = count_below(work, n_liked, x, true);
			int64_t		below = count_below(work, n_liked, x, false);

			wins += (double) (n_liked - at_most) + 0.5 * (double) (at_most - below);
		}
	}
	if (n_unrated == 0)
		return 0.5;
	return wins / ((double) n_relevant * (double) n_unrated);
}

/*
 * Metrics of one user: scores over all n_items, ids for ties, status per item.
 * top (room for k) receives the user's top k, best first; work holds n_items floats.
 * Returns the number of items written to top.
 */
int32_t
bpr_user_metrics(const float *scores, const int64_t *ids, int32_t n_items,
				 const uint8_t *status, int32_t k, BprScored *top,
				 float *work, BprUserMetrics *out)
{
	int32_t		n_top;
	int32_t		n_relevant = 0;
	int32_t		hits = 0;
	int32_t		n_ideal;
	double		dcg = 0.0;
	double		idcg = 0.0;
	double		ap = 0.0;

	out->n_relevant = 0;
	out->hits = 0;
	out->precision = 0.0;
	out->recall = 0.0;
	out->ndcg = 0.0;
	out->map = 0.0;
	out->rank_auc = 0.0;

	/* every item not rated in train is ranked, ties by ascending id */
	n_top = bpr_topk_status(scores, ids, n_items, status, BPR_EVAL_TRAIN, k, top);

	for (int32_t i = 0; i < n_items; i++)
	{
		if (status[i] == BPR_EVAL_LIKED)
			n_relevant++;
	}
	out->n_relevant = n_relevant;
	if (n_relevant == 0 || k <= 0)
		return n_top;

	for (int32_t r = 0; r < n_top; r++)
	{
		if (status[top[r].index] == BPR_EVAL_LIKED)
		{
			hits++;
			dcg += 1.0 / log2((double) r + 2.0);
			ap += (double) hits / (double) (r + 1);
		}
	}
	n_ideal = n_relevant < k ? n_relevant : k;
	for (int32_t r = 0; r < n_ideal; r++)
		idcg += 1.0 / log2((double) r + 2.0);

	out->hits = hits;
	out->precision = (double) hits / (double) k;
	out->recall = (double) hits / (double) n_relevant;
	out->ndcg = dcg / idcg;
	out->map = ap / (double) n_ideal;
	out->rank_auc = user_rank_auc(scores, n_items, status, n_relevant, work);
	return n_top;
}

/* qsort order of AUC rows by score, ascending, NaN first (lowest) */
static int
cmp_auc_row(const void *pa, const void *pb)
{
	float		a = ((const BprAucRow *) pa)->score;
	float		b = ((const BprAucRow *) pb)->score;
	bool		na = isnan(a);
	bool		nb = isnan(b);

	if (na || nb)
		return (int) nb - (int) na;
	return (a > b) - (a < b);
}

/* True when two sorted AUC scores tie (NaN ties NaN) */
static inline bool
auc_tie(float a, float b)
{
	return a == b || (isnan(a) && isnan(b));
}

/*
 * ROC AUC of rows (sorted in place), ties counted one half; 0.5 when a class is
 * empty.  Rank-sum (Mann-Whitney U) with average ranks for tied scores.
 */
double
bpr_auc(BprAucRow *rows, int64_t n)
{
	int64_t		n_pos = 0;
	int64_t		n_neg;
	double		rank_sum = 0.0;
	int64_t		start = 0;

	if (n <= 0)
		return 0.5;
	for (int64_t i = 0; i < n; i++)
	{
		if (rows[i].label != 0)
			n_pos++;
	}
	n_neg = n - n_pos;
	if (n_pos == 0 || n_neg == 0)
		return 0.5;

	qsort(rows, (size_t) n, sizeof(BprAucRow), cmp_auc_row);

	while (start < n)
	{
		int64_t		end = start + 1;
		int64_t		pos_in_group = 0;

		while (end < n && auc_tie(rows[end].score, rows[start].score))
			end++;
		for (int64_t i = start; i < end; i++)
		{
			if (rows[i].label != 0)
				pos_in_group++;
		}
		/* ranks start+1 .. end share their mean */
		rank_sum += (double) pos_in_group * ((double) (start + 1 + end) / 2.0);
		start = end;
	}
	return (rank_sum - (double) n_pos * ((double) n_pos + 1.0) / 2.0) /
		((double) n_pos * (double) n_neg);
}
