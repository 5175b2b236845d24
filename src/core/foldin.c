/*
 * foldin.c - fold-in: one user's embedding optimised against frozen item vectors
 */
#include <math.h>
#include <string.h>

#include "adam.h"
#include "foldin.h"
#include "loss.h"
#include "vecmath.h"

/* Checks a configuration; NULL if fine, else a static message */
const char *
bpr_fold_in_config_check(const BprFoldInConfig *cfg)
{
	if (cfg->dim <= 0 || cfg->dim > 4096)
		return "dim must be between 1 and 4096";
	if (cfg->steps < 0)
		return "steps must not be negative";
	if (cfg->batch_size <= 0)
		return "batch size must be positive";
	/* as bpr_train_config_check allows them */
	if (!(cfg->learning_rate > 0.0f && cfg->learning_rate <= 10.0f &&
		  cfg->l2 >= 0.0f && cfg->l2 <= 100.0f))
		return "the learning rate must be in (0, 10] and l2 in [0, 100]";
	return NULL;
}

/* Floats of scratch memory bpr_fold_in_user needs: the gradient and Adam's two moments */
size_t
bpr_fold_in_work_floats(const BprFoldInConfig *cfg)
{
	return 3 * (size_t) cfg->dim;
}

/*
 * Adds the gradient of the mean BPR loss over one step's triplets to grad and
 * returns that mean: every liked item when they fit in a batch, else a
 * uniform sample of batch_size of them, each with a negative from the sampler.
 * With weights (d->pos_weight), each liked item counts in proportion to its
 * weight, as a training draws it: the same expectation as weighted draws.
 */
static double
step_gradient(const BprFoldInConfig *cfg, const BprSampler *s, int32_t user, BprRng *rng,
			  const float *u, float *grad)
{
	const BprInteractions *d = s->data;
	int64_t		first = d->pos_ptr[user];
	int64_t		n_pos = d->pos_ptr[user + 1] - first;
	int32_t		n = n_pos < cfg->batch_size ? (int32_t) n_pos : cfg->batch_size;
	double		loss = 0.0;
	double		unit = 1.0;		/* weight -> share: n_pos / sum of the user's weights */

	if (d->pos_weight != NULL)
	{
		double		sum = 0.0;

		for (int64_t p = first; p < first + n_pos; p++)
			sum += d->pos_weight[p] > 0.0f && isfinite(d->pos_weight[p]) ? d->pos_weight[p] : 0.0;
		unit = sum > 0.0 && isfinite(sum) ? (double) n_pos / sum : 0.0;
	}
	for (int32_t t = 0; t < n; t++)
	{
		int64_t		at = first + (n == n_pos ? t : (int64_t) bpr_rng_below(rng, (uint64_t) n_pos));
		int32_t		pos = d->pos[at];
		int32_t		neg = bpr_sample_negative(s, rng, user, pos, u);
		const float *p = s->item_vectors + (size_t) pos * s->item_dim;
		const float *q;
		double		x;
		double		w = 1.0;
		float		g;

		if (neg < 0)
			continue;			/* not for a user the caller checked with bpr_sampler_user_ok */
		if (d->pos_weight != NULL)
			w = unit > 0.0 ? (d->pos_weight[at] > 0.0f && isfinite(d->pos_weight[at]) ?
							  d->pos_weight[at] * unit : 0.0) : 1.0;
		q = s->item_vectors + (size_t) neg * s->item_dim;
		x = (double) bpr_dot_score(u, cfg->dim, q, s->item_dim) -
			(double) bpr_dot_score(u, cfg->dim, p, s->item_dim);
		loss += w * bpr_softplus(x);
		/* d softplus(s_neg - s_pos) / du = sigmoid(x) (q - p), averaged */
		g = (float) (w * bpr_sigmoid(x) / n);
		for (int32_t k = 0; k < cfg->dim; k++)
			grad[k] += g * (q[k] - p[k]);
	}
	return n > 0 ? loss / n : 0.0;
}

/* Optimises the first cfg->dim values of u against the frozen item vectors; returns the last step's loss */
double
bpr_fold_in_user(const BprFoldInConfig *cfg, const BprSampler *s, int32_t user, BprRng *rng,
				 float *u, float *work)
{
	const BprInteractions *d = s->data;
	float	   *grad = work;
	float	   *m = work + cfg->dim;
	float	   *v = work + 2 * (size_t) cfg->dim;
	double		loss = 0.0;
	BprAdamConfig adam;

	if (d->pos_ptr[user + 1] == d->pos_ptr[user] || !bpr_sampler_user_ok(s, user))
		return 0.0;
	memset(m, 0, sizeof(float) * cfg->dim);
	memset(v, 0, sizeof(float) * cfg->dim);
	bpr_adam_defaults(&adam, cfg->learning_rate);
	for (int32_t step = 0; step < cfg->steps; step++)
	{
		/* the L2 term's gradient, then the BPR part's */
		for (int32_t k = 0; k < cfg->dim; k++)
			grad[k] = cfg->l2 * u[k];
		loss = step_gradient(cfg, s, user, rng, u, grad);
		bpr_adam_dense(u, grad, m, v, (size_t) cfg->dim, &adam, step + 1);
	}
	return loss;
}
