/*
 * progress.c - progress of running trainings, visible to every session
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_authid.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "progress.h"
#include "shared_store.h"

/* Trainings that can report progress at once */
#define BPR_PROGRESS_SLOTS 64

typedef struct ProgressSlot
{
	bool		in_use;
	int			pid;
	Oid			dboid;
	Oid			role;
	char		model[BPR_MODEL_NAME_MAX + 1];
	char		phase[16];
	int32		epoch;
	int32		epochs;
	double		loss;			/* NaN until the first epoch */
	double		validation;		/* NaN without validation */
	double		triplets_per_second;
	double		eta_seconds;
	TimestampTz started;
} ProgressSlot;

typedef struct ProgressSlots
{
	LWLock	   *lock;
	ProgressSlot slots[BPR_PROGRESS_SLOTS];
} ProgressSlots;

static ProgressSlots *progress = NULL;
static ProgressSlot *my_slot = NULL;

PG_FUNCTION_INFO_V1(bpr_training_progress);

/* Shared memory this module needs (from the shmem request hook) */
Size
bpr_progress_shmem_size(void)
{
	return MAXALIGN(sizeof(ProgressSlots));
}

/* Creates or attaches the slots (from the shmem startup hook) */
void
bpr_progress_shmem_init(void)
{
	bool		found;

	progress = ShmemInitStruct("bpr training progress", sizeof(ProgressSlots), &found);
	if (!found)
	{
		memset(progress, 0, sizeof(ProgressSlots));
		progress->lock = &(GetNamedLWLockTranche("bpr"))[1].lock;
	}
}

/* Frees this backend's slot (a memory context reset callback) */
static void
progress_end(void *arg)
{
	if (my_slot == NULL)
		return;
	LWLockAcquire(progress->lock, LW_EXCLUSIVE);
	my_slot->in_use = false;
	LWLockRelease(progress->lock);
	my_slot = NULL;
}

/* Takes a slot for a training of model; it is freed when context is reset or deleted */
void
bpr_progress_start(const char *model, int32 epochs, MemoryContext context)
{
	MemoryContextCallback *cb;

	if (progress == NULL || my_slot != NULL)
		return;
	LWLockAcquire(progress->lock, LW_EXCLUSIVE);
	for (int i = 0; i < BPR_PROGRESS_SLOTS; i++)
		if (!progress->slots[i].in_use)
		{
			ProgressSlot *s = &progress->slots[i];

			memset(s, 0, sizeof(*s));
			s->in_use = true;
			s->pid = MyProcPid;
			s->dboid = MyDatabaseId;
			s->role = GetUserId();
			strlcpy(s->model, model, sizeof(s->model));
			strlcpy(s->phase, "starting", sizeof(s->phase));
			s->epochs = epochs;
			s->loss = s->validation = s->triplets_per_second = s->eta_seconds = NAN;
			s->started = GetCurrentTimestamp();
			my_slot = s;
			break;
		}
	LWLockRelease(progress->lock);
	if (my_slot == NULL)
		return;
	cb = MemoryContextAlloc(context, sizeof(MemoryContextCallback));
	cb->func = progress_end;
	cb->arg = NULL;
	MemoryContextRegisterResetCallback(context, cb);
}

/* The training's phase: "waiting", "reading", "encoding", "training", "storing" */
void
bpr_progress_phase(const char *phase)
{
	if (my_slot == NULL)
		return;
	LWLockAcquire(progress->lock, LW_EXCLUSIVE);
	strlcpy(my_slot->phase, phase, sizeof(my_slot->phase));
	LWLockRelease(progress->lock);
}

/* The training's position: epoch (1-based, done or running), epochs planned, figures so far */
void
bpr_progress_report(int32 epoch, int32 epochs, double loss, double validation,
					double triplets_per_second, double eta_seconds)
{
	if (my_slot == NULL)
		return;
	LWLockAcquire(progress->lock, LW_EXCLUSIVE);
	my_slot->epoch = epoch;
	my_slot->epochs = epochs;
	my_slot->loss = loss;
	my_slot->validation = validation;
	my_slot->triplets_per_second = triplets_per_second;
	my_slot->eta_seconds = eta_seconds;
	LWLockRelease(progress->lock);
}

/* A float8 Datum, NULL when NaN */
static Datum
float_or_null(double v, bool *isnull)
{
	*isnull = isnan(v);
	return Float8GetDatum(v);
}

/* Trainings running now in any session of this database */
Datum
bpr_training_progress(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	ProgressSlot copy[BPR_PROGRESS_SLOTS];
	int			n = 0;
	TimestampTz now = GetCurrentTimestamp();

	InitMaterializedSRF(fcinfo, 0);
	if (progress == NULL)
		return (Datum) 0;
	LWLockAcquire(progress->lock, LW_SHARED);
	for (int i = 0; i < BPR_PROGRESS_SLOTS; i++)
		if (progress->slots[i].in_use && progress->slots[i].dboid == MyDatabaseId)
			copy[n++] = progress->slots[i];
	LWLockRelease(progress->lock);

	for (int i = 0; i < n; i++)
	{
		ProgressSlot *s = &copy[i];
		Datum		values[12];
		bool		nulls[12] = {0};
		/* like pg_stat_activity: the details are for the training's role and readers of all stats */
		bool		visible = has_privs_of_role(GetUserId(), s->role) ||
			has_privs_of_role(GetUserId(), ROLE_PG_READ_ALL_STATS);

		values[0] = Int32GetDatum(s->pid);
		values[1] = CStringGetTextDatum(s->model);
		values[2] = ObjectIdGetDatum(s->role);
		values[3] = CStringGetTextDatum(s->phase);
		values[4] = Int32GetDatum(s->epoch);
		values[5] = Int32GetDatum(s->epochs);
		values[6] = float_or_null(s->loss, &nulls[6]);
		values[7] = float_or_null(s->validation, &nulls[7]);
		values[8] = float_or_null(s->triplets_per_second, &nulls[8]);
		values[9] = TimestampTzGetDatum(s->started);
		values[10] = Float8GetDatum((double) (now - s->started) / USECS_PER_SEC);
		values[11] = float_or_null(s->eta_seconds, &nulls[11]);
		if (!visible)
			for (int c = 3; c < 12; c++)
				nulls[c] = true;
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}
