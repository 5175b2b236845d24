/*
 * alloc.h - the numeric core's allocator interface and overflow-safe sizes
 *
 * The numeric core (everything in src/core) is plain C99 with no PostgreSQL
 * headers.  It computes on memory handed to it by its caller through BprAlloc,
 * so the PostgreSQL layer can place every byte in a memory context, charge it
 * to a budget, and free it all when an ERROR unwinds.
 */
#ifndef BPR_ALLOC_H
#define BPR_ALLOC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Allocator supplied by the caller: zalloc returns zeroed memory or does not return */
typedef struct BprAlloc
{
	void	   *(*zalloc) (void *ctx, size_t size);
	/* called on a size overflow; must not return */
	void		(*overflow) (void *ctx, const char *what);
	/* gives back a block of `size` bytes from zalloc (growing arrays); may be NULL */
	void		(*release) (void *ctx, void *block, size_t size);
	void	   *ctx;
} BprAlloc;

/* Multiplies two sizes; false on overflow */
bool		bpr_size_mul(size_t a, size_t b, size_t *out);

/* Adds two sizes; false on overflow */
bool		bpr_size_add(size_t a, size_t b, size_t *out);

/* Allocates a zeroed array of n elements of the given size, overflow-checked */
void	   *bpr_alloc_array(const BprAlloc *a, size_t n, size_t size, const char *what);

/* Adds what one bpr_alloc_array call of n elements of size asks for to *total; false on overflow */
bool		bpr_array_bytes(size_t *total, size_t n, size_t size);

/* Gives back an array from bpr_alloc_array (n elements of size), when the allocator can */
void		bpr_free_array(const BprAlloc *a, void *block, size_t n, size_t size);

/* Extra bytes bpr_alloc_aligned asks for to place an array on a cache-line boundary */
#define BPR_ALIGN_SLACK 64

/*
 * As bpr_alloc_array, but the array starts on a 64-byte (cache line)
 * boundary: rows of a table then span as few lines as they can.  Asks the
 * allocator for n * size + BPR_ALIGN_SLACK bytes.
 */
void	   *bpr_alloc_aligned(const BprAlloc *a, size_t n, size_t size, const char *what);

/* Adds what one bpr_alloc_aligned call of n elements of size asks for to *total; false on overflow */
bool		bpr_aligned_bytes(size_t *total, size_t n, size_t size);

#endif
