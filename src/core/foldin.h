/*
 * foldin.h - fold-in: one user's embedding optimised against frozen item vectors
 *
 * When a user's ratings change after training (or a user arrives with
 * ratings), fold-in updates that user alone: a few Adam steps on the user's
 * embedding with every item vector frozen, minimising what training
 * minimises for the user, the mean BPR loss softplus(s_neg - s_pos) over the
 * user's liked items, each paired with a negative drawn by the sampler (the
 * model's pool and hardness), plus l2/2 * |u|^2.  Only the first dim values
 * of the user vector move: the columns after them (the bias column's 1, the
 * score offset) are the caller's.  Deterministic given the generator's state.
 */
#ifndef BPR_FOLDIN_H
#define BPR_FOLDIN_H

#include "alloc.h"
#include "rng.h"
#include "sampler.h"

typedef struct BprFoldInConfig
{
	int32_t		dim;			/* values of the user vector optimised (the embedding) */
	int32_t		steps;			/* Adam steps; 0 leaves the vector as it is */
	int32_t		batch_size;		/* most triplets a step; a user with more liked items gets a sample */
	float		learning_rate;	/* Adam's, constant: a decay would waste the few steps */
	float		l2;
} BprFoldInConfig;

/* Checks a configuration; NULL if fine, else a static message */
const char *bpr_fold_in_config_check(const BprFoldInConfig *cfg);

/* Floats of scratch memory bpr_fold_in_user needs */
size_t		bpr_fold_in_work_floats(const BprFoldInConfig *cfg);

/*
 * Optimises the first cfg->dim values of u, the vector of user `user` of the
 * sampler's interactions, against the sampler's item vectors (s->item_vectors,
 * rows of s->item_dim values; s->user_dim must be cfg->dim; a score is
 * bpr_dot_score(u, dim, row, item_dim)).  work holds bpr_fold_in_work_floats
 * values.  Returns the mean BPR loss of the last step, before its update; 0
 * when the user has no liked item or no possible negative (u is then left as
 * it is).
 */
double		bpr_fold_in_user(const BprFoldInConfig *cfg, const BprSampler *s, int32_t user,
							 BprRng *rng, float *u, float *work);

#endif
