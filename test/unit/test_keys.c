/*
 * test_keys.c - key dictionaries and sorted key sets
 */
#include <string.h>

#include "keydict.h"
#include "keyset.h"
#include "rng.h"
#include "unit.h"

/* Integer keys: insertion indices, lookups, growth, sorting and the permutation */
static void
check_int_keys(void)
{
	BprKeyDict	d;
	BprKeySet	s;
	BprRng		rng;
	int64_t		keys[5000];
	int32_t		idx[5000];
	int32_t    *perm;
	bool		ok = true;

	bpr_keydict_init(&d, true, 1000000, &unit_alloc);
	CHECK(bpr_keydict_int(&d, 7, false) == -1);
	bpr_rng_seed(&rng, 3);
	for (int i = 0; i < 5000; i++)
	{
		/* many repeats: keys in [-2000, 2000) */
		keys[i] = (int64_t) bpr_rng_below(&rng, 4000) - 2000;
		idx[i] = bpr_keydict_int(&d, keys[i], true);
	}
	for (int i = 0; i < 5000; i++)
	{
		ok = ok && idx[i] >= 0 && idx[i] < d.n && d.ints[idx[i]] == keys[i];
		ok = ok && bpr_keydict_int(&d, keys[i], false) == idx[i];
	}
	CHECK(ok);
	CHECK(d.n > 2500 && d.n <= 4000);
	CHECK(bpr_keydict_int(&d, 999999, false) == -1);

	perm = calloc((size_t) d.n, sizeof(int32_t));
	bpr_keydict_sort(&d, &s, perm);
	CHECK(s.n == d.n && s.is_int && bpr_keyset_is_sorted(&s));
	ok = true;
	for (int i = 0; i < 5000; i++)
		ok = ok && s.ints[perm[idx[i]]] == keys[i] &&
			bpr_keyset_find_int(&s, keys[i]) == perm[idx[i]];
	CHECK(ok);
	CHECK(bpr_keyset_find_int(&s, 999999) == -1);
	/* galloping lower bounds agree with a linear scan, from any start */
	{
		bool		ok = true;

		for (int64_t from = 0; from <= s.n; from += 7)
			for (int64_t probe = -2100; probe < 2100; probe += 13)
			{
				int64_t		want = from;

				while (want < s.n && s.ints[want] < probe)
					want++;
				ok = ok && bpr_keyset_lower_bound_int(&s, probe, from) == want;
			}
		CHECK(ok);
	}
	CHECK(bpr_keyset_find_int(&s, INT64_MIN) == -1);
	free(perm);

	/* a limit: new keys beyond it are refused, known ones still found */
	bpr_keydict_free(&d);
	bpr_keydict_init(&d, true, 3, &unit_alloc);
	CHECK(bpr_keydict_int(&d, 10, true) == 0);
	CHECK(bpr_keydict_int(&d, 20, true) == 1);
	CHECK(bpr_keydict_int(&d, 30, true) == 2);
	CHECK(bpr_keydict_int(&d, 40, true) == -2);
	CHECK(bpr_keydict_int(&d, 20, true) == 1);
	CHECK(bpr_keydict_bytes_held(&d) > 0);
	bpr_keydict_free(&d);
	CHECK(bpr_keydict_bytes_held(&d) == 0);
}

/* Byte keys: bytewise order with prefixes first, equal lengths, empty key */
static void
check_byte_keys(void)
{
	static const char *words[] = {"b", "ab", "a", "", "abc", "B", "uuid-9", "uuid-10", "a", "b"};
	const int	nw = (int) (sizeof(words) / sizeof(words[0]));
	static const char *sorted[] = {"", "B", "a", "ab", "abc", "b", "uuid-10", "uuid-9"};
	BprKeyDict	d;
	BprKeySet	s;
	int32_t		idx[10];
	int32_t		perm[10];
	bool		ok = true;

	bpr_keydict_init(&d, false, 100, &unit_alloc);
	for (int i = 0; i < nw; i++)
		idx[i] = bpr_keydict_bytes(&d, words[i], strlen(words[i]), true);
	CHECK(d.n == 8);
	CHECK(idx[8] == idx[2] && idx[9] == idx[0]);
	CHECK(bpr_keydict_bytes(&d, "zz", 2, false) == -1);
	bpr_keydict_sort(&d, &s, perm);
	CHECK(!s.is_int && s.n == 8 && bpr_keyset_is_sorted(&s));
	for (int r = 0; r < 8; r++)
	{
		size_t		len;
		const char *k = bpr_keyset_bytes_at(&s, r, &len);

		ok = ok && len == strlen(sorted[r]) && memcmp(k, sorted[r], len) == 0;
		ok = ok && bpr_keyset_find_bytes(&s, sorted[r], strlen(sorted[r])) == r;
	}
	CHECK(ok);
	ok = true;
	for (int i = 0; i < nw; i++)
		ok = ok && bpr_keyset_find_bytes(&s, words[i], strlen(words[i])) == perm[idx[i]];
	CHECK(ok);
	CHECK(bpr_keyset_find_bytes(&s, "abd", 3) == -1);
	CHECK(bpr_keyset_find_bytes(&s, "c", 1) == -1);
	CHECK(bpr_keyset_find_int(&s, 1) == -1);
	CHECK(bpr_key_bytes_cmp("a", 1, "ab", 2) < 0 && bpr_key_bytes_cmp("ab", 2, "a", 1) > 0);
	CHECK(bpr_key_bytes_cmp("ab", 2, "ab", 2) == 0);
	/* bytes compare unsigned: 0xC3 (UTF-8 lead byte) after 'z' */
	CHECK(bpr_key_bytes_cmp("\xc3\xa9", 2, "z", 1) > 0);
	bpr_keydict_free(&d);

	/* many keys: growth of offsets, bytes and the table */
	bpr_keydict_init(&d, false, 1 << 20, &unit_alloc);
	for (int i = 0; i < 20000; i++)
	{
		char		buf[32];
		int			len = snprintf(buf, sizeof(buf), "sku-%d", (i * 7919) % 20000);

		(void) bpr_keydict_bytes(&d, buf, (size_t) len, true);
	}
	CHECK(d.n == 20000);
	{
		int32_t    *p = calloc(20000, sizeof(int32_t));

		bpr_keydict_sort(&d, &s, p);
		CHECK(bpr_keyset_is_sorted(&s));
		CHECK(bpr_keyset_find_bytes(&s, "sku-12345", 9) >= 0);
		free(p);
	}
	bpr_keydict_free(&d);
}

/* Runs every key check */
void
test_keys(void)
{
	check_int_keys();
	check_byte_keys();
}
