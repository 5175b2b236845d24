/*
 * names.h - the SQL spelling of each enum bpr stores or takes as an argument
 *
 * One table per enum maps values to names; parsing and printing both read it,
 * so an argument, the registry's JSON and an error's list of valid values
 * always agree.
 */
#ifndef BPR_NAMES_H
#define BPR_NAMES_H

#include "postgres.h"

/* When a trained version becomes the active one */
typedef enum BprActivate
{
	BPR_ACTIVATE_ALWAYS = 0,
	BPR_ACTIVATE_IF_BETTER = 1,	/* only if its validation precision beats the active version's */
	BPR_ACTIVATE_NEVER = 2
} BprActivate;

/* One value and its SQL spelling; a table ends with a NULL name */
typedef struct BprName
{
	int			value;
	const char *name;
} BprName;

extern const BprName bpr_negatives_names[];		/* BprNegatives */
extern const BprName bpr_hard_names[];			/* BprHardNegatives */
extern const BprName bpr_output_names[];		/* BprOutputKind */
extern const BprName bpr_field_kind_names[];	/* BprFieldKind */
extern const BprName bpr_activate_names[];	/* BprActivate */

/* The spelling of value in table (a can't-happen value is an internal error) */
const char *bpr_name_of(const BprName *table, int value);

/* The value spelled name; ERROR 22023 naming the valid spellings when there is none */
int			bpr_value_of(const BprName *table, const char *name, const char *what);

/* The value spelled name, or -1 when there is none (for stored data) */
int			bpr_lookup_name(const BprName *table, const char *name);

#endif
