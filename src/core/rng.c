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

/* Advances the generator by 2^128 draws (the xoshiro256 jump polynomial) */
void
bpr_rng_jump(BprRng *rng)
{
	static const uint64_t jump[4] = {
		UINT64_C(0x180ec6d33cfd0aba), UINT64_C(0xd5a61266f0c9392c),
		UINT64_C(0xa9582618e03fc9aa), UINT64_C(0x39abdc4529b1661c)
	};
	uint64_t	s0 = 0,
				s1 = 0,
				s2 = 0,
				s3 = 0;

	for (int i = 0; i < 4; i++)
		for (int b = 0; b < 64; b++)
		{
			if (jump[i] & (UINT64_C(1) << b))
			{
				s0 ^= rng->s[0];
				s1 ^= rng->s[1];
				s2 ^= rng->s[2];
				s3 ^= rng->s[3];
			}
			(void) bpr_rng_next(rng);
		}
	rng->s[0] = s0;
	rng->s[1] = s1;
	rng->s[2] = s2;
	rng->s[3] = s3;
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

/* Mixes 64 bits (the splitmix64 finaliser): the Feistel round function */
static inline uint64_t
mix64(uint64_t z)
{
	z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
	return z ^ (z >> 31);
}

/* A fresh permutation of 0..n-1 with keys from the generator */
void
bpr_permutation_init(BprPermutation *p, uint64_t n, BprRng *rng)
{
	int32_t		bits = 2;

	while (bits < 64 && (UINT64_C(1) << bits) < n)
		bits++;
	p->n = n;
	p->high_bits = bits / 2;
	p->low_bits = bits - bits / 2;
	for (int i = 0; i < 4; i++)
		p->keys[i] = bpr_rng_next(rng);
}

/* One pass of the Feistel network over the power-of-two domain */
static inline uint64_t
feistel(const BprPermutation *p, uint64_t x)
{
	uint64_t	hmask = (UINT64_C(1) << p->high_bits) - 1;
	uint64_t	lmask = (UINT64_C(1) << p->low_bits) - 1;
	uint64_t	hi = x >> p->low_bits;
	uint64_t	lo = x & lmask;

	hi ^= mix64(lo ^ p->keys[0]) & hmask;
	lo ^= mix64(hi ^ p->keys[1]) & lmask;
	hi ^= mix64(lo ^ p->keys[2]) & hmask;
	lo ^= mix64(hi ^ p->keys[3]) & lmask;
	return (hi << p->low_bits) | lo;
}

/* Position i (< n) of the permutation (cycle-walking stays a bijection of 0..n-1) */
uint64_t
bpr_permutation_at(const BprPermutation *p, uint64_t i)
{
	uint64_t	x = i;

	if (p->n <= 1)
		return 0;
	do
		x = feistel(p, x);
	while (x >= p->n);
	return x;
}
