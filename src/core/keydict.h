/*
 * keydict.h - a growing dictionary of keys (int64 or byte strings) -> dense index
 *
 * Keys get indices 0, 1, 2, ... in order of first insertion.  Used while
 * reading a table: every row's key becomes an int32 index at once, so the
 * rows never hold 8-byte or variable-length keys.  At the end the keys are
 * sorted into a BprKeySet and a permutation maps insertion indices to sorted
 * positions.  Memory comes from the caller's allocator, and grows by doubling
 * (the old block is given back when the allocator can take it).
 */
#ifndef BPR_KEYDICT_H
#define BPR_KEYDICT_H

#include "alloc.h"
#include "keyset.h"

typedef struct BprKeyDict
{
	bool		is_int;
	int32_t		n;				/* keys so far */
	int32_t		limit;			/* most keys accepted */
	uint32_t	n_slots;		/* hash slots, a power of two */
	int32_t    *slots;			/* index + 1 of the key in a slot; 0 = empty */
	int32_t		cap;			/* room for keys */
	int64_t    *ints;			/* is_int: key of each index */
	uint64_t   *offsets;		/* !is_int: cap + 1 offsets into bytes */
	char	   *bytes;
	size_t		bytes_cap;
	const BprAlloc *alloc;
} BprKeyDict;

/* Prepares an empty dictionary of integer or byte keys, accepting at most limit keys */
void		bpr_keydict_init(BprKeyDict *d, bool is_int, int32_t limit, const BprAlloc *alloc);

/* Index of an integer key; inserted when add is true (else -1 when absent); -2 when full */
int32_t		bpr_keydict_int(BprKeyDict *d, int64_t key, bool add);

/* Index of a byte key; inserted when add is true (else -1 when absent); -2 when full */
int32_t		bpr_keydict_bytes(BprKeyDict *d, const char *key, size_t len, bool add);

/*
 * Sorts the keys: fills out (arrays from the allocator) and perm, where
 * perm[i] is the sorted position of the key inserted i-th (perm: n values).
 */
void		bpr_keydict_sort(const BprKeyDict *d, BprKeySet *out, int32_t *perm);

/* Gives the dictionary's memory back to the allocator */
void		bpr_keydict_free(BprKeyDict *d);

/* Bytes the dictionary holds now (for budgets and reports) */
size_t		bpr_keydict_bytes_held(const BprKeyDict *d);

#endif
