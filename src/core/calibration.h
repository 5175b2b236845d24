/*
 * calibration.h - per-user score offsets, and the items' offsets for cold users
 *
 * BPR fixes each user's ranking but not how scores compare across users: the
 * difference s_pos - s_neg ignores any per-user constant.  With explicit
 * ratings bpr adds one: offset_u = spread * logit(r_u), where r_u is the user's
 * share of liked ratings (smoothed towards the global share) and spread the
 * standard deviation of the model's scores over rated pairs.  It changes no
 * user's ranking (precision, ndcg, rank_auc are per user) and makes a score
 * say how likely a rated item is to be liked, across users (seed_auc).
 * The offset is one more vector column: users carry it, items carry a 1.
 *
 * Items get an offset too, for users the model has no vector for (cold
 * users, scored from their features): weight * spread * min(0, logit(r_i) -
 * logit(global)), r_i the item's share of liked ratings among its raters,
 * smoothed as a user's.  Trained on liked items against unrated ones, the
 * item bias learns how often an item is rated, not how often it is liked
 * once rated; the offset lowers the items that their raters dislike more than
 * the average item.  Only lowered: raising rarely rated items that were liked
 * would push them into every top-k, where they are seldom rated.  It is one
 * more column after the users' offset column: items carry q_i, users with a
 * trained vector 0 (their scores stay as without it: it would cost known
 * users rank_auc), cold users 1.
 */
#ifndef BPR_CALIBRATION_H
#define BPR_CALIBRATION_H

#include "alloc.h"
#include "sampler.h"

/* What offsets are fitted with: offset = spread * logit(the user's smoothed liked share) */
typedef struct BprCalibrationFit
{
	double		spread;			/* standard deviation of the scores over rated pairs */
	double		global_share;	/* liked share of all rated pairs, the prior of every user's */
} BprCalibrationFit;

/* The offset of a user with liked and disliked ratings under a fit (0 and 0: a cold user's) */
float		bpr_calibration_offset(const BprCalibrationFit *fit, int64_t liked, int64_t disliked);

/*
 * Offsets of every user from the rated pairs of d and vectors of width vec_dim;
 * *cold_offset gets the offset of a user with no ratings.  check (may be NULL)
 * is called every few thousand users, for cancels.
 */
void		bpr_user_offsets(const BprInteractions *d, const float *user_vecs,
							 const float *item_vecs, int32_t vec_dim,
							 float *offsets, float *cold_offset,
							 void (*check) (void *), void *check_arg);

/*
 * Offsets the users (when there are rated pairs to fit them on) and appends the
 * offset column: user rows of uvec and item rows of ivec must have room for
 * vec_dim + 1 values.  Returns the new width (vec_dim, or vec_dim + 1).
 */
int32_t		bpr_calibrate_vectors(const BprInteractions *d, float *uvec, float *ivec,
								  int32_t vec_dim, float *offsets, float *cold_offset,
								  void (*check) (void *), void *check_arg);

/* As bpr_calibrate_vectors; *fit (when offsets were fitted) gets what they were fitted with */
int32_t		bpr_calibrate_vectors_fit(const BprInteractions *d, float *uvec, float *ivec,
									  int32_t vec_dim, float *offsets, float *cold_offset,
									  BprCalibrationFit *fit,
									  void (*check) (void *), void *check_arg);

/* The offset of an item with liked and disliked ratings under a fit and a weight (0 and 0: none) */
float		bpr_calibration_item_offset(const BprCalibrationFit *fit, double weight,
										int64_t liked, int64_t disliked);

/*
 * Appends the items' offset column (weight, the fit of the users' offsets):
 * each item row of ivec gets its offset (0 for items nobody rated), each user
 * row of uvec a 0.  Rows must have room for vec_dim + 1 values; counts is
 * scratch for 2 * d->n_items values and offsets for d->n_items (it gets the
 * items' offsets).  Returns the new width: vec_dim when weight is not
 * positive (nothing appended), else vec_dim + 1.
 */
int32_t		bpr_calibrate_items(const BprInteractions *d, const BprCalibrationFit *fit,
								double weight, float *uvec, float *ivec, int32_t vec_dim,
								int64_t *counts, float *offsets);

#endif
