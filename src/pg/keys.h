/*
 * keys.h - user and item keys of any supported type, in and out of SQL
 *
 * A key column may be smallint, integer or bigint (kept as int64), or text,
 * varchar or uuid (kept as the bytes of the text form, uuid in its canonical
 * lower-case spelling).  A model records each side's key type.  Serving
 * functions take a key in its own type (an integer of any width for integer
 * keys, text for any key, a literal for any key) and return keys in the type
 * of their key argument when it can hold them.
 */
#ifndef BPR_KEYS_H
#define BPR_KEYS_H

#include "postgres.h"

#include "fmgr.h"

#include "core/keydict.h"
#include "core/keyset.h"

/* A key converted from SQL: an int64 for integer keys, else the text form's bytes */
typedef struct BprKey
{
	bool		is_int;
	int64		ival;
	const char *bytes;
	size_t		len;
} BprKey;

/* Checks that a relation's column can hold keys (42804 if not); returns its (base) type */
Oid			bpr_check_key_column(Oid relid, const char *column);

/* True when a column of this (base) type can be a key */
bool		bpr_key_type_supported(Oid type);

/* True when keys of this type are integers (kept as int64) */
bool		bpr_key_type_is_int(Oid type);

/* The SQL cast that reads a key column as bpr keeps it: "int8" or "text" */
const char *bpr_key_cast(Oid type);

/* The key type of one side as bpr records it: int8 for any integer, else the base type */
Oid			bpr_key_type_of_column(Oid column_type);

/*
 * Converts a value of type argtype (a domain, an unknown literal) to a key of
 * key_type; ERROR 42804 when the types do not go together.  what names the
 * argument in messages (e.g. "user key").
 */
void		bpr_key_from_datum(Datum value, Oid argtype, Oid key_type, const char *what,
							   const char *model, BprKey *out);

/* Position of a key in a side's key set, or -1 */
int64		bpr_key_find(const BprKeySet *keys, const BprKey *key);

/* Index of a key in a dictionary (inserted when add is true); -1 when absent, -2 when full */
int32		bpr_key_dict_lookup(BprKeyDict *dict, const BprKey *key, bool add);

/*
 * Checks that result_type can hold keys of key_type (ERROR 42804 with a hint
 * if not): the same type, an integer type for integer keys, or text.
 */
void		bpr_key_check_result(Oid result_type, Oid key_type, const char *side,
								 const char *model);

/* The key at position pos of a key set as a Datum of result_type (checked before) */
Datum		bpr_key_datum(const BprKeySet *keys, int64 pos, Oid result_type);

/* The text form of the key at position pos (for messages) */
char	   *bpr_key_text(const BprKeySet *keys, int64 pos);

/* The text form of a converted key (for messages) */
char	   *bpr_key_arg_text(const BprKey *key);

/* The SQL comparison of a key column with $1 (an int8 or a text parameter, its type in *param_type) */
char	   *bpr_key_param_match(const char *column, Oid key_type, Oid *param_type);

/* A key as the parameter of bpr_key_param_match */
Datum		bpr_key_param(const BprKey *key);

/* A 64-bit hash of a key's value, the same for a key from SQL and from a key set */
uint64		bpr_key_hash(const BprKey *key);

#endif
