/*
 * sampler.h - triplet sampling: who liked what, and which negative to pair it with
 *
 * Interactions are CSR arrays over user rows; item codes within a user's list
 * are sorted ascending, so "has the user rated item i" is a binary search.
 */
#ifndef BPR_SAMPLER_H
#define BPR_SAMPLER_H

#include "alloc.h"
#include "feature_matrix.h"
#include "rng.h"

/* Per-user item lists built from the training ratings */
typedef struct BprInteractions
{
	int32_t		n_users;
	int32_t		n_items;
	const int64_t *pos_ptr;		/* n_users + 1 */
	const int32_t *pos;			/* liked items (rating >= positive threshold) */
	const int64_t *neg_ptr;		/* n_users + 1 */
	const int32_t *neg;			/* disliked items (rating <= negative threshold) */
	const int64_t *rated_ptr;	/* n_users + 1 */
	const int32_t *rated;		/* every rated item, whatever the rating */
	const float *pos_weight;	/* NULL, or per entry of pos: drawn in proportion to it */
} BprInteractions;

typedef enum BprNegatives
{
	BPR_NEG_RATED = 0,			/* the user's disliked items (the notebook) */
	BPR_NEG_UNRATED = 1,		/* items the user never rated (the BPR paper) */
	BPR_NEG_BOTH = 2			/* rated with probability rated_share, else unrated */
} BprNegatives;

typedef enum BprHardNegatives
{
	BPR_HARD_NONE = 0,
	BPR_HARD_FEATURES = 1,		/* candidate most feature-similar (cosine) to the positive */
	BPR_HARD_MODEL = 2			/* candidate the current model scores highest */
} BprHardNegatives;

typedef struct BprSamplerConfig
{
	BprNegatives negatives;
	float		rated_share;	/* BOTH: chance of a disliked item when the user has any */
	BprHardNegatives hard;
	int32_t		candidates;		/* hard: candidates drawn per triplet; 0 with FEATURES and
								 * RATED = all of the user's disliked items */
} BprSamplerConfig;

/*
 * Item vectors quantised to 8 bits, for scoring hard-negative candidates: the
 * first user_dim values of row i are scale[i] * codes[i * stride + d], and a
 * bias column, if any, is kept exactly.  A row of 64 values is one cache line.
 */
typedef struct BprQuantVectors
{
	int32_t		dim;			/* values per row (without the bias) */
	int32_t		stride;			/* bytes per row: dim rounded up to 16 */
	int8_t	   *codes;			/* n x stride */
	float	   *scale;			/* n */
	float	   *bias;			/* n, or NULL without a bias column */
} BprQuantVectors;

/* Widest encoded item feature vector FEATURES keeps as a dense normalised matrix */
#define BPR_DENSE_FEATURES_MAX 128

typedef struct BprSampler
{
	BprSamplerConfig cfg;
	const BprInteractions *data;
	const BprFeatures *item_features;	/* FEATURES: encoded item features */
	float	   *item_norm;		/* FEATURES: Euclidean norm of each item's feature vector */
	float	   *item_unit;		/* FEATURES, narrow encodings: n_items x unit_dim unit vectors */
	int32_t		unit_dim;		/* their width (a multiple of 8), 0 = no dense matrix */
	const float *item_vectors;	/* MODEL: item outputs (n_items x item_dim), set by the caller */
	const BprQuantVectors *item_quant;	/* MODEL: or their 8-bit copy (the trainer's) */
	int32_t		user_dim;
	int32_t		item_dim;
} BprSampler;

/* True when the user rated the item (binary search in the user's rated list) */
bool		bpr_interactions_rated(const BprInteractions *d, int32_t user, int32_t item);

/* Bytes bpr_sampler_init allocates, into *bytes; false on overflow */
bool		bpr_sampler_bytes(const BprSamplerConfig *cfg, const BprFeatures *item_features,
							  size_t *bytes);

/* Prepares a sampler (allocates item norms, and unit vectors when narrow, for FEATURES) */
void		bpr_sampler_init(BprSampler *s, const BprSamplerConfig *cfg,
							 const BprInteractions *data,
							 const BprFeatures *item_features,
							 const BprAlloc *alloc);

/* True when the sampler can find at least one negative for the user */
bool		bpr_sampler_user_ok(const BprSampler *s, int32_t user);

/* Asks for the cache lines with the user's list bounds, which sampling reads first */
static inline void
bpr_sampler_prefetch_user(const BprSampler *s, int32_t user)
{
#if defined(__GNUC__)
	__builtin_prefetch(s->data->rated_ptr + user);
	__builtin_prefetch(s->data->neg_ptr + user);
#else
	(void) s;
	(void) user;
#endif
}

/* Uniform item the user never rated, or -1 if the user rated every item */
int32_t		bpr_sample_unrated(const BprSampler *s, BprRng *rng, int32_t user);

/*
 * Negative item for (user, pos_item) by the configured mode and hardness, or -1
 * when there is none.  user_vec (user_dim values) is read only with MODEL.
 *
 * Hardness draws `candidates` items from the pool and keeps the best valid
 * one (highest model score, or most feature-similar to the positive; ties:
 * the first drawn).  Unrated-pool candidates are drawn uniformly from all
 * items and checked lazily: they are looked up in the user's ratings in order
 * of score until one is unrated, usually just the first.  Rated draws are
 * dropped, so for a user who rated a share r of the items about
 * candidates * (1 - r) candidates compete; when all were rated, more are drawn
 * one by one until one is not.
 */
int32_t		bpr_sample_negative(const BprSampler *s, BprRng *rng, int32_t user,
								int32_t pos_item, const float *user_vec);

/* Candidates the batch sampler draws and compares at a time */
#define BPR_CANDIDATE_GROUP 16

/* One triplet's state in bpr_sample_negatives: its pool and first candidates */
typedef struct BprSampleSlot
{
	int32_t		pool;			/* BprNegatives */
	int32_t		cand[BPR_CANDIDATE_GROUP];
	float		score[BPR_CANDIDATE_GROUP];
} BprSampleSlot;

/*
 * Negatives for n triplets, as bpr_sample_negative draws them one at a time,
 * but in passes over all n: pools and first candidates are drawn first (and
 * the vectors they are scored with fetched), then scored (and the likely
 * winner's place in the user's ratings fetched), then chosen.  Memory
 * latencies of different triplets overlap instead of adding up.  user_vecs:
 * n rows of user_dim (MODEL only); scratch: n slots.
 */
void		bpr_sample_negatives(const BprSampler *s, BprRng *rng, int32_t n,
								 const int32_t *users, const int32_t *pos_items,
								 const float *user_vecs, int32_t *out,
								 BprSampleSlot *scratch);

/* Cosine similarity of two items' encoded feature vectors (numeric + one-hot + multi-hot) */
float		bpr_feature_cosine(const BprFeatures *f, const float *norms,
							   int32_t a, int32_t b);

/* The sampler's feature similarity of two items (from the unit vectors when it has them) */
float		bpr_sampler_similarity(const BprSampler *s, int32_t a, int32_t b);

/* Fisher-Yates shuffle of n values */
void		bpr_shuffle_i64(BprRng *rng, int64_t *values, int64_t n);

#endif
