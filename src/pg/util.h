/*
 * util.h - the bottom of bpr's PostgreSQL layer: helpers every subsystem uses
 *
 * A palloc-backed allocator for the numeric core with a byte budget,
 * search_path pinning for the SQL bpr runs, a monotonic clock, a batched SPI
 * cursor, relation names, column checks and argument readers.  This unit
 * depends on nothing else of bpr (only the core's allocator interface).
 */
#ifndef BPR_UTIL_H
#define BPR_UTIL_H

#include "postgres.h"

#include "executor/spi.h"
#include "fmgr.h"

#include "core/alloc.h"

/* A BprAlloc over a memory context that enforces a byte budget */
typedef struct BprPgAlloc
{
	BprAlloc	base;
	MemoryContext context;
	Size		used;
	Size		limit;			/* 0 = no limit */
	struct BprPgAlloc *parent;	/* a scratch allocator charges its parent's budget too */
	const char *phase;			/* what the memory is for now, for the budget's error */
} BprPgAlloc;

/* Prepares an allocator in context with a budget of limit bytes (0 = none) */
void		bpr_pg_alloc_init(BprPgAlloc *a, MemoryContext context, Size limit);

/* Prepares a scratch allocator in context whose bytes count against parent's budget */
void		bpr_pg_alloc_init_scratch(BprPgAlloc *a, BprPgAlloc *parent, MemoryContext context);

/* Frees everything a scratch allocator handed out and gives its bytes back to the budget */
void		bpr_pg_alloc_reset(BprPgAlloc *a);

/* Allocates n zeroed elements of size from a, checked against overflow and the budget */
void	   *bpr_pg_alloc(BprPgAlloc *a, size_t n, size_t size, const char *what);

/* Charges bytes held outside the allocator to its budget (ERROR 53200 when over) */
void		bpr_pg_alloc_charge(BprPgAlloc *a, Size bytes, const char *what);

/* Returns bytes charged with bpr_pg_alloc_charge once they are freed */
void		bpr_pg_alloc_release(BprPgAlloc *a, Size bytes);

/* Pins search_path to pg_catalog, pg_temp for the SQL bpr runs; returns the level to restore */
int			bpr_pin_search_path(void);

/* Restores search_path as it was before bpr_pin_search_path returned level */
void		bpr_unpin_search_path(int level);

/* CHECK_FOR_INTERRUPTS as a callback for the numeric core's long loops (arg unused) */
void		bpr_check_interrupts(void *arg);

/* Seconds since an arbitrary epoch, monotonic */
double		bpr_now(void);

/* Prepares a statement with bound parameters (ERROR on failure) */
SPIPlanPtr	bpr_spi_prepare(const char *sql, int nargs, Oid *types);

/* Executes a prepared statement; ERROR unless SPI returns `expected` (e.g. SPI_OK_INSERT) */
void		bpr_spi_execute(SPIPlanPtr plan, Datum *values, const char *nulls, bool read_only,
							int expected);

/* Runs a statement with bound arguments; ERROR unless SPI returns `expected` */
void		bpr_spi_run(const char *sql, int nargs, Oid *types, Datum *values, const char *nulls,
						bool read_only, int expected);

/* A text Datum of s, or NULL (0) with *null set to 'n' for SPI */
Datum		bpr_text_or_null(const char *s, char *null);

/* A read-only SPI cursor read in batches */
typedef struct BprCursor
{
	Portal		portal;
	SPITupleTable *batch;		/* the current batch, freed by the next fetch */
} BprCursor;

/* Opens a read-only cursor over a query with bound arguments (nargs may be 0) */
void		bpr_cursor_open(BprCursor *cursor, const char *sql, int nargs, Oid *types,
							Datum *values);

/* Frees the last batch and fetches the next one into cursor->batch; false (and closed) at the end */
bool		bpr_cursor_next(BprCursor *cursor);

/* Name of a relation for messages; ERROR 42P01 when it does not exist */
char	   *bpr_relation_name(Oid relid);

/* Schema-qualified, quoted name of a relation for SQL; ERROR 42P01 when it does not exist */
char	   *bpr_relation_sql_name(Oid relid);

/* The role that owns a relation; InvalidOid when the relation is gone */
Oid			bpr_relation_owner(Oid relid);

/* The (base) type of a relation's column; ERROR 42P01 or 42703 when there is none */
Oid			bpr_column_type(Oid relid, const char *column);

/* Checks that a relation has a numeric column (a rating or a weight); returns its (base) type */
Oid			bpr_check_number_column(Oid relid, const char *column);

/* Text argument n as a C string, or dflt when it is NULL (or absent from an older signature) */
char	   *bpr_arg_text(FunctionCallInfo fcinfo, int n, char *dflt);

/* True when argument n exists in this call's signature and is not NULL */
bool		bpr_arg_given(FunctionCallInfo fcinfo, int n);

#endif
