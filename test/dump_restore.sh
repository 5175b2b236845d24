#!/usr/bin/env bash
# pg_dump and restore keep bpr models scoring the same.
# Needs a running server (PGHOST/PGPORT/PGUSER) with bpr installed; prints
# 'dump_restore: N passed, N failed' and exits non-zero on a failure.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
passed=0
failed=0
work=$(mktemp -d)
trap 'rm -rf "$work"; dropdb --if-exists bpr_dump_src >/dev/null 2>&1 || true; dropdb --if-exists bpr_dump_dst >/dev/null 2>&1 || true' EXIT
q() { psql -X -q -v ON_ERROR_STOP=1 -At "$@"; }
check() {
	if [ "$2" = "$3" ]; then passed=$((passed + 1)); echo "ok: $1"
	else failed=$((failed + 1)); echo "FAILED: $1: '$2' <> '$3'"; fi
}

dropdb --if-exists bpr_dump_src >/dev/null 2>&1 || true
dropdb --if-exists bpr_dump_dst >/dev/null 2>&1 || true
createdb bpr_dump_src
q -d bpr_dump_src -c "CREATE EXTENSION bpr" -c "SET search_path = public" -f test/data/planted.sql
q -d bpr_dump_src -c "SET bpr.progress = off" \
	-c "SELECT version FROM bpr.bpr_train('m', ratings => 'ratings', users => 'users', items => 'items', epochs => 3)" \
	-c "SELECT version FROM bpr.bpr_train('m', ratings => 'ratings', users => 'users', items => 'items', epochs => 2, seed => 9)" \
	-c "SELECT bpr.bpr_activate('m', 1)" \
	-c "DO \$\$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'bpr_dump_owner') THEN CREATE ROLE bpr_dump_owner; END IF; END \$\$" \
	-c "SELECT bpr.bpr_set_owner('m', 'bpr_dump_owner')" >/dev/null
scores="SELECT string_agg(round(bpr.bpr_score(u, i, 'm')::numeric, 5)::text, ',' ORDER BY u, i) FROM generate_series(1, 20) u, generate_series(1, 20) i"
top="SELECT string_agg(item_id::text, ',' ORDER BY rank) FROM bpr.bpr_recommend(7, 10, 'm')"
models="SELECT string_agg(model || ':' || version || ':' || active, ',' ORDER BY model, version) FROM bpr.models"
before_scores=$(q -d bpr_dump_src -c "$scores")
before_top=$(q -d bpr_dump_src -c "$top")
before_models=$(q -d bpr_dump_src -c "$models")

pg_dump -Fc -f "$work/dump" bpr_dump_src
createdb bpr_dump_dst
pg_restore --exit-on-error -d bpr_dump_dst "$work/dump"

check "registry restored" "$(q -d bpr_dump_dst -c "$models")" "$before_models"
check "scores restored" "$(q -d bpr_dump_dst -c "$scores")" "$before_scores"
check "recommendations restored" "$(q -d bpr_dump_dst -c "$top")" "$before_top"
check "embeddings restored" "$(q -d bpr_dump_dst -c "SELECT count(*) FROM bpr.embeddings")" \
	"$(q -d bpr_dump_src -c "SELECT count(*) FROM bpr.embeddings")"
check "owner restored" "$(q -d bpr_dump_dst -c "SELECT owner::text || ':' || last_version FROM bpr.model_names WHERE model = 'm'")" "bpr_dump_owner:2"
check "ratings table reference restored" "$(q -d bpr_dump_dst -c "SELECT DISTINCT ratings::text FROM bpr.models")" "ratings"
echo "dump_restore: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
