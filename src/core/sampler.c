/*
 * sampler.c - negative sampling for BPR triplets
 *
 * A negative is drawn from the user's disliked items (RATED), from the items
 * the user never rated (UNRATED) or from either (BOTH).  Hardness optionally
 * draws several such candidates and keeps the one the model scores highest
 * (MODEL) or the one whose features are most cosine-similar to the positive
 * (FEATURES).  Everything is deterministic given the generator's state.
 * With narrow item encodings (at most BPR_DENSE_FEATURES_MAX columns) FEATURES
 * keeps every item's encoded vector divided by its norm, so a similarity is a
 * short dot product instead of a walk over numeric, categorical and bag
 * fields.
 */
#include <math.h>

#include "sampler.h"
#include "vecmath.h"

/* Rejection draws tried by bpr_sample_unrated before its exact fallback */
#define BPR_UNRATED_TRIES 64

/* True when the user rated the item (binary search in the user's rated list) */
bool
bpr_interactions_rated(const BprInteractions *d, int32_t user, int32_t item)
{
	int64_t		lo = d->rated_ptr[user];

	return bpr_sorted_has_i32(d->rated + lo, d->rated_ptr[user + 1] - lo, item, d->n_items);
}

/* Squared Euclidean norm of one row's encoded feature vector */
static double
feature_norm2(const BprFeatures *f, int32_t row)
{
	double		sum = 0.0;

	if (f->n_numeric > 0)
	{
		const float *x = f->numeric + (size_t) row * f->n_numeric;

		for (int32_t j = 0; j < f->n_numeric; j++)
			sum += (double) x[j] * x[j];
	}
	for (int32_t j = 0; j < f->n_cat; j++)
	{
		if (f->cat[(size_t) row * f->n_cat + j] != 0)
			sum += 1.0;
	}
	for (int32_t m = 0; m < f->n_multi; m++)
	{
		const BprMultiField *mf = &f->multi[m];
		int64_t		end = mf->ptr[row + 1];

		for (int64_t p = mf->ptr[row]; p < end; p++)
		{
			/* a code repeated in the bag is still a single 1 */
			if (p == mf->ptr[row] || mf->idx[p] != mf->idx[p - 1])
				sum += 1.0;
		}
	}
	return sum;
}

/* Width of the dense unit-vector matrix for these features (a multiple of 8), or 0 when too wide */
static int32_t
unit_width(const BprFeatures *f)
{
	int64_t		width = f->n_numeric;

	for (int32_t k = 0; k < f->n_cat; k++)
		width += f->cat_card[k];
	for (int32_t k = 0; k < f->n_multi; k++)
		width += f->multi[k].card;
	if (width > BPR_DENSE_FEATURES_MAX)
		return 0;
	return (int32_t) ((width + 7) / 8 * 8);
}

/* True when the configuration makes the sampler compare item features */
static bool
uses_features(const BprSamplerConfig *cfg, const BprFeatures *item_features)
{
	return cfg->hard == BPR_HARD_FEATURES && bpr_features_any(item_features) &&
		item_features->n_rows > 0;
}

/* Bytes bpr_sampler_init allocates, into *bytes; false on overflow */
bool
bpr_sampler_bytes(const BprSamplerConfig *cfg, const BprFeatures *item_features,
				  size_t *bytes)
{
	size_t		n,
				norms,
				units;

	*bytes = 0;
	if (!uses_features(cfg, item_features))
		return true;
	n = (size_t) item_features->n_rows;
	if (!bpr_size_mul(n, sizeof(float), &norms) ||
		!bpr_size_mul(norms, (size_t) unit_width(item_features), &units))
		return false;
	return bpr_size_add(norms, units, bytes);
}

/* Writes item i's encoded feature vector, divided by its norm, into out (width values) */
static void
fill_unit(const BprFeatures *f, int32_t i, float norm, float *out)
{
	int32_t		at = 0;
	float		inv = norm > 0.0f ? 1.0f / norm : 0.0f;

	for (int32_t j = 0; j < f->n_numeric; j++)
		out[at++] = f->numeric[(size_t) i * f->n_numeric + j] * inv;
	for (int32_t k = 0; k < f->n_cat; k++)
	{
		int32_t		code = f->cat[(size_t) i * f->n_cat + k];

		/* code 0 (missing) matches nothing */
		if (code != 0)
			out[at + code] = inv;
		at += f->cat_card[k];
	}
	for (int32_t k = 0; k < f->n_multi; k++)
	{
		const BprMultiField *mf = &f->multi[k];

		for (int64_t p = mf->ptr[i]; p < mf->ptr[i + 1]; p++)
			out[at + mf->idx[p]] = inv;
		at += mf->card;
	}
}

/* Prepares a sampler (allocates item norms, and unit vectors when narrow, for FEATURES) */
void
bpr_sampler_init(BprSampler *s, const BprSamplerConfig *cfg,
				 const BprInteractions *data,
				 const BprFeatures *item_features,
				 const BprAlloc *alloc)
{
	s->cfg = *cfg;
	/* feature-similar negatives need item features: without any, every item is equally similar */
	if (cfg->hard == BPR_HARD_FEATURES && !bpr_features_any(item_features))
		s->cfg.hard = BPR_HARD_NONE;
	s->data = data;
	s->item_features = item_features;
	s->item_norm = NULL;
	s->item_unit = NULL;
	s->unit_dim = 0;
	s->item_vectors = NULL;
	s->item_quant = NULL;
	s->user_dim = 0;
	s->item_dim = 0;

	if (uses_features(&s->cfg, item_features))
	{
		const BprFeatures *f = item_features;

		s->item_norm = bpr_alloc_array(alloc, (size_t) f->n_rows, sizeof(float),
									   "item feature norms");
		for (int32_t i = 0; i < f->n_rows; i++)
			s->item_norm[i] = (float) sqrt(feature_norm2(f, i));
		s->unit_dim = unit_width(f);
		if (s->unit_dim > 0)
		{
			s->item_unit = bpr_alloc_array(alloc, (size_t) f->n_rows * (size_t) s->unit_dim,
										   sizeof(float), "item feature vectors");
			for (int32_t i = 0; i < f->n_rows; i++)
				fill_unit(f, i, s->item_norm[i], s->item_unit + (size_t) i * s->unit_dim);
		}
	}
}

/* The sampler's feature similarity of two items (from the unit vectors when it has them) */
float
bpr_sampler_similarity(const BprSampler *s, int32_t a, int32_t b)
{
	if (s->item_unit != NULL)
		return bpr_dot_fast(s->item_unit + (size_t) a * s->unit_dim,
							s->item_unit + (size_t) b * s->unit_dim, s->unit_dim);
	return bpr_feature_cosine(s->item_features, s->item_norm, a, b);
}

/* Number of distinct codes two sorted bags have in common */
static int64_t
bag_intersection(const int32_t *a, int64_t na, const int32_t *b, int64_t nb)
{
	int64_t		i = 0,
				j = 0,
				n = 0;

	while (i < na && j < nb)
	{
		if (a[i] < b[j])
			i++;
		else if (a[i] > b[j])
			j++;
		else
		{
			int32_t		v = a[i];

			n++;
			while (i < na && a[i] == v)
				i++;
			while (j < nb && b[j] == v)
				j++;
		}
	}
	return n;
}

/* Cosine similarity of two items' encoded feature vectors (numeric + one-hot + multi-hot) */
float
bpr_feature_cosine(const BprFeatures *f, const float *norms,
				   int32_t a, int32_t b)
{
	double		dot = 0.0;
	double		denom;

	if (f == NULL || norms == NULL)
		return 0.0f;
	denom = (double) norms[a] * norms[b];
	if (denom <= 0.0)
		return 0.0f;

	if (f->n_numeric > 0)
	{
		const float *xa = f->numeric + (size_t) a * f->n_numeric;
		const float *xb = f->numeric + (size_t) b * f->n_numeric;

		for (int32_t j = 0; j < f->n_numeric; j++)
			dot += (double) xa[j] * xb[j];
	}
	if (f->n_cat > 0)
	{
		const int32_t *ca = f->cat + (size_t) a * f->n_cat;
		const int32_t *cb = f->cat + (size_t) b * f->n_cat;

		for (int32_t j = 0; j < f->n_cat; j++)
		{
			if (ca[j] != 0 && ca[j] == cb[j])
				dot += 1.0;
		}
	}
	for (int32_t m = 0; m < f->n_multi; m++)
	{
		const BprMultiField *mf = &f->multi[m];

		dot += (double) bag_intersection(mf->idx + mf->ptr[a],
										 mf->ptr[a + 1] - mf->ptr[a],
										 mf->idx + mf->ptr[b],
										 mf->ptr[b + 1] - mf->ptr[b]);
	}
	return (float) (dot / denom);
}

/* Number of disliked items of the user */
static inline int64_t
n_disliked(const BprInteractions *d, int32_t user)
{
	return d->neg_ptr[user + 1] - d->neg_ptr[user];
}

/* Number of rated items of the user */
static inline int64_t
n_rated(const BprInteractions *d, int32_t user)
{
	return d->rated_ptr[user + 1] - d->rated_ptr[user];
}

/* True when the sampler can find at least one negative for the user */
bool
bpr_sampler_user_ok(const BprSampler *s, int32_t user)
{
	const BprInteractions *d = s->data;
	bool		has_disliked = n_disliked(d, user) > 0;
	bool		has_unrated = n_rated(d, user) < (int64_t) d->n_items;

	switch (s->cfg.negatives)
	{
		case BPR_NEG_RATED:
			return has_disliked;
		case BPR_NEG_UNRATED:
			return has_unrated;
		case BPR_NEG_BOTH:
			return has_disliked || has_unrated;
	}
	return false;
}

/* Uniform item the user never rated, or -1 if the user rated every item */
int32_t
bpr_sample_unrated(const BprSampler *s, BprRng *rng, int32_t user)
{
	const BprInteractions *d = s->data;
	const int32_t *rated = d->rated + d->rated_ptr[user];
	int64_t		nr = n_rated(d, user);
	int64_t		n_unrated = 0;
	int64_t		pick;
	int64_t		p;

	if (d->n_items <= 0 || nr >= (int64_t) d->n_items)
		return -1;

	/* cheap path: most users rate few items */
	for (int t = 0; t < BPR_UNRATED_TRIES; t++)
	{
		int32_t		item = (int32_t) bpr_rng_below(rng, (uint64_t) d->n_items);

		if (!bpr_interactions_rated(d, user, item))
			return item;
	}

	/* exact fallback: count the unrated items, then walk to a uniform one */
	p = 0;
	for (int32_t item = 0; item < d->n_items; item++)
	{
		if (p < nr && rated[p] == item)
		{
			while (p < nr && rated[p] == item)
				p++;
		}
		else
			n_unrated++;
	}
	if (n_unrated == 0)
		return -1;
	pick = (int64_t) bpr_rng_below(rng, (uint64_t) n_unrated);
	p = 0;
	for (int32_t item = 0; item < d->n_items; item++)
	{
		if (p < nr && rated[p] == item)
		{
			while (p < nr && rated[p] == item)
				p++;
		}
		else if (pick-- == 0)
			return item;
	}
	return -1;					/* not reached */
}

/* Uniform disliked item of the user (the user must have one) */
static inline int32_t
sample_disliked(const BprInteractions *d, BprRng *rng, int32_t user, int64_t nneg)
{
	return d->neg[d->neg_ptr[user] + (int64_t) bpr_rng_below(rng, (uint64_t) nneg)];
}

/* One negative from a pool (RATED or UNRATED), without hardness; -1 when none exists */
static int32_t
sample_base(const BprSampler *s, BprRng *rng, int32_t user, BprNegatives pool)
{
	const BprInteractions *d = s->data;
	int64_t		nneg = n_disliked(d, user);

	if (pool == BPR_NEG_RATED)
		return nneg > 0 ? sample_disliked(d, rng, user, nneg) : -1;
	return bpr_sample_unrated(s, rng, user);
}

/*
 * The pool a triplet draws its negative candidates from: with BOTH, the user's
 * disliked items with probability rated_share (when there are any), else the
 * unrated ones.  The pool is chosen once per triplet, so hardness picks within
 * one pool and does not tilt the mix towards the (popular) disliked items.
 */
static BprNegatives
choose_pool(const BprSampler *s, BprRng *rng, int32_t user)
{
	const BprInteractions *d = s->data;
	int64_t		nneg;
	int64_t		nrated;

	if (s->cfg.negatives != BPR_NEG_BOTH)
		return s->cfg.negatives;
	nneg = n_disliked(d, user);
	if (nneg > 0 && bpr_rng_uniform(rng) < s->cfg.rated_share)
		return BPR_NEG_RATED;
	nrated = d->rated_ptr[user + 1] - d->rated_ptr[user];
	return (nrated >= d->n_items && nneg > 0) ? BPR_NEG_RATED : BPR_NEG_UNRATED;
}

/* How hard a candidate is: its model score for the user, or its similarity to the positive */
static inline float
candidate_score(const BprSampler *s, int32_t item, int32_t pos_item, const float *user_vec)
{
	if (s->cfg.hard == BPR_HARD_MODEL && s->item_quant != NULL)
	{
		const BprQuantVectors *qv = s->item_quant;
		float		sc = qv->scale[item] *
			bpr_dot_i8(user_vec, qv->codes + (size_t) item * qv->stride, qv->dim);

		return qv->bias != NULL ? sc + qv->bias[item] : sc;
	}
	if (s->cfg.hard == BPR_HARD_MODEL)
	{
		const float *v = s->item_vectors + (size_t) item * s->item_dim;
		float		sc = bpr_dot_fast(user_vec, v, s->user_dim);

		return s->item_dim > s->user_dim ? sc + v[s->user_dim] : sc;
	}
	return bpr_sampler_similarity(s, pos_item, item);
}

/* Fetches the cache lines of the vector a candidate is scored with */
BPR_PREFETCHER void
prefetch_candidate(const BprSampler *s, int32_t item)
{
	const char *row;
	size_t		bytes;

	if (s->cfg.hard == BPR_HARD_MODEL && s->item_quant != NULL)
	{
		row = (const char *) (s->item_quant->codes + (size_t) item * s->item_quant->stride);
		bytes = (size_t) s->item_quant->stride;
		bpr_prefetch(s->item_quant->scale + item);
	}
	else if (s->cfg.hard == BPR_HARD_MODEL)
	{
		row = (const char *) (s->item_vectors + (size_t) item * s->item_dim);
		bytes = (size_t) s->item_dim * sizeof(float);
	}
	else if (s->item_unit != NULL)
	{
		row = (const char *) (s->item_unit + (size_t) item * s->unit_dim);
		bytes = (size_t) s->unit_dim * sizeof(float);
	}
	else
		return;
	for (size_t b = 0; b < bytes; b += 64)
		bpr_prefetch(row + b);
	bpr_prefetch(row + bytes - 1);
}

/* One candidate from the pool: a uniform disliked item, or a uniform item (rated or not); -1 if none */
static inline int32_t
draw_candidate(const BprSampler *s, BprRng *rng, int32_t user, BprNegatives pool)
{
	const BprInteractions *d = s->data;

	if (pool == BPR_NEG_RATED)
	{
		int64_t		nneg = n_disliked(d, user);

		return nneg > 0 ? sample_disliked(d, rng, user, nneg) : -1;
	}
	if (d->n_items <= 0 || n_rated(d, user) >= (int64_t) d->n_items)
		return -1;
	return (int32_t) bpr_rng_below(rng, (uint64_t) d->n_items);
}

/* The hardest so far of one triplet's candidates */
typedef struct Hardest
{
	int32_t		item;			/* -1: none yet */
	float		score;
} Hardest;

/* Scores m candidates (a missing one, -1, scores 0); returns the index of the best (ties: first) */
static int32_t
score_group(const BprSampler *s, int32_t pos_item, const float *user_vec,
			const int32_t *cand, int32_t m, float *score)
{
	int32_t		top = 0;

	for (int32_t c = 0; c < m; c++)
	{
		score[c] = cand[c] < 0 ? 0.0f : candidate_score(s, cand[c], pos_item, user_vec);
		if (score[c] > score[top])
			top = c;
	}
	return top;
}

/*
 * Lets m scored candidates of a pool compete for the hardest: they are taken
 * in order of score (ties: the first drawn) while they beat the hardest so
 * far, and the first that is a valid negative wins.  Only unrated-pool
 * candidates need a look-up in the user's ratings, and usually only one is
 * looked up.
 */
static void
compete(const BprSampler *s, int32_t user, BprNegatives pool,
		const int32_t *cand, const float *score, int32_t m, Hardest *h)
{
	bool		out[BPR_CANDIDATE_GROUP];

	for (int32_t c = 0; c < m; c++)
		out[c] = cand[c] < 0;
	for (;;)
	{
		int32_t		top = -1;

		for (int32_t c = 0; c < m; c++)
			if (!out[c] && (top < 0 || score[c] > score[top]))
				top = c;
		if (top < 0 || (h->item >= 0 && !(score[top] > h->score)))
			return;
		out[top] = true;
		if (pool == BPR_NEG_RATED || !bpr_interactions_rated(s->data, user, cand[top]))
		{
			h->item = cand[top];
			h->score = score[top];
			return;
		}
	}
}

/*
 * The hardest negative of one triplet, given its slot (pool, and the first
 * group of g candidates drawn and scored already): the remaining candidates
 * are drawn and compared group by group; when every draw was rated, more are
 * drawn one at a time until an unrated one comes (an exact draw after
 * BPR_UNRATED_TRIES).
 */
static int32_t
finish_triplet(const BprSampler *s, BprRng *rng, int32_t user, int32_t pos_item,
			   const float *user_vec, const BprSampleSlot *slot, int32_t g)
{
	BprNegatives pool = (BprNegatives) slot->pool;
	int32_t		n_cand = s->cfg.candidates < 1 ? 1 : s->cfg.candidates;
	int32_t		more[BPR_CANDIDATE_GROUP];
	float		score[BPR_CANDIDATE_GROUP];
	Hardest		h = {-1, 0.0f};

	if (g > 0 && slot->cand[0] < 0)
		return -1;				/* the pool is empty */
	compete(s, user, pool, slot->cand, slot->score, g, &h);
	for (int32_t drawn = g; drawn < n_cand;)
	{
		int32_t		m = n_cand - drawn < BPR_CANDIDATE_GROUP ? n_cand - drawn : BPR_CANDIDATE_GROUP;

		for (int32_t c = 0; c < m; c++)
			more[c] = draw_candidate(s, rng, user, pool);
		score_group(s, pos_item, user_vec, more, m, score);
		compete(s, user, pool, more, score, m, &h);
		drawn += m;
	}
	for (int tries = 0; h.item < 0; tries++)
	{
		int32_t		item = tries < BPR_UNRATED_TRIES ?
			(int32_t) bpr_rng_below(rng, (uint64_t) s->data->n_items) :
			bpr_sample_unrated(s, rng, user);

		if (tries >= BPR_UNRATED_TRIES || !bpr_interactions_rated(s->data, user, item))
			h.item = item;
	}
	return h.item;
}

/* True when negatives are the best of drawn candidates (as opposed to plain or full-scan ones) */
static inline bool
uses_candidates(const BprSampler *s, const float *user_vecs)
{
	if (s->cfg.hard == BPR_HARD_MODEL)
		return (s->item_vectors != NULL || s->item_quant != NULL) && user_vecs != NULL;
	return s->cfg.hard == BPR_HARD_FEATURES &&
		!(s->cfg.negatives == BPR_NEG_RATED && s->cfg.candidates == 0);
}

/*
 * The notebook's negative: the most feature-similar of all the user's disliked
 * items.  Ties (items with equal features, or no features) are broken
 * uniformly at random, so a user's triplets do not all get the same negative.
 */
static int32_t
most_similar_disliked(const BprSampler *s, BprRng *rng, int32_t user, int32_t pos_item)
{
	const BprInteractions *d = s->data;
	int64_t		lo = d->neg_ptr[user];
	int64_t		hi = d->neg_ptr[user + 1];
	uint64_t	ties = 1;
	int32_t		best;
	float		best_sim;

	if (lo >= hi)
		return -1;
	best = d->neg[lo];
	best_sim = bpr_sampler_similarity(s, pos_item, best);
	for (int64_t p = lo + 1; p < hi; p++)
	{
		float		sim = bpr_sampler_similarity(s, pos_item, d->neg[p]);

		if (sim > best_sim)
		{
			best = d->neg[p];
			best_sim = sim;
			ties = 1;
		}
		else if (sim == best_sim && bpr_rng_below(rng, ++ties) == 0)
			best = d->neg[p];
	}
	return best;
}

/* Fetches the cache line of the user's ratings where the look-up of item starts */
BPR_PREFETCHER void
prefetch_rated(const BprInteractions *d, int32_t user, int32_t item)
{
	int64_t		lo = d->rated_ptr[user];
	int64_t		n = d->rated_ptr[user + 1] - lo;

	if (n > 0)
	{
		const int32_t *guess = d->rated + lo + bpr_sorted_guess(n, item, d->n_items);

		/* the first probe and the neighbours it narrows with */
		bpr_prefetch(guess);
		bpr_prefetch(guess - 8 >= d->rated + lo ? guess - 8 : guess);
		bpr_prefetch(guess + 8 < d->rated + lo + n ? guess + 8 : guess);
	}
}

/*
 * Negatives for n triplets (users, positives, and with MODEL their user
 * vectors, user_dim apart), into out (-1 where there is none), in three
 * passes: draw, score, choose.
 */
void
bpr_sample_negatives(const BprSampler *s, BprRng *rng, int32_t n, const int32_t *users,
					 const int32_t *pos_items, const float *user_vecs, int32_t *out,
					 BprSampleSlot *scratch)
{
	int32_t		n_cand = s->cfg.candidates < 1 ? 1 : s->cfg.candidates;
	int32_t		g = n_cand < BPR_CANDIDATE_GROUP ? n_cand : BPR_CANDIDATE_GROUP;

	if (!uses_candidates(s, user_vecs))
	{
		for (int32_t j = 0; j < n; j++)
		{
			BprNegatives pool = choose_pool(s, rng, users[j]);

			if (s->cfg.hard == BPR_HARD_FEATURES)
				out[j] = most_similar_disliked(s, rng, users[j], pos_items[j]);
			else
				out[j] = sample_base(s, rng, users[j], pool);
		}
		return;
	}
	for (int32_t j = 0; j < n; j++)
	{
		BprSampleSlot *slot = &scratch[j];

		slot->pool = (int32_t) choose_pool(s, rng, users[j]);
		for (int32_t c = 0; c < g; c++)
		{
			slot->cand[c] = draw_candidate(s, rng, users[j], (BprNegatives) slot->pool);
			if (slot->cand[c] >= 0)
				prefetch_candidate(s, slot->cand[c]);
		}
	}
	for (int32_t j = 0; j < n; j++)
	{
		BprSampleSlot *slot = &scratch[j];
		int32_t		top = score_group(s, pos_items[j],
									  user_vecs == NULL ? NULL : user_vecs + (size_t) j * s->user_dim,
									  slot->cand, g, slot->score);

		if (slot->pool == BPR_NEG_UNRATED && slot->cand[top] >= 0)
			prefetch_rated(s->data, users[j], slot->cand[top]);
	}
	for (int32_t j = 0; j < n; j++)
		out[j] = finish_triplet(s, rng, users[j], pos_items[j],
								user_vecs == NULL ? NULL : user_vecs + (size_t) j * s->user_dim,
								&scratch[j], g);
}

/*
 * Negative item for (user, pos_item) by the configured mode and hardness, or -1
 * when there is none.  user_vec (user_dim values) is read only with MODEL.
 */
int32_t
bpr_sample_negative(const BprSampler *s, BprRng *rng, int32_t user,
					int32_t pos_item, const float *user_vec)
{
	BprSampleSlot slot;
	int32_t		out;

	bpr_sample_negatives(s, rng, 1, &user, &pos_item, user_vec, &out, &slot);
	return out;
}

/* Fisher-Yates shuffle of n values */
void
bpr_shuffle_i64(BprRng *rng, int64_t *values, int64_t n)
{
	for (int64_t i = n - 1; i > 0; i--)
	{
		int64_t		j = (int64_t) bpr_rng_below(rng, (uint64_t) (i + 1));
		int64_t		t = values[i];

		values[i] = values[j];
		values[j] = t;
	}
}
