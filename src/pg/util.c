/*
 * util.c - the bottom of bpr's PostgreSQL layer: helpers every subsystem uses
 */
#include "postgres.h"

#include <time.h>

#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/syscache.h"

#include "util.h"

/* Rows fetched from a cursor at a time */
#define FETCH_ROWS 10000

/* Raises the budget error: in use, requested, limit */
static void
over_budget(const BprPgAlloc *a, Size size, const char *what)
{
	ereport(ERROR,
			(errcode(ERRCODE_OUT_OF_MEMORY),
			 errmsg("training needs more memory than bpr.max_memory allows"),
			 errdetail("%zu bytes were in use when %zu more were requested for %s while %s; the limit is %zu bytes.",
					   (size_t) a->used, (size_t) size, what, a->phase ? a->phase : "training",
					   (size_t) a->limit),
			 errhint("Raise bpr.max_memory (or maintenance_work_mem when bpr.max_memory is -1).")));
}

/* palloc in the allocator's context, charged against its budget */
static void *
pg_zalloc(void *ctx, size_t size)
{
	BprPgAlloc *a = (BprPgAlloc *) ctx;

	bpr_pg_alloc_charge(a, size, "an array");
	return MemoryContextAllocExtended(a->context, size, MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
}

/* pfree for a block from pg_zalloc, returned to the budget */
static void
pg_release(void *ctx, void *block, size_t size)
{
	BprPgAlloc *a = (BprPgAlloc *) ctx;

	pfree(block);
	bpr_pg_alloc_release(a, size);
}

/* A size computation overflowed: the request cannot be met */
static void
pg_overflow(void *ctx, const char *what)
{
	ereport(ERROR,
			(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
			 errmsg("training data too large"),
			 errdetail("The size of the %s overflows.", what)));
}

/* Prepares an allocator in context with a budget of limit bytes (0 = none) */
void
bpr_pg_alloc_init(BprPgAlloc *a, MemoryContext context, Size limit)
{
	a->base.zalloc = pg_zalloc;
	a->base.overflow = pg_overflow;
	a->base.release = pg_release;
	a->base.ctx = a;
	a->context = context;
	a->used = 0;
	a->limit = limit;
	a->parent = NULL;
	a->phase = NULL;
}

/* Prepares a scratch allocator in context whose bytes count against parent's budget */
void
bpr_pg_alloc_init_scratch(BprPgAlloc *a, BprPgAlloc *parent, MemoryContext context)
{
	bpr_pg_alloc_init(a, context, 0);
	a->parent = parent;
}

/* Frees everything a scratch allocator handed out and gives its bytes back to the budget */
void
bpr_pg_alloc_reset(BprPgAlloc *a)
{
	if (a->parent != NULL)
		bpr_pg_alloc_release(a->parent, a->used);
	a->used = 0;
	MemoryContextReset(a->context);
}

/* Allocates n zeroed elements of size from a, checked against overflow and the budget */
void *
bpr_pg_alloc(BprPgAlloc *a, size_t n, size_t size, const char *what)
{
	return bpr_alloc_array(&a->base, n, size, what);
}

/* Charges bytes held outside the allocator to its budget (ERROR 53200 when over) */
void
bpr_pg_alloc_charge(BprPgAlloc *a, Size bytes, const char *what)
{
	if (a->parent != NULL)
	{
		a->parent->phase = a->phase ? a->phase : a->parent->phase;
		bpr_pg_alloc_charge(a->parent, bytes, what);
	}
	else if (a->limit > 0 && (bytes > a->limit || a->used > a->limit - bytes))
		over_budget(a, bytes, what);
	a->used += bytes;
}

/* Returns bytes charged with bpr_pg_alloc_charge once they are freed */
void
bpr_pg_alloc_release(BprPgAlloc *a, Size bytes)
{
	if (a->parent != NULL)
		bpr_pg_alloc_release(a->parent, bytes);
	a->used = bytes > a->used ? 0 : a->used - bytes;
}

/*
 * Pins search_path to pg_catalog, pg_temp for the SQL bpr runs, so that the
 * caller's schemas cannot supply functions or operators to it (tables are
 * always schema-qualified).  An ERROR restores it with the transaction.
 */
int
bpr_pin_search_path(void)
{
	int			level = NewGUCNestLevel();

	(void) set_config_option("search_path", "pg_catalog, pg_temp", PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	/*
	 * On a Citus worker, bpr's own queries (the model tables, the user's rated
	 * items) run inside a query Citus pushed down: let them read local shards.
	 */
	if (GetConfigOption("citus.allow_nested_distributed_execution", true, false) != NULL)
		(void) set_config_option("citus.allow_nested_distributed_execution", "on", PGC_USERSET,
								 PGC_S_SESSION, GUC_ACTION_SAVE, true, 0, false);
	return level;
}

/* Restores search_path as it was before bpr_pin_search_path returned level */
void
bpr_unpin_search_path(int level)
{
	AtEOXact_GUC(true, level);
}

/* CHECK_FOR_INTERRUPTS as a callback for the numeric core's long loops (arg unused) */
void
bpr_check_interrupts(void *arg)
{
	CHECK_FOR_INTERRUPTS();
}

/* Seconds since an arbitrary epoch, monotonic */
double
bpr_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double) ts.tv_sec + (double) ts.tv_nsec * 1e-9;
}

/* Prepares a statement with bound parameters (ERROR on failure) */
SPIPlanPtr
bpr_spi_prepare(const char *sql, int nargs, Oid *types)
{
	SPIPlanPtr	plan = SPI_prepare(sql, nargs, types);

	if (plan == NULL)
		elog(ERROR, "SPI_prepare failed for \"%s\": %s", sql, SPI_result_code_string(SPI_result));
	return plan;
}

/* Executes a prepared statement; ERROR unless SPI returns `expected` (e.g. SPI_OK_INSERT) */
void
bpr_spi_execute(SPIPlanPtr plan, Datum *values, const char *nulls, bool read_only, int expected)
{
	int			rc = SPI_execute_plan(plan, values, nulls, read_only, 0);

	if (rc != expected)
		elog(ERROR, "SPI_execute_plan failed: %s", SPI_result_code_string(rc));
}

/* Runs a statement with bound arguments; ERROR unless SPI returns `expected` */
void
bpr_spi_run(const char *sql, int nargs, Oid *types, Datum *values, const char *nulls,
			bool read_only, int expected)
{
	int			rc = SPI_execute_with_args(sql, nargs, types, values, nulls, read_only, 0);

	if (rc != expected)
		elog(ERROR, "SPI_execute_with_args failed for \"%s\": %s", sql, SPI_result_code_string(rc));
}

/* A text Datum of s, or NULL (0) with *null set to 'n' for SPI */
Datum
bpr_text_or_null(const char *s, char *null)
{
	*null = s ? ' ' : 'n';
	return s ? CStringGetTextDatum(s) : (Datum) 0;
}

/* Opens a read-only cursor over a query with bound arguments (nargs may be 0) */
void
bpr_cursor_open(BprCursor *cursor, const char *sql, int nargs, Oid *types, Datum *values)
{
	SPIPlanPtr	plan = bpr_spi_prepare(sql, nargs, types);

	cursor->portal = SPI_cursor_open(NULL, plan, values, NULL, true);
	cursor->batch = NULL;
	/* the portal keeps its own copy of an unsaved plan */
	SPI_freeplan(plan);
}

/* Frees the last batch and fetches the next one into cursor->batch; false (and closed) at the end */
bool
bpr_cursor_next(BprCursor *cursor)
{
	CHECK_FOR_INTERRUPTS();
	if (cursor->batch != NULL)
		SPI_freetuptable(cursor->batch);
	SPI_cursor_fetch(cursor->portal, true, FETCH_ROWS);
	cursor->batch = SPI_tuptable;
	if (SPI_processed > 0)
		return true;
	SPI_freetuptable(cursor->batch);
	cursor->batch = NULL;
	SPI_cursor_close(cursor->portal);
	return false;
}

/* Name of a relation for messages; ERROR 42P01 when it does not exist */
char *
bpr_relation_name(Oid relid)
{
	char	   *rel = OidIsValid(relid) ? get_rel_name(relid) : NULL;

	if (rel == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation with OID %u does not exist", relid)));
	return rel;
}

/* Schema-qualified, quoted name of a relation for SQL; ERROR 42P01 when it does not exist */
char *
bpr_relation_sql_name(Oid relid)
{
	char	   *rel = bpr_relation_name(relid);

	return quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)), rel);
}

/* The role that owns a relation; InvalidOid when the relation is gone */
Oid
bpr_relation_owner(Oid relid)
{
	HeapTuple	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	Oid			owner;

	if (!HeapTupleIsValid(tup))
		return InvalidOid;
	owner = ((Form_pg_class) GETSTRUCT(tup))->relowner;
	ReleaseSysCache(tup);
	return owner;
}

/* True for the numeric types a rating or weight may have */
static bool
is_number_type(Oid type)
{
	return type == INT2OID || type == INT4OID || type == INT8OID ||
		type == FLOAT4OID || type == FLOAT8OID || type == NUMERICOID;
}

/* The (base) type of a relation's column; ERROR 42P01 or 42703 when there is none */
Oid
bpr_column_type(Oid relid, const char *column)
{
	char	   *rel = bpr_relation_name(relid);
	AttrNumber	attnum = get_attnum(relid, column);

	if (attnum == InvalidAttrNumber || attnum < 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("column \"%s\" of relation \"%s\" does not exist", column, rel)));
	return getBaseType(get_atttype(relid, attnum));
}

/* Checks that a relation has a numeric column (a rating or a weight); returns its (base) type */
Oid
bpr_check_number_column(Oid relid, const char *column)
{
	Oid			type = bpr_column_type(relid, column);

	if (!is_number_type(type))
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("column \"%s\" of relation \"%s\" must be of a numeric type",
						column, bpr_relation_name(relid)),
				 errdetail("It has type %s.", format_type_be(type))));
	return type;
}

/* True when argument n exists in this call's signature and is not NULL */
bool
bpr_arg_given(FunctionCallInfo fcinfo, int n)
{
	return n < PG_NARGS() && !PG_ARGISNULL(n);
}

/* Text argument n as a C string, or dflt when it is NULL (or absent from an older signature) */
char *
bpr_arg_text(FunctionCallInfo fcinfo, int n, char *dflt)
{
	return bpr_arg_given(fcinfo, n) ? text_to_cstring(PG_GETARG_TEXT_PP(n)) : dflt;
}
