#!/usr/bin/env bash
# The demo command: bash test/demo.sh
# Installs and builds like test/run_tests.sh, starts a private cluster that preloads bpr,
# loads the planted data set (test/data/planted.sql) into schema demo — or MovieLens 100k
# when ML100K=/path/to/ml-100k is set — trains with a validation table, draws the learning
# curve, and shows a user's top 10, a filtered top 10, similar items, a new item and a
# fold-in. KEEP=1 leaves the cluster running.
set -euo pipefail
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/setup.sh"

bpr_packages
# the learning curve is drawn by gnuplot (a terminal plot); the tests do not need it
if ! command -v gnuplot >/dev/null; then
	if [ "$(id -u)" -eq 0 ]; then
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q gnuplot-nox >/dev/null 2>&1 ||
			{ apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q gnuplot-nox >/dev/null; }
	fi
fi
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
cluster_start "$cluster" -c shared_preload_libraries=bpr
source "$cluster/env"
export PGDATABASE=bpr_demo
createdb bpr_demo
cd "$BPR_ROOT"
psql -X -q -c "CREATE EXTENSION bpr"

# the data: schema demo with users(user_id, ...), items(item_id, title, genres, ...),
# ratings and ratings_test(user_id, item_id, rating)
if [ -n "${ML100K:-}" ]; then
	echo "== MovieLens 100k from $ML100K (u1.base / u1.test)"
	bpr_load_ml u1
	psql -X -q -v ON_ERROR_STOP=1 -c "ALTER SCHEMA ml RENAME TO demo"
	user=42
	genre=Comedy
else
	echo "== the planted data set: 200 users in 4 taste groups (user u likes genre u % 4), 120 items"
	psql -X -q -v ON_ERROR_STOP=1 -c "CREATE SCHEMA demo" -c "SET search_path = demo" -f test/data/planted.sql
	user=42
	genre=comedy
fi

psql -X -v ON_ERROR_STOP=1 -v user="$user" -v genre="$genre" <<'SQL'
\set QUIET on
SET client_min_messages = warning;
SET bpr.progress = off;
\echo
SELECT count(*) AS ratings, count(DISTINCT user_id) AS users, count(DISTINCT item_id) AS items,
       count(*) FILTER (WHERE rating >= 4) AS liked FROM demo.ratings;

\echo '== training, with demo.ratings_test as the validation table (early stopping keeps the best epoch)'
\x on
SELECT model, version, users, items, positives, epochs, round(final_loss::numeric, 4) AS final_loss,
       round(seconds::numeric, 2) AS seconds
  FROM bpr.bpr_train('demo', ratings => 'demo.ratings', users => 'demo.users', items => 'demo.items',
                     validation => 'demo.ratings_test', epochs => 40, patience => 5);
\x off
SQL

echo
echo "== the learning curve: loss and validation precision@10 per epoch (bpr.training_log)"
curve=$(mktemp)
psql -X -q -At -F ' ' -c "SELECT epoch, loss, (metrics->>'precision')::float8 FROM bpr.training_log
	WHERE model = 'demo' ORDER BY epoch" >"$curve"
if command -v gnuplot >/dev/null; then
	gnuplot <<GP
set terminal dumb size 100,28
set title "bpr model 'demo': loss (left axis) and validation precision@10 (right axis)"
set xlabel "epoch"
set ytics nomirror
set y2tics
plot "$curve" using 1:2 with linespoints title "loss" axes x1y1, \
     "$curve" using 1:3 with linespoints title "precision@10" axes x1y2
GP
else
	echo "(gnuplot not found: the curve as numbers)"
	awk '{ printf "epoch %3d  loss %.4f  precision@10 %.4f\n", $1, $2, $3 }' "$curve"
fi
rm -f "$curve"

psql -X -v ON_ERROR_STOP=1 -v user="$user" -v genre="$genre" <<'SQL'
\set QUIET on
SET client_min_messages = warning;
SET bpr.progress = off;
\echo
\echo '== user' :user ': the genres they rated highly, then their top 10 (items they rated are left out)'
SELECT g AS genre, count(*) AS liked
  FROM demo.ratings r JOIN demo.items i USING (item_id), unnest(i.genres) g
 WHERE r.user_id = :user AND r.rating >= 4 GROUP BY g ORDER BY 2 DESC LIMIT 4;
SELECT r.rank, r.item_id, i.title, i.genres, round(r.score::numeric, 3) AS score
  FROM bpr.bpr_recommend(:user, 10, 'demo') r JOIN demo.items i ON i.item_id = r.item_id
 ORDER BY r.rank;

\echo '== a filtered top 10: only' :genre 'items (a business rule, e.g. a category page)'
SELECT r.rank, r.item_id, i.title, i.genres, round(r.score::numeric, 3) AS score
  FROM bpr.bpr_recommend(:user, 10, 'demo',
       items => (SELECT array_agg(item_id) FROM demo.items WHERE :'genre' = ANY (genres))) r
  JOIN demo.items i ON i.item_id = r.item_id ORDER BY r.rank;

\echo '== items similar to the user''s first recommendation (cosine of the embeddings)'
SELECT s.rank, s.item_id, i.title, i.genres, round(s.score::numeric, 3) AS cosine
  FROM bpr.bpr_similar_items((SELECT item_id FROM bpr.bpr_recommend(:user, 1, 'demo')), 5, 'demo') s
  JOIN demo.items i ON i.item_id = s.item_id ORDER BY s.rank;

\echo '== a new product, with no ratings yet: scored from its features, recommended after bpr_fold_in'
INSERT INTO demo.items (item_id, title, genres)
SELECT 100000, 'A brand new title like the user''s favourites',
       (SELECT array_agg(DISTINCT g) FROM (SELECT g FROM demo.ratings r JOIN demo.items i USING (item_id),
            unnest(i.genres) g WHERE r.user_id = :user AND r.rating >= 4
            GROUP BY g ORDER BY count(*) DESC LIMIT 2) t);
SELECT round(bpr.bpr_score(:user, 100000, 'demo')::numeric, 3) AS score_of_the_new_item;
SELECT users, new_users, items AS new_items FROM bpr.bpr_fold_in('demo');
SELECT r.rank, r.item_id, i.title, round(r.score::numeric, 3) AS score
  FROM bpr.bpr_recommend(:user, 200, 'demo') r JOIN demo.items i ON i.item_id = r.item_id
 WHERE r.item_id = 100000;

\echo '== fold-in: the user suddenly loves' :genre 'items; their vector follows without a retraining'
INSERT INTO demo.ratings (user_id, item_id, rating)
SELECT :user, item_id, 5 FROM demo.items
 WHERE :'genre' = ANY (genres) AND item_id NOT IN (SELECT item_id FROM demo.ratings WHERE user_id = :user)
 ORDER BY item_id LIMIT 20;
SELECT count(*) FILTER (WHERE :'genre' = ANY (i.genres)) AS genre_items_in_top10_before
  FROM bpr.bpr_recommend(:user, 10, 'demo') r JOIN demo.items i USING (item_id);
SELECT users AS folded_in_users, round(seconds::numeric * 1000, 1) AS ms FROM bpr.bpr_fold_in('demo', users => ARRAY[:user]);
SELECT count(*) FILTER (WHERE :'genre' = ANY (i.genres)) AS genre_items_in_top10_after
  FROM bpr.bpr_recommend(:user, 10, 'demo') r JOIN demo.items i USING (item_id);

\echo '== evaluation on the held-out ratings (demo.ratings_test, EVALUATION.md)'
\x on
SELECT * FROM bpr.bpr_evaluate('demo', 'demo.ratings_test', 10);
\x off
SQL
