/*
 * dataset.c - reading ratings tables into compact arrays with SPI
 */
#include "postgres.h"

#include <float.h>
#include <math.h>

#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"

#include "dataset.h"
#include "keys.h"

/* Rows per chunk: chunks never move, so the arrays grow without a second copy */
#define BPR_ROWS_PER_CHUNK 65536

/* Most distinct users or items a model may have */
#define BPR_MAX_ENTITIES (PG_INT32_MAX / 2)

/* Checks a key column and returns the key type bpr records for it */
static Oid
check_key_column(Oid relid, const char *column, Oid expected, const char *side)
{
	Oid			type = bpr_check_key_column(relid, column);
	Oid			key_type = bpr_key_type_of_column(type);

	if (OidIsValid(expected) && key_type != expected)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("column \"%s\" of relation \"%s\" has type %s, but the model's %s keys are %s",
						column, bpr_relation_name(relid), format_type_be(type), side,
						format_type_be(expected))));
	return key_type;
}

/* Checks the key, rating and weight columns of a source; records the key types in it */
void
bpr_check_row_source(BprRowSource *src)
{
	if (strcmp(src->user_column, src->item_column) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("user_column and item_column are both \"%s\"", src->user_column),
				 errhint("Name the user key column and the item key column of the ratings table.")));
	src->user_type = check_key_column(src->relid, src->user_column, src->user_type, "user");
	src->item_type = check_key_column(src->relid, src->item_column, src->item_type, "item");
	if (src->rating_column != NULL)
	{
		if (get_attnum(src->relid, src->rating_column) == InvalidAttrNumber)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_COLUMN),
					 errmsg("column \"%s\" of relation \"%s\" does not exist",
							src->rating_column, bpr_relation_name(src->relid)),
					 errhint("For implicit feedback (every row is a positive), pass rating_column => NULL.")));
		bpr_check_number_column(src->relid, src->rating_column);
	}
	if (src->weight_column != NULL)
		bpr_check_number_column(src->relid, src->weight_column);
}

/* Adds a chunk to the rows (charged to the budget) */
static void
add_chunk(BprRows *rows, BprPgAlloc *alloc, bool weighted)
{
	int32		c = rows->n_chunks;

	if (c == rows->cap_chunks)
	{
		int32		cap = Max(16, 2 * rows->cap_chunks);
		int32	  **u = bpr_pg_alloc(alloc, cap, sizeof(int32 *), "rows");
		int32	  **i = bpr_pg_alloc(alloc, cap, sizeof(int32 *), "rows");
		uint8	  **k = bpr_pg_alloc(alloc, cap, sizeof(uint8 *), "rows");
		float	  **w = bpr_pg_alloc(alloc, cap, sizeof(float *), "rows");

		if (c > 0)
		{
			memcpy(u, rows->user, sizeof(int32 *) * c);
			memcpy(i, rows->item, sizeof(int32 *) * c);
			memcpy(k, rows->cls, sizeof(uint8 *) * c);
			memcpy(w, rows->weight, sizeof(float *) * c);
		}
		rows->user = u;
		rows->item = i;
		rows->cls = k;
		rows->weight = w;
		rows->cap_chunks = cap;
	}
	rows->user[c] = bpr_pg_alloc(alloc, BPR_ROWS_PER_CHUNK, sizeof(int32), "rows");
	rows->item[c] = bpr_pg_alloc(alloc, BPR_ROWS_PER_CHUNK, sizeof(int32), "rows");
	rows->cls[c] = bpr_pg_alloc(alloc, BPR_ROWS_PER_CHUNK, sizeof(uint8), "rows");
	rows->weight[c] = weighted ? bpr_pg_alloc(alloc, BPR_ROWS_PER_CHUNK, sizeof(float), "rows") : NULL;
	rows->n_chunks++;
}

/* The key in column col of a fetched row; false when NULL */
static bool
row_key(SPITupleTable *tt, uint64 r, int col, bool is_int, BprKey *key)
{
	bool		isnull;
	Datum		d = SPI_getbinval(tt->vals[r], tt->tupdesc, col, &isnull);

	if (isnull)
		return false;
	key->is_int = is_int;
	if (is_int)
		key->ival = DatumGetInt64(d);
	else
	{
		text	   *t = DatumGetTextPP(d);

		key->bytes = VARDATA_ANY(t);
		key->len = VARSIZE_ANY_EXHDR(t);
	}
	return true;
}

/* Index of a key in a dictionary; -1 when unknown and not added; ERROR when there are too many */
static int32
dict_index(BprKeyDict *dict, const BprKey *key, bool add, const char *side)
{
	int32		idx = bpr_key_dict_lookup(dict, key, add);

	if (idx == -2)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("too many distinct %ss", side),
				 errdetail("A model takes at most %d %ss.", dict->limit, side)));
	return idx;
}

/* Reads the rows of a source into indices of the dictionaries */
void
bpr_read_rows(const BprRowSource *src, BprKeyDict *users, BprKeyDict *items,
			  bool add_keys, BprPgAlloc *alloc, BprRows *rows)
{
	StringInfoData sql;
	BprCursor	cursor;
	bool		weighted = src->weight_column != NULL;

	memset(rows, 0, sizeof(*rows));
	initStringInfo(&sql);
	appendStringInfo(&sql, "SELECT %s::%s, %s::%s, ",
					 quote_identifier(src->user_column), bpr_key_cast(src->user_type),
					 quote_identifier(src->item_column), bpr_key_cast(src->item_type));
	appendStringInfo(&sql, src->rating_column ? "%s::float8, " : "NULL::float8, ",
					 src->rating_column ? quote_identifier(src->rating_column) : "");
	appendStringInfo(&sql, weighted ? "%s::float8" : "NULL::float8",
					 weighted ? quote_identifier(src->weight_column) : "");
	appendStringInfo(&sql, " FROM %s", bpr_relation_sql_name(src->relid));

	if (src->user_keys != (Datum) 0)
	{
		/* compared in the column's type, so that an index on it serves */
		bool		is_int = bpr_key_type_is_int(src->user_type);
		Oid			type = is_int ? INT8ARRAYOID : TEXTARRAYOID;

		appendStringInfo(&sql, " WHERE %s = ANY($1%s)", quote_identifier(src->user_column),
						 is_int || src->user_type == TEXTOID ? "" :
						 psprintf("::%s[]", format_type_be(src->user_type)));
		bpr_cursor_open(&cursor, sql.data, 1, &type, (Datum *) &src->user_keys);
	}
	else
		bpr_cursor_open(&cursor, sql.data, 0, NULL, NULL);
	while (bpr_cursor_next(&cursor))
	{
		SPITupleTable *tt = cursor.batch;

		for (uint64 r = 0; r < tt->numvals; r++)
		{
			BprKey		u,
						i;
			bool		rnull,
						wnull;
			double		rating = DatumGetFloat8(SPI_getbinval(tt->vals[r], tt->tupdesc, 3, &rnull));
			double		weight = DatumGetFloat8(SPI_getbinval(tt->vals[r], tt->tupdesc, 4, &wnull));
			int32		ui,
						ii;
			int64		c,
						off;
			uint8		cls = BPR_CLASS_LIKED;

			if (!row_key(tt, r, 1, users->is_int, &u) || !row_key(tt, r, 2, items->is_int, &i) ||
				(src->rating_column && rnull) || (weighted && wnull))
			{
				rows->skipped_null++;
				continue;
			}
			if ((src->rating_column && !isfinite(rating)) || (weighted && !isfinite(weight)))
			{
				rows->skipped_nonfinite++;
				continue;
			}
			if (weighted && !(weight > 0.0))
			{
				rows->skipped_weight++;
				continue;
			}
			ui = dict_index(users, &u, add_keys, "user");
			ii = dict_index(items, &i, add_keys, "item");
			if (ui < 0 || ii < 0)
			{
				rows->unknown++;
				continue;
			}
			if (src->rating_column)
				cls = rating >= src->positive_threshold ? BPR_CLASS_LIKED :
					rating <= src->negative_threshold ? BPR_CLASS_DISLIKED : BPR_CLASS_NEUTRAL;
			c = rows->n / BPR_ROWS_PER_CHUNK;
			off = rows->n % BPR_ROWS_PER_CHUNK;
			if (c == rows->n_chunks)
				add_chunk(rows, alloc, weighted);
			rows->user[c][off] = ui;
			rows->item[c][off] = ii;
			rows->cls[c][off] = cls;
			if (weighted)
				rows->weight[c][off] = (float) Min(weight, FLT_MAX);
			rows->n++;
		}
	}
}

/* Renumbers the rows' indices through permutations (NULL: unchanged) */
void
bpr_rows_remap(BprRows *rows, const int32 *user_perm, const int32 *item_perm)
{
	for (int64 r = 0; r < rows->n; r++)
	{
		int64		c = r / BPR_ROWS_PER_CHUNK,
					off = r % BPR_ROWS_PER_CHUNK;

		if ((r & 0xFFFF) == 0)
			CHECK_FOR_INTERRUPTS();
		if (user_perm)
			rows->user[c][off] = user_perm[rows->user[c][off]];
		if (item_perm)
			rows->item[c][off] = item_perm[rows->item[c][off]];
	}
}

/* Gives the rows' chunks back to the allocator */
void
bpr_rows_free(BprRows *rows, BprPgAlloc *alloc)
{
	for (int32 c = 0; c < rows->n_chunks; c++)
	{
		bpr_free_array(&alloc->base, rows->user[c], BPR_ROWS_PER_CHUNK, sizeof(int32));
		bpr_free_array(&alloc->base, rows->item[c], BPR_ROWS_PER_CHUNK, sizeof(int32));
		bpr_free_array(&alloc->base, rows->cls[c], BPR_ROWS_PER_CHUNK, sizeof(uint8));
		if (rows->weight[c])
			bpr_free_array(&alloc->base, rows->weight[c], BPR_ROWS_PER_CHUNK, sizeof(float));
	}
	rows->n_chunks = 0;
	rows->n = 0;
}

/* Swaps entries a and b of a list's parallel arrays */
static inline void
entries_swap(int32 *items, uint8 *cls, float *weight, int64 a, int64 b)
{
	int32		ti = items[a];
	uint8		tc = cls[a];

	items[a] = items[b];
	items[b] = ti;
	cls[a] = cls[b];
	cls[b] = tc;
	if (weight)
	{
		float		tw = weight[a];

		weight[a] = weight[b];
		weight[b] = tw;
	}
}

/* Moves entry i down the max-heap (by item) of n entries */
static void
entries_sift(int32 *items, uint8 *cls, float *weight, int64 n, int64 i)
{
	for (;;)
	{
		int64		c = 2 * i + 1;

		if (c >= n)
			return;
		if (c + 1 < n && items[c + 1] > items[c])
			c++;
		if (items[i] >= items[c])
			return;
		entries_swap(items, cls, weight, i, c);
		i = c;
	}
}

/* Heap-sorts one user's list by item (in place, no memory) */
static void
entries_sort(int32 *items, uint8 *cls, float *weight, int64 n)
{
	for (int64 i = n / 2; i-- > 0;)
		entries_sift(items, cls, weight, n, i);
	for (int64 end = n - 1; end > 0; end--)
	{
		entries_swap(items, cls, weight, 0, end);
		entries_sift(items, cls, weight, end, 0);
	}
}

/* Groups rows into per-user lists sorted by item; repeats keep the highest class, weights add up */
void
bpr_user_lists_build(const BprRows *rows, int32 n_users, BprPgAlloc *alloc, BprUserLists *lists)
{
	bool		weighted = rows->n_chunks > 0 && rows->weight[0] != NULL;
	int64	   *fill;
	int64		kept = 0;

	memset(lists, 0, sizeof(*lists));
	lists->n_users = n_users;
	lists->ptr = bpr_pg_alloc(alloc, (size_t) n_users + 1, sizeof(int64), "user lists");
	lists->cap = Max(rows->n, 1);
	lists->items = bpr_pg_alloc(alloc, Max(rows->n, 1), sizeof(int32), "user lists");
	lists->cls = bpr_pg_alloc(alloc, Max(rows->n, 1), sizeof(uint8), "user lists");
	lists->weight = weighted ? bpr_pg_alloc(alloc, Max(rows->n, 1), sizeof(float), "user lists") : NULL;

	/* counting sort by user */
	for (int64 r = 0; r < rows->n; r++)
		lists->ptr[rows->user[r / BPR_ROWS_PER_CHUNK][r % BPR_ROWS_PER_CHUNK] + 1]++;
	for (int32 u = 0; u < n_users; u++)
		lists->ptr[u + 1] += lists->ptr[u];
	fill = bpr_pg_alloc(alloc, (size_t) n_users + 1, sizeof(int64), "user lists");
	memcpy(fill, lists->ptr, sizeof(int64) * ((size_t) n_users + 1));
	for (int64 r = 0; r < rows->n; r++)
	{
		int64		c = r / BPR_ROWS_PER_CHUNK,
					off = r % BPR_ROWS_PER_CHUNK;
		int64		p = fill[rows->user[c][off]]++;

		if ((r & 0xFFFF) == 0)
			CHECK_FOR_INTERRUPTS();
		lists->items[p] = rows->item[c][off];
		lists->cls[p] = rows->cls[c][off];
		if (weighted)
			lists->weight[p] = rows->weight[c][off];
	}
	bpr_free_array(&alloc->base, fill, (size_t) n_users + 1, sizeof(int64));

	/* sort each list by item and fold repeats, compacting towards the front */
	for (int32 u = 0; u < n_users; u++)
	{
		int64		b = lists->ptr[u],
					e = lists->ptr[u + 1];

		if ((u & 1023) == 0)
			CHECK_FOR_INTERRUPTS();
		entries_sort(lists->items + b, lists->cls + b, weighted ? lists->weight + b : NULL, e - b);
		lists->ptr[u] = kept;
		for (int64 p = b; p < e; p++)
		{
			if (p > b && lists->items[p] == lists->items[kept - 1])
			{
				lists->cls[kept - 1] = Max(lists->cls[kept - 1], lists->cls[p]);
				if (weighted)
					lists->weight[kept - 1] = Min(lists->weight[kept - 1] + lists->weight[p], FLT_MAX);
				lists->duplicates++;
				continue;
			}
			lists->items[kept] = lists->items[p];
			lists->cls[kept] = lists->cls[p];
			if (weighted)
				lists->weight[kept] = lists->weight[p];
			kept++;
		}
	}
	lists->ptr[n_users] = kept;
}

/* Fingerprint of a user's list: an order-free hash of (item, class, weight) */
uint64
bpr_user_fingerprint(const BprUserLists *lists, int32 user, const uint64 *item_hashes)
{
	uint64		sum = 0;

	for (int64 p = lists->ptr[user]; p < lists->ptr[user + 1]; p++)
	{
		uint64		h = item_hashes[lists->items[p]] ^ ((uint64) lists->cls[p] << 56);
		uint32		wbits = 0;

		if (lists->weight)
			memcpy(&wbits, &lists->weight[p], sizeof(wbits));
		/* a sum of mixed terms: the same whatever the order of the rows */
		sum += hash_bytes_uint32_extended(wbits, h);
	}
	return sum;
}

/* Fills a closed dictionary with a key set's keys, in order (index = position) */
void
bpr_keydict_from_set(BprKeyDict *dict, const BprKeySet *keys)
{
	for (int32 i = 0; i < keys->n; i++)
	{
		if ((i & 0xFFFF) == 0)
			CHECK_FOR_INTERRUPTS();
		if (keys->is_int)
			(void) bpr_keydict_int(dict, keys->ints[i], true);
		else
		{
			size_t		len;
			const char *b = bpr_keyset_bytes_at(keys, i, &len);

			(void) bpr_keydict_bytes(dict, b, len, true);
		}
	}
}

/* Hashes of the keys of a dictionary by index, or of a key set (dict NULL) by position */
uint64 *
bpr_key_hashes(const BprKeyDict *dict, const BprKeySet *keys, BprPgAlloc *alloc)
{
	int32		n = dict ? dict->n : keys->n;
	uint64	   *h = bpr_pg_alloc(alloc, Max(n, 1), sizeof(uint64), "key hashes");

	for (int32 i = 0; i < n; i++)
	{
		BprKey		k;

		k.is_int = dict ? dict->is_int : keys->is_int;
		if (k.is_int)
			k.ival = dict ? dict->ints[i] : keys->ints[i];
		else if (dict)
		{
			k.bytes = dict->bytes + dict->offsets[i];
			k.len = (size_t) (dict->offsets[i + 1] - dict->offsets[i]);
		}
		else
			k.bytes = bpr_keyset_bytes_at(keys, i, &k.len);
		h[i] = bpr_key_hash(&k);
	}
	return h;
}

/* Gives per-user lists back to the allocator */
void
bpr_user_lists_free(BprUserLists *lists, BprPgAlloc *alloc)
{
	bpr_free_array(&alloc->base, lists->ptr, (size_t) lists->n_users + 1, sizeof(int64));
	bpr_free_array(&alloc->base, lists->items, lists->cap, sizeof(int32));
	bpr_free_array(&alloc->base, lists->cls, lists->cap, sizeof(uint8));
	if (lists->weight)
		bpr_free_array(&alloc->base, lists->weight, lists->cap, sizeof(float));
	memset(lists, 0, sizeof(*lists));
}

/* Splits the lists into liked, disliked and rated items (the sampler's view) */
static void
split_lists(BprDataset *ds, BprUserLists *lists, bool implicit, BprPgAlloc *alloc)
{
	BprInteractions *in = &ds->inter;
	int32		n = lists->n_users;
	int64		m = lists->ptr[n];
	int64	   *pos_ptr,
			   *neg_ptr;
	int32	   *pos,
			   *neg;
	int64		np = 0,
				nn = 0;

	in->n_users = n;
	in->n_items = ds->items.n;
	in->rated_ptr = lists->ptr;
	in->rated = lists->items;
	ds->n_ratings = m;
	if (implicit)
	{
		/* every rated item is liked: the liked lists are the rated ones */
		in->pos_ptr = lists->ptr;
		in->pos = lists->items;
		in->pos_weight = lists->weight;
		in->neg_ptr = bpr_pg_alloc(alloc, (size_t) n + 1, sizeof(int64), "negatives");
		in->neg = bpr_pg_alloc(alloc, 1, sizeof(int32), "negatives");
		ds->n_positives = m;
		return;
	}
	for (int64 p = 0; p < m; p++)
	{
		np += lists->cls[p] == BPR_CLASS_LIKED;
		nn += lists->cls[p] == BPR_CLASS_DISLIKED;
	}
	pos_ptr = bpr_pg_alloc(alloc, (size_t) n + 1, sizeof(int64), "positives");
	neg_ptr = bpr_pg_alloc(alloc, (size_t) n + 1, sizeof(int64), "negatives");
	pos = bpr_pg_alloc(alloc, Max(np, 1), sizeof(int32), "positives");
	neg = bpr_pg_alloc(alloc, Max(nn, 1), sizeof(int32), "negatives");
	np = nn = 0;
	for (int32 u = 0; u < n; u++)
	{
		for (int64 p = lists->ptr[u]; p < lists->ptr[u + 1]; p++)
		{
			if (lists->cls[p] == BPR_CLASS_LIKED)
				pos[np++] = lists->items[p];
			else if (lists->cls[p] == BPR_CLASS_DISLIKED)
				neg[nn++] = lists->items[p];
		}
		pos_ptr[u + 1] = np;
		neg_ptr[u + 1] = nn;
	}
	in->pos_ptr = pos_ptr;
	in->pos = pos;
	in->neg_ptr = neg_ptr;
	in->neg = neg;
	ds->n_positives = np;
	ds->n_negatives = nn;
}

/* Reads a training set: keys sorted, rows grouped, liked and disliked items split */
void
bpr_dataset_read(const BprRowSource *src, BprPgAlloc *alloc, BprDataset *ds)
{
	BprKeyDict	users,
				items;
	BprRows		rows;
	BprUserLists lists;
	int32	   *user_perm,
			   *item_perm;
	uint64	   *item_hashes;

	memset(ds, 0, sizeof(*ds));
	ds->user_type = src->user_type;
	ds->item_type = src->item_type;
	bpr_keydict_init(&users, bpr_key_type_is_int(src->user_type), BPR_MAX_ENTITIES, &alloc->base);
	bpr_keydict_init(&items, bpr_key_type_is_int(src->item_type), BPR_MAX_ENTITIES, &alloc->base);
	bpr_read_rows(src, &users, &items, true, alloc, &rows);
	ds->skipped_null = rows.skipped_null;
	ds->skipped_nonfinite = rows.skipped_nonfinite;
	ds->skipped_weight = rows.skipped_weight;
	if (rows.n == 0)
		return;

	/* number users and items in key order */
	user_perm = bpr_pg_alloc(alloc, users.n, sizeof(int32), "user order");
	item_perm = bpr_pg_alloc(alloc, items.n, sizeof(int32), "item order");
	bpr_keydict_sort(&users, &ds->users, user_perm);
	bpr_keydict_sort(&items, &ds->items, item_perm);
	bpr_rows_remap(&rows, user_perm, item_perm);
	bpr_free_array(&alloc->base, user_perm, users.n, sizeof(int32));
	bpr_free_array(&alloc->base, item_perm, items.n, sizeof(int32));
	bpr_keydict_free(&users);
	bpr_keydict_free(&items);

	bpr_user_lists_build(&rows, ds->users.n, alloc, &lists);
	bpr_rows_free(&rows, alloc);
	ds->duplicates = lists.duplicates;

	/* fingerprints of each user's ratings, for fold-in to find changed users */
	item_hashes = bpr_key_hashes(NULL, &ds->items, alloc);
	ds->fingerprints = bpr_pg_alloc(alloc, ds->users.n, sizeof(uint64), "fingerprints");
	for (int32 u = 0; u < ds->users.n; u++)
		ds->fingerprints[u] = bpr_user_fingerprint(&lists, u, item_hashes);
	bpr_free_array(&alloc->base, item_hashes, Max(ds->items.n, 1), sizeof(uint64));

	split_lists(ds, &lists, src->rating_column == NULL, alloc);
	if (src->rating_column != NULL)
		bpr_free_array(&alloc->base, lists.cls, lists.cap, sizeof(uint8));
}
