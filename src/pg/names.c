/*
 * names.c - the SQL spelling of each enum bpr stores or takes as an argument
 */
#include "postgres.h"

#include "lib/stringinfo.h"

#include "core/sampler.h"
#include "core/tower.h"
#include "encode.h"
#include "names.h"

const BprName bpr_negatives_names[] = {
	{BPR_NEG_RATED, "rated"},
	{BPR_NEG_UNRATED, "unrated"},
	{BPR_NEG_BOTH, "both"},
	{0, NULL}
};

const BprName bpr_hard_names[] = {
	{BPR_HARD_NONE, "none"},
	{BPR_HARD_FEATURES, "features"},
	{BPR_HARD_MODEL, "model"},
	{0, NULL}
};

const BprName bpr_output_names[] = {
	{BPR_OUTPUT_LINEAR, "linear"},
	{BPR_OUTPUT_SOFTMAX, "softmax"},
	{0, NULL}
};

const BprName bpr_field_kind_names[] = {
	{BPR_FIELD_NUMERIC, "numeric"},
	{BPR_FIELD_CATEGORICAL, "categorical"},
	{BPR_FIELD_MULTI, "multi"},
	{0, NULL}
};

/* The spelling of value in table (a can't-happen value is an internal error) */
const char *
bpr_name_of(const BprName *table, int value)
{
	for (const BprName *n = table; n->name != NULL; n++)
		if (n->value == value)
			return n->name;
	elog(ERROR, "unknown enum value %d", value);
	return NULL;				/* not reached */
}

/* The value spelled name, or -1 when there is none (for stored data) */
int
bpr_lookup_name(const BprName *table, const char *name)
{
	for (const BprName *n = table; n->name != NULL; n++)
		if (strcmp(n->name, name) == 0)
			return n->value;
	return -1;
}

/* The value spelled name; ERROR 22023 naming the valid spellings when there is none */
int
bpr_value_of(const BprName *table, const char *name, const char *what)
{
	int			value = bpr_lookup_name(table, name);
	StringInfoData valid;

	if (value >= 0)
		return value;
	initStringInfo(&valid);
	for (const BprName *n = table; n->name != NULL; n++)
		appendStringInfo(&valid, "%s\"%s\"", n == table ? "" : (n[1].name ? ", " : " or "), n->name);
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("%s must be %s, not \"%s\"", what, valid.data, name)));
	return -1;					/* not reached */
}

const BprName bpr_activate_names[] = {
	{BPR_ACTIVATE_ALWAYS, "always"},
	{BPR_ACTIVATE_IF_BETTER, "if_better"},
	{BPR_ACTIVATE_NEVER, "never"},
	{0, NULL}
};
