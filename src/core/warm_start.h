/*
 * warm_start.h - a new training's towers started from a previous version's
 *
 * Parameters carry over where they still mean the same thing: an embedding
 * table row by row through a map of codes (a category keeps its row while it
 * is in the vocabulary), a dense tensor whole when its shape is unchanged.  An
 * entity's id row is set so that the tower's output reproduces the entity's
 * previous vector: that vector minus what the features part now gives.  New
 * codes and new entities keep their fresh initialisation; Adam's moments
 * start at zero.
 */
#ifndef BPR_WARM_START_H
#define BPR_WARM_START_H

#include "tower.h"

/* Copies src's values into dst when both have the same shape; false otherwise */
bool		bpr_warm_copy_tensor(BprTensor *dst, const BprTensor *src);

/*
 * Copies rows of src into dst through map: dst row r gets src row map[r]
 * (map[r] < 0, or past src's rows: r keeps its values).  Widths must agree.
 * Returns the rows copied, or -1 when the widths differ.
 */
int32_t		bpr_warm_copy_rows(BprTensor *dst, const BprTensor *src, const int32_t *map);

/*
 * Sets the id rows of the first n entities of tower from previous vectors:
 * entity r with prev_row[r] >= 0 gets ids[r] = prev[prev_row[r]] (its first
 * out_dim values of prev_width) minus the features part of r's output.  rows
 * (max_batch) and out (max_batch x out_dim) are scratch; check (may be NULL) is
 * called between chunks.  Returns the entities set (0 without an id table).
 */
int32_t		bpr_warm_ids(BprTower *tower, const BprFeatures *f, int32_t n,
						 const int32_t *prev_row, const float *prev, int32_t prev_width,
						 int32_t *rows, float *out, void (*check) (void *), void *check_arg);

#endif
