/*
 * rowgrad.c - compact row-sparse gradients of embedding tables
 *
 * Every array starts on its own cache line: a gradient belongs to one
 * thread, and must share no line with another thread's data.
 */
#include "rowgrad.h"

/* Log2 of the hash-table size for a capacity: at least twice the capacity, at least 16 */
static int32_t
table_bits(int32_t capacity)
{
	int32_t		bits = 4;

	while (bits < 31 && ((int64_t) 1 << bits) < 2 * (int64_t) capacity)
		bits++;
	return bits;
}

/* Bytes bpr_rowgrad_init allocates; 0 on overflow */
size_t
bpr_rowgrad_bytes(int32_t cols, int32_t capacity)
{
	size_t		total = 0;
	size_t		cells;

	if (cols < 0 || capacity < 0 || !bpr_size_mul((size_t) capacity, (size_t) cols, &cells))
		return 0;
	if (!bpr_aligned_bytes(&total, (size_t) capacity, sizeof(int32_t)) ||
		!bpr_aligned_bytes(&total, cells, sizeof(float)) ||
		!bpr_aligned_bytes(&total, (size_t) capacity, sizeof(int32_t)) ||
		!bpr_aligned_bytes(&total, (size_t) 1 << table_bits(capacity), sizeof(int32_t)))
		return 0;
	return total;
}

/* Allocates an empty gradient for rows of width cols, holding at most capacity rows */
void
bpr_rowgrad_init(BprRowGrad *rg, int32_t cols, int32_t capacity, const BprAlloc *alloc)
{
	int32_t		bits = table_bits(capacity);
	size_t		cells = 0;

	if (!bpr_size_mul((size_t) capacity, (size_t) cols, &cells))
		alloc->overflow(alloc->ctx, "gradient rows");
	rg->cols = cols;
	rg->capacity = capacity;
	rg->n = 0;
	rg->rows = bpr_alloc_aligned(alloc, (size_t) capacity, sizeof(int32_t), "gradient rows");
	rg->g = bpr_alloc_aligned(alloc, cells, sizeof(float), "gradient rows");
	rg->where = bpr_alloc_aligned(alloc, (size_t) capacity, sizeof(int32_t), "gradient rows");
	rg->table = bpr_alloc_aligned(alloc, (size_t) 1 << bits, sizeof(int32_t), "gradient rows");
	rg->mask = (uint32_t) (((uint64_t) 1 << bits) - 1);
	rg->shift = 32 - bits;
}
