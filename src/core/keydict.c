/*
 * keydict.c - a growing dictionary of keys (int64 or byte strings) -> dense index
 */
#include <string.h>

#include "keydict.h"

/* Smallest table the dictionary starts with */
#define KEYDICT_MIN_KEYS 1024

/* 64-bit mix of an integer key (splitmix64 finaliser) */
static inline uint64_t
hash_int(int64_t key)
{
	uint64_t	z = (uint64_t) key + UINT64_C(0x9E3779B97F4A7C15);

	z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
	return z ^ (z >> 31);
}

/* 64-bit FNV-1a of a byte key, mixed */
static inline uint64_t
hash_bytes(const char *key, size_t len)
{
	uint64_t	h = UINT64_C(0xcbf29ce484222325);

	for (size_t i = 0; i < len; i++)
	{
		h ^= (unsigned char) key[i];
		h *= UINT64_C(0x100000001b3);
	}
	return hash_int((int64_t) h);
}

/* Prepares an empty dictionary of integer or byte keys, accepting at most limit keys */
void
bpr_keydict_init(BprKeyDict *d, bool is_int, int32_t limit, const BprAlloc *alloc)
{
	memset(d, 0, sizeof(*d));
	d->is_int = is_int;
	d->limit = limit;
	d->alloc = alloc;
}

/* Re-inserts every key into a table of n_slots slots */
static void
rehash(BprKeyDict *d, uint32_t n_slots)
{
	int32_t    *slots = bpr_alloc_array(d->alloc, n_slots, sizeof(int32_t), "key hash table");
	uint32_t	mask = n_slots - 1;

	for (int32_t i = 0; i < d->n; i++)
	{
		uint64_t	h = d->is_int ? hash_int(d->ints[i]) :
			hash_bytes(d->bytes + d->offsets[i], (size_t) (d->offsets[i + 1] - d->offsets[i]));
		uint32_t	s = (uint32_t) h & mask;

		while (slots[s] != 0)
			s = (s + 1) & mask;
		slots[s] = i + 1;
	}
	bpr_free_array(d->alloc, d->slots, d->n_slots, sizeof(int32_t));
	d->slots = slots;
	d->n_slots = n_slots;
}

/* Copies an array into a larger one from the allocator, giving the old one back */
static void *
grow(const BprAlloc *a, void *old, size_t old_n, size_t new_n, size_t size, const char *what)
{
	void	   *fresh = bpr_alloc_array(a, new_n, size, what);

	if (old != NULL)
		memcpy(fresh, old, old_n * size);
	bpr_free_array(a, old, old_n, size);
	return fresh;
}

/* Makes room for one more key (and len more bytes); false when the limit is reached */
static bool
reserve(BprKeyDict *d, size_t len)
{
	if (d->n >= d->limit)
		return false;
	if (d->n >= d->cap)
	{
		int32_t		cap = d->cap < KEYDICT_MIN_KEYS ? KEYDICT_MIN_KEYS :
			(d->cap > INT32_MAX / 2 ? INT32_MAX : d->cap * 2);

		if (d->is_int)
			d->ints = grow(d->alloc, d->ints, (size_t) d->cap, (size_t) cap, sizeof(int64_t), "keys");
		else
			d->offsets = grow(d->alloc, d->offsets, d->cap > 0 ? (size_t) d->cap + 1 : 0,
							  (size_t) cap + 1, sizeof(uint64_t), "key offsets");
		d->cap = cap;
	}
	if (!d->is_int)
	{
		size_t		used = (size_t) d->offsets[d->n];
		size_t		need;

		if (!bpr_size_add(used, len, &need))
			d->alloc->overflow(d->alloc->ctx, "keys");
		if (need > d->bytes_cap)
		{
			size_t		cap = d->bytes_cap < 65536 ? 65536 : d->bytes_cap;

			while (cap < need)
				if (!bpr_size_mul(cap, 2, &cap))
					d->alloc->overflow(d->alloc->ctx, "keys");
			d->bytes = grow(d->alloc, d->bytes, d->bytes_cap, cap, 1, "key bytes");
			d->bytes_cap = cap;
		}
	}
	/* keep the table at most half full */
	if ((uint64_t) (d->n + 1) * 2 > d->n_slots)
		rehash(d, d->n_slots == 0 ? 2 * KEYDICT_MIN_KEYS : d->n_slots * 2);
	return true;
}

/* Index of an integer key; inserted when add is true (else -1 when absent); -2 when full */
int32_t
bpr_keydict_int(BprKeyDict *d, int64_t key, bool add)
{
	bool		room = add && reserve(d, 0);
	uint32_t	mask,
				s;

	if (d->n_slots == 0)
		return add ? -2 : -1;
	mask = d->n_slots - 1;
	for (s = (uint32_t) hash_int(key) & mask; d->slots[s] != 0; s = (s + 1) & mask)
		if (d->ints[d->slots[s] - 1] == key)
			return d->slots[s] - 1;
	if (!add)
		return -1;
	if (!room)
		return -2;
	d->ints[d->n] = key;
	d->slots[s] = ++d->n;
	return d->n - 1;
}

/* Index of a byte key; inserted when add is true (else -1 when absent); -2 when full */
int32_t
bpr_keydict_bytes(BprKeyDict *d, const char *key, size_t len, bool add)
{
	uint32_t	mask,
				s;
	bool		room = add && reserve(d, len);

	if (d->n_slots == 0)
		return add ? -2 : -1;
	mask = d->n_slots - 1;
	for (s = (uint32_t) hash_bytes(key, len) & mask; d->slots[s] != 0; s = (s + 1) & mask)
	{
		int32_t		i = d->slots[s] - 1;

		if (d->offsets[i + 1] - d->offsets[i] == len &&
			memcmp(d->bytes + d->offsets[i], key, len) == 0)
			return i;
	}
	if (!add)
		return -1;
	if (!room)
		return -2;
	memcpy(d->bytes + d->offsets[d->n], key, len);
	d->offsets[d->n + 1] = d->offsets[d->n] + len;
	d->slots[s] = ++d->n;
	return d->n - 1;
}

/* True when the key inserted a-th sorts before the one inserted b-th */
static inline bool
key_before(const BprKeyDict *d, int32_t a, int32_t b)
{
	if (d->is_int)
		return d->ints[a] < d->ints[b];
	return bpr_key_bytes_cmp(d->bytes + d->offsets[a], (size_t) (d->offsets[a + 1] - d->offsets[a]),
							 d->bytes + d->offsets[b], (size_t) (d->offsets[b + 1] - d->offsets[b])) < 0;
}

/* Bottom-up merge sort of idx[0..n) by key, with scratch of n values */
static void
sort_indices(const BprKeyDict *d, int32_t *idx, int32_t *scratch, int32_t n)
{
	int32_t    *src = idx,
			   *dst = scratch;

	for (int64_t width = 1; width < n; width *= 2)
	{
		for (int64_t lo = 0; lo < n; lo += 2 * width)
		{
			int64_t		mid = lo + width < n ? lo + width : n;
			int64_t		hi = lo + 2 * width < n ? lo + 2 * width : n;
			int64_t		i = lo,
						j = mid,
						k = lo;

			while (i < mid && j < hi)
				dst[k++] = key_before(d, src[j], src[i]) ? src[j++] : src[i++];
			while (i < mid)
				dst[k++] = src[i++];
			while (j < hi)
				dst[k++] = src[j++];
		}
		{
			int32_t    *t = src;

			src = dst;
			dst = t;
		}
	}
	if (src != idx)
		memcpy(idx, src, sizeof(int32_t) * (size_t) n);
}

/* Sorts the keys into out (arrays from the allocator); perm[i] = sorted position of key i */
void
bpr_keydict_sort(const BprKeyDict *d, BprKeySet *out, int32_t *perm)
{
	int32_t		n = d->n;
	int32_t    *order = bpr_alloc_array(d->alloc, (size_t) n, sizeof(int32_t), "key order");
	int32_t    *scratch = bpr_alloc_array(d->alloc, (size_t) n, sizeof(int32_t), "key order");

	for (int32_t i = 0; i < n; i++)
		order[i] = i;
	sort_indices(d, order, scratch, n);
	bpr_free_array(d->alloc, scratch, (size_t) n, sizeof(int32_t));

	memset(out, 0, sizeof(*out));
	out->n = n;
	out->is_int = d->is_int;
	if (d->is_int)
	{
		int64_t    *ints = bpr_alloc_array(d->alloc, (size_t) n, sizeof(int64_t), "keys");

		for (int32_t r = 0; r < n; r++)
			ints[r] = d->ints[order[r]];
		out->ints = ints;
	}
	else
	{
		uint64_t   *offsets = bpr_alloc_array(d->alloc, (size_t) n + 1, sizeof(uint64_t), "key offsets");
		char	   *bytes = bpr_alloc_array(d->alloc, (size_t) d->offsets[n], 1, "key bytes");

		for (int32_t r = 0; r < n; r++)
		{
			int32_t		i = order[r];
			size_t		len = (size_t) (d->offsets[i + 1] - d->offsets[i]);

			memcpy(bytes + offsets[r], d->bytes + d->offsets[i], len);
			offsets[r + 1] = offsets[r] + len;
		}
		out->offsets = offsets;
		out->bytes = bytes;
	}
	for (int32_t r = 0; r < n; r++)
		perm[order[r]] = r;
	bpr_free_array(d->alloc, order, (size_t) n, sizeof(int32_t));
}

/* Gives the dictionary's memory back to the allocator */
void
bpr_keydict_free(BprKeyDict *d)
{
	bpr_free_array(d->alloc, d->slots, d->n_slots, sizeof(int32_t));
	if (d->is_int)
		bpr_free_array(d->alloc, d->ints, (size_t) d->cap, sizeof(int64_t));
	else if (d->cap > 0)
	{
		bpr_free_array(d->alloc, d->offsets, (size_t) d->cap + 1, sizeof(uint64_t));
		bpr_free_array(d->alloc, d->bytes, d->bytes_cap, 1);
	}
	d->slots = NULL;
	d->ints = NULL;
	d->offsets = NULL;
	d->bytes = NULL;
	d->n = d->cap = 0;
	d->n_slots = 0;
	d->bytes_cap = 0;
}

/* Bytes the dictionary holds now (for budgets and reports) */
size_t
bpr_keydict_bytes_held(const BprKeyDict *d)
{
	size_t		b = (size_t) d->n_slots * sizeof(int32_t);

	if (d->is_int)
		b += (size_t) d->cap * sizeof(int64_t);
	else if (d->cap > 0)
		b += ((size_t) d->cap + 1) * sizeof(uint64_t) + d->bytes_cap;
	return b;
}
