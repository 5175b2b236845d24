/*
 * rowgrad.h - the gradient of an embedding table, kept only for the rows a step touched
 *
 * A step (one thread's share of a batch) touches few rows of a large table
 * (ids, categories), so its gradient is held compactly: the touched rows in
 * first-touch order, their gradient rows side by side, and a small hash table
 * from table row to slot.  Nothing is as large as the table itself, and the
 * rows a step writes are contiguous in memory.  Capacity is fixed at creation:
 * the caller sizes it for the most rows one step can touch.
 */
#ifndef BPR_ROWGRAD_H
#define BPR_ROWGRAD_H

#include <string.h>

#include "alloc.h"

typedef struct BprRowGrad
{
	int32_t		cols;			/* width of a row */
	int32_t		capacity;		/* most distinct rows held */
	int32_t		n;				/* rows held */
	int32_t    *rows;			/* capacity: table row of each slot, first-touch order */
	float	   *g;				/* capacity x cols gradient rows, by slot */
	int32_t    *where;			/* capacity: hash-table position of each slot */
	int32_t    *table;			/* hash table: slot + 1, 0 = empty */
	uint32_t	mask;			/* hash-table size - 1 (a power of two minus one) */
	int32_t		shift;			/* 32 - log2(hash-table size) */
} BprRowGrad;

/* Bytes bpr_rowgrad_init allocates; 0 on overflow */
size_t		bpr_rowgrad_bytes(int32_t cols, int32_t capacity);

/* Allocates an empty gradient for rows of width cols, holding at most capacity rows */
void		bpr_rowgrad_init(BprRowGrad *rg, int32_t cols, int32_t capacity,
							 const BprAlloc *alloc);

/* Hash-table position where the search for a row starts */
static inline uint32_t
bpr_rowgrad_hash(const BprRowGrad *rg, int32_t row)
{
	return ((uint32_t) row * UINT32_C(2654435761)) >> rg->shift;
}

/* Slot holding the row, or -1 */
static inline int32_t
bpr_rowgrad_find(const BprRowGrad *rg, int32_t row)
{
	uint32_t	h = bpr_rowgrad_hash(rg, row);

	for (;;)
	{
		int32_t		s = rg->table[h];

		if (s == 0)
			return -1;
		if (rg->rows[s - 1] == row)
			return s - 1;
		h = (h + 1) & rg->mask;
	}
}

/* The gradient row of a table row, added (zeroed) on first touch; the row must fit */
static inline float *
bpr_rowgrad_row(BprRowGrad *rg, int32_t row)
{
	uint32_t	h = bpr_rowgrad_hash(rg, row);
	int32_t		s;

	for (;;)
	{
		s = rg->table[h];
		if (s == 0)
			break;
		if (rg->rows[s - 1] == row)
			return rg->g + (size_t) (s - 1) * rg->cols;
		h = (h + 1) & rg->mask;
	}
	s = rg->n++;
	rg->rows[s] = row;
	rg->where[s] = (int32_t) h;
	rg->table[h] = s + 1;
	return rg->g + (size_t) s * rg->cols;
}

/* Forgets every row (their gradient rows back to zero) */
static inline void
bpr_rowgrad_clear(BprRowGrad *rg)
{
	for (int32_t s = 0; s < rg->n; s++)
		rg->table[rg->where[s]] = 0;
	memset(rg->g, 0, (size_t) rg->n * (size_t) rg->cols * sizeof(float));
	rg->n = 0;
}

#endif
