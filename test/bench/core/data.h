/*
 * data.h - benchmark data sets for the numeric core, built directly in C
 *
 * A deterministic synthetic set shaped like MovieLens 20M (138k users x 27k
 * items, 20M ratings, Zipf-like item popularity, ratings 1-5 with about half
 * at 4 or above), a synthetic set shaped like MovieLens 100k (u1.base: 943 x
 * 1682, 80k ratings, the notebook's user and item features), and a reader of
 * the real MovieLens 100k files.  Everything is CSR BprInteractions plus
 * encoded BprFeatures, as the PostgreSQL layer would hand them to the trainer.
 */
#ifndef BENCH_DATA_H
#define BENCH_DATA_H

#include "sampler.h"

/* A training set: interactions and both sides' features, with their arrays */
typedef struct BenchData
{
	char		name[64];
	BprInteractions inter;
	BprFeatures user_f;
	BprFeatures item_f;
	int64_t		n_ratings;
	/* arrays behind the views above (freed by bench_data_free) */
	int64_t    *pos_ptr,
			   *neg_ptr,
			   *rated_ptr;
	int32_t    *pos,
			   *neg,
			   *rated;
	float	   *user_numeric,
			   *item_numeric;
	int32_t    *user_cat,
			   *user_cat_card;
	BprMultiField item_multi[1];
	int64_t    *multi_ptr;
	int32_t    *multi_idx;
	/* held-out ratings (real MovieLens only; test_ptr NULL otherwise) */
	int64_t    *test_ptr;		/* n_users + 1 */
	int32_t    *test_items;
	double	   *test_ratings;
} BenchData;

/* Synthetic MovieLens-20M-shaped set: users rated n_ratings items in total */
void		bench_make_ml20m(BenchData *d, uint64_t seed, int64_t n_ratings);

/* Synthetic MovieLens-100k-shaped set (u1.base size) with the notebook's features */
void		bench_make_ml100k(BenchData *d, uint64_t seed);

/* Reads u.user, u.item, <split>.base and <split>.test of a MovieLens 100k directory; false if absent */
bool		bench_read_ml100k(BenchData *d, const char *dir, const char *split);

/* Frees the arrays of a set */
void		bench_data_free(BenchData *d);

#endif
