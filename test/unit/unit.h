/*
 * unit.h - a minimal assertion harness for the numeric core's unit tests
 */
#ifndef BPR_UNIT_H
#define BPR_UNIT_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "alloc.h"

extern int	unit_passed;
extern int	unit_failed;

/* Counts one check; prints the failing expression */
#define CHECK(cond) \
	do { \
		if (cond) unit_passed++; \
		else { unit_failed++; fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond); } \
	} while (0)

/* Checks |a - b| <= tol, printing both values on failure */
#define CHECK_CLOSE(a, b, tol) \
	do { \
		double ua_ = (double) (a), ub_ = (double) (b); \
		if (fabs(ua_ - ub_) <= (tol)) unit_passed++; \
		else { unit_failed++; fprintf(stderr, "FAIL %s:%d: %s = %.9g, %s = %.9g (tol %g)\n", \
									  __FILE__, __LINE__, #a, ua_, #b, ub_, (double) (tol)); } \
	} while (0)

/* A test allocator over calloc that frees everything at unit_alloc_reset */
extern const BprAlloc unit_alloc;
void		unit_alloc_reset(void);

/* Threads of this process now, or -1 when unknown */
int			unit_threads(void);

/* Suites, one per subsystem */
void		test_vecmath(void);
void		test_adam(void);
void		test_loss(void);
void		test_tower(void);
void		test_tower_update(void);
void		test_sampler(void);
void		test_topk(void);
void		test_metrics(void);
void		test_trainer(void);
void		test_keys(void);
void		test_foldin(void);
void		test_item_offsets(void);
void		test_warm_start(void);
void		test_threads(void);
void		test_weighted(void);

#endif
