/*
 * data.c - benchmark data sets for the numeric core, built directly in C
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data.h"
#include "rng.h"

/* Rating classes of the generators: liked (>= 4), disliked (<= 3), neither (3.5) */
enum
{
	CLS_POS = 0, CLS_NEG = 1, CLS_MID = 2
};

/* malloc that exits on failure */
static void *
xmalloc(size_t n)
{
	void	   *p = calloc(1, n ? n : 1);

	if (p == NULL)
	{
		fprintf(stderr, "out of memory (%zu bytes)\n", n);
		exit(2);
	}
	return p;
}

/* Uniform double in [0, 1) with 53 bits */
static double
uniform53(BprRng *rng)
{
	return (double) (bpr_rng_next(rng) >> 11) * (1.0 / 9007199254740992.0);
}

/* Standard normal draw (Box-Muller) */
static double
normal(BprRng *rng)
{
	double		u1 = uniform53(rng),
				u2 = uniform53(rng);

	if (u1 < 1e-300)
		u1 = 1e-300;
	return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

/* Walker/Vose alias table for drawing from a discrete distribution in O(1) */
typedef struct Alias
{
	int32_t		n;
	double	   *prob;			/* chance of keeping the column */
	int32_t    *alias;			/* the other outcome of the column */
} Alias;

/* Builds an alias table over n weights */
static void
alias_build(Alias *a, const double *w, int32_t n)
{
	double		sum = 0.0;
	int32_t    *small = xmalloc(sizeof(int32_t) * n),
			   *large = xmalloc(sizeof(int32_t) * n);
	int32_t		ns = 0,
				nl = 0;

	a->n = n;
	a->prob = xmalloc(sizeof(double) * n);
	a->alias = xmalloc(sizeof(int32_t) * n);
	for (int32_t i = 0; i < n; i++)
		sum += w[i];
	for (int32_t i = 0; i < n; i++)
	{
		a->prob[i] = w[i] * n / sum;
		if (a->prob[i] < 1.0)
			small[ns++] = i;
		else
			large[nl++] = i;
	}
	while (ns > 0 && nl > 0)
	{
		int32_t		s = small[--ns],
					l = large[nl - 1];

		a->alias[s] = l;
		a->prob[l] -= 1.0 - a->prob[s];
		if (a->prob[l] < 1.0)
		{
			nl--;
			small[ns++] = l;
		}
	}
	while (nl > 0)
		a->prob[large[--nl]] = 1.0;
	while (ns > 0)
		a->prob[small[--ns]] = 1.0;
	free(small);
	free(large);
}

/* One draw from an alias table */
static inline int32_t
alias_draw(const Alias *a, BprRng *rng)
{
	uint64_t	x = bpr_rng_next(rng);
	int32_t		col = (int32_t) ((x >> 32) * (uint64_t) a->n >> 32);
	double		u = (double) (x & 0xffffffffu) * (1.0 / 4294967296.0);

	return u < a->prob[col] ? col : a->alias[col];
}

/* Frees an alias table */
static void
alias_free(Alias *a)
{
	free(a->prob);
	free(a->alias);
}

/* Ascending int32 comparison for qsort */
static int
cmp_i32(const void *a, const void *b)
{
	int32_t		x = *(const int32_t *) a,
				y = *(const int32_t *) b;

	return (x > y) - (x < y);
}

/* Fisher-Yates permutation of 0..n-1 */
static int32_t *
permutation(BprRng *rng, int32_t n)
{
	int32_t    *p = xmalloc(sizeof(int32_t) * n);

	for (int32_t i = 0; i < n; i++)
		p[i] = i;
	for (int32_t i = n - 1; i > 0; i--)
	{
		int32_t		j = (int32_t) bpr_rng_below(rng, (uint64_t) i + 1);
		int32_t		t = p[i];

		p[i] = p[j];
		p[j] = t;
	}
	return p;
}

/* Shape of a synthetic set */
typedef struct GenShape
{
	int32_t		n_users;
	int32_t		n_items;
	int64_t		n_ratings;
	int32_t		min_per_user;
	double		sigma;			/* lognormal spread of user activity */
	double		zipf_s;			/* item weight (rank + zipf_k)^-s */
	double		zipf_k;
	double		p_pos_match;	/* liked share when user and item groups match */
	double		p_pos_other;
	double		p_mid;			/* share of ratings that are neither (3.5) */
	int32_t		n_groups;
} GenShape;

/* Group of an item or a user: the planted structure ratings follow */
static inline int32_t
group_of(int32_t x, int32_t n_groups)
{
	uint64_t	h = (uint64_t) x * UINT64_C(0x9E3779B97F4A7C15);

	return (int32_t) ((h >> 40) % (uint64_t) n_groups);
}

/* Per-user rating counts: lognormal activity scaled to n_ratings exactly */
static int32_t *
user_counts(const GenShape *s, BprRng *rng)
{
	int32_t    *cnt = xmalloc(sizeof(int32_t) * s->n_users);
	double	   *raw = xmalloc(sizeof(double) * s->n_users);
	double		sum = 0.0;
	int64_t		total = 0;
	int32_t		cap = s->n_items / 3;

	for (int32_t u = 0; u < s->n_users; u++)
	{
		raw[u] = exp(s->sigma * normal(rng));
		sum += raw[u];
	}
	for (int32_t u = 0; u < s->n_users; u++)
	{
		double		want = s->min_per_user +
			raw[u] / sum * (double) (s->n_ratings - (int64_t) s->min_per_user * s->n_users);
		int32_t		c = (int32_t) llround(want);

		c = c < s->min_per_user ? s->min_per_user : c > cap ? cap : c;
		cnt[u] = c;
		total += c;
	}
	/* exact total: nudge random users by one */
	while (total != s->n_ratings)
	{
		int32_t		u = (int32_t) bpr_rng_below(rng, (uint64_t) s->n_users);

		if (total < s->n_ratings && cnt[u] < cap)
		{
			cnt[u]++;
			total++;
		}
		else if (total > s->n_ratings && cnt[u] > s->min_per_user)
		{
			cnt[u]--;
			total--;
		}
	}
	free(raw);
	return cnt;
}

/* Fills the interactions of a synthetic set (users in order, items sorted per user) */
static void
generate(BenchData *d, const GenShape *s, BprRng *rng)
{
	int32_t    *cnt = user_counts(s, rng);
	int32_t    *by_rank = permutation(rng, s->n_items);
	double	   *w = xmalloc(sizeof(double) * s->n_items);
	uint8_t    *mark = xmalloc((size_t) s->n_items);
	int32_t    *list = xmalloc(sizeof(int32_t) * s->n_items);
	Alias		alias;
	int64_t		np = 0,
				nn = 0,
				nr = 0;

	for (int32_t r = 0; r < s->n_items; r++)
		w[r] = pow((double) r + s->zipf_k, -s->zipf_s);
	alias_build(&alias, w, s->n_items);

	d->pos_ptr = xmalloc(sizeof(int64_t) * ((size_t) s->n_users + 1));
	d->neg_ptr = xmalloc(sizeof(int64_t) * ((size_t) s->n_users + 1));
	d->rated_ptr = xmalloc(sizeof(int64_t) * ((size_t) s->n_users + 1));
	d->rated = xmalloc(sizeof(int32_t) * (size_t) s->n_ratings);
	/* liked and disliked lists are shrunk to size at the end */
	d->pos = xmalloc(sizeof(int32_t) * (size_t) s->n_ratings);
	d->neg = xmalloc(sizeof(int32_t) * (size_t) s->n_ratings);

	for (int32_t u = 0; u < s->n_users; u++)
	{
		int32_t		n = 0;
		int32_t		ug = group_of(u + 7919, s->n_groups);

		d->pos_ptr[u] = np;
		d->neg_ptr[u] = nn;
		d->rated_ptr[u] = nr;
		while (n < cnt[u])
		{
			int32_t		item = by_rank[alias_draw(&alias, rng)];

			if (!mark[item])
			{
				mark[item] = 1;
				list[n++] = item;
			}
		}
		qsort(list, (size_t) n, sizeof(int32_t), cmp_i32);
		for (int32_t j = 0; j < n; j++)
		{
			int32_t		item = list[j];
			double		p_pos = group_of(item, s->n_groups) == ug ? s->p_pos_match : s->p_pos_other;
			double		x = uniform53(rng);

			mark[item] = 0;
			d->rated[nr++] = item;
			if (x < s->p_mid)
				continue;
			if (uniform53(rng) < p_pos)
				d->pos[np++] = item;
			else
				d->neg[nn++] = item;
		}
	}
	d->pos_ptr[s->n_users] = np;
	d->neg_ptr[s->n_users] = nn;
	d->rated_ptr[s->n_users] = nr;
	d->pos = realloc(d->pos, sizeof(int32_t) * (size_t) (np ? np : 1));
	d->neg = realloc(d->neg, sizeof(int32_t) * (size_t) (nn ? nn : 1));
	d->n_ratings = nr;

	d->inter.n_users = s->n_users;
	d->inter.n_items = s->n_items;
	d->inter.pos_ptr = d->pos_ptr;
	d->inter.pos = d->pos;
	d->inter.neg_ptr = d->neg_ptr;
	d->inter.neg = d->neg;
	d->inter.rated_ptr = d->rated_ptr;
	d->inter.rated = d->rated;

	alias_free(&alias);
	free(cnt);
	free(by_rank);
	free(w);
	free(mark);
	free(list);
}

/*
 * Item features as MovieLens has them: a release year (standardised) and a
 * multi-hot genre bag (codes 1..n_genres, sorted).  The first genre follows
 * the item's group, so features carry part of the planted structure.
 */
static void
item_features(BenchData *d, BprRng *rng, int32_t n_items, int32_t n_genres, int32_t n_groups)
{
	int32_t		max_bag = 3;

	d->item_numeric = xmalloc(sizeof(float) * n_items);
	d->multi_ptr = xmalloc(sizeof(int64_t) * ((size_t) n_items + 1));
	d->multi_idx = xmalloc(sizeof(int32_t) * (size_t) n_items * max_bag);
	for (int32_t i = 0; i < n_items; i++)
	{
		int32_t		bag[3];
		int32_t		n = 1 + (int32_t) bpr_rng_below(rng, (uint64_t) max_bag);
		int32_t		m = 0;
		int64_t		at = d->multi_ptr[i];

		d->item_numeric[i] = (float) normal(rng);
		bag[m++] = 1 + group_of(i, n_groups) % n_genres;
		while (m < n)
		{
			int32_t		g = 1 + (int32_t) bpr_rng_below(rng, (uint64_t) n_genres);
			bool		dup = false;

			for (int32_t k = 0; k < m; k++)
				dup = dup || bag[k] == g;
			if (!dup)
				bag[m++] = g;
		}
		qsort(bag, (size_t) m, sizeof(int32_t), cmp_i32);
		for (int32_t k = 0; k < m; k++)
			d->multi_idx[at + k] = bag[k];
		d->multi_ptr[i + 1] = at + m;
	}
	d->item_multi[0].card = n_genres + 1;
	d->item_multi[0].ptr = d->multi_ptr;
	d->item_multi[0].idx = d->multi_idx;
	d->item_f.n_rows = n_items;
	d->item_f.n_numeric = 1;
	d->item_f.numeric = d->item_numeric;
	d->item_f.n_multi = 1;
	d->item_f.multi = d->item_multi;
}

/* Synthetic MovieLens-20M-shaped set: users rated n_ratings items in total */
void
bench_make_ml20m(BenchData *d, uint64_t seed, int64_t n_ratings)
{
	GenShape	s = {
		.n_users = 138493, .n_items = 26744, .n_ratings = n_ratings,
		.min_per_user = 20, .sigma = 1.3, .zipf_s = 1.0, .zipf_k = 20.0,
		.p_pos_match = 0.72, .p_pos_other = 0.535, .p_mid = 0.10, .n_groups = 8
	};
	BprRng		rng;

	memset(d, 0, sizeof(*d));
	snprintf(d->name, sizeof(d->name), "synthetic ML-20M shape");
	bpr_rng_seed(&rng, seed);
	generate(d, &s, &rng);
	/* ML-20M has no user features: the user tower is the id embedding */
	d->user_f.n_rows = s.n_users;
	item_features(d, &rng, s.n_items, 20, s.n_groups);
}

/* User features of the notebook: age (standardised), gender, occupation, zip prefix */
static void
user_features(BenchData *d, int32_t n_users)
{
	d->user_numeric = xmalloc(sizeof(float) * n_users);
	d->user_cat = xmalloc(sizeof(int32_t) * (size_t) n_users * 3);
	d->user_cat_card = xmalloc(sizeof(int32_t) * 3);
	d->user_cat_card[0] = 3;	/* gender: missing, F, M */
	d->user_cat_card[1] = 22;	/* 21 occupations */
	d->user_cat_card[2] = 12;	/* first character of the zip code */
	d->user_f.n_rows = n_users;
	d->user_f.n_numeric = 1;
	d->user_f.numeric = d->user_numeric;
	d->user_f.n_cat = 3;
	d->user_f.cat_card = d->user_cat_card;
	d->user_f.cat = d->user_cat;
}

/* Synthetic MovieLens-100k-shaped set (u1.base size) with the notebook's features */
void
bench_make_ml100k(BenchData *d, uint64_t seed)
{
	GenShape	s = {
		.n_users = 943, .n_items = 1682, .n_ratings = 80000,
		.min_per_user = 10, .sigma = 1.0, .zipf_s = 1.1, .zipf_k = 10.0,
		.p_pos_match = 0.68, .p_pos_other = 0.50, .p_mid = 0.0, .n_groups = 8
	};
	BprRng		rng;

	memset(d, 0, sizeof(*d));
	snprintf(d->name, sizeof(d->name), "synthetic ML-100k shape");
	bpr_rng_seed(&rng, seed);
	generate(d, &s, &rng);
	user_features(d, s.n_users);
	for (int32_t u = 0; u < s.n_users; u++)
	{
		d->user_numeric[u] = (float) normal(&rng);
		d->user_cat[u * 3 + 0] = 1 + (int32_t) bpr_rng_below(&rng, 2);
		d->user_cat[u * 3 + 1] = 1 + (int32_t) bpr_rng_below(&rng, 21);
		d->user_cat[u * 3 + 2] = 1 + (int32_t) bpr_rng_below(&rng, 11);
	}
	item_features(d, &rng, s.n_items, 19, s.n_groups);
}

/* Opens dir/name for reading, or NULL */
static FILE *
open_in(const char *dir, const char *name)
{
	char		path[1024];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return fopen(path, "r");
}

/* Code of a string in a small vocabulary (codes from 1), adding it when new */
static int32_t
vocab_code(char vocab[][32], int32_t *n, int32_t cap, const char *s)
{
	for (int32_t i = 0; i < *n; i++)
		if (strcmp(vocab[i], s) == 0)
			return i + 1;
	if (*n >= cap)
		return 0;
	snprintf(vocab[*n], 32, "%s", s);
	return ++*n;
}

/* Standardises n values in place (mean 0, unit variance) */
static void
standardise(float *x, int32_t n)
{
	double		sum = 0.0,
				sq = 0.0,
				mean,
				sd;

	for (int32_t i = 0; i < n; i++)
		sum += x[i];
	mean = n > 0 ? sum / n : 0.0;
	for (int32_t i = 0; i < n; i++)
		sq += (x[i] - mean) * (x[i] - mean);
	sd = n > 1 ? sqrt(sq / (n - 1)) : 1.0;
	if (sd <= 0.0)
		sd = 1.0;
	for (int32_t i = 0; i < n; i++)
		x[i] = (float) ((x[i] - mean) / sd);
}

/* Reads u.user: age, gender, occupation, first character of the zip code */
static bool
read_users(BenchData *d, const char *dir, int32_t n_users)
{
	FILE	   *f = open_in(dir, "u.user");
	char		line[512];
	char		gender[4][32],
				occ[32][32],
				zip[16][32];
	int32_t		ng = 0,
				no = 0,
				nz = 0;

	if (f == NULL)
		return false;
	user_features(d, n_users);
	while (fgets(line, sizeof(line), f))
	{
		int			id,
					age;
		char		g[32],
					o[64],
					z[64];

		if (sscanf(line, "%d|%d|%31[^|]|%63[^|]|%63s", &id, &age, g, o, z) != 5 ||
			id < 1 || id > n_users)
			continue;
		z[1] = '\0';
		d->user_numeric[id - 1] = (float) age;
		d->user_cat[(id - 1) * 3 + 0] = vocab_code(gender, &ng, 2, g);
		d->user_cat[(id - 1) * 3 + 1] = vocab_code(occ, &no, 21, o);
		d->user_cat[(id - 1) * 3 + 2] = vocab_code(zip, &nz, 11, z);
	}
	fclose(f);
	standardise(d->user_numeric, n_users);
	return true;
}

/* Reads u.item: release year and the 19 genre flags */
static bool
read_items(BenchData *d, const char *dir, int32_t n_items)
{
	FILE	   *f = open_in(dir, "u.item");
	char		line[2048];
	int64_t		at = 0;
	double		year_sum = 0.0;
	int32_t		n_years = 0;
	bool	   *has_year;

	if (f == NULL)
		return false;
	has_year = xmalloc(sizeof(bool) * n_items);
	d->item_numeric = xmalloc(sizeof(float) * n_items);
	d->multi_ptr = xmalloc(sizeof(int64_t) * ((size_t) n_items + 1));
	d->multi_idx = xmalloc(sizeof(int32_t) * (size_t) n_items * 19);
	while (fgets(line, sizeof(line), f))
	{
		char	   *fields[32];
		int			nf = 0;
		char	   *p = line;
		int			id;

		while (nf < 32)
		{
			fields[nf++] = p;
			p = strchr(p, '|');
			if (p == NULL)
				break;
			*p++ = '\0';
		}
		if (nf < 24 || (id = atoi(fields[0])) < 1 || id > n_items)
			continue;
		if (strlen(fields[2]) >= 4)
		{
			d->item_numeric[id - 1] = (float) atoi(fields[2] + strlen(fields[2]) - 4);
			has_year[id - 1] = true;
			year_sum += d->item_numeric[id - 1];
			n_years++;
		}
		/* items arrive in id order; the bag is the set flags, ascending */
		d->multi_ptr[id - 1] = at;
		for (int g = 0; g < 19; g++)
			if (atoi(fields[5 + g]) == 1)
				d->multi_idx[at++] = g + 1;
		d->multi_ptr[id] = at;
	}
	fclose(f);
	for (int32_t i = 0; i < n_items; i++)
		if (!has_year[i])
			d->item_numeric[i] = (float) (n_years ? year_sum / n_years : 0.0);
	standardise(d->item_numeric, n_items);
	free(has_year);
	d->item_multi[0].card = 20;
	d->item_multi[0].ptr = d->multi_ptr;
	d->item_multi[0].idx = d->multi_idx;
	d->item_f.n_rows = n_items;
	d->item_f.n_numeric = 1;
	d->item_f.numeric = d->item_numeric;
	d->item_f.n_multi = 1;
	d->item_f.multi = d->item_multi;
	return true;
}

/* One rating row while reading */
typedef struct RatingRow
{
	int32_t		user;
	int32_t		item;
	int32_t		rating;
} RatingRow;

/* Orders rating rows by user, then item */
static int
cmp_row(const void *a, const void *b)
{
	const RatingRow *x = a,
			   *y = b;

	if (x->user != y->user)
		return (x->user > y->user) - (x->user < y->user);
	return (x->item > y->item) - (x->item < y->item);
}

/* Reads <split>.test into per-user lists (users in order, items ascending); false if absent */
static bool
read_test(BenchData *d, const char *dir, const char *split, int32_t n_users, int32_t n_items)
{
	char		name[64];
	FILE	   *f;
	RatingRow  *rows;
	int64_t		n = 0,
				cap = 1 << 16;
	int			u,
				i,
				r;
	long		ts;

	snprintf(name, sizeof(name), "%s.test", split);
	f = open_in(dir, name);
	if (f == NULL)
		return false;
	rows = xmalloc(sizeof(RatingRow) * cap);
	while (fscanf(f, "%d %d %d %ld", &u, &i, &r, &ts) == 4)
	{
		if (u < 1 || u > n_users || i < 1 || i > n_items || n >= cap)
			continue;
		rows[n].user = u - 1;
		rows[n].item = i - 1;
		rows[n].rating = r;
		n++;
	}
	fclose(f);
	qsort(rows, (size_t) n, sizeof(RatingRow), cmp_row);
	d->test_ptr = xmalloc(sizeof(int64_t) * ((size_t) n_users + 1));
	d->test_items = xmalloc(sizeof(int32_t) * (size_t) (n ? n : 1));
	d->test_ratings = xmalloc(sizeof(double) * (size_t) (n ? n : 1));
	for (int64_t k = 0, user = 0; user <= n_users; user++)
	{
		d->test_ptr[user] = k;
		for (; k < n && rows[k].user == user; k++)
		{
			d->test_items[k] = rows[k].item;
			d->test_ratings[k] = rows[k].rating;
		}
	}
	free(rows);
	return true;
}

/* Reads u.user, u.item, <split>.base and <split>.test of a MovieLens 100k directory; false if absent */
bool
bench_read_ml100k(BenchData *d, const char *dir, const char *split)
{
	const int32_t n_users = 943,
				n_items = 1682;
	char		name[64];
	FILE	   *f;
	RatingRow  *rows;
	int64_t		n = 0,
				cap = 1 << 17,
				np = 0,
				nn = 0;
	int			u,
				i,
				r;
	long		ts;

	memset(d, 0, sizeof(*d));
	snprintf(name, sizeof(name), "%s.base", split);
	f = open_in(dir, name);
	if (f == NULL)
		return false;
	rows = xmalloc(sizeof(RatingRow) * cap);
	while (fscanf(f, "%d %d %d %ld", &u, &i, &r, &ts) == 4)
	{
		if (u < 1 || u > n_users || i < 1 || i > n_items || n >= cap)
			continue;
		rows[n].user = u - 1;
		rows[n].item = i - 1;
		rows[n].rating = r;
		n++;
	}
	fclose(f);
	qsort(rows, (size_t) n, sizeof(RatingRow), cmp_row);
	if (!read_users(d, dir, n_users) || !read_items(d, dir, n_items))
	{
		free(rows);
		bench_data_free(d);
		return false;
	}
	snprintf(d->name, sizeof(d->name), "MovieLens 100k %s.base", split);
	d->pos_ptr = xmalloc(sizeof(int64_t) * (n_users + 1));
	d->neg_ptr = xmalloc(sizeof(int64_t) * (n_users + 1));
	d->rated_ptr = xmalloc(sizeof(int64_t) * (n_users + 1));
	d->pos = xmalloc(sizeof(int32_t) * n);
	d->neg = xmalloc(sizeof(int32_t) * n);
	d->rated = xmalloc(sizeof(int32_t) * n);
	for (int64_t k = 0, user = 0; user <= n_users; user++)
	{
		d->pos_ptr[user] = np;
		d->neg_ptr[user] = nn;
		d->rated_ptr[user] = k;
		for (; k < n && rows[k].user == user; k++)
		{
			d->rated[k] = rows[k].item;
			if (rows[k].rating >= 4)
				d->pos[np++] = rows[k].item;
			else
				d->neg[nn++] = rows[k].item;
		}
	}
	free(rows);
	read_test(d, dir, split, n_users, n_items);
	d->n_ratings = n;
	d->inter.n_users = n_users;
	d->inter.n_items = n_items;
	d->inter.pos_ptr = d->pos_ptr;
	d->inter.pos = d->pos;
	d->inter.neg_ptr = d->neg_ptr;
	d->inter.neg = d->neg;
	d->inter.rated_ptr = d->rated_ptr;
	d->inter.rated = d->rated;
	return true;
}

/* Frees the arrays of a set */
void
bench_data_free(BenchData *d)
{
	free(d->pos_ptr);
	free(d->neg_ptr);
	free(d->rated_ptr);
	free(d->pos);
	free(d->neg);
	free(d->rated);
	free(d->user_numeric);
	free(d->item_numeric);
	free(d->user_cat);
	free(d->user_cat_card);
	free(d->multi_ptr);
	free(d->multi_idx);
	free(d->test_ptr);
	free(d->test_items);
	free(d->test_ratings);
	memset(d, 0, sizeof(*d));
}
