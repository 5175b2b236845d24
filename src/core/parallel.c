/*
 * parallel.c - short-lived thread teams: create, run one round, join
 *
 * The barrier spins for a while (members of a training round meet every few
 * tens to hundreds of microseconds, and a sleep and wake-up costs about as
 * much), then yields the CPU between looks for a while more (so a machine
 * with other work to do gets the core), then sleeps on a condition variable.
 * Spinning uses the GCC/Clang __atomic builtins when the compiler has them;
 * otherwise the barrier is a plain mutex and condition variable.
 */
#include <sched.h>
#include <signal.h>

#include "parallel.h"

/* Polls of the generation (about 20 ns apart) before a waiting member starts yielding */
#define BARRIER_SPINS 5000

/* Polls with a sched_yield between them before a waiting member goes to sleep */
#define BARRIER_YIELDS 200

/* Member of a round running on a helper thread */
typedef struct Helper
{
	BprTeam    *team;
	int32_t		member;
} Helper;

#if defined(__GNUC__)
#define LOAD_ACQUIRE(p) __atomic_load_n((p), __ATOMIC_ACQUIRE)
#define STORE_RELEASE(p, v) __atomic_store_n((p), (v), __ATOMIC_RELEASE)
#define STORE_RELAXED(p, v) __atomic_store_n((p), (v), __ATOMIC_RELAXED)
#define FETCH_ADD(p, v) __atomic_fetch_add((p), (v), __ATOMIC_ACQ_REL)
#define STORE_SEQ(p, v) __atomic_store_n((p), (v), __ATOMIC_SEQ_CST)
#define LOAD_SEQ(p) __atomic_load_n((p), __ATOMIC_SEQ_CST)
#define ADD_SEQ(p, v) __atomic_add_fetch((p), (v), __ATOMIC_SEQ_CST)
#if defined(__x86_64__) || defined(__i386__)
#define CPU_RELAX() __builtin_ia32_pause()
#else
#define CPU_RELAX() ((void) 0)
#endif
#endif

/* Prepares a barrier for `parties` members */
static void
barrier_init(BprBarrier *b, int32_t parties)
{
	b->parties = parties;
	b->arrived = 0;
	b->generation = 0;
	b->sleepers = 0;
	pthread_mutex_init(&b->mutex, NULL);
	pthread_cond_init(&b->cond, NULL);
}

/* Releases a barrier's resources */
static void
barrier_destroy(BprBarrier *b)
{
	pthread_cond_destroy(&b->cond);
	pthread_mutex_destroy(&b->mutex);
}

#if defined(__GNUC__)

/*
 * Waits until all parties arrive: the last one bumps the generation, and
 * takes the mutex only when someone sleeps.  The generation store and the
 * sleepers load, like a sleeper's increment and its generation load, are
 * sequentially consistent: either the last member sees the sleeper, or the
 * sleeper sees the new generation before it waits.
 */
static void
barrier_wait(BprBarrier *b)
{
	uint32_t	gen = LOAD_ACQUIRE(&b->generation);

	if (FETCH_ADD(&b->arrived, 1) + 1 == b->parties)
	{
		/* reset before the release: nobody arrives again until they see the new generation */
		STORE_RELAXED(&b->arrived, 0);
		STORE_SEQ(&b->generation, gen + 1);
		if (LOAD_SEQ(&b->sleepers) > 0)
		{
			pthread_mutex_lock(&b->mutex);
			pthread_cond_broadcast(&b->cond);
			pthread_mutex_unlock(&b->mutex);
		}
		return;
	}
	for (int i = 0; i < BARRIER_SPINS; i++)
	{
		if (LOAD_ACQUIRE(&b->generation) != gen)
			return;
		CPU_RELAX();
	}
	for (int i = 0; i < BARRIER_YIELDS; i++)
	{
		if (LOAD_ACQUIRE(&b->generation) != gen)
			return;
		sched_yield();
	}
	pthread_mutex_lock(&b->mutex);
	ADD_SEQ(&b->sleepers, 1);
	while (LOAD_SEQ(&b->generation) == gen)
		pthread_cond_wait(&b->cond, &b->mutex);
	ADD_SEQ(&b->sleepers, -1);
	pthread_mutex_unlock(&b->mutex);
}

#else

/* Waits until all parties arrive (mutex and condition variable only) */
static void
barrier_wait(BprBarrier *b)
{
	uint32_t	gen;

	pthread_mutex_lock(&b->mutex);
	gen = b->generation;
	if (++b->arrived == b->parties)
	{
		b->arrived = 0;
		b->generation++;
		pthread_cond_broadcast(&b->cond);
	}
	else
		while (b->generation == gen)
			pthread_cond_wait(&b->cond, &b->mutex);
	pthread_mutex_unlock(&b->mutex);
}

#endif

/* Starts handing out first, first + 1, ... */
void
bpr_claims_init(BprClaims *c, int64_t first)
{
	c->next = first;
	pthread_mutex_init(&c->mutex, NULL);
}

/* The next number not yet handed out */
int64_t
bpr_claims_take(BprClaims *c)
{
#if defined(__GNUC__)
	return FETCH_ADD(&c->next, 1);
#else
	int64_t		n;

	pthread_mutex_lock(&c->mutex);
	n = c->next++;
	pthread_mutex_unlock(&c->mutex);
	return n;
#endif
}

/* Releases what bpr_claims_init set up */
void
bpr_claims_destroy(BprClaims *c)
{
	pthread_mutex_destroy(&c->mutex);
}

/* Waits until every member of the round reaches this barrier (nothing when emulated) */
void
bpr_team_barrier(BprTeam *team)
{
	if (!team->emulated)
		barrier_wait(&team->barrier);
}

/* A helper thread: waits at the start gate, then plays its member (or gives up) */
static void *
helper_main(void *p)
{
	Helper	   *h = p;
	BprTeam    *team = h->team;
	int32_t		gate;

	pthread_mutex_lock(&team->gate_mutex);
	while (team->gate == 0)
		pthread_cond_wait(&team->gate_cond, &team->gate_mutex);
	gate = team->gate;
	pthread_mutex_unlock(&team->gate_mutex);
	if (gate > 0)
		team->fn(team, h->member, 1, team->arg);
	return NULL;
}

/*
 * Runs one round of fn on n members and returns when every member is done.
 * Helpers are created with every signal blocked and joined before returning.
 */
void
bpr_team_run(BprTeam *team, int32_t n, BprTeamFn fn, void *arg)
{
	pthread_t	tids[BPR_MAX_THREADS];
	Helper		helpers[BPR_MAX_THREADS];
	int32_t		created = 0;
	sigset_t	all,
				old;
	bool		ok;

	n = n < 1 ? 1 : n > BPR_MAX_THREADS ? BPR_MAX_THREADS : n;
	team->n = n;
	team->fn = fn;
	team->arg = arg;
	team->emulated = true;
	team->gate = 0;
	if (n == 1)
	{
		fn(team, 0, 1, arg);
		return;
	}

	barrier_init(&team->barrier, n);
	pthread_mutex_init(&team->gate_mutex, NULL);
	pthread_cond_init(&team->gate_cond, NULL);
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	for (int32_t m = 1; m < n; m++)
	{
		helpers[m].team = team;
		helpers[m].member = m;
		if (pthread_create(&tids[m], NULL, helper_main, &helpers[m]) != 0)
			break;
		created++;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);

	/* open the gate: everyone runs, or (some helper missing) the caller plays all */
	ok = created == n - 1;
	pthread_mutex_lock(&team->gate_mutex);
	team->emulated = !ok;
	team->gate = ok ? 1 : -1;
	pthread_cond_broadcast(&team->gate_cond);
	pthread_mutex_unlock(&team->gate_mutex);

	if (ok)
		fn(team, 0, 1, arg);
	else
		fn(team, 0, n, arg);
	for (int32_t m = 1; m <= created; m++)
		pthread_join(tids[m], NULL);

	pthread_cond_destroy(&team->gate_cond);
	pthread_mutex_destroy(&team->gate_mutex);
	barrier_destroy(&team->barrier);
}
