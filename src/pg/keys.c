/*
 * keys.c - user and item keys of any supported type, in and out of SQL
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/uuid.h"

#include "keys.h"
#include "util.h"

/* True for the types whose values are text strings */
static bool
is_string_type(Oid type)
{
	return type == TEXTOID || type == VARCHAROID || type == UNKNOWNOID || type == CSTRINGOID;
}

/* True for the integer key types */
static bool
is_int_type(Oid type)
{
	return type == INT2OID || type == INT4OID || type == INT8OID;
}

/* True when a column of this (base) type can be a key */
bool
bpr_key_type_supported(Oid type)
{
	return is_int_type(type) || type == TEXTOID || type == VARCHAROID || type == UUIDOID;
}

/* Checks that a relation's column can hold keys (42804 if not); returns its (base) type */
Oid
bpr_check_key_column(Oid relid, const char *column)
{
	Oid			type = bpr_column_type(relid, column);

	if (!bpr_key_type_supported(type))
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("column \"%s\" of relation \"%s\" cannot hold keys", column,
						bpr_relation_name(relid)),
				 errdetail("It has type %s; keys must be smallint, integer, bigint, text, varchar or uuid.",
						   format_type_be(type)),
				 errhint("Cast the column in a view, for example to text.")));
	return type;
}

/* True when keys of this type are integers (kept as int64) */
bool
bpr_key_type_is_int(Oid type)
{
	return is_int_type(type);
}

/* The SQL cast that reads a key column as bpr keeps it: "int8" or "text" */
const char *
bpr_key_cast(Oid type)
{
	return is_int_type(type) ? "int8" : "text";
}

/* The key type of one side as bpr records it: int8 for any integer, else the base type */
Oid
bpr_key_type_of_column(Oid column_type)
{
	Oid			base = getBaseType(column_type);

	if (is_int_type(base))
		return INT8OID;
	return base == VARCHAROID ? TEXTOID : base;
}

/* The C string of a string-typed value (text, varchar, an unknown literal) */
static char *
string_value(Datum value, Oid type)
{
	if (type == UNKNOWNOID || type == CSTRINGOID)
		return DatumGetCString(value);
	return TextDatumGetCString(value);
}

/* The canonical text form of a uuid value */
static char *
uuid_text(Datum uuid)
{
	return DatumGetCString(DirectFunctionCall1(uuid_out, uuid));
}

/* Raises the error for a key of a type that does not go with the model's */
static void
type_mismatch(Oid argtype, Oid key_type, const char *what, const char *model)
{
	ereport(ERROR,
			(errcode(ERRCODE_DATATYPE_MISMATCH),
			 errmsg("%s of type %s does not match model \"%s\"", what, format_type_be(argtype), model),
			 errdetail("The model's %ss are of type %s.", what, format_type_be(key_type)),
			 errhint("Pass the key as %s, or as text.", format_type_be(key_type))));
}

/* Converts a value of type argtype to a key of key_type; ERROR 42804 when they do not go together */
void
bpr_key_from_datum(Datum value, Oid argtype, Oid key_type, const char *what,
				   const char *model, BprKey *out)
{
	Oid			type = getBaseType(argtype);

	memset(out, 0, sizeof(*out));
	out->is_int = is_int_type(key_type);
	if (is_int_type(type))
	{
		if (!out->is_int)
			type_mismatch(argtype, key_type, what, model);
		out->ival = type == INT2OID ? DatumGetInt16(value) :
			type == INT4OID ? DatumGetInt32(value) : DatumGetInt64(value);
		return;
	}
	if (type == UUIDOID)
	{
		if (key_type != UUIDOID)
			type_mismatch(argtype, key_type, what, model);
		out->bytes = uuid_text(value);
		out->len = strlen(out->bytes);
		return;
	}
	if (!is_string_type(type))
		type_mismatch(argtype, key_type, what, model);
	/* text: parsed in the key's type, so '42' finds 42 and a uuid in any spelling is found */
	if (out->is_int)
		out->ival = pg_strtoint64(string_value(value, type));
	else if (key_type == UUIDOID)
	{
		out->bytes = uuid_text(DirectFunctionCall1(uuid_in, CStringGetDatum(string_value(value, type))));
		out->len = strlen(out->bytes);
	}
	else if (type == UNKNOWNOID || type == CSTRINGOID)
	{
		out->bytes = DatumGetCString(value);
		out->len = strlen(out->bytes);
	}
	else
	{
		text	   *t = DatumGetTextPP(value);

		out->bytes = VARDATA_ANY(t);
		out->len = VARSIZE_ANY_EXHDR(t);
	}
}

/* Position of a key in a side's key set, or -1 */
int64
bpr_key_find(const BprKeySet *keys, const BprKey *key)
{
	if (key->is_int != keys->is_int)
		return -1;
	return key->is_int ? bpr_keyset_find_int(keys, key->ival) :
		bpr_keyset_find_bytes(keys, key->bytes, key->len);
}

/* Index of a key in a dictionary (inserted when add is true); -1 when absent, -2 when full */
int32
bpr_key_dict_lookup(BprKeyDict *dict, const BprKey *key, bool add)
{
	return key->is_int ? bpr_keydict_int(dict, key->ival, add) :
		bpr_keydict_bytes(dict, key->bytes, key->len, add);
}

/* Checks that result_type can hold keys of key_type (ERROR 42804 with a hint if not) */
void
bpr_key_check_result(Oid result_type, Oid key_type, const char *side, const char *model)
{
	Oid			type = getBaseType(result_type);

	if (type == key_type || type == TEXTOID || type == VARCHAROID ||
		(is_int_type(type) && is_int_type(key_type)))
		return;
	ereport(ERROR,
			(errcode(ERRCODE_DATATYPE_MISMATCH),
			 errmsg("the %ss of model \"%s\" are of type %s and cannot be returned as %s",
					side, model, format_type_be(key_type), format_type_be(result_type)),
			 errdetail("Keys come back in the type of the key argument."),
			 errhint("Pass the key argument as text (for example customer_id::text) to get the %ss as text.",
					 side)));
}

/* The key at position pos of a key set as a Datum of result_type (checked before) */
Datum
bpr_key_datum(const BprKeySet *keys, int64 pos, Oid result_type)
{
	Oid			type = getBaseType(result_type);

	if (keys->is_int)
	{
		int64		v = keys->ints[pos];

		if (type == INT8OID)
			return Int64GetDatum(v);
		if (type == INT4OID || type == INT2OID)
		{
			if (v < (type == INT4OID ? PG_INT32_MIN : PG_INT16_MIN) ||
				v > (type == INT4OID ? PG_INT32_MAX : PG_INT16_MAX))
				ereport(ERROR,
						(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
						 errmsg("key " INT64_FORMAT " is out of range for type %s", v,
								format_type_be(result_type)),
						 errhint("Pass the key argument as bigint.")));
			return type == INT4OID ? Int32GetDatum((int32) v) : Int16GetDatum((int16) v);
		}
		return CStringGetTextDatum(psprintf(INT64_FORMAT, v));
	}
	else
	{
		size_t		len;
		const char *b = bpr_keyset_bytes_at(keys, pos, &len);

		if (type == UUIDOID)
			return DirectFunctionCall1(uuid_in, CStringGetDatum(pnstrdup(b, len)));
		return PointerGetDatum(cstring_to_text_with_len(b, (int) len));
	}
}

/* The text form of the key at position pos (for messages) */
char *
bpr_key_text(const BprKeySet *keys, int64 pos)
{
	size_t		len;
	const char *b;

	if (keys->is_int)
		return psprintf(INT64_FORMAT, keys->ints[pos]);
	b = bpr_keyset_bytes_at(keys, pos, &len);
	return pnstrdup(b, len);
}

/* The text form of a converted key (for messages) */
char *
bpr_key_arg_text(const BprKey *key)
{
	return key->is_int ? psprintf(INT64_FORMAT, key->ival) : pnstrdup(key->bytes, key->len);
}

/* A 64-bit hash of a key's value, the same for a key from SQL and from a key set */
uint64
bpr_key_hash(const BprKey *key)
{
	if (key->is_int)
		return hash_bytes_uint32_extended((uint32) key->ival, (uint64) (key->ival >> 32));
	return hash_bytes_extended((const unsigned char *) key->bytes, (int) key->len, 0);
}

/* The SQL comparison of a key column with $1 (an int8 or a text parameter) */
char *
bpr_key_param_match(const char *column, Oid key_type, Oid *param_type)
{
	*param_type = bpr_key_type_is_int(key_type) ? INT8OID : TEXTOID;
	if (bpr_key_type_is_int(key_type) || key_type == TEXTOID)
		return psprintf("%s = $1", quote_identifier(column));
	return psprintf("%s = $1::%s", quote_identifier(column), format_type_be(key_type));
}

/* A key as the parameter of bpr_key_param_match */
Datum
bpr_key_param(const BprKey *key)
{
	return key->is_int ? Int64GetDatum(key->ival) :
		PointerGetDatum(cstring_to_text_with_len(key->bytes, (int) key->len));
}
