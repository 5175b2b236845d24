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

/* Advances the generator by 2^128 draws: successive jumps give non-overlapping streams */
void		bpr_rng_jump(BprRng *rng);

/* Next 64 random bits */
uint64_t	bpr_rng_next(BprRng *rng);

/* Uniform integer in [0, n), unbiased; n must be > 0 */
uint64_t	bpr_rng_below(BprRng *rng, uint64_t n);

/* Uniform float in [0, 1) */
float		bpr_rng_uniform(BprRng *rng);

/* Uniform float in [lo, hi) */
float		bpr_rng_range(BprRng *rng, float lo, float hi);

/*
 * A pseudo-random permutation of 0..n-1 that is evaluated at any position
 * without storing it: a four-round Feistel network over the smallest power of
 * two >= n, walked until it lands below n.  It orders an epoch's triplets
 * without an array of all positions and without a shuffle pass.
 */
typedef struct BprPermutation
{
	uint64_t	n;
	int32_t		high_bits;		/* the two halves of the Feistel network */
	int32_t		low_bits;
	uint64_t	keys[4];		/* round keys */
} BprPermutation;

/* A fresh permutation of 0..n-1 with keys from the generator */
void		bpr_permutation_init(BprPermutation *p, uint64_t n, BprRng *rng);

/* Position i (< n) of the permutation */
uint64_t	bpr_permutation_at(const BprPermutation *p, uint64_t i);

#endif
