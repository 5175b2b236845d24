#!/usr/bin/env bash
# ALTER EXTENSION bpr UPDATE from the released 0.1.0, as a user lives it: the 0.1.0 library
# and SQL (built from the release commit) train models; the current library is installed;
# ALTER EXTENSION bpr UPDATE; the models serve the same scores, and the upgraded schema
# equals a fresh install (functions with signatures, tables with columns, constraints,
# indexes, triggers, comments, dump configuration).
# Needs a running server (PGHOST/PGPORT/PGUSER) that does not preload bpr (each backend must
# load the library installed on disk), run as root or as the owner of the
# PostgreSQL installation (it installs libraries). Reinstalls the current build when done.
# Prints 'upgrade: N passed, M failed' and exits non-zero on a failure.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
export PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}
# the commit that released 0.1.0
BPR_0_1_0=867957ecee338454617f0312bdd40f3c44c861aa

passed=0
failed=0
work=$(mktemp -d)
old=bpr_upgrade_old
new=bpr_upgrade_new
cleanup() {
	# whatever happened, leave the current build installed
	make -C "$root" -s install >/dev/null 2>&1 || true
	dropdb --if-exists "$old" >/dev/null 2>&1 || true
	dropdb --if-exists "$new" >/dev/null 2>&1 || true
	rm -rf "$work"
}
trap cleanup EXIT
q() { psql -X -q -v ON_ERROR_STOP=1 -At "$@"; }
check() {
	if [ "$2" = "$3" ]; then passed=$((passed + 1)); echo "ok: $1"
	else failed=$((failed + 1)); echo "FAILED: $1"; diff <(echo "$2") <(echo "$3") | head -40; fi
}

# 1. the released 0.1.0, built from its commit
if ! git -C "$root" cat-file -e "$BPR_0_1_0^{commit}" 2>/dev/null; then
	echo "upgrade: the 0.1.0 release commit $BPR_0_1_0 is not in this clone (a shallow clone?)" >&2
	echo "upgrade: 0 passed, 1 failed"
	exit 1
fi
mkdir "$work/0.1.0"
git -C "$root" archive "$BPR_0_1_0" | tar -x -C "$work/0.1.0"
make -C "$work/0.1.0" -s -j"$(nproc)" PG_CFLAGS=-Isrc >/dev/null
make -C "$work/0.1.0" -s PG_CFLAGS=-Isrc install >/dev/null

dropdb --if-exists "$old" >/dev/null 2>&1 || true
dropdb --if-exists "$new" >/dev/null 2>&1 || true
createdb "$old"
q -d "$old" -c "CREATE EXTENSION bpr VERSION '0.1.0'" -c "SET search_path = public" -f test/data/planted.sql
check "0.1.0 installed" "$(q -d "$old" -c "SELECT extversion FROM pg_extension WHERE extname = 'bpr'")" "0.1.0"
q -d "$old" -c "SET bpr.progress = off" -c "SET client_min_messages = warning" \
	-c "SELECT version FROM bpr.bpr_train('m', ratings => 'ratings', users => 'users', items => 'items', epochs => 3)" \
	-c "SELECT version FROM bpr.bpr_train('m', ratings => 'ratings', users => 'users', items => 'items', epochs => 2, seed => 9)" \
	-c "SELECT bpr.bpr_activate('m', 1)" \
	-c "SELECT version FROM bpr.bpr_train('imp', ratings => 'ratings', rating_column => NULL, epochs => 2)" \
	-c "SELECT version FROM bpr.bpr_train('nb', ratings => 'ratings', users => 'users', items => 'items', preset => 'notebook', epochs => 2)" \
	>/dev/null

scores="SELECT string_agg(round(bpr.bpr_score(u, i, m)::numeric, 5)::text, ',' ORDER BY m, u, i)
	FROM generate_series(1, 20) u, generate_series(1, 20) i, unnest(ARRAY['m', 'imp', 'nb']) m"
cold="SELECT round(bpr.bpr_score(5001, 7, 'm')::numeric, 5) || ',' || round(bpr.bpr_score(42, 5001, 'nb')::numeric, 5)"
top="SELECT string_agg(item_id::text, ',' ORDER BY m, rank) FROM unnest(ARRAY['m', 'imp', 'nb']) m,
	LATERAL bpr.bpr_recommend(7, 10, m) r"
evaluated="SELECT string_agg(round(precision_at_k::numeric, 6) || '/' || round(seed_auc::numeric, 6), ',' ORDER BY m)
	FROM unnest(ARRAY['m', 'imp', 'nb']) m, LATERAL bpr.bpr_evaluate(m, 'ratings_test') e"
registry="SELECT string_agg(model || ':' || version || ':' || active, ',' ORDER BY model, version) FROM bpr.models"
# a cold user and a cold item, scored from their features
q -d "$old" -c "INSERT INTO users SELECT 5001, age, segment, active FROM users WHERE user_id = 42" \
	-c "INSERT INTO items SELECT 5001, title, genres, year, price FROM items WHERE item_id = 7"
before_scores=$(q -d "$old" -c "$scores")
before_cold=$(q -d "$old" -c "$cold")
before_top=$(q -d "$old" -c "$top")
before_eval=$(q -d "$old" -c "SET client_min_messages = warning" -c "$evaluated")
before_registry=$(q -d "$old" -c "$registry")

# 2. the current library; until ALTER EXTENSION UPDATE, bpr says what to do
make -C "$root" -s install >/dev/null
check "the new library asks for the update" \
	"$(q -d "$old" -c "SELECT bpr.bpr_score(1, 2, 'm')" 2>&1 | grep -o 'ALTER EXTENSION bpr UPDATE' | head -n 1)" \
	"ALTER EXTENSION bpr UPDATE"

# 3. the update
q -d "$old" -c "ALTER EXTENSION bpr UPDATE"
check "updated to the current version" "$(q -d "$old" -c "SELECT extversion FROM pg_extension WHERE extname = 'bpr'")" \
	"$(sed -n "s/^default_version = '\(.*\)'/\1/p" bpr.control)"
check "registry kept" "$(q -d "$old" -c "$registry")" "$before_registry"
check "the source tables' owners recorded by name" \
	"$(q -d "$old" -c "SELECT bool_and(data->'table_owners'->>'ratings' = (SELECT r.rolname FROM pg_class c
		JOIN pg_roles r ON r.oid = c.relowner WHERE c.oid = m.ratings)) FROM bpr.models m")" "t"
check "same scores" "$(q -d "$old" -c "$scores")" "$before_scores"
check "same cold-start scores" "$(q -d "$old" -c "$cold")" "$before_cold"
check "same top-k" "$(q -d "$old" -c "$top")" "$before_top"
check "same evaluation" "$(q -d "$old" -c "SET client_min_messages = warning" -c "$evaluated")" "$before_eval"
check "a model trained before trains a new version after" \
	"$(q -d "$old" -c "SET bpr.progress = off" -c "SET client_min_messages = warning" \
		-c "SELECT version FROM bpr.bpr_train('m', ratings => 'ratings', users => 'users', items => 'items', epochs => 1)")" "3"

# 4. the upgraded schema equals a fresh install
createdb "$new"
q -d "$new" -c "CREATE EXTENSION bpr"
catalog=$(cat <<'SQL'
WITH ext AS (SELECT oid, extconfig FROM pg_extension WHERE extname = 'bpr'),
members AS (SELECT classid, objid FROM pg_depend, ext WHERE refobjid = ext.oid AND deptype = 'e')
SELECT string_agg(line, E'\n' ORDER BY line) FROM (
	-- functions: signature, result, properties, body, comment
	SELECT format('function %s(%s) returns %s lang=%s vol=%s par=%s strict=%s secdef=%s cfg=%s rows=%s comment=%s body=%s',
		p.proname, pg_get_function_arguments(p.oid), pg_get_function_result(p.oid), l.lanname,
		p.provolatile, p.proparallel, p.proisstrict, p.prosecdef, p.proconfig, p.prorows,
		obj_description(p.oid, 'pg_proc'), md5(p.prosrc)) AS line
	  FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang
	 WHERE (p.tableoid, p.oid) IN (SELECT classid, objid FROM members)
	UNION ALL
	-- relations: kind, comment; columns in order with type, nullability, default, comment
	SELECT format('relation %s kind=%s comment=%s', c.relname, c.relkind, obj_description(c.oid, 'pg_class'))
	  FROM pg_class c WHERE (c.tableoid, c.oid) IN (SELECT classid, objid FROM members)
	UNION ALL
	SELECT format('column %s.%s #%s %s notnull=%s default=%s comment=%s', c.relname, a.attname, a.attnum,
		format_type(a.atttypid, a.atttypmod), a.attnotnull, pg_get_expr(d.adbin, d.adrelid),
		col_description(c.oid, a.attnum))
	  FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
	  LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum
	 WHERE (c.tableoid, c.oid) IN (SELECT classid, objid FROM members)
	UNION ALL
	SELECT format('constraint %s.%s %s', c.relname, k.conname, pg_get_constraintdef(k.oid))
	  FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid
	 WHERE (c.tableoid, c.oid) IN (SELECT classid, objid FROM members)
	UNION ALL
	SELECT format('index %s', pg_get_indexdef(i.indexrelid))
	  FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid
	 WHERE (c.tableoid, c.oid) IN (SELECT classid, objid FROM members)
	UNION ALL
	SELECT format('trigger %s', pg_get_triggerdef(t.oid))
	  FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
	 WHERE NOT t.tgisinternal AND (c.tableoid, c.oid) IN (SELECT classid, objid FROM members)
	UNION ALL
	SELECT format('dumped %s', x::regclass) FROM ext, unnest(ext.extconfig) x
	UNION ALL
	SELECT format('acl %s %s', c.relname, c.relacl)
	  FROM pg_class c WHERE (c.tableoid, c.oid) IN (SELECT classid, objid FROM members)
	UNION ALL
	SELECT format('member %s', pg_describe_object(classid, objid, 0)) FROM members
) lines
SQL
)
fresh=$(q -d "$new" -c "$catalog")
upgraded=$(q -d "$old" -c "$catalog")
check "upgraded schema equals a fresh install" "$upgraded" "$fresh"
check "the catalog comparison sees the schema" "$(grep -c '^function bpr_' <<<"$fresh" || true)" \
	"$(grep -c '^CREATE FUNCTION @extschema@.bpr_' sql/bpr.sql)"
check "every function has a comment" "$(q -d "$new" -c "SELECT count(*) FROM pg_proc p
	WHERE p.pronamespace = 'bpr'::regnamespace AND obj_description(p.oid, 'pg_proc') IS NULL")" "0"

echo "upgrade: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
