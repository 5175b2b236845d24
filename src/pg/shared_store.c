/*
 * shared_store.c - one copy per server of the vectors of active model versions
 */
#include "postgres.h"

#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "storage/condition_variable.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "utils/builtins.h"
#include "utils/dsa.h"
#include "utils/memutils.h"

#include "guc.h"
#include "shared_store.h"

/* Copies the registry can hold at once */
#define BPR_SHARED_SLOTS 128

/* Most pins one backend holds at once */
#define BPR_MAX_PINS 256

typedef enum SlotState
{
	SLOT_FREE = 0,
	SLOT_LOADING,
	SLOT_READY
} SlotState;

/* One shared copy */
typedef struct SharedSlot
{
	SlotState	state;
	uint32		generation;		/* bumped whenever the slot is reused */
	BprSharedKey key;
	dsa_pointer chunk;
	Size		size;
	int32		pins;			/* backends holding the copy (the loader included) */
	bool		superseded;		/* another version of the model came: free once unpinned */
	int			loader_pid;
	TimestampTz last_used;
} SharedSlot;

/* The registry, in the main shared memory segment */
typedef struct SharedRegistry
{
	LWLock	   *lock;
	int			tranche;		/* the DSA area's LWLock tranche */
	dsa_handle	area_handle;	/* DSM_HANDLE_INVALID until the first copy */
	Size		bytes;			/* of all copies */
	ConditionVariable loaded;	/* a loading copy became ready or went away */
	SharedSlot	slots[BPR_SHARED_SLOTS];
} SharedRegistry;

static SharedRegistry *registry = NULL;

PG_FUNCTION_INFO_V1(bpr_shared_models);
static dsa_area *area = NULL;

/* This backend's pins, released at exit */
static BprSharedRef my_pins[BPR_MAX_PINS];
static int	n_my_pins = 0;
static bool exit_hook_set = false;

/* Shared memory this module needs (from the shmem request hook) */
Size
bpr_shared_shmem_size(void)
{
	return MAXALIGN(sizeof(SharedRegistry));
}

/* Creates or attaches the registry (from the shmem startup hook) */
void
bpr_shared_shmem_init(void)
{
	bool		found;

	registry = ShmemInitStruct("bpr shared vectors", sizeof(SharedRegistry), &found);
	if (!found)
	{
		memset(registry, 0, sizeof(SharedRegistry));
		registry->lock = &(GetNamedLWLockTranche("bpr"))->lock;
		registry->tranche = LWLockNewTrancheId();
		registry->area_handle = DSM_HANDLE_INVALID;
		ConditionVariableInit(&registry->loaded);
	}
}

/* True when two keys name the same copy */
static bool
key_equal(const BprSharedKey *a, const BprSharedKey *b)
{
	return a->dboid == b->dboid && a->models_relid == b->models_relid &&
		a->version == b->version && a->revision == b->revision &&
		a->created == b->created && a->side == b->side && strcmp(a->model, b->model) == 0;
}

/* True when two keys are of the same model (any version, either side) */
static bool
same_model(const BprSharedKey *a, const BprSharedKey *b)
{
	return a->dboid == b->dboid && a->models_relid == b->models_relid &&
		strcmp(a->model, b->model) == 0;
}

/* Maps the DSA area in this backend, creating it on first use (lock held exclusively) */
static void
attach_area(void)
{
	MemoryContext old;

	if (area != NULL)
		return;
	LWLockRegisterTranche(registry->tranche, "bpr vectors");
	old = MemoryContextSwitchTo(TopMemoryContext);
	if (registry->area_handle == DSM_HANDLE_INVALID)
	{
		area = dsa_create(registry->tranche);
		dsa_pin(area);
		registry->area_handle = dsa_get_handle(area);
	}
	else
		area = dsa_attach(registry->area_handle);
	dsa_pin_mapping(area);
	MemoryContextSwitchTo(old);
}

/* Frees a slot's copy and empties it (lock held exclusively) */
static void
free_slot(SharedSlot *s)
{
	if (s->chunk != InvalidDsaPointer)
		dsa_free(area, s->chunk);
	registry->bytes -= s->size;
	s->chunk = InvalidDsaPointer;
	s->size = 0;
	s->state = SLOT_FREE;
	s->pins = 0;
	s->superseded = false;
	s->generation++;
}

/* The slot a ref points at, if it still does */
static SharedSlot *
ref_slot(const BprSharedRef *ref)
{
	SharedSlot *s;

	if (ref->slot < 0 || ref->slot >= BPR_SHARED_SLOTS)
		return NULL;
	s = &registry->slots[ref->slot];
	return s->generation == ref->generation ? s : NULL;
}

/* Drops one pin of a slot, freeing a superseded or abandoned copy (lock held exclusively) */
static void
unpin_slot(SharedSlot *s, bool abandon)
{
	if (s->pins > 0)
		s->pins--;
	if (abandon || (s->pins == 0 && s->superseded))
		free_slot(s);
}

/* Forgets one of this backend's pins */
static void
forget_pin(const BprSharedRef *ref)
{
	for (int i = 0; i < n_my_pins; i++)
		if (my_pins[i].slot == ref->slot && my_pins[i].generation == ref->generation)
		{
			my_pins[i] = my_pins[--n_my_pins];
			return;
		}
}

/* At backend exit: give up every pin and every copy this backend was loading */
static void
release_all(int code, Datum arg)
{
	if (registry == NULL || n_my_pins == 0)
		return;
	LWLockAcquire(registry->lock, LW_EXCLUSIVE);
	for (int i = 0; i < n_my_pins; i++)
	{
		SharedSlot *s = ref_slot(&my_pins[i]);

		if (s != NULL)
			unpin_slot(s, s->state == SLOT_LOADING);
	}
	n_my_pins = 0;
	LWLockRelease(registry->lock);
	ConditionVariableBroadcast(&registry->loaded);
}

/* Records a pin of this backend */
static void
remember_pin(const BprSharedRef *ref)
{
	if (!exit_hook_set)
	{
		before_shmem_exit(release_all, (Datum) 0);
		exit_hook_set = true;
	}
	my_pins[n_my_pins++] = *ref;
}

/* Finds the copy of key and pins it, or reserves it for this backend to load; waits while another loads */
BprSharedResult
bpr_shared_acquire(const BprSharedKey *key, void **chunk, BprSharedRef *ref)
{
	ref->slot = -1;
	*chunk = NULL;
	if (registry == NULL || bpr_shared_memory_mb == 0 || n_my_pins >= BPR_MAX_PINS)
		return BPR_SHARED_NONE;

	for (;;)
	{
		SharedSlot *free_one = NULL;
		bool		waiting = false;

		LWLockAcquire(registry->lock, LW_EXCLUSIVE);
		attach_area();
		for (int i = 0; i < BPR_SHARED_SLOTS; i++)
		{
			SharedSlot *s = &registry->slots[i];

			if (s->state == SLOT_FREE)
			{
				if (free_one == NULL)
					free_one = s;
				continue;
			}
			if (!key_equal(&s->key, key))
				continue;
			if (s->state == SLOT_LOADING)
			{
				waiting = true;
				break;
			}
			s->pins++;
			s->superseded = false;
			s->last_used = GetCurrentTimestamp();
			ref->slot = i;
			ref->generation = s->generation;
			*chunk = dsa_get_address(area, s->chunk);
			remember_pin(ref);
			LWLockRelease(registry->lock);
			return BPR_SHARED_FOUND;
		}
		if (!waiting)
		{
			if (free_one == NULL)
			{
				/* every slot taken: reuse one that nobody holds */
				for (int i = 0; i < BPR_SHARED_SLOTS && free_one == NULL; i++)
					if (registry->slots[i].state == SLOT_READY && registry->slots[i].pins == 0)
					{
						free_slot(&registry->slots[i]);
						free_one = &registry->slots[i];
					}
			}
			if (free_one == NULL)
			{
				LWLockRelease(registry->lock);
				return BPR_SHARED_NONE;
			}
			/* other versions of this model are superseded: freed once unused */
			for (int i = 0; i < BPR_SHARED_SLOTS; i++)
			{
				SharedSlot *s = &registry->slots[i];

				if (s->state == SLOT_READY && same_model(&s->key, key) &&
					(s->key.version != key->version || s->key.revision != key->revision ||
					 s->key.created != key->created))
				{
					s->superseded = true;
					if (s->pins == 0)
						free_slot(s);
				}
			}
			free_one->state = SLOT_LOADING;
			free_one->key = *key;
			free_one->chunk = InvalidDsaPointer;
			free_one->size = 0;
			free_one->pins = 1;
			free_one->superseded = false;
			free_one->loader_pid = MyProcPid;
			free_one->last_used = GetCurrentTimestamp();
			ref->slot = (int32) (free_one - registry->slots);
			ref->generation = free_one->generation;
			remember_pin(ref);
			LWLockRelease(registry->lock);
			return BPR_SHARED_LOAD;
		}
		/* another backend is loading this copy: wait for it */
		ConditionVariablePrepareToSleep(&registry->loaded);
		LWLockRelease(registry->lock);
		ConditionVariableSleep(&registry->loaded, PG_WAIT_EXTENSION);
		ConditionVariableCancelSleep();
	}
}

/* Allocates the reserved copy's memory; NULL when the pool has no room (then abandon it) */
void *
bpr_shared_allocate(BprSharedRef *ref, Size size)
{
	Size		limit = (Size) bpr_shared_memory_mb * 1024 * 1024;
	SharedSlot *s;
	dsa_pointer dp;

	LWLockAcquire(registry->lock, LW_EXCLUSIVE);
	s = ref_slot(ref);
	if (s == NULL || s->state != SLOT_LOADING)
		elog(ERROR, "bpr shared copy reservation lost");
	/* make room: evict copies nobody holds, least recently used first */
	while (registry->bytes + size > limit)
	{
		SharedSlot *lru = NULL;

		for (int i = 0; i < BPR_SHARED_SLOTS; i++)
		{
			SharedSlot *c = &registry->slots[i];

			if (c->state == SLOT_READY && c->pins == 0 &&
				(lru == NULL || c->last_used < lru->last_used))
				lru = c;
		}
		if (lru == NULL)
			break;
		free_slot(lru);
	}
	if (registry->bytes + size > limit)
	{
		LWLockRelease(registry->lock);
		return NULL;
	}
	dp = dsa_allocate_extended(area, size, DSA_ALLOC_HUGE | DSA_ALLOC_NO_OOM);
	if (dp == InvalidDsaPointer)
	{
		LWLockRelease(registry->lock);
		return NULL;
	}
	s->chunk = dp;
	s->size = size;
	registry->bytes += size;
	LWLockRelease(registry->lock);
	return dsa_get_address(area, dp);
}

/* Marks a reserved copy as loaded: other backends may use it */
void
bpr_shared_loaded(BprSharedRef *ref)
{
	SharedSlot *s;

	LWLockAcquire(registry->lock, LW_EXCLUSIVE);
	s = ref_slot(ref);
	if (s == NULL || s->state != SLOT_LOADING || s->chunk == InvalidDsaPointer)
		elog(ERROR, "bpr shared copy reservation lost");
	s->state = SLOT_READY;
	LWLockRelease(registry->lock);
	ConditionVariableBroadcast(&registry->loaded);
}

/* Gives up a reserved copy that could not be loaded */
void
bpr_shared_abandon(BprSharedRef *ref)
{
	SharedSlot *s;

	if (registry == NULL || ref->slot < 0)
		return;
	LWLockAcquire(registry->lock, LW_EXCLUSIVE);
	s = ref_slot(ref);
	if (s != NULL && s->state == SLOT_LOADING)
		free_slot(s);
	forget_pin(ref);
	LWLockRelease(registry->lock);
	ConditionVariableBroadcast(&registry->loaded);
	ref->slot = -1;
}

/* Releases a pin (a superseded copy is freed when its last pin goes) */
void
bpr_shared_release(BprSharedRef *ref)
{
	SharedSlot *s;

	if (registry == NULL || ref->slot < 0)
		return;
	LWLockAcquire(registry->lock, LW_EXCLUSIVE);
	s = ref_slot(ref);
	if (s != NULL)
		unpin_slot(s, s->state == SLOT_LOADING);
	forget_pin(ref);
	LWLockRelease(registry->lock);
	ref->slot = -1;
}

/* Marks every copy of a model superseded (it has no active version now): freed once unused */
void
bpr_shared_forget_model(const BprSharedKey *key)
{
	if (registry == NULL)
		return;
	LWLockAcquire(registry->lock, LW_EXCLUSIVE);
	for (int i = 0; i < BPR_SHARED_SLOTS; i++)
	{
		SharedSlot *s = &registry->slots[i];

		if (s->state == SLOT_READY && same_model(&s->key, key))
		{
			s->superseded = true;
			if (s->pins == 0)
			{
				attach_area();
				free_slot(s);
			}
		}
	}
	LWLockRelease(registry->lock);
}

/* Bytes of shared copies now, and how many copies (for reports) */
void
bpr_shared_usage(int64 *bytes, int32 *copies)
{
	*bytes = 0;
	*copies = 0;
	if (registry == NULL)
		return;
	LWLockAcquire(registry->lock, LW_SHARED);
	*bytes = (int64) registry->bytes;
	for (int i = 0; i < BPR_SHARED_SLOTS; i++)
		if (registry->slots[i].state == SLOT_READY)
			(*copies)++;
	LWLockRelease(registry->lock);
}

/* The shared copies of this database's models: one row per copy */
Datum
bpr_shared_models(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	SharedSlot *copy;
	int			n = 0;

	InitMaterializedSRF(fcinfo, 0);
	if (registry == NULL)
		return (Datum) 0;
	copy = palloc(sizeof(SharedSlot) * BPR_SHARED_SLOTS);
	LWLockAcquire(registry->lock, LW_SHARED);
	for (int i = 0; i < BPR_SHARED_SLOTS; i++)
		if (registry->slots[i].state != SLOT_FREE && registry->slots[i].key.dboid == MyDatabaseId)
			copy[n++] = registry->slots[i];
	LWLockRelease(registry->lock);
	for (int i = 0; i < n; i++)
	{
		Datum		values[8];
		bool		nulls[8] = {0};

		values[0] = CStringGetTextDatum(copy[i].key.model);
		values[1] = Int32GetDatum(copy[i].key.version);
		values[2] = Int32GetDatum(copy[i].key.revision);
		values[3] = CStringGetTextDatum(copy[i].key.side == 0 ? "user" : "item");
		values[4] = Int64GetDatum((int64) copy[i].size);
		values[5] = Int32GetDatum(copy[i].pins);
		values[6] = CStringGetTextDatum(copy[i].state == SLOT_READY ? "ready" : "loading");
		values[7] = BoolGetDatum(copy[i].superseded);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}
