/*
 * tower_fixture.h - what the tower tests share: random features for a spec,
 * randomised weights, gradient look-ups
 */
#ifndef BPR_TOWER_FIXTURE_H
#define BPR_TOWER_FIXTURE_H

#include "tower.h"

/* Encoded features of a test side, with owned storage */
typedef struct TestSide
{
	BprFeatures f;
	BprMultiField multi[4];
} TestSide;

/* Builds random features matching a spec: bag sizes cycle through 0..3 */
void		tt_make_side(TestSide *side, const BprTowerSpec *spec, int32_t n_rows, BprRng *rng);

/* Tensor by name, or NULL */
const BprTensor *tt_tensor(const BprTower *t, const char *name);

/* Replaces the init by larger random values so every path carries gradient */
void		tt_randomize(BprTower *t, BprRng *rng);

/* Gradient of entry idx of tensor ti in a work area (0 for an untouched sparse row) */
double		tt_grad(const BprTower *t, const BprTowerWork *wk, int32_t ti, size_t idx);

/* True when a tensor has no gradient in the work area: dense all zero, sparse no row held */
bool		tt_grad_zero(const BprTower *t, const BprTowerWork *wk, int32_t ti);

/* A spec with everything zeroed */
BprTowerSpec tt_spec(void);

#endif
