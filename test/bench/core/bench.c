/*
 * bench.c - training throughput of the numeric core, outside PostgreSQL
 *
 *   bench <set> <preset> <threads,...> [epochs]
 *
 * threads: a count (lock-free threads, bpr.reproducible = off) or a count
 * followed by r (synchronous threads, bpr.reproducible = on), e.g. 1,2,2r.
 *
 * set: ml20m (synthetic, MovieLens-20M shape), ml100k (synthetic, u1.base
 * shape) or ml100k:<dir> (the real files; falls back to the synthetic set when
 * absent).  preset: default or notebook, as src/pg/train_args.c defines them.
 * epochs overrides the preset's; BENCH_TRIPLETS=n sets triplets per epoch.
 * Prints figures and asserts nothing.  The caller's side of the contract is
 * played as the PostgreSQL layer plays it: OpenBLAS set to one thread, memory
 * from a counting allocator, hooks on the calling thread.
 */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "data.h"
#include "evaluation.h"
#include "trainer.h"

/* Wall clock in seconds */
static double
now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double) ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* CPU seconds of the whole process (all threads) */
static double
cpu_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double) ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Busy and total jiffies of the whole machine (all CPUs) from /proc/stat; false if unknown */
static bool
machine_jiffies(double *busy, double *total)
{
	FILE	   *f = fopen("/proc/stat", "r");
	unsigned long long v[8] = {0};
	int			got;

	if (f == NULL)
		return false;
	got = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2],
				 &v[3], &v[4], &v[5], &v[6], &v[7]);
	fclose(f);
	if (got < 8)
		return false;
	*total = (double) (v[0] + v[1] + v[2] + v[3] + v[4] + v[5] + v[6] + v[7]);
	*busy = *total - (double) (v[3] + v[4]);
	return true;
}

/* A calloc allocator that counts bytes and keeps blocks for freeing */
typedef struct CountAlloc
{
	size_t		bytes;
	void	  **blocks;
	size_t		n,
				cap;
} CountAlloc;

/* zalloc of the counting allocator */
static void *
count_zalloc(void *ctx, size_t size)
{
	CountAlloc *c = ctx;
	void	   *p = malloc(size ? size : 1);

	if (p == NULL)
	{
		fprintf(stderr, "out of memory (%zu bytes)\n", size);
		exit(2);
	}
	if (c->n == c->cap)
	{
		c->cap = c->cap ? 2 * c->cap : 256;
		c->blocks = realloc(c->blocks, c->cap * sizeof(void *));
		if (c->blocks == NULL)
			exit(2);
	}
	c->blocks[c->n++] = p;
	c->bytes += size;
	/* zeroed by writing, as palloc0 does: no page faults later, in the timed part */
	memset(p, 0, size);
	return p;
}

/* Overflow ends the run */
static void
count_overflow(void *ctx, const char *what)
{
	fprintf(stderr, "size overflow: %s\n", what);
	exit(2);
}

/* Frees every block of the counting allocator */
static void
count_free(CountAlloc *c)
{
	for (size_t i = 0; i < c->n; i++)
		free(c->blocks[i]);
	free(c->blocks);
	memset(c, 0, sizeof(*c));
}

/* The two presets of src/pg/train_args.c (keep in step with it) */
static BprTrainConfig
preset(const char *name)
{
	BprTrainConfig c;

	memset(&c, 0, sizeof(c));
	if (strcmp(name, "notebook") == 0)
	{
		c.dim = 32;
		c.field_dim = 32;
		c.n_item_hidden = 2;
		c.item_hidden[0] = 64;
		c.item_hidden[1] = 32;
		c.output = BPR_OUTPUT_SOFTMAX;
		c.use_ids = false;
		c.bias = false;
		c.id_init = 0.05f;
		c.sampler.negatives = BPR_NEG_RATED;
		c.sampler.rated_share = 1.0f;
		c.sampler.hard = BPR_HARD_FEATURES;
		c.sampler.candidates = 0;
		c.uniform_users = true;
		c.epochs = 25;
		c.epoch_triplets = 16000;
		c.batch_size = 16;
		c.learning_rate = 0.001f;
		c.final_lr_ratio = 1.0f;
		c.l2 = 0.0f;
	}
	else
	{
		c.dim = 64;
		c.field_dim = 64;
		c.output = BPR_OUTPUT_LINEAR;
		c.use_ids = true;
		c.bias = true;
		c.id_init = 0.01f;
		c.sampler.negatives = BPR_NEG_UNRATED;
		c.sampler.rated_share = 0.0f;
		c.sampler.hard = BPR_HARD_MODEL;
		c.sampler.candidates = 5;
		c.uniform_users = false;
		c.epochs = 30;
		c.epoch_triplets = 0;
		c.batch_size = 256;
		c.learning_rate = 0.002f;
		c.final_lr_ratio = 0.1f;
		c.l2 = 0.04f;
	}
	c.seed = 42;
	return c;
}

/* What the hooks record over a run */
typedef struct RunLog
{
	int64_t		triplets;
	double		seconds;		/* sum of the epochs' own times */
	double		first_loss;
	double		last_loss;
	int32_t		epochs;
	bool		verbose;
} RunLog;

/* Clock hook */
static double
hook_now(void *arg)
{
	return now_seconds();
}

/* Epoch hook: sums triplets and seconds */
static bool
hook_epoch(void *arg, const BprEpochReport *r)
{
	RunLog	   *log = arg;

	if (log->epochs == 0)
		log->first_loss = r->loss;
	log->epochs++;
	log->triplets += r->triplets;
	log->seconds += r->seconds;
	log->last_loss = r->loss;
	if (log->verbose)
		printf("    epoch %d: loss %.4f, %lld triplets, %.2f s\n", r->epoch, r->loss,
			   (long long) r->triplets, r->seconds);
	return true;
}

/* Peak resident memory of this process (VmHWM), in MiB, or -1 */
static double
peak_mib(void)
{
	FILE	   *f = fopen("/proc/self/status", "r");
	char		line[256];
	double		kb = -1;

	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, "VmHWM:", 6) == 0)
			kb = atof(line + 6);
	fclose(f);
	return kb / 1024.0;
}

/* Ranking quality of the trained vectors on the held-out ratings (k = 10, liked = 4 or more) */
static void
print_quality(BprTrainer *t, const BenchData *d, const BprAlloc *alloc)
{
	BprEvalInput in;
	BprMetricsResult r;
	int32_t		w = t->vec_dim;
	float	   *uv = bpr_alloc_array(alloc, (size_t) d->inter.n_users * w, sizeof(float), "eval");
	float	   *iv = bpr_alloc_array(alloc, (size_t) d->inter.n_items * w, sizeof(float), "eval");
	int64_t    *ids = bpr_alloc_array(alloc, (size_t) d->inter.n_items, sizeof(int64_t), "eval");
	int64_t		n_test = d->test_ptr[d->inter.n_users];
	uint8_t    *liked = bpr_alloc_array(alloc, (size_t) (n_test ? n_test : 1), 1, "eval");

	bpr_trainer_user_vectors(t, uv);
	bpr_trainer_item_vectors(t, iv);
	for (int32_t i = 0; i < d->inter.n_items; i++)
		ids[i] = i;
	for (int64_t k = 0; k < n_test; k++)
		liked[k] = d->test_ratings[k] >= 4.0;
	memset(&in, 0, sizeof(in));
	in.n_users = d->inter.n_users;
	in.user_vecs = uv;
	in.n_items = d->inter.n_items;
	in.item_vecs = iv;
	in.item_ids = ids;
	in.vec_dim = w;
	in.train_ptr = d->inter.rated_ptr;
	in.train_items = d->inter.rated;
	in.test_ptr = d->test_ptr;
	in.test_items = d->test_items;
	in.test_liked = liked;
	in.k = 10;
	bpr_evaluate_model(&in, alloc, NULL, NULL, &r);
	printf("      held-out: precision@10 %.4f, ndcg@10 %.4f, rank auc %.4f, seed auc %.4f\n",
		   r.precision, r.ndcg, r.rank_auc, r.seed_auc);
}

/* Trains one configuration and prints its line */
static void
run(const BenchData *d, const char *preset_name, int32_t threads, bool lock_free,
	int32_t epochs)
{
	BprTrainConfig c = preset(preset_name);
	CountAlloc	ca = {0};
	BprAlloc	alloc = {.zalloc = count_zalloc, .overflow = count_overflow, .ctx = &ca};
	RunLog		log = {0};
	BprTrainHooks hooks;
	BprTrainer *t;
	size_t		planned;
	double		t0,
				setup,
				cpu0,
				busy0 = 0,
				total0 = 0,
				busy1 = 0,
				total1 = 0,
				others = -1;
	bool		jiffies;

	memset(&hooks, 0, sizeof(hooks));
	hooks.epoch_done = hook_epoch;
	hooks.now = hook_now;
	hooks.arg = &log;
	if (epochs > 0)
		c.epochs = epochs;
	if (getenv("BENCH_TRIPLETS") != NULL)
		c.epoch_triplets = atoll(getenv("BENCH_TRIPLETS"));
	c.threads = threads;
	c.lock_free = lock_free;
	log.verbose = getenv("BENCH_VERBOSE") != NULL;
	planned = bpr_trainer_bytes(&c, &d->inter, &d->user_f, &d->item_f);
	t0 = now_seconds();
	t = bpr_trainer_create(&c, &d->inter, &d->user_f, &d->item_f, &alloc);
	setup = now_seconds() - t0;
	jiffies = machine_jiffies(&busy0, &total0);
	cpu0 = cpu_seconds();
	bpr_trainer_run(t, &hooks);
	cpu0 = cpu_seconds() - cpu0;
	/* how much of the machine other processes used meanwhile */
	if (jiffies && machine_jiffies(&busy1, &total1) && total1 > total0)
	{
		double		hz = (double) sysconf(_SC_CLK_TCK);

		others = ((busy1 - busy0) / hz - cpu0) / ((total1 - total0) / hz) * 100.0;
	}
	printf("  %-8s threads %d%s: %2d epochs, %9.0f triplets/s, %7.2f s/epoch, loss %.4f -> %.4f"
		   " (cpu %.2f s/epoch, other processes %.0f%% of the machine, setup %.2f s,"
		   " trainer %.1f MiB, planned %.1f MiB)\n",
		   preset_name, threads, threads == 1 ? "" : lock_free ? " lock-free" : " reproducible",
		   log.epochs, log.triplets / log.seconds,
		   log.seconds / log.epochs, log.first_loss, log.last_loss, cpu0 / log.epochs,
		   others < 0 ? 0 : others, setup, ca.bytes / 1048576.0, planned / 1048576.0);
	if (d->test_ptr != NULL)
		print_quality(t, d, &alloc);
	fflush(stdout);
	count_free(&ca);
}

/* Builds the set, then trains it once per thread count given */
int
main(int argc, char **argv)
{
	BenchData	d;
	const char *set;
	double		t0;
	int32_t		epochs;
	char	   *list,
			   *tok;

	if (argc < 4)
	{
		fprintf(stderr, "usage: bench ml20m|ml100k|ml100k:<dir> default|notebook threads[,threads...] [epochs]\n");
		return 1;
	}
	/* the caller's duty: BLAS single-threaded inside each training thread */
	openblas_set_num_threads(1);
	set = argv[1];
	epochs = argc > 4 ? atoi(argv[4]) : 0;
	t0 = now_seconds();
	if (strcmp(set, "ml20m") == 0)
		bench_make_ml20m(&d, 20240601, 20000263);
	else if (strncmp(set, "ml100k:", 7) == 0 && bench_read_ml100k(&d, set + 7, "u1"))
		;
	else
		bench_make_ml100k(&d, 100000);
	printf("%s: %d users, %d items, %lld ratings, %lld liked, %lld disliked; built in %.2f s\n",
		   d.name, d.inter.n_users, d.inter.n_items, (long long) d.n_ratings,
		   (long long) d.inter.pos_ptr[d.inter.n_users],
		   (long long) d.inter.neg_ptr[d.inter.n_users], now_seconds() - t0);
	fflush(stdout);

	list = strdup(argv[3]);
	for (tok = strtok(list, ","); tok != NULL; tok = strtok(NULL, ","))
		run(&d, argv[2], atoi(tok), strchr(tok, 'r') == NULL, epochs);
	free(list);
	printf("  peak memory of the process (VmHWM): %.0f MiB\n", peak_mib());
	bench_data_free(&d);
	return 0;
}
