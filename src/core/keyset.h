/*
 * keyset.h - the keys of one side (users or items) of a model, in sorted order
 *
 * Entity r of a side is the r-th key in ascending order, so a key's position
 * is its row in every array of the side, and ties between equal scores go to
 * the lower position, i.e. the lower key (EVALUATION.md).  Integer keys
 * (int2, int4, int8 columns) are int64 values; every other key type is kept
 * as the bytes of its text form and ordered bytewise (C collation), shorter
 * first on a common prefix.
 */
#ifndef BPR_KEYSET_H
#define BPR_KEYSET_H

#include "alloc.h"

typedef struct BprKeySet
{
	int32_t		n;
	bool		is_int;
	const int64_t *ints;		/* is_int: n keys, ascending */
	const uint64_t *offsets;	/* !is_int: n + 1 offsets into bytes */
	const char *bytes;			/* !is_int: the keys' bytes, concatenated in order */
} BprKeySet;

/* Orders two byte keys: bytewise, a proper prefix first (<0, 0, >0) */
int			bpr_key_bytes_cmp(const char *a, size_t alen, const char *b, size_t blen);

/* Position of an integer key, or -1 */
int64_t		bpr_keyset_find_int(const BprKeySet *s, int64_t key);

/*
 * First position at or after from whose integer key is >= key (s->n when
 * none), by galloping from from: for keys looked up in ascending order, each
 * lookup costs the log of the distance to the previous one, and reads memory
 * near it
 */
int64_t		bpr_keyset_lower_bound_int(const BprKeySet *s, int64_t key, int64_t from);

/* Position of a byte key, or -1 */
int64_t		bpr_keyset_find_bytes(const BprKeySet *s, const char *key, size_t len);

/* The bytes of the key at position i (and their length) */
static inline const char *
bpr_keyset_bytes_at(const BprKeySet *s, int64_t i, size_t *len)
{
	*len = (size_t) (s->offsets[i + 1] - s->offsets[i]);
	return s->bytes + s->offsets[i];
}

/* True when the keys are strictly ascending (the set's invariant) */
bool		bpr_keyset_is_sorted(const BprKeySet *s);

#endif
