/*
 * side_cache.c - the memory of a cached model's sides: shared copies, private copies, single users
 *
 * A whole side lives in one block, shared or private: a header, then the keys
 * (int64 values, or offsets and bytes), the vectors and the cold flags.  The
 * block holds offsets, not pointers, so every backend maps it wherever its
 * shared memory lands.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/namespace.h"
#include "miscadmin.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"

#include "core/vecmath.h"
#include "model_cache.h"

/* Marks a block as a side laid out by this file */
#define SIDE_MAGIC 0x42505253


/* Header of a side's block; arrays follow at the offsets */
typedef struct SideBlock
{
	uint32		magic;
	int32		n;
	int32		vec_dim;
	int32		n_cold;
	bool		is_int;
	Size		keys_off;		/* int64 keys, or n + 1 uint64 offsets */
	Size		bytes_off;		/* text keys' bytes */
	Size		vectors_off;
	Size		cold_off;
	Size		inv_norm_off;	/* 1 / |v[0..dim)|, 0 for a zero vector (cosine similarity) */
	Size		size;
} SideBlock;

/* One memoised user vector */
typedef struct MemoEntry
{
	bool		used;
	bool		found;
	BprKey		key;			/* bytes copied into the memo's context */
	float	   *vector;
} MemoEntry;

struct BprUserMemo
{
	int32		n;
	MemoEntry	entries[BPR_MEMO_USERS * 2];
};

/* Lays out a block for n entities; returns its size (ERROR on overflow) */
static Size
block_layout(SideBlock *h, int64 n, int32 vec_dim, bool is_int, int64 key_bytes)
{
	Size		off = MAXALIGN(sizeof(SideBlock));

	if (n > PG_INT32_MAX / 2)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("a model side of " INT64_FORMAT " entities is too large", n)));
	memset(h, 0, sizeof(*h));
	h->magic = SIDE_MAGIC;
	h->n = (int32) n;
	h->vec_dim = vec_dim;
	h->is_int = is_int;
	h->keys_off = off;
	off = add_size(off, MAXALIGN(mul_size(is_int ? (Size) n : (Size) n + 1, sizeof(int64))));
	h->bytes_off = off;
	off = add_size(off, MAXALIGN(is_int ? 0 : (Size) key_bytes));
	h->vectors_off = off;
	off = add_size(off, MAXALIGN(mul_size(mul_size((Size) n, (Size) vec_dim), sizeof(float))));
	h->cold_off = off;
	off = add_size(off, MAXALIGN((Size) n));
	h->inv_norm_off = off;
	off = add_size(off, MAXALIGN(mul_size((Size) n, sizeof(float))));
	h->size = off;
	return off;
}

/* Points a side at the arrays of its block */
static void
side_from_block(const void *block, BprSide *side)
{
	const SideBlock *h = block;
	const char *base = block;

	if (h->magic != SIDE_MAGIC)
		elog(ERROR, "bpr side block is damaged");
	memset(side, 0, sizeof(*side));
	side->n = h->n;
	side->vec_dim = h->vec_dim;
	side->n_cold = h->n_cold;
	side->keys.n = h->n;
	side->keys.is_int = h->is_int;
	if (h->is_int)
		side->keys.ints = (const int64_t *) (base + h->keys_off);
	else
	{
		side->keys.offsets = (const uint64_t *) (base + h->keys_off);
		side->keys.bytes = base + h->bytes_off;
	}
	side->vectors = (const float *) (base + h->vectors_off);
	side->cold = (const uint8 *) (base + h->cold_off);
	side->inv_norms = (const float *) (base + h->inv_norm_off);
}

/* Reads a side from the tables into its block (laid out by block_layout) */
static void
fill_block(const BprModelInfo *info, const char *side_name, void *block)
{
	float	   *inv_norms;
	SideBlock  *h = block;
	char	   *base = block;
	BprSideArrays arrays;
	int64		read;
	int32		n_cold = 0;

	memset(&arrays, 0, sizeof(arrays));
	if (h->is_int)
		arrays.ints = (int64 *) (base + h->keys_off);
	else
	{
		arrays.offsets = (uint64 *) (base + h->keys_off);
		arrays.bytes = base + h->bytes_off;
	}
	arrays.vectors = (float *) (base + h->vectors_off);
	arrays.cold = (uint8 *) (base + h->cold_off);
	read = bpr_store_read_vectors(info, side_name, h->n, &arrays);
	if (read != h->n)
		ereport(ERROR,
				(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
				 errmsg("the vectors of model \"%s\" version %d changed while they were read",
						info->model, info->version)));
	inv_norms = (float *) (base + h->inv_norm_off);
	for (int32 i = 0; i < h->n; i++)
	{
		const float *v = arrays.vectors + (size_t) i * h->vec_dim;
		double		norm = sqrt(bpr_dot_f64(v, v, info->dim));

		n_cold += arrays.cold[i] != 0;
		inv_norms[i] = norm > 0.0 ? (float) (1.0 / norm) : 0.0f;
		if ((i & 0xFFFF) == 0)
			CHECK_FOR_INTERRUPTS();
	}
	h->n_cold = n_cold;
}

/* Loads a whole side into a shared copy or private memory of context */
void
bpr_side_load(const BprModelInfo *info, bool user_side, MemoryContext context, BprCachedSide *side)
{
	const char *side_name = user_side ? "user" : "item";
	Oid			key_type = user_side ? info->user_key_type : info->item_key_type;
	BprSharedKey key;
	BprSharedResult found = BPR_SHARED_NONE;
	BprSharedRef ref = {-1, 0};
	void	   *block = NULL;
	SideBlock	layout;
	int64		key_bytes;
	int64		n;

	/* only committed active versions are shared: others may still roll back */
	if (info->active && info->committed && strlen(info->model) <= BPR_MODEL_NAME_MAX)
	{
		memset(&key, 0, sizeof(key));
		key.dboid = MyDatabaseId;
		key.models_relid = get_relname_relid("models", get_namespace_oid("bpr", false));
		strlcpy(key.model, info->model, sizeof(key.model));
		key.version = info->version;
		key.revision = info->revision;
		key.created = info->created;
		key.side = user_side ? 0 : 1;
		found = bpr_shared_acquire(&key, &block, &ref);
	}
	if (found == BPR_SHARED_FOUND)
	{
		side_from_block(block, &side->data);
		side->ref = ref;
		side->loaded = true;
		return;
	}

	n = bpr_store_count_vectors(info, side_name, &key_bytes);
	block_layout(&layout, n, info->vec_dim, bpr_key_type_is_int(key_type), key_bytes);
	if (found == BPR_SHARED_LOAD)
	{
		block = bpr_shared_allocate(&ref, layout.size);
		if (block == NULL)
		{
			/* the pool has no room: this backend keeps its own copy */
			bpr_shared_abandon(&ref);
			found = BPR_SHARED_NONE;
		}
		else
		{
			PG_TRY();
			{
				memcpy(block, &layout, sizeof(layout));
				fill_block(info, side_name, block);
			}
			PG_CATCH();
			{
				bpr_shared_abandon(&ref);
				PG_RE_THROW();
			}
			PG_END_TRY();
			bpr_shared_loaded(&ref);
			side->ref = ref;
		}
	}
	if (found != BPR_SHARED_LOAD)
	{
		block = MemoryContextAllocExtended(context, layout.size, MCXT_ALLOC_HUGE);
		memcpy(block, &layout, sizeof(layout));
		fill_block(info, side_name, block);
	}
	side_from_block(block, &side->data);
	side->loaded = true;
}

/* Releases a side's shared copy (its private memory goes with the entry) */
void
bpr_side_release(BprCachedSide *side)
{
	if (side->ref.slot >= 0)
		bpr_shared_release(&side->ref);
	side->ref.slot = -1;
	side->loaded = false;
}

/* The memo slot of a key: the one holding it, or the empty one where it goes */
static MemoEntry *
memo_slot(BprUserMemo *memo, const BprKey *key)
{
	uint32		mask = lengthof(memo->entries) - 1;
	uint32		i = (uint32) bpr_key_hash(key) & mask;

	for (;; i = (i + 1) & mask)
	{
		MemoEntry  *e = &memo->entries[i];

		if (!e->used)
			return e;
		if (e->key.is_int ? e->key.ival == key->ival :
			(e->key.len == key->len && memcmp(e->key.bytes, key->bytes, key->len) == 0))
			return e;
	}
}

/* A stored user vector looked up alone, memoised; false if the user has none */
bool
bpr_side_lookup(const BprModelInfo *info, BprCachedSide *side, MemoryContext context,
				const BprKey *key, float *out)
{
	MemoEntry  *e;
	float	   *vector;
	bool		found;
	int			level;

	if (side->memo == NULL)
		side->memo = MemoryContextAllocZero(context, sizeof(BprUserMemo));
	e = memo_slot(side->memo, key);
	if (e->used)
	{
		if (e->found)
			memcpy(out, e->vector, sizeof(float) * info->vec_dim);
		return e->found;
	}
	vector = MemoryContextAlloc(context, sizeof(float) * info->vec_dim);
	level = bpr_pin_search_path();
	found = bpr_store_read_vector(info, "user", key, vector, NULL);
	bpr_unpin_search_path(level);
	if (side->memo->n >= BPR_MEMO_USERS)
		return found ? (memcpy(out, vector, sizeof(float) * info->vec_dim), true) : false;
	e->used = true;
	e->found = found;
	e->key = *key;
	if (!key->is_int)
	{
		char	   *copy = MemoryContextAlloc(context, key->len + 1);

		memcpy(copy, key->bytes, key->len);
		copy[key->len] = '\0';
		e->key.bytes = copy;
	}
	e->vector = vector;
	side->memo->n++;
	side->lookups++;
	if (found)
		memcpy(out, vector, sizeof(float) * info->vec_dim);
	return found;
}
