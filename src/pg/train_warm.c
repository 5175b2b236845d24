/*
 * train_warm.c - bpr_train(warm_start => true): a training started from the
 * model's active version
 */
#include "postgres.h"

#include "miscadmin.h"
#include "utils/memutils.h"

#include "core/warm_start.h"
#include "keys.h"
#include "store.h"
#include "train_warm.h"

/* One side of the active version: its registry facts, encoding and feature tower */
typedef struct OldSide
{
	const BprModelInfo *info;
	bool		user_side;
	BprEncoding enc;
	BprTower   *tower;			/* NULL: no stored feature tower */
} OldSide;

/* The index among fields of its kind of field f of enc */
static int
kind_index(const BprEncoding *enc, int f)
{
	int			k = 0;

	for (int i = 0; i < f; i++)
		k += enc->fields[i].kind == enc->fields[f].kind;
	return k;
}

/* The field of enc with this column and kind, or -1 */
static int
find_field(const BprEncoding *enc, const char *column, BprFieldKind kind)
{
	for (int f = 0; f < enc->n_fields; f++)
		if (enc->fields[f].kind == kind && strcmp(enc->fields[f].column, column) == 0)
			return f;
	return -1;
}

/* True when the dense layers of both towers read the same inputs in the same layout */
static bool
same_layout(const BprEncoding *a, const BprEncoding *b, const BprTower *ta, const BprTower *tb)
{
	if (a->n_fields != b->n_fields || ta->spec.field_dim != tb->spec.field_dim ||
		ta->spec.n_hidden != tb->spec.n_hidden || ta->spec.out_dim != tb->spec.out_dim ||
		ta->spec.output != tb->spec.output)
		return false;
	for (int f = 0; f < a->n_fields; f++)
		if (a->fields[f].kind != b->fields[f].kind ||
			strcmp(a->fields[f].column, b->fields[f].column) != 0)
			return false;
	for (int l = 0; l < ta->spec.n_hidden; l++)
		if (ta->spec.hidden[l] != tb->spec.hidden[l])
			return false;
	return true;
}

/* Reads the active version's encoding and feature tower of a side */
static void
load_old_side(const BprModelInfo *info, bool user_side, BprPgAlloc *scratch, OldSide *old)
{
	const char *name = user_side ? "user" : "item";
	BprTowerSpec spec;

	memset(old, 0, sizeof(*old));
	old->info = info;
	old->user_side = user_side;
	old->enc.relid = InvalidOid;	/* column types are not needed */
	bpr_store_load_encoding(info, name, &old->enc, CurrentMemoryContext);
	if (old->enc.n_fields == 0 || !bpr_store_tower_spec(info, &old->enc, user_side, &spec))
		return;
	old->tower = bpr_tower_create(&spec, 1, false, &scratch->base);
	if (!bpr_store_load_parameters(info, name, old->tower))
		old->tower = NULL;
}

/* Carries the feature embeddings and dense layers of old over to tower; returns the tensors */
static int32
carry_tensors(const OldSide *old, const BprEncoding *enc, BprTower *tower)
{
	int32		carried = 0;
	bool		dense;

	if (old->tower == NULL)
		return 0;
	/* feature embeddings: row by row through the vocabularies */
	for (int f = 0; f < enc->n_fields; f++)
	{
		const BprField *field = &enc->fields[f];
		int			of;
		char		name[32];
		int32		k,
					ok;
		int32	   *map;

		if (field->kind == BPR_FIELD_NUMERIC)
			continue;
		of = find_field(&old->enc, field->column, field->kind);
		if (of < 0)
			continue;
		snprintf(name, sizeof(name), "%s%d", field->kind == BPR_FIELD_CATEGORICAL ? "cat" : "multi",
				 kind_index(enc, f));
		k = bpr_tower_find(tower, name);
		snprintf(name, sizeof(name), "%s%d", field->kind == BPR_FIELD_CATEGORICAL ? "cat" : "multi",
				 kind_index(&old->enc, of));
		ok = bpr_tower_find(old->tower, name);
		if (k < 0 || ok < 0)
			continue;
		map = palloc(sizeof(int32) * (field->n_vocab + 1));
		map[0] = 0;				/* missing stays missing */
		for (int32 v = 0; v < field->n_vocab; v++)
		{
			int32		code = bpr_field_vocab_code(&old->enc.fields[of], field->vocab[v],
													strlen(field->vocab[v]));

			map[v + 1] = code > 0 ? code : -1;	/* a new category starts fresh */
		}
		if (bpr_warm_copy_rows(&tower->tensors[k], &old->tower->tensors[ok], map) > 0)
			carried++;
		pfree(map);
	}
	/* dense layers: whole, when the input layout and shapes are unchanged */
	dense = same_layout(enc, &old->enc, tower, old->tower);
	for (int32 i = 0; dense && i < tower->n_tensors; i++)
	{
		BprTensor  *t = &tower->tensors[i];
		int32		ok;

		if (strncmp(t->name, "dense", 5) != 0)
			continue;
		ok = bpr_tower_find(old->tower, t->name);
		if (ok >= 0 && bpr_warm_copy_tensor(t, &old->tower->tensors[ok]))
			carried++;
	}
	return carried;
}

/* Sets the id rows of the side's known entities from their stored vectors; returns how many */
static int32
carry_ids(const OldSide *old, const BprKeySet *keys, Oid key_type, const BprFeatures *f,
		  BprTower *tower, BprPgAlloc *scratch)
{
	const BprModelInfo *info = old->info;
	const char *name = old->user_side ? "user" : "item";
	BprSideArrays arrays;
	BprKeySet	old_keys;
	int64		key_bytes;
	int64		n;
	int32	   *prev_row;
	int32		set;

	if (bpr_tower_find(tower, "ids") < 0 || key_type != (old->user_side ? info->user_key_type :
														 info->item_key_type))
		return 0;
	n = bpr_store_count_vectors(info, name, &key_bytes);
	if (n == 0 || n > PG_INT32_MAX)
		return 0;
	memset(&arrays, 0, sizeof(arrays));
	memset(&old_keys, 0, sizeof(old_keys));
	old_keys.is_int = bpr_key_type_is_int(key_type);
	if (old_keys.is_int)
		arrays.ints = bpr_pg_alloc(scratch, n, sizeof(int64), "keys");
	else
	{
		arrays.offsets = bpr_pg_alloc(scratch, n + 1, sizeof(uint64), "keys");
		arrays.bytes = bpr_pg_alloc(scratch, Max(key_bytes, 1), 1, "keys");
	}
	arrays.vectors = bpr_pg_alloc(scratch, n, sizeof(float) * info->vec_dim, "vectors");
	arrays.cold = bpr_pg_alloc(scratch, n, 1, "vectors");
	n = bpr_store_read_vectors(info, name, n, &arrays);
	old_keys.n = (int32) n;
	old_keys.ints = arrays.ints;
	old_keys.offsets = arrays.offsets;
	old_keys.bytes = arrays.bytes;

	/* each entity's stored vector, if it has one trained on its interactions */
	prev_row = bpr_pg_alloc(scratch, Max(keys->n, 1), sizeof(int32), "vectors");
	for (int32 r = 0; r < keys->n; r++)
	{
		int64		pos;

		if (keys->is_int)
			pos = bpr_keyset_find_int(&old_keys, keys->ints[r]);
		else
		{
			size_t		len;
			const char *b = bpr_keyset_bytes_at(keys, r, &len);

			pos = bpr_keyset_find_bytes(&old_keys, b, len);
		}
		prev_row[r] = pos >= 0 && !arrays.cold[pos] ? (int32) pos : -1;
		if ((r & 0xFFFF) == 0)
			CHECK_FOR_INTERRUPTS();
	}
	set = bpr_warm_ids(tower, f, keys->n, prev_row, arrays.vectors, info->vec_dim,
					   bpr_pg_alloc(scratch, tower->max_batch, sizeof(int32), "vectors"),
					   bpr_pg_alloc(scratch, tower->max_batch, sizeof(float) * tower->spec.out_dim,
									"vectors"),
					   bpr_check_interrupts, NULL);
	return set;
}

/* Starts the trainer's towers from the model's active version */
void
bpr_warm_start(const char *model, const BprDataset *ds, const BprEncoding *uenc,
			   const BprEncoding *ienc, BprTrainer *t, BprPgAlloc *alloc, BprWarmReport *report)
{
	MemoryContext cxt = AllocSetContextCreate(CurrentMemoryContext, "bpr warm start",
											  ALLOCSET_DEFAULT_SIZES);
	MemoryContext old_cxt = MemoryContextSwitchTo(cxt);
	BprPgAlloc	scratch;
	BprModelInfo info;
	OldSide		old_users,
				old_items;
	bool		same_shape;

	memset(report, 0, sizeof(*report));
	for (int32 i = 0; i < t->user->n_tensors; i++)
		report->n_tensors += strcmp(t->user->tensors[i].name, "ids") != 0;
	for (int32 i = 0; i < t->item->n_tensors; i++)
		report->n_tensors += strcmp(t->item->tensors[i].name, "ids") != 0;
	if (!bpr_store_model_info(model, 0, &info, cxt))
	{
		ereport(NOTICE,
				(errmsg("model \"%s\" has no active version: training starts fresh", model)));
		MemoryContextSwitchTo(old_cxt);
		MemoryContextDelete(cxt);
		return;
	}
	bpr_pg_alloc_init_scratch(&scratch, alloc, cxt);
	report->version = info.version;
	load_old_side(&info, true, &scratch, &old_users);
	load_old_side(&info, false, &scratch, &old_items);
	report->tensors = carry_tensors(&old_users, uenc, t->user) +
		carry_tensors(&old_items, ienc, t->item);

	/* vectors carry over when they have the new towers' width */
	same_shape = info.dim == t->cfg.dim && info.bias == t->cfg.bias;
	if (same_shape)
	{
		report->users = carry_ids(&old_users, &ds->users, ds->user_type, t->user_features,
								  t->user, &scratch);
		report->items = carry_ids(&old_items, &ds->items, ds->item_type, t->item_features,
								  t->item, &scratch);
	}
	ereport(NOTICE,
			(errmsg("warm start from version %d of model \"%s\": %d of %d users and %d of %d items keep their vectors, %d of %d tensors carried over",
					info.version, model, report->users, ds->users.n, report->items, ds->items.n,
					report->tensors, report->n_tensors),
			 !same_shape ? errdetail("Version %d has vectors of dim %d%s; this training's have dim %d%s.",
									 info.version, info.dim, info.bias ? " with an item bias" : "",
									 t->cfg.dim, t->cfg.bias ? " with an item bias" : "") : 0));
	bpr_pg_alloc_reset(&scratch);
	MemoryContextSwitchTo(old_cxt);
	MemoryContextDelete(cxt);
}

/* The report as a JSON object */
char *
bpr_warm_report_json(const BprWarmReport *report)
{
	return psprintf("{\"version\": %d, \"users\": %d, \"items\": %d, \"tensors\": %d, \"of_tensors\": %d}",
					report->version, report->users, report->items, report->tensors,
					report->n_tensors);
}
