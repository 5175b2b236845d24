/*
 * main.c - runs every unit test suite of the numeric core
 */
#include <cblas.h>
#include <string.h>

#include "unit.h"

int			unit_passed = 0;
int			unit_failed = 0;

static void **allocated = NULL;
static size_t n_allocated = 0;
static size_t cap_allocated = 0;

/* calloc that remembers the block for unit_alloc_reset */
static void *
unit_zalloc(void *ctx, size_t size)
{
	void	   *p = calloc(1, size);

	if (p == NULL)
	{
		fprintf(stderr, "out of memory (%zu bytes)\n", size);
		exit(2);
	}
	if (n_allocated == cap_allocated)
	{
		cap_allocated = cap_allocated ? 2 * cap_allocated : 64;
		allocated = realloc(allocated, cap_allocated * sizeof(void *));
		if (allocated == NULL)
			exit(2);
	}
	allocated[n_allocated++] = p;
	return p;
}

/* free for a block the test allocator handed out (it is forgotten by the reset) */
static void
unit_release(void *ctx, void *block, size_t size)
{
	for (size_t i = n_allocated; i-- > 0;)
		if (allocated[i] == block)
		{
			allocated[i] = allocated[--n_allocated];
			free(block);
			return;
		}
	fprintf(stderr, "release of a block not allocated\n");
	exit(2);
}

/* Overflow in a size computation ends the run */
static void
unit_overflow(void *ctx, const char *what)
{
	fprintf(stderr, "size overflow: %s\n", what);
	exit(2);
}

const BprAlloc unit_alloc = {.zalloc = unit_zalloc, .overflow = unit_overflow, .release = unit_release};

/* Frees every block the test allocator handed out */
void
unit_alloc_reset(void)
{
	for (size_t i = 0; i < n_allocated; i++)
		free(allocated[i]);
	n_allocated = 0;
}

/* Threads of this process now (from /proc/self/status), or -1 */
int
unit_threads(void)
{
	FILE	   *f = fopen("/proc/self/status", "r");
	char		line[256];
	int			n = -1;

	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, "Threads:", 8) == 0)
			n = atoi(line + 8);
	fclose(f);
	return n;
}

/* Runs one suite and reports its counts */
static void
run_suite(const char *name, void (*suite) (void))
{
	int			p0 = unit_passed,
				f0 = unit_failed;

	suite();
	unit_alloc_reset();
	printf("%-10s %4d passed, %d failed\n", name, unit_passed - p0, unit_failed - f0);
}

int
main(int argc, char **argv)
{
	openblas_set_num_threads(1);
	run_suite("vecmath", test_vecmath);
	run_suite("adam", test_adam);
	run_suite("loss", test_loss);
	run_suite("tower", test_tower);
	run_suite("tower upd", test_tower_update);
	run_suite("sampler", test_sampler);
	run_suite("topk", test_topk);
	run_suite("metrics", test_metrics);
	run_suite("trainer", test_trainer);
	run_suite("keys", test_keys);
	run_suite("foldin", test_foldin);
	run_suite("itemoffset", test_item_offsets);
	run_suite("warm_start", test_warm_start);
	run_suite("threads", test_threads);
	run_suite("weighted", test_weighted);
	printf("%d passed, %d failed\n", unit_passed, unit_failed);
	free(allocated);
	return unit_failed == 0 ? 0 : 1;
}
