/*
 * keyset.c - the keys of one side of a model, in sorted order
 */
#include <string.h>

#include "keyset.h"
#include "vecmath.h"

/* Orders two byte keys: bytewise, a proper prefix first (<0, 0, >0) */
int
bpr_key_bytes_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
	int			c = memcmp(a, b, alen < blen ? alen : blen);

	if (c != 0)
		return c;
	return (alen > blen) - (alen < blen);
}

/* Position of an integer key, or -1 */
int64_t
bpr_keyset_find_int(const BprKeySet *s, int64_t key)
{
	return s->is_int ? bpr_find_i64(s->ints, s->n, key) : -1;
}

/* First position at or after from whose integer key is >= key (s->n when none), galloping */
int64_t
bpr_keyset_lower_bound_int(const BprKeySet *s, int64_t key, int64_t from)
{
	int64_t		lo = from,
				hi = from,
				step = 1;

	/* steps of 1, 2, 4, ... until a key >= key or the end: the answer is in [lo, hi] */
	while (hi < s->n && s->ints[hi] < key)
	{
		lo = hi + 1;
		hi = from + step;
		step *= 2;
	}
	if (hi > s->n)
		hi = s->n;
	while (lo < hi)
	{
		int64_t		mid = lo + (hi - lo) / 2;

		if (s->ints[mid] < key)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Position of a byte key, or -1 */
int64_t
bpr_keyset_find_bytes(const BprKeySet *s, const char *key, size_t len)
{
	int64_t		lo = 0,
				hi = s->n;

	if (s->is_int)
		return -1;
	while (lo < hi)
	{
		int64_t		mid = lo + (hi - lo) / 2;
		size_t		mlen;
		const char *m = bpr_keyset_bytes_at(s, mid, &mlen);

		if (bpr_key_bytes_cmp(m, mlen, key, len) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < s->n)
	{
		size_t		mlen;
		const char *m = bpr_keyset_bytes_at(s, lo, &mlen);

		if (bpr_key_bytes_cmp(m, mlen, key, len) == 0)
			return lo;
	}
	return -1;
}

/* True when the keys are strictly ascending (the set's invariant) */
bool
bpr_keyset_is_sorted(const BprKeySet *s)
{
	for (int64_t i = 1; i < s->n; i++)
	{
		if (s->is_int)
		{
			if (s->ints[i - 1] >= s->ints[i])
				return false;
		}
		else
		{
			size_t		alen,
						blen;
			const char *a = bpr_keyset_bytes_at(s, i - 1, &alen);
			const char *b = bpr_keyset_bytes_at(s, i, &blen);

			if (bpr_key_bytes_cmp(a, alen, b, blen) >= 0)
				return false;
		}
	}
	return true;
}
