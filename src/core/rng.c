/*
 * rng.c - xoshiro256** generator with splitmix64 seeding
 */
#include "rng.h"

/* One splitmix64 step, used only to expand the seed */
static uint64_t
splitmix64(uint64_t *x)
{
	uint64_t	z = (*x += UINT64_C(0x9E3779B97F4A7C15));

	z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
	return z ^ (z >> 31);
}

/* Rotates left */
static inline uint64_t
rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

/* Seeds the generator; equal seeds give equal streams on every platform */
void
bpr_rng_seed(BprRng *rng, uint64_t seed)
{
	uint64_t	x = seed;

	for (int i = 0; i < 4; i++)
		rng->s[i] = splitmix64(&x);
}

/* Next 64 random bits */
uint64_t
bpr_rng_next(BprRng *rng)
{
	uint64_t   *s = rng->s;
	uint64_t	result = rotl(s[1] * 5, 7) * 9;
	uint64_t	t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return result;
}

/* Uniform integer in [0, n), unbiased (rejection on the short tail) */
uint64_t
bpr_rng_below(BprRng *rng, uint64_t n)
{
	uint64_t	limit = UINT64_MAX - UINT64_MAX % n;
	uint64_t	x;

	do
		x = bpr_rng_next(rng);
	while (x >= limit);
	return x % n;
}

/* Uniform float in [0, 1) from the top 24 bits */
float
bpr_rng_uniform(BprRng *rng)
{
	return (float) (bpr_rng_next(rng) >> 40) * (1.0f / 16777216.0f);
}

/* Uniform float in [lo, hi) */
float
bpr_rng_range(BprRng *rng, float lo, float hi)
{
	return lo + (hi - lo) * bpr_rng_uniform(rng);
}
