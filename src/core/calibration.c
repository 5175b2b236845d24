/*
 * calibration.c - per-user score offsets, and the items' offsets for cold users
 */
#include <math.h>
#include <string.h>

#include "calibration.h"
#include "vecmath.h"

/* Rates are kept away from 0 and 1 so that their logit stays finite */
#define RATE_FLOOR 1e-3

/* Logit of a rate, clamped */
static double
logit(double r)
{
	if (r < RATE_FLOOR)
		r = RATE_FLOOR;
	if (r > 1.0 - RATE_FLOOR)
		r = 1.0 - RATE_FLOOR;
	return log(r / (1.0 - r));
}

/* The offset of a user with liked and disliked ratings under a fit: a prior of two ratings at the global share */
float
bpr_calibration_offset(const BprCalibrationFit *fit, int64_t liked, int64_t disliked)
{
	return (float) (fit->spread * logit(((double) liked + 2.0 * fit->global_share) /
										((double) liked + (double) disliked + 2.0)));
}

/* Offsets of every user and what they were fitted with */
static void
fit_offsets(const BprInteractions *d, const float *user_vecs, const float *item_vecs,
			int32_t vec_dim, float *offsets, float *cold_offset, BprCalibrationFit *fit,
			void (*check) (void *), void *check_arg)
{
	int64_t		n_pos = d->pos_ptr[d->n_users];
	int64_t		n_neg = d->neg_ptr[d->n_users];
	double		global = (n_pos + n_neg) > 0 ? (double) n_pos / (double) (n_pos + n_neg) : 0.5;
	double		sum = 0.0,
				sq = 0.0,
				spread;
	int64_t		n = 0;

	/* spread of the scores over rated (liked or disliked) pairs */
	for (int32_t u = 0; u < d->n_users; u++)
	{
		const float *uv = user_vecs + (size_t) u * vec_dim;

		if (check != NULL && (u & 4095) == 4095)
			check(check_arg);
		for (int64_t p = d->pos_ptr[u]; p < d->pos_ptr[u + 1]; p++)
		{
			double		s = bpr_dot_f64(uv, item_vecs + (size_t) d->pos[p] * vec_dim, vec_dim);

			sum += s;
			sq += s * s;
			n++;
		}
		for (int64_t p = d->neg_ptr[u]; p < d->neg_ptr[u + 1]; p++)
		{
			double		s = bpr_dot_f64(uv, item_vecs + (size_t) d->neg[p] * vec_dim, vec_dim);

			sum += s;
			sq += s * s;
			n++;
		}
	}
	spread = n > 1 ? sqrt(fmax(sq / n - (sum / n) * (sum / n), 0.0)) : 1.0;
	if (!(spread > 1e-6))
		spread = 1.0;

	fit->spread = spread;
	fit->global_share = global;
	for (int32_t u = 0; u < d->n_users; u++)
		offsets[u] = bpr_calibration_offset(fit, d->pos_ptr[u + 1] - d->pos_ptr[u],
											d->neg_ptr[u + 1] - d->neg_ptr[u]);
	*cold_offset = bpr_calibration_offset(fit, 0, 0);
}

/* Offsets of every user from the rated pairs of d and vectors of width vec_dim */
void
bpr_user_offsets(const BprInteractions *d, const float *user_vecs,
				 const float *item_vecs, int32_t vec_dim,
				 float *offsets, float *cold_offset,
				 void (*check) (void *), void *check_arg)
{
	BprCalibrationFit fit;

	fit_offsets(d, user_vecs, item_vecs, vec_dim, offsets, cold_offset, &fit, check, check_arg);
}

/* Offsets the users and appends the offset column; returns the new width */
int32_t
bpr_calibrate_vectors(const BprInteractions *d, float *uvec, float *ivec,
					  int32_t vec_dim, float *offsets, float *cold_offset,
					  void (*check) (void *), void *check_arg)
{
	BprCalibrationFit fit;

	return bpr_calibrate_vectors_fit(d, uvec, ivec, vec_dim, offsets, cold_offset, &fit,
									 check, check_arg);
}

/* As bpr_calibrate_vectors; *fit gets what the offsets were fitted with */
int32_t
bpr_calibrate_vectors_fit(const BprInteractions *d, float *uvec, float *ivec,
						  int32_t vec_dim, float *offsets, float *cold_offset,
						  BprCalibrationFit *fit, void (*check) (void *), void *check_arg)
{
	if (d->neg_ptr[d->n_users] == 0 || d->pos_ptr[d->n_users] == 0)
		return vec_dim;			/* nothing to tell liked from disliked */
	fit_offsets(d, uvec, ivec, vec_dim, offsets, cold_offset, fit, check, check_arg);
	bpr_widen_rows(uvec, uvec, d->n_users, vec_dim, vec_dim + 1, offsets);
	bpr_widen_rows(ivec, ivec, d->n_items, vec_dim, vec_dim + 1, NULL);
	return vec_dim + 1;
}

/* The offset of an item with liked and disliked ratings: only ever a penalty, 0 without ratings */
float
bpr_calibration_item_offset(const BprCalibrationFit *fit, double weight, int64_t liked,
							int64_t disliked)
{
	double		share,
				gap;

	if (liked + disliked == 0)
		return 0.0f;
	share = ((double) liked + 2.0 * fit->global_share) / ((double) liked + (double) disliked + 2.0);
	gap = logit(share) - logit(fit->global_share);
	return gap < 0.0 ? (float) (weight * fit->spread * gap) : 0.0f;
}

/* Widens n rows of `from` values by one column: value, or last[r] when last is not NULL */
static void
append_column(float *rows, int32_t n, int32_t from, float value, const float *last)
{
	/* walk backwards: row r moves from r * from to r * (from + 1), never over an unread row */
	for (int32_t r = n - 1; r >= 0; r--)
	{
		float	   *o = rows + (size_t) r * (from + 1);

		memmove(o, rows + (size_t) r * from, sizeof(float) * (size_t) from);
		o[from] = last != NULL ? last[r] : value;
	}
}

/* Appends the items' offset column: q_i to items, 0 to the (trained) users; returns the new width */
int32_t
bpr_calibrate_items(const BprInteractions *d, const BprCalibrationFit *fit, double weight,
					float *uvec, float *ivec, int32_t vec_dim, int64_t *counts, float *offsets)
{
	int64_t    *liked = counts,
			   *disliked = counts + d->n_items;

	if (!(weight > 0.0))
		return vec_dim;
	for (int64_t i = 0; i < 2 * (int64_t) d->n_items; i++)
		counts[i] = 0;
	for (int64_t p = 0; p < d->pos_ptr[d->n_users]; p++)
		liked[d->pos[p]]++;
	for (int64_t p = 0; p < d->neg_ptr[d->n_users]; p++)
		disliked[d->neg[p]]++;
	for (int32_t i = 0; i < d->n_items; i++)
		offsets[i] = bpr_calibration_item_offset(fit, weight, liked[i], disliked[i]);
	append_column(uvec, d->n_users, vec_dim, 0.0f, NULL);
	append_column(ivec, d->n_items, vec_dim, 0.0f, offsets);
	return vec_dim + 1;
}
