/*
 * evaluation.c - ranking quality of a whole model over a test set
 */
#include <cblas.h>
#include <string.h>

#include "evaluation.h"
#include "metrics.h"
#include "parallel.h"
#include "rng.h"
#include "vecmath.h"

/* Users scored per GEMM */
#define EVAL_BLOCK 64

/* Blocks each member scores per round (a round is a few tens of ms) */
#define EVAL_ROUND_BLOCKS 4

/* One member's buffers */
typedef struct EvalMember
{
	float	   *scores;			/* EVAL_BLOCK x n_items */
	float	   *work;			/* n_items */
	uint8_t    *status;			/* n_items, all BPR_EVAL_UNRATED between users */
	uint8_t    *covered;		/* n_items: in some user's top k */
	int32_t    *block_users;
	float	   *block_vecs;
	BprScored  *top;
} EvalMember;

/* What the members share: input, per-user results, and the round's blocks */
typedef struct EvalRun
{
	const BprEvalInput *in;
	int32_t		k;
	int32_t		threads;
	EvalMember *members;
	int32_t    *block_start;	/* first user of each block of users with test rows */
	int32_t		n_blocks;
	int32_t		round_first;	/* blocks of this round: round_first .. round_end - 1 */
	int32_t		round_end;
	double	   *user_sums;		/* n_users x 5: precision, recall, ndcg, map, rank_auc */
	uint8_t    *user_evaluated; /* n_users: had a liked test item */
	BprAucRow  *auc_rows;		/* row p of the test set at index p */
} EvalRun;

/* Scores one block of users and records each one's metrics */
static void
eval_block(EvalRun *run, EvalMember *mb, int32_t block)
{
	const BprEvalInput *in = run->in;
	int32_t		n_items = in->n_items;
	int32_t		end = block + 1 < run->n_blocks ? run->block_start[block + 1] : in->n_users;
	int32_t		nb = 0;

	for (int32_t u = run->block_start[block]; u < end; u++)
		if (in->test_ptr[u + 1] > in->test_ptr[u])
		{
			memcpy(mb->block_vecs + (size_t) nb * in->vec_dim, in->user_vecs + (size_t) u * in->vec_dim,
				   sizeof(float) * in->vec_dim);
			mb->block_users[nb++] = u;
		}
	if (nb == 0)
		return;
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, nb, n_items, in->vec_dim,
				1.0f, mb->block_vecs, in->vec_dim, in->item_vecs, in->vec_dim,
				0.0f, mb->scores, n_items);
	for (int32_t b = 0; b < nb; b++)
	{
		int32_t		user = mb->block_users[b];
		const float *s = mb->scores + (size_t) b * n_items;
		BprUserMetrics m;
		int32_t		n_top;

		for (int64_t p = in->test_ptr[user]; p < in->test_ptr[user + 1]; p++)
		{
			int32_t		item = in->test_items[p];
			bool		liked = in->test_liked[p] != 0;

			run->auc_rows[p].score = s[item];
			run->auc_rows[p].label = liked ? 1 : 0;
			mb->status[item] = liked ? BPR_EVAL_LIKED : BPR_EVAL_DISLIKED;
		}
		for (int64_t p = in->train_ptr[user]; p < in->train_ptr[user + 1]; p++)
			mb->status[in->train_items[p]] = BPR_EVAL_TRAIN;

		n_top = bpr_user_metrics(s, in->item_ids, n_items, mb->status, run->k, mb->top, mb->work, &m);
		if (m.n_relevant > 0)
		{
			double	   *sums = run->user_sums + (size_t) user * 5;

			run->user_evaluated[user] = 1;
			sums[0] = m.precision;
			sums[1] = m.recall;
			sums[2] = m.ndcg;
			sums[3] = m.map;
			sums[4] = m.rank_auc;
			for (int32_t r = 0; r < n_top; r++)
				mb->covered[mb->top[r].index] = 1;
		}
		for (int64_t p = in->test_ptr[user]; p < in->test_ptr[user + 1]; p++)
			mb->status[in->test_items[p]] = BPR_EVAL_UNRATED;
		for (int64_t p = in->train_ptr[user]; p < in->train_ptr[user + 1]; p++)
			mb->status[in->train_items[p]] = BPR_EVAL_UNRATED;
	}
}

/* A round: member m scores the round's blocks m, m + threads, ... (fixed, so no timing matters) */
static void
eval_round(BprTeam *team, int32_t first, int32_t count, void *arg)
{
	EvalRun    *run = arg;

	for (int32_t m = first; m < first + count; m++)
		for (int32_t b = run->round_first + m; b < run->round_end; b += run->threads)
			eval_block(run, &run->members[m], b);
}

/* Bytes each thread of bpr_evaluate_model allocates beyond the first one's (0 on overflow) */
size_t
bpr_evaluate_thread_bytes(int32_t n_items, int32_t vec_dim, int32_t k)
{
	size_t		total = sizeof(EvalMember);
	size_t		n = (size_t) (n_items > 0 ? n_items : 1);

	if (!bpr_array_bytes(&total, (size_t) EVAL_BLOCK * n, sizeof(float)) ||
		!bpr_array_bytes(&total, n, sizeof(float)) ||
		!bpr_array_bytes(&total, n, 2) ||
		!bpr_array_bytes(&total, EVAL_BLOCK, sizeof(int32_t)) ||
		!bpr_array_bytes(&total, (size_t) EVAL_BLOCK * (size_t) (vec_dim > 0 ? vec_dim : 1), sizeof(float)) ||
		!bpr_array_bytes(&total, (size_t) (k > 0 ? k : 1), sizeof(BprScored)))
		return 0;
	return total;
}

/* Computes every metric (see evaluation.h) */
void
bpr_evaluate_model(const BprEvalInput *in, const BprAlloc *alloc,
				   void (*check) (void *), void *arg, BprMetricsResult *out)
{
	int32_t		n_items = in->n_items;
	int32_t		threads = in->threads > 1 ? (in->threads < BPR_MAX_THREADS ? in->threads : BPR_MAX_THREADS) : 1;
	int64_t		n_test = in->test_ptr[in->n_users];
	double		sums[5] = {0, 0, 0, 0, 0};
	int64_t		n_eval = 0,
				n_covered = 0;
	int32_t		n_with_rows = 0;
	EvalRun		run;
	BprTeam		team;

	memset(out, 0, sizeof(*out));
	memset(&run, 0, sizeof(run));
	run.in = in;
	run.k = in->k < n_items ? in->k : n_items;
	run.auc_rows = bpr_alloc_array(alloc, (size_t) (n_test > 0 ? n_test : 1), sizeof(BprAucRow), "test rows");
	run.user_sums = bpr_alloc_array(alloc, (size_t) in->n_users * 5 + 1, sizeof(double), "user metrics");
	run.user_evaluated = bpr_alloc_array(alloc, (size_t) in->n_users + 1, 1, "user metrics");
	/* blocks of EVAL_BLOCK users with test rows */
	run.block_start = bpr_alloc_array(alloc, (size_t) in->n_users / EVAL_BLOCK + 2, sizeof(int32_t), "users");
	for (int32_t u = 0; u < in->n_users; u++)
		if (in->test_ptr[u + 1] > in->test_ptr[u] && n_with_rows++ % EVAL_BLOCK == 0)
			run.block_start[run.n_blocks++] = u;
	if (run.n_blocks < threads)
		threads = run.n_blocks > 0 ? run.n_blocks : 1;
	run.threads = threads;
	run.members = bpr_alloc_array(alloc, (size_t) threads, sizeof(EvalMember), "evaluation");
	for (int32_t m = 0; m < threads; m++)
	{
		EvalMember *mb = &run.members[m];

		mb->scores = bpr_alloc_array(alloc, (size_t) EVAL_BLOCK * (size_t) n_items, sizeof(float), "scores");
		mb->work = bpr_alloc_array(alloc, (size_t) n_items, sizeof(float), "scores");
		mb->status = bpr_alloc_array(alloc, (size_t) n_items, 1, "item status");
		mb->covered = bpr_alloc_array(alloc, (size_t) n_items, 1, "item coverage");
		mb->block_users = bpr_alloc_array(alloc, EVAL_BLOCK, sizeof(int32_t), "users");
		mb->block_vecs = bpr_alloc_array(alloc, (size_t) EVAL_BLOCK * (size_t) in->vec_dim, sizeof(float), "users");
		mb->top = bpr_alloc_array(alloc, (size_t) (run.k > 0 ? run.k : 1), sizeof(BprScored), "top k");
	}

	for (run.round_first = 0; run.round_first < run.n_blocks; run.round_first = run.round_end)
	{
		run.round_end = run.round_first + threads * EVAL_ROUND_BLOCKS;
		if (run.round_end > run.n_blocks)
			run.round_end = run.n_blocks;
		bpr_team_run(&team, threads, eval_round, &run);
		if (check)
			check(arg);
	}

	/* in user order, whatever the threads: the same sums every time */
	for (int32_t u = 0; u < in->n_users; u++)
		if (run.user_evaluated[u])
		{
			n_eval++;
			for (int j = 0; j < 5; j++)
				sums[j] += run.user_sums[(size_t) u * 5 + j];
		}
	for (int32_t i = 0; i < n_items; i++)
	{
		bool		any = false;

		for (int32_t m = 0; m < threads; m++)
			any = any || run.members[m].covered[i];
		n_covered += any;
	}
	out->users = n_eval;
	out->test_rows = n_test;
	out->seed_auc = bpr_auc(run.auc_rows, n_test);
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

/* True when user u has a liked test row of an item not in its (sorted) training list: a user the metrics count */
static bool
has_liked(const int64_t *train_ptr, const int32_t *train_items, int32_t n_items,
		  const int64_t *test_ptr, const int32_t *test_items, const uint8_t *test_liked, int32_t u)
{
	for (int64_t p = test_ptr[u]; p < test_ptr[u + 1]; p++)
		if (test_liked[p] &&
			!bpr_sorted_has_i32(train_items + train_ptr[u], train_ptr[u + 1] - train_ptr[u],
								test_items[p], n_items))
			return true;
	return false;
}

/* Keeps a seeded uniform sample of at most `most` users the metrics count (selection sampling) */
int32_t
bpr_eval_sample_users(int32_t n_users, int32_t n_items, const int64_t *train_ptr,
					  const int32_t *train_items, int64_t *test_ptr, int32_t *test_items,
					  uint8_t *test_liked, int32_t most, uint64_t seed)
{
	int32_t		eligible = 0,
				left,
				wanted;
	int64_t		w = 0,
				start;
	BprRng		rng;

	for (int32_t u = 0; u < n_users; u++)
		eligible += has_liked(train_ptr, train_items, n_items, test_ptr, test_items, test_liked, u);
	if (most <= 0 || eligible <= most)
		return eligible;
	/* a stream of its own, not the training's (which starts from the seed itself) */
	bpr_rng_seed(&rng, seed ^ UINT64_C(0x5a3b1e0d9c7f2468));
	left = eligible;
	wanted = most;
	start = test_ptr[0];
	for (int32_t u = 0; u < n_users; u++)
	{
		int64_t		a = start,
					b = test_ptr[u + 1];
		/* an eligible user is kept with probability wanted / left: exactly `most` in all */
		bool		keep = false;

		if (has_liked(train_ptr, train_items, n_items, test_ptr, test_items, test_liked, u))
		{
			keep = bpr_rng_below(&rng, (uint64_t) left) < (uint64_t) wanted;
			left--;
			wanted -= keep;
		}
		/* rows [a, b) move down to w <= a: has_liked above read them (and test_ptr[u]) first */
		start = b;
		test_ptr[u] = w;
		if (keep)
		{
			memmove(test_items + w, test_items + a, (size_t) (b - a) * sizeof(int32_t));
			memmove(test_liked + w, test_liked + a, (size_t) (b - a));
			w += b - a;
		}
	}
	test_ptr[n_users] = w;
	return eligible;
}
