/*
 * alloc.c - overflow-safe size arithmetic and allocation through the caller's allocator
 */
#include "alloc.h"

/* Multiplies two sizes; false on overflow */
bool
bpr_size_mul(size_t a, size_t b, size_t *out)
{
	if (a != 0 && b > SIZE_MAX / a)
		return false;
	*out = a * b;
	return true;
}

/* Adds two sizes; false on overflow */
bool
bpr_size_add(size_t a, size_t b, size_t *out)
{
	if (b > SIZE_MAX - a)
		return false;
	*out = a + b;
	return true;
}

/* Allocates a zeroed array of n elements of the given size, overflow-checked */
void *
bpr_alloc_array(const BprAlloc *a, size_t n, size_t size, const char *what)
{
	size_t		bytes = 0;

	if (!bpr_size_mul(n, size, &bytes))
		a->overflow(a->ctx, what);
	if (bytes == 0)
		bytes = 1;
	return a->zalloc(a->ctx, bytes);
}

/* Gives back an array from bpr_alloc_array (n elements of size), when the allocator can */
void
bpr_free_array(const BprAlloc *a, void *block, size_t n, size_t size)
{
	size_t		bytes = n * size;	/* allocated before, so it did not overflow */

	if (block != NULL && a->release != NULL)
		a->release(a->ctx, block, bytes == 0 ? 1 : bytes);
}

/* As bpr_alloc_array, but starting on a 64-byte boundary (n * size + BPR_ALIGN_SLACK bytes asked) */
void *
bpr_alloc_aligned(const BprAlloc *a, size_t n, size_t size, const char *what)
{
	size_t		bytes = 0;
	char	   *p;

	if (!bpr_size_mul(n, size, &bytes) || !bpr_size_add(bytes, BPR_ALIGN_SLACK, &bytes))
		a->overflow(a->ctx, what);
	p = a->zalloc(a->ctx, bytes);
	return p + (BPR_ALIGN_SLACK - (uintptr_t) p % BPR_ALIGN_SLACK) % BPR_ALIGN_SLACK;
}

/* Adds what one bpr_alloc_aligned call of n elements of size asks for to *total; false on overflow */
bool
bpr_aligned_bytes(size_t *total, size_t n, size_t size)
{
	size_t		bytes;

	return bpr_size_mul(n, size, &bytes) && bpr_size_add(bytes, BPR_ALIGN_SLACK, &bytes) &&
		bpr_size_add(*total, bytes, total);
}

/* Adds what one bpr_alloc_array call of n elements of size asks for to *total; false on overflow */
bool
bpr_array_bytes(size_t *total, size_t n, size_t size)
{
	size_t		bytes;

	if (!bpr_size_mul(n, size, &bytes))
		return false;
	return bpr_size_add(*total, bytes == 0 ? 1 : bytes, total);	/* never 0 bytes asked */
}
