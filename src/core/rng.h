/*
 * rng.h - deterministic random numbers (xoshiro256**, seeded by splitmix64)
 */
#ifndef BPR_RNG_H
#define BPR_RNG_H

#include "alloc.h"

typedef struct BprRng
{
	uint64_t	s[4];
} BprRng;

/* Seeds the generator; equal seeds give equal streams on every platform */
void		bpr_rng_seed(BprRng *rng, uint64_t seed);

/* Next 64 random bits */
uint64_t	bpr_rng_next(BprRng *rng);

/* Uniform integer in [0, n), unbiased; n must be > 0 */
uint64_t	bpr_rng_below(BprRng *rng, uint64_t n);

/* Uniform float in [0, 1) */
float		bpr_rng_uniform(BprRng *rng);

/* Uniform float in [lo, hi) */
float		bpr_rng_range(BprRng *rng, float lo, float hi);

#endif
