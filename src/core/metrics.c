/*
 * metrics.c - ranking quality metrics, exactly as ../shared/EVALUATION.md
 *
 * NaN scores rank lowest: a NaN-scored item never enters a top k (bpr_topk
 * skips it), loses every AUC pair against a non-NaN score and ties (one half)
 * with another NaN.
 */
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>

#if defined(__GNUC__) && defined(__x86_64__)
#include <immintrin.h>
#define METRICS_AVX 1
#endif

#include "metrics.h"

/* Counts the values of u[0..n) below s into *lt and at or below s into *le (u has no NaN) */
static void
count_below_scalar(const float *u, int32_t n, float s, int64_t *lt, int64_t *le)
{
	int64_t		a = 0,
				b = 0;

	for (int32_t i = 0; i < n; i++)
	{
		a += u[i] < s;
		b += u[i] <= s;
	}
	*lt = a;
	*le = b;
}

#ifdef METRICS_AVX
/* As count_below_scalar, eight values at a time (counts in float lanes: exact below 2^24 a lane) */
__attribute__((target("avx")))
static void
count_below_avx(const float *u, int32_t n, float s, int64_t *lt, int64_t *le)
{
	__m256		vs = _mm256_set1_ps(s),
				one = _mm256_set1_ps(1.0f),
				a0 = _mm256_setzero_ps(),
				a1 = _mm256_setzero_ps(),
				b0 = _mm256_setzero_ps(),
				b1 = _mm256_setzero_ps();
	float		la[8],
				lb[8];
	int32_t		i = 0;
	int64_t		a = 0,
				b = 0;

	for (; i + 16 <= n; i += 16)
	{
		__m256		x0 = _mm256_loadu_ps(u + i),
					x1 = _mm256_loadu_ps(u + i + 8);

		a0 = _mm256_add_ps(a0, _mm256_and_ps(_mm256_cmp_ps(x0, vs, _CMP_LT_OQ), one));
		b0 = _mm256_add_ps(b0, _mm256_and_ps(_mm256_cmp_ps(x0, vs, _CMP_LE_OQ), one));
		a1 = _mm256_add_ps(a1, _mm256_and_ps(_mm256_cmp_ps(x1, vs, _CMP_LT_OQ), one));
		b1 = _mm256_add_ps(b1, _mm256_and_ps(_mm256_cmp_ps(x1, vs, _CMP_LE_OQ), one));
	}
	_mm256_storeu_ps(la, _mm256_add_ps(a0, a1));
	_mm256_storeu_ps(lb, _mm256_add_ps(b0, b1));
	for (int j = 0; j < 8; j++)
	{
		a += (int64_t) la[j];
		b += (int64_t) lb[j];
	}
	for (; i < n; i++)
	{
		a += u[i] < s;
		b += u[i] <= s;
	}
	*lt = a;
	*le = b;
}
#endif

/*
 * rank_auc of one user: liked vs never-rated pairs, ties one half; 0.5 without
 * never-rated items.  The never-rated scores are gathered once (NaN ones only
 * counted), then each liked score counts the never-rated ones below it in one
 * vectorised pass: O(items x liked) compares at eight a cycle, for the handful
 * of liked items a test user has, with no sort and no branch per item.  NaN
 * scores rank lowest.  work holds n_items floats: never-rated scores from the
 * front, liked ones from the back (the two never overlap).
 */
static double
user_rank_auc(const float *scores, int32_t n_items, const uint8_t *status,
			  int32_t n_relevant, float *work)
{
	int32_t		n_u = 0;		/* non-NaN never-rated scores, in work[0..n_u) */
	int32_t		n_liked = 0;	/* non-NaN liked scores, in work[n_items - n_liked..] */
	int64_t		n_u_nan = 0;
	int64_t		n_unrated;
	double		wins = 0.0;
#ifdef METRICS_AVX
	bool		avx = __builtin_cpu_supports("avx");
#endif

	/*
	 * Branch-free: both slots get x, and only the matching count moves on.
	 * Before item i, n_u + n_liked <= i, so the two slots never hold another
	 * item's kept value (they coincide only when both are x).
	 */
	for (int32_t i = 0; i < n_items; i++)
	{
		float		x = scores[i];
		int32_t		number = x == x;	/* not NaN */
		int32_t		unrated = status[i] == BPR_EVAL_UNRATED;

		work[n_u] = x;
		work[n_items - 1 - n_liked] = x;
		n_u += unrated & number;
		n_u_nan += unrated & !number;
		n_liked += (status[i] == BPR_EVAL_LIKED) & number;
	}
	n_unrated = n_u + n_u_nan;
	if (n_unrated == 0)
		return 0.5;
	for (int32_t j = 0; j < n_liked; j++)
	{
		float		s = work[n_items - 1 - j];
		int64_t		lt,
					le;

#ifdef METRICS_AVX
		/* the float lanes count exactly up to 2^24 each: n_u / 8 per lane */
		if (avx && n_u < (1 << 26))
			count_below_avx(work, n_u, s, &lt, &le);
		else
#endif
			count_below_scalar(work, n_u, s, &lt, &le);
		/* beats the lower ones and every NaN, ties the equal ones */
		wins += (double) lt + 0.5 * (double) (le - lt) + (double) n_u_nan;
	}
	/* a NaN liked score ties the NaN never-rated ones and loses to the rest */
	wins += 0.5 * (double) (n_relevant - n_liked) * (double) n_u_nan;
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
