/*
 * parallel.h - short-lived thread teams for the numeric core
 *
 * The core's callers (the PostgreSQL layer) may unwind out of any callback
 * with longjmp and then free every byte the core used.  So threads never
 * outlive a call: bpr_team_run creates its helpers, runs one round of work on
 * all of them, and joins them before it returns; callbacks into the caller
 * happen only between rounds, on the calling thread.  Helpers start with
 * every signal blocked (signals stay the calling thread's business), allocate
 * nothing, and call nothing of the caller's.
 *
 * A round function is told which members it plays: one member on its own
 * thread, or, when helpers cannot be created (or n = 1), all of them on the
 * calling thread.  Written as "for each step: barrier, then the step for each
 * member I play", it gives the same result either way (unless its members
 * share work out by timing, as lock-free training does).
 */
#ifndef BPR_PARALLEL_H
#define BPR_PARALLEL_H

#include <pthread.h>

#include "alloc.h"

/* Most threads a team (and a training) may have */
#define BPR_MAX_THREADS 64

/*
 * A barrier for the members of a team: spins a little, then sleeps.  The
 * counter the members arrive on and the generation they wait on sit on cache
 * lines of their own (BPR_LINE_PAD bytes apart), away from the read-mostly
 * fields: a waiter polling the generation does not take the line the others
 * arrive on, and the last member releases them with one store.
 */
#define BPR_LINE_PAD 64

typedef struct BprBarrier
{
	int32_t		parties;
	int32_t		sleepers;		/* members asleep on cond (changed under mutex) */
	char		pad0[BPR_LINE_PAD];
	int32_t		arrived;		/* members waiting in this generation */
	char		pad1[BPR_LINE_PAD];
	uint32_t	generation;		/* bumped when all have arrived */
	char		pad2[BPR_LINE_PAD];
	pthread_mutex_t mutex;
	pthread_cond_t cond;
} BprBarrier;

/*
 * Numbers handed out once each, in increasing order, to whichever member asks
 * first (work shared out as members get free); on a line of its own
 */
typedef struct BprClaims
{
	char		pad0[BPR_LINE_PAD];
	int64_t		next;
	pthread_mutex_t mutex;		/* without atomic builtins */
	char		pad1[BPR_LINE_PAD];
} BprClaims;

/* Starts handing out first, first + 1, ... */
void		bpr_claims_init(BprClaims *c, int64_t first);

/* The next number not yet handed out */
int64_t		bpr_claims_take(BprClaims *c);

/* Releases what bpr_claims_init set up */
void		bpr_claims_destroy(BprClaims *c);

struct BprTeam;

/* A round's work for members first .. first + count - 1 */
typedef void (*BprTeamFn) (struct BprTeam *team, int32_t first, int32_t count, void *arg);

/* One round of n members; member 0 is the calling thread */
typedef struct BprTeam
{
	int32_t		n;				/* members */
	bool		emulated;		/* the calling thread plays every member */
	BprTeamFn	fn;
	void	   *arg;
	BprBarrier	barrier;
	/* start gate: helpers wait until every one of them exists */
	pthread_mutex_t gate_mutex;
	pthread_cond_t gate_cond;
	int32_t		gate;			/* 0 wait, 1 run, -1 give up */
} BprTeam;

/*
 * Runs one round of fn on n members and returns when every member is done:
 * fn(team, m, 1, arg) on member m's thread, or, in an emulated round (n = 1,
 * or helpers could not be created), fn(team, 0, n, arg) once on the calling
 * thread, where bpr_team_barrier does nothing.
 */
void		bpr_team_run(BprTeam *team, int32_t n, BprTeamFn fn, void *arg);

/* Waits until every member of the round reaches this barrier (nothing when emulated) */
void		bpr_team_barrier(BprTeam *team);

#endif
