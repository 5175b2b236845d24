#!/usr/bin/env bash
# The demo command: bash test/demo.sh
# Installs and builds like test/run_tests.sh, starts a private cluster, loads the planted
# data set (test/data/planted.sql) into schema demo, trains a model, shows user 42's
# top 10 and the held-out evaluation. KEEP=1 leaves the cluster running.
set -euo pipefail
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/setup.sh"

bpr_packages
bpr_build

cluster=$(bpr_tmpdir demo)
finish() {
	if [ "${KEEP:-0}" = 1 ] && [ -f "$cluster/env" ]; then
		echo
		echo "cluster left running; connect with:  source $cluster/env && psql bpr_demo"
		echo "stop it with:  bash $BPR_ROOT/test/cluster.sh stop $cluster && rm -rf $cluster"
	else
		cluster_stop "$cluster"
		rm -rf "$cluster"
	fi
}
trap finish EXIT
cluster_start "$cluster"
source "$cluster/env"
createdb bpr_demo

cd "$BPR_ROOT"
psql -X -v ON_ERROR_STOP=1 -d bpr_demo <<'SQL'
\set QUIET on
CREATE EXTENSION bpr;
CREATE SCHEMA demo;
SET search_path = demo;
\i test/data/planted.sql
RESET search_path;
\echo
\echo '== 200 users in 4 taste groups (user u likes genre u % 4), 120 items, ratings:'
SELECT count(*) AS ratings, count(*) FILTER (WHERE rating >= 4) AS liked FROM demo.ratings;

\echo '== training'
\x on
SELECT * FROM bpr.bpr_train('demo', ratings => 'demo.ratings', users => 'demo.users', items => 'demo.items');
\x off

\echo '== user 42 (group 2: drama) -- top 10, items already rated excluded'
SELECT u.user_id, u.age, u.segment FROM demo.users u WHERE u.user_id = 42;
SELECT r.rank, r.item_id, i.title, i.genres, round(r.score::numeric, 3) AS score
FROM bpr.bpr_recommend(42, 10) r JOIN demo.items i ON i.item_id = r.item_id
ORDER BY r.rank;

\echo '== evaluation on the held-out ratings (demo.ratings_test)'
\x on
SELECT * FROM bpr.bpr_evaluate('demo', 'demo.ratings_test', 10);
\x off
SQL
