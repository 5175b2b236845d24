#!/usr/bin/env bash
# bpr on a Citus 13.2 cluster (a coordinator and two workers on this machine, TCP on
# localhost): generated data with ratings distributed by user_id, users colocated, items a
# reference table; a model trained on the coordinator, then bpr.bpr_distribute(). Checks
# that pushed-down serving equals a single server, that a retrain is seen by every node at
# commit, that a killed training leaves the old version everywhere, ownership and cache
# invalidation on the workers, the update procedure and that DROP EXTENSION after
# bpr_undistribute() leaves nothing. Run as root after bpr is built and installed (PG_CONFIG
# and PGBIN choose the installation); builds Citus with ../shared/citus/build.sh.
# Prints 'citus: N passed, M failed' and exits non-zero on a failure.
# Sourced (test/bench/citus), it only defines citus_build, citus_q, citus_node_start,
# citus_cluster_start and citus_cluster_stop.

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=setup.sh
source "$root/test/setup.sh"

# Builds and installs Citus into the installation of PG_CONFIG (a no-op once installed)
citus_build() {
	local build="$root/../shared/citus/build.sh"
	if [ ! -f "$build" ]; then
		echo "citus: $build not found: the Citus sources (../shared/citus beside the repository) are needed" >&2
		return 1
	fi
	PATH="$(dirname "$PG_CONFIG"):$PATH" bash "$build" >&2
}

# citus_q PORT [psql args]: psql over TCP to a node, database $citus_db, as postgres
citus_q() {
	local port=$1
	shift
	psql -X -q -v ON_ERROR_STOP=1 -At -h localhost -p "$port" -U postgres -d "$citus_db" "$@"
}

# citus_node_start DIR: a node in DIR with Citus in database $citus_db; prints its port.
# Extra server options in citus_options.
citus_node_start() {
	local port
	cluster_start "$1" -c listen_addresses=localhost -c shared_preload_libraries=citus,bpr \
		-c max_connections=100 -c max_prepared_transactions=100 "${citus_options[@]}" || return 1
	port=$(sed -n 's/.*PGPORT=\([0-9]*\).*/\1/p' "$1/env")
	psql -X -q -h "$1/sock" -p "$port" -U postgres -d postgres -c "CREATE DATABASE $citus_db" || return 1
	citus_q "$port" -c "SET client_min_messages = warning" -c "CREATE EXTENSION citus" || return 1
	echo "$port"
}

# citus_cluster_start DIR: a coordinator and workers w1, w2 in DIR/coord, DIR/w1, DIR/w2;
# sets coord_port, w1_port, w2_port
citus_cluster_start() {
	coord_port=$(citus_node_start "$1/coord") && w1_port=$(citus_node_start "$1/w1") &&
		w2_port=$(citus_node_start "$1/w2") || return 1
	citus_q "$coord_port" -c "SELECT citus_set_coordinator_host('localhost', $coord_port)" \
		-c "SELECT citus_add_node('localhost', $w1_port)" -c "SELECT citus_add_node('localhost', $w2_port)" >/dev/null
}

citus_cluster_stop() {
	local node
	for node in coord w1 w2 w3; do cluster_stop "$1/$node"; done
}

citus_db=bpr_citus
citus_options=()
[ "${BASH_SOURCE[0]}" = "$0" ] || return 0
# (c) makes a worker wait in PREPARE TRANSACTION for a synchronous standby that never comes
citus_options=(-c synchronous_commit=on)

set -euo pipefail
cd "$root"
# trainings here are compared with the single server's: synchronous threads, the same weights
export PGOPTIONS="${PGOPTIONS:-} -c bpr.reproducible=on"
passed=0
failed=0
work=$(bpr_tmpdir citus)
extdir=$("$PG_CONFIG" --sharedir)/extension
declare -A session_fd session_pid
reported=0
cleanup() {
	local name
	if [ "$reported" = 0 ]; then
		echo "citus: stopped early"
		echo "citus: $passed passed, $((failed + 1)) failed"
	fi
	for name in "${!session_fd[@]}"; do session_end "$name"; done
	rm -f "$extdir/bpr--0.2.0--0.2.0-citus-test.sql" "$extdir/bpr--0.2.0-citus-test--0.2.0.sql"
	citus_cluster_stop "$work"
	cluster_stop "$work/single"
	rm -rf "$work"
}
trap cleanup EXIT
section() { echo "== $* (${SECONDS} s)"; }
check() {
	if [ "$2" = "$3" ]; then passed=$((passed + 1)); echo "ok: $1"
	else failed=$((failed + 1)); echo "FAILED: $1"; diff <(echo "$2") <(echo "$3") | head -20 || true; fi
}
# psql as a role, with SQLSTATEs in the messages
as_role() {
	local port=$1 role=$2
	shift 2
	psql -X -q -v ON_ERROR_STOP=1 -v VERBOSITY=verbose -At -h localhost -p "$port" -U "$role" -d "$citus_db" "$@" 2>&1 || true
}
# the SQLSTATE of the first error of a command, or "ok"
sqlstate() { grep -o -m 1 'ERROR:  [0-9A-Z]\{5\}' <<<"$1" | cut -c 9- || echo ok; }
# Polls a query on a node until it returns t (30 s); false when it never does
wait_for() {
	for _ in $(seq 1 300); do
		[ "$(citus_q "$1" -c "$2" 2>/dev/null)" = t ] && return 0
		sleep 0.1
	done
	return 1
}
# A background psql session fed through a fifo: session_start NAME PORT, session_send NAME SQL, session_end NAME
session_start() {
	local fd
	mkfifo "$work/$1.fifo"
	psql -X -q -At -h localhost -p "$2" -U postgres -d "$citus_db" -c "SET application_name = 'bpr_citus_$1'" \
		-f - <"$work/$1.fifo" >"$work/$1.out" 2>&1 &
	session_pid[$1]=$!
	exec {fd}>"$work/$1.fifo"
	session_fd[$1]=$fd
}
session_send() { printf '%s\n' "$2" >&"${session_fd[$1]}"; }
session_end() {
	local fd=${session_fd[$1]}
	exec {fd}>&-
	wait "${session_pid[$1]}" || true
	rm -f "$work/$1.fifo"
	unset "session_fd[$1]" "session_pid[$1]"
}
# the pid of a session's backend on the coordinator
session_backend() {
	citus_q "$coord_port" -c "SELECT pid FROM pg_stat_activity WHERE application_name = 'bpr_citus_$1'"
}

section "Citus"
if ! citus_build; then
	reported=1
	echo "citus: 0 passed, 1 failed"
	exit 1
fi

section "a coordinator, two workers and a single server"
citus_cluster_start "$work"
cluster_start "$work/single" -c shared_preload_libraries=bpr
single=$(sed -n 's/.*PGPORT=\([0-9]*\).*/\1/p' "$work/single/env")
single_q() { psql -X -q -v ON_ERROR_STOP=1 -At -h "$work/single/sock" -p "$single" -U postgres -d "$citus_db" "$@"; }
single_q -d postgres -c "CREATE DATABASE $citus_db"
nodes=("$coord_port" "$w1_port" "$w2_port")
# a query's result on every node, one line a node
everywhere() {
	local port
	for port in "${nodes[@]}"; do echo "$(citus_q "$port" -c "$1")"; done
}

train_v1="SELECT version FROM bpr.bpr_train('m', ratings => 'ratings', users => 'users', items => 'items', epochs => 3, seed => 1)"
train_v2="SELECT version FROM bpr.bpr_train('m', ratings => 'ratings', users => 'users', items => 'items', epochs => 2, seed => 2)"
quiet=(-c "SET bpr.progress = off" -c "SET client_min_messages = warning")
# the two pushed-down queries of the issue, each as a row count and a digest of its rows
topk="SELECT count(*) || ' ' || md5(string_agg(u.user_id || ' ' || r.item_id || ' ' || r.score || ' ' || r.rank,
	',' ORDER BY u.user_id, r.rank)) FROM users u, LATERAL bpr.bpr_recommend(u.user_id, 10, 'm') r"
scores="SELECT count(*) || ' ' || md5(string_agg(user_id || ' ' || item_id || ' ' || bpr.bpr_score(user_id, item_id, 'm'),
	',' ORDER BY user_id, item_id)) FROM ratings WHERE bpr.bpr_score(user_id, item_id, 'm') > 0"
answers() { "$@" -c "$topk" -c "$scores" | paste -sd ' '; }
# a line for each node
each() { for _ in "${nodes[@]}"; do echo "$1"; done; }

# the single server: the same data, the same trainings
single_q -c "CREATE EXTENSION bpr" -c "SET search_path = public" -f test/data/planted.sql
check "without Citus, bpr_distribute says it is for a Citus cluster" \
	"$(sqlstate "$(single_q -v VERBOSITY=verbose -c "SELECT bpr.bpr_distribute()" 2>&1 || true)")" "55000"
direct="SELECT bpr.bpr_score(7, 3, 'm') || ' ' || (SELECT string_agg(item_id::text, ',' ORDER BY rank) FROM bpr.bpr_recommend(7, 5, 'm'))"
single_q "${quiet[@]}" -c "$train_v1" >/dev/null
expected_v1=$(answers single_q)
direct_v1=$(single_q -c "$direct")
single_q "${quiet[@]}" -c "$train_v2" >/dev/null
expected_v2=$(answers single_q)
direct_v2=$(single_q -c "$direct")

# the cluster: data distributed by user, bpr created on the coordinator, a model trained there
coord() { citus_q "$coord_port" "$@"; }
# local tables first, distributed below (nor does Citus try to propagate planted.sql's pg_temp functions)
coord -c "SET search_path = public" -c "SET citus.enable_ddl_propagation = off" -f test/data/planted.sql
coord -c "SET client_min_messages = warning" \
	-c "SELECT create_distributed_table('ratings', 'user_id', shard_count => 4)" \
	-c "SELECT create_distributed_table('users', 'user_id', colocate_with => 'ratings')" \
	-c "SELECT create_reference_table('items')" \
	-c "SELECT truncate_local_data_after_distributing_table(t) FROM unnest(ARRAY['ratings', 'users', 'items']::regclass[]) t" \
	-c "CREATE EXTENSION bpr" >/dev/null
check "CREATE EXTENSION bpr reached every node" "$(everywhere "SELECT extversion FROM pg_extension WHERE extname = 'bpr'")" \
	"$(each 0.2.0)"
# roles: one owns a model, another does not, a third only serves; granted before distribution
coord -c "CREATE ROLE bpr_owner LOGIN" -c "CREATE ROLE bpr_other LOGIN" -c "CREATE ROLE bpr_reader LOGIN" \
	-c "GRANT USAGE ON SCHEMA bpr TO bpr_owner, bpr_other, bpr_reader" \
	-c "GRANT SELECT ON users, ratings, items TO bpr_owner, bpr_other, bpr_reader" \
	-c "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA bpr TO bpr_owner, bpr_other" \
	-c "GRANT SELECT ON ALL TABLES IN SCHEMA bpr TO bpr_reader"
coord "${quiet[@]}" -c "$train_v1" >/dev/null
as_role "$coord_port" bpr_owner "${quiet[@]}" \
	-c "SELECT version FROM bpr.bpr_train('o', ratings => 'ratings', epochs => 1, seed => 3)" >/dev/null
check "training over distributed ratings equals the single server's" \
	"$(coord -c "SELECT final_loss FROM bpr.models WHERE model = 'm'")" \
	"$(single_q -c "SELECT final_loss FROM bpr.models WHERE model = 'm' AND version = 1")"
out=$(as_role "$coord_port" postgres -c "SELECT count(*) FROM users u, LATERAL bpr.bpr_recommend(u.user_id, 10, 'm') r")
check "before bpr_distribute, serving pushed down to a worker finds no model" "$(sqlstate "$out")" "42704"

section "bpr_distribute"
check "bpr_distribute needs a superuser" \
	"$(sqlstate "$(as_role "$coord_port" bpr_owner -c "SELECT bpr.bpr_distribute()")")" "42501"
check "bpr_distribute runs on the coordinator only" \
	"$(sqlstate "$(as_role "$w1_port" postgres -c "SELECT bpr.bpr_distribute()")")" "55000"
coord -c "SELECT * FROM bpr.bpr_distribute()" | sed 's/^/  /'
check "every bpr table is a reference table on every node" \
	"$(everywhere "SELECT count(*) FROM pg_dist_partition WHERE logicalrelid::text LIKE 'bpr.%' AND repmodel = 't'")" \
	"$(each 6)"
check "the models trained before are on every node" \
	"$(everywhere "SELECT count(*) || ' ' || sum(cardinality(vector)) FROM bpr.embeddings")" \
	"$(each "$(coord -c "SELECT count(*) || ' ' || sum(cardinality(vector)) FROM bpr.embeddings")")"
check "the trigger is gone from every node" \
	"$(everywhere "SELECT count(*) FROM pg_trigger WHERE tgrelid = 'bpr.models'::regclass AND NOT tgisinternal")" \
	"$(each 0)"
out=$(coord -c "SELECT * FROM bpr.bpr_distribute()")
check "a second bpr_distribute copies nothing" "$(grep -c 'reference table:' <<<"$out" || true)" "0"

section "(a) serving pushed down to the workers equals the single server"
for query in "$topk" "$scores"; do
	plan=$(coord -c "SET citus.explain_all_tasks = on" -c "EXPLAIN (VERBOSE, COSTS OFF) $query")
	above=$(sed '/->  Task/,$d' <<<"$plan")
	check "pushed down: $(grep -o -m 1 'bpr_[a-z]*' <<<"$query")" \
		"$(grep -c 'Custom Scan (Citus Adaptive)' <<<"$above") $(grep -c 'bpr\.' <<<"$above") $(grep -c -- '->  Task' <<<"$plan") $(grep -o 'Node: host=localhost port=[0-9]*' <<<"$plan" | sort -u | sed 's/.*=//' | tr '\n' ' ')" \
		"1 0 4 $(printf '%s\n' "$w1_port" "$w2_port" | sort | tr '\n' ' ')"
done
check "answers equal the single server's (version 1)" "$(answers coord)" "$expected_v1"
check "exclude_rated read each user's ratings on its worker" \
	"$(coord -c "SELECT count(*) FROM users u, LATERAL bpr.bpr_recommend(u.user_id, 10, 'm') r, ratings x
		WHERE x.user_id = u.user_id AND x.item_id = r.item_id")" "0"
check "direct calls on each node equal the single server's" "$(everywhere "$direct")" "$(each "$direct_v1")"

section "(b) a retrain is seen by every node at its commit, not before"
active="SELECT version FROM bpr.models WHERE model = 'm' AND active"
session_start trainer "$coord_port"
session_send trainer "SET bpr.progress = off; SET client_min_messages = warning; BEGIN; $train_v2;"
wait_for "$coord_port" "SELECT state = 'idle in transaction' FROM pg_stat_activity WHERE application_name = 'bpr_citus_trainer'" ||
	echo "the training did not finish" >&2
check "the open transaction trained version 2" "$(cat "$work/trainer.out")" "2"
session_send trainer "$topk; $scores;"
for _ in $(seq 1 300); do [ "$(wc -l <"$work/trainer.out")" -ge 3 ] && break; sleep 0.1; done
check "inside it, pushed-down serving answers with version 2" "$(sed -n '2,3p' "$work/trainer.out" | paste -sd ' ')" \
	"$expected_v2"
check "while it is open, every node has version 1 active" "$(everywhere "$active")" "$(each 1)"
check "while it is open, every node serves version 1" "$(everywhere "$direct")" "$(each "$direct_v1")"
check "while it is open, pushed-down serving answers with version 1" "$(answers coord)" "$expected_v1"
session_send trainer "COMMIT;"
session_end trainer
check "after the commit, every node has version 2 active" "$(everywhere "$active")" "$(each 2)"
check "after the commit, every node serves version 2" "$(everywhere "$direct")" "$(each "$direct_v2")"
check "after the commit, pushed-down serving equals the single server's version 2" "$(answers coord)" "$expected_v2"

section "(d) cache invalidation on the workers"
# one session keeps its worker connections (and their caches) while another activates versions
pids="SELECT string_agg(DISTINCT pid::text, ',') FROM (SELECT pg_backend_pid() AS pid FROM users) s"
activate() { echo "\\! psql -X -q -h localhost -p $coord_port -U postgres -d $citus_db -c \"SELECT bpr.bpr_activate('m', $1)\" >/dev/null"; }
out=$(coord -c "SET citus.max_adaptive_executor_pool_size = 1" -f - <<SQL
$pids;
$topk; $scores; $direct;
$(activate 1)
$topk; $scores; $direct;
$pids;
$(activate 2)
$topk; $scores; $direct;
$pids;
SQL
)
mapfile -t lines <<<"$out"
check "the worker backends stayed the same" "${lines[0]} ${lines[0]}" "${lines[7]} ${lines[11]}"
check "they served version 2 first, and so did the coordinator" "${lines[1]} ${lines[2]} ${lines[3]}" "$expected_v2 $direct_v2"
check "the next statement after activating version 1 serves it" "${lines[4]} ${lines[5]} ${lines[6]}" "$expected_v1 $direct_v1"
check "the next statement after activating version 2 serves it" "${lines[8]} ${lines[9]} ${lines[10]}" "$expected_v2 $direct_v2"
# and a session of a client connected to a worker
out=$(citus_q "$w1_port" -f - <<SQL
$direct;
$(activate 1)
$direct;
$(activate 2)
$direct;
SQL
)
check "on a worker, a session sees each activation at its next statement" "$(paste -sd ' ' <<<"$out")" \
	"$direct_v2 $direct_v1 $direct_v2"

section "(d) ownership on the workers"
for port in "$coord_port" "$w1_port"; do
	node=coordinator
	[ "$port" = "$coord_port" ] || node=worker
	check "on the $node, another role may not activate, drop or retrain a model" \
		"$(sqlstate "$(as_role "$port" bpr_other -c "SELECT bpr.bpr_activate('o', 1)")") $(sqlstate "$(as_role "$port" bpr_other -c "SELECT bpr.bpr_drop('o')")") $(sqlstate "$(as_role "$port" bpr_other "${quiet[@]}" -c "SELECT version FROM bpr.bpr_train('o', ratings => 'ratings', epochs => 1)")")" \
		"42501 42501 42501"
done
check "on a worker, the owner may (a model trained before bpr_distribute)" \
	"$(as_role "$w1_port" bpr_owner -c "SELECT bpr.bpr_activate('o', 1)")" ""
check "the other role's attempts changed nothing" "$(everywhere "SELECT count(*) FROM bpr.models WHERE model = 'o'")" "$(each 1)"
check "the owner trains on a worker, and every node has the new version" \
	"$(as_role "$w1_port" bpr_owner "${quiet[@]}" -c "SELECT version FROM bpr.bpr_train('o', ratings => 'ratings', epochs => 1)") $(everywhere "SELECT max(version) FROM bpr.models WHERE model = 'o'" | paste -sd ' ')" \
	"2 $(each 2 | paste -sd ' ')"
# serving privileges are checked at each call on the workers, with warm caches
out=$(as_role "$coord_port" bpr_reader -c "SET citus.max_adaptive_executor_pool_size = 1" -f - <<SQL
$topk;
\\! psql -X -q -h localhost -p $coord_port -U postgres -d $citus_db -c "REVOKE SELECT ON bpr.embeddings FROM bpr_reader"
\\set ON_ERROR_STOP 0
$topk;
SQL
)
check "a reader serves pushed down" "$(head -n 1 <<<"$out")" "$(cut -d ' ' -f 1-2 <<<"$expected_v2")"
check "after REVOKE, the workers refuse the next call" \
	"$(sqlstate "$out") $(grep -c 'permission denied for table bpr.embeddings' <<<"$out") $(grep -o -m 1 "while executing command on localhost:[0-9]*" <<<"$out" | sed 's/.*://' | grep -c -E "^($w1_port|$w2_port)\$")" \
	"42501 1 1"

coord -c "GRANT SELECT ON bpr.embeddings TO bpr_reader"

section "a worker added later"
w3_port=$(citus_node_start "$work/w3")
coord -c "SELECT citus_add_node('localhost', $w3_port)" -c "SELECT replicate_reference_tables('block_writes')" \
	-c "SELECT bpr.bpr_distribute()" >/dev/null
nodes+=("$w3_port")
check "after replicate_reference_tables and bpr_distribute, it serves like the others" \
	"$(everywhere "$direct")" "$(each "$direct_v2")"
check "ownership holds there" \
	"$(sqlstate "$(as_role "$w3_port" bpr_other -c "SELECT bpr.bpr_activate('o', 1)")") $(as_role "$w3_port" bpr_owner -c "SELECT bpr.bpr_activate('o', 1)")" \
	"42501 "
check "so do the grants made before it joined" "$(as_role "$w3_port" bpr_reader -c "$direct")" "$direct_v2"

section "(c) a training killed while it writes leaves every node serving the old version"
no_trace="SELECT count(*) FROM bpr.models WHERE model = 'm' AND version > 2"
prepared="SELECT count(*) FROM pg_prepared_xacts"
# terminated while a worker keeps it waiting for a lock on its copy of the embeddings
shard=$(coord -c "SELECT shard_name('bpr.embeddings'::regclass, shardid) FROM pg_dist_shard WHERE logicalrelid = 'bpr.embeddings'::regclass")
session_start locker "$w2_port"
session_send locker "SET citus.enable_manual_changes_to_shards = on; BEGIN; LOCK TABLE $shard IN EXCLUSIVE MODE;"
wait_for "$w2_port" "SELECT count(*) = 1 FROM pg_locks WHERE relation = '$shard'::regclass AND mode = 'ExclusiveLock' AND granted" ||
	echo "the lock on $shard was not taken" >&2
session_start trainer "$coord_port"
session_send trainer "SET bpr.progress = off; SET client_min_messages = warning; $train_v2;"
check "the training waits while writing on a worker" \
	"$(wait_for "$w2_port" "SELECT count(*) > 0 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%embeddings%'" && echo yes)" "yes"
check "every node serves version 2 while it waits" "$(everywhere "$direct")" "$(each "$direct_v2")"
coord -c "SELECT pg_terminate_backend($(session_backend trainer))" >/dev/null
session_end trainer
session_send locker "COMMIT;"
session_end locker
wait_for "$w2_port" "SELECT count(*) = 0 FROM pg_stat_activity WHERE state = 'active' AND query LIKE 'INSERT INTO bpr.embeddings%'" || true
check "terminated: nothing of the new version on any node" "$(everywhere "$no_trace")" "$(each 0)"
check "terminated: every node serves version 2" "$(everywhere "$direct")" "$(each "$direct_v2")"
check "terminated: no prepared transactions" "$(everywhere "$prepared")" "$(each 0)"
# killed (SIGKILL) after a worker prepared its part and while another prepares
citus_q "$w2_port" -c "ALTER SYSTEM SET synchronous_standby_names = 'bpr_citus_nobody'" -c "SELECT pg_reload_conf()" >/dev/null
session_start trainer "$coord_port"
session_send trainer "SET bpr.progress = off; SET client_min_messages = warning; $train_v2;"
check "the commit waits while a worker prepares" \
	"$(wait_for "$w2_port" "SELECT count(*) > 0 FROM pg_stat_activity WHERE wait_event = 'SyncRep' AND query LIKE 'PREPARE TRANSACTION%'" && echo yes)" "yes"
check "the other worker has prepared its part" "$(wait_for "$w1_port" "SELECT count(*) > 0 FROM pg_prepared_xacts" && echo yes)" "yes"
kill -9 "$(session_backend trainer)"
session_end trainer
citus_q "$w2_port" -c "ALTER SYSTEM RESET synchronous_standby_names" -c "SELECT pg_reload_conf()" >/dev/null
for _ in $(seq 1 300); do coord -c "SELECT 1" >/dev/null 2>&1 && break; sleep 0.1; done
wait_for "$w2_port" "SELECT count(*) = 0 FROM pg_stat_activity WHERE wait_event = 'SyncRep'" || true
coord -c "SELECT recover_prepared_transactions()" >/dev/null
check "killed: no prepared transactions after recovery" "$(everywhere "$prepared")" "$(each 0)"
check "killed: nothing of the new version on any node" "$(everywhere "$no_trace")" "$(each 0)"
check "killed: every node serves version 2" "$(everywhere "$direct")" "$(each "$direct_v2")"
check "killed: pushed-down serving answers with version 2" "$(answers coord)" "$expected_v2"

section "without a model name; tables apart, and what bpr_distribute says of them"
coord -c "SET client_min_messages = warning" \
	-c "CREATE TABLE ratings_by_item AS SELECT * FROM ratings" \
	-c "SELECT create_distributed_table('ratings_by_item', 'item_id', colocate_with => 'none')" \
	-c "CREATE TABLE users_apart AS SELECT * FROM users" \
	-c "SELECT create_distributed_table('users_apart', 'user_id', colocate_with => 'none')" >/dev/null
# serving without a model name: the only model, until another is trained (every node, next statement)
coord -c "SELECT bpr.bpr_drop('o')" >/dev/null
out=$(coord -v VERBOSITY=verbose -c "SET citus.max_adaptive_executor_pool_size = 1" -f - 2>&1 <<SQL || true
SELECT bpr.bpr_score(7, 3) = bpr.bpr_score(7, 3, 'm');
SELECT count(*) FROM ratings WHERE bpr.bpr_score(user_id, item_id) > 0;
\\! psql -X -q -h localhost -p $coord_port -U postgres -d $citus_db -c "SET bpr.progress = off" -c "SET client_min_messages = warning" -c "SELECT bpr.bpr_train('apart', ratings => 'ratings_by_item', users => 'users_apart', epochs => 1)" >/dev/null
\\set ON_ERROR_STOP 0
SELECT bpr.bpr_score(7, 3);
SELECT count(*) FROM ratings WHERE bpr.bpr_score(user_id, item_id) > 0;
SQL
)
check "without a model name, the only model serves on every node" "$(head -n 2 <<<"$out" | paste -sd ' ')" \
	"t $(cut -d ' ' -f 3 <<<"$expected_v2")"
check "once another is trained, the next statement says the name is needed, on every node" \
	"$(grep -c 'ERROR:  42P08: more than one bpr model exists' <<<"$out") $(grep -c 'while executing command on localhost' <<<"$out")" "2 1"
out=$(coord -c "SELECT bpr.bpr_distribute()" 2>&1 >/dev/null)
check "a NOTICE with a HINT for ratings not distributed by the user column" \
	"$(grep -A 2 'public.ratings_by_item of bpr model "apart" is distributed by item_id and not by its user column user_id' <<<"$out" | grep -c 'HINT:  Distribute it by the user column')" "1"
check "a NOTICE with a HINT for a users table not colocated" \
	"$(grep -A 2 'users table public.users_apart of bpr model "apart" is not colocated' <<<"$out" | grep -c 'HINT:  Distribute the ratings table by user_id')" "1"
check "no NOTICE for the colocated model" "$(grep -c 'model "m"' <<<"$out" || true)" "0"
apart="WITH r AS MATERIALIZED (SELECT u.user_id, r.item_id FROM users_apart u,
	LATERAL bpr.bpr_recommend(u.user_id, 10, 'apart', exclude_rated => %s) r)
	SELECT count(*) > 0 FROM r JOIN ratings_by_item USING (user_id, item_id)"
# shellcheck disable=SC2059
check "exclude_rated still holds across nodes" "$(coord -c "$(printf "$apart" true)") $(coord -c "$(printf "$apart" false)")" "f t"

section "(e) ALTER EXTENSION UPDATE and DROP EXTENSION after bpr_undistribute"
# a test-only update that changes a bpr table, as updates do, and its way back
printf '%s\n' "ALTER TABLE @extschema@.models ADD COLUMN citus_test integer;" \
	"CREATE INDEX models_citus_test ON @extschema@.models (citus_test);" >"$extdir/bpr--0.2.0--0.2.0-citus-test.sql"
printf '%s\n' "ALTER TABLE @extschema@.models DROP COLUMN citus_test;" >"$extdir/bpr--0.2.0-citus-test--0.2.0.sql"
counts="SELECT (SELECT count(*) FROM bpr.models) || ' ' || (SELECT count(*) FROM bpr.embeddings) || ' ' || (SELECT count(*) FROM bpr.model_names)"
before=$(coord -c "$counts")
check "while distributed, the update is refused" \
	"$(sqlstate "$(as_role "$coord_port" postgres -c "ALTER EXTENSION bpr UPDATE TO '0.2.0-citus-test'")") $(everywhere "SELECT extversion FROM pg_extension WHERE extname = 'bpr'" | paste -sd ' ')" \
	"42601 $(each 0.2.0 | paste -sd ' ')"
coord -c "SELECT * FROM bpr.bpr_undistribute()" | sed 's/^/  /'
check "bpr_undistribute kept every row on the coordinator" "$(coord -c "$counts")" "$before"
check "no Citus table, shard or trigger of bpr's left" \
	"$(everywhere "SET citus.show_shards_for_app_name_prefixes = '*'; SELECT (SELECT count(*) FROM pg_dist_partition WHERE logicalrelid::text LIKE 'bpr.%')
		+ (SELECT count(*) FROM pg_class WHERE relnamespace = 'bpr'::regnamespace AND relname ~ '_[0-9]+$')
		+ (SELECT count(*) FROM pg_trigger WHERE tgfoid::regproc::text = 'citus_truncate_trigger' AND tgrelid::regclass::text LIKE 'bpr.%')")" \
	"$(each 0)"
check "the models_changed trigger is back on every node" \
	"$(everywhere "SELECT count(*) FROM pg_trigger WHERE tgrelid = 'bpr.models'::regclass AND tgname = 'models_changed'")" "$(each 1)"
check "the coordinator serves alone" "$(coord -c "$direct")" "$direct_v2"
coord -c "ALTER EXTENSION bpr UPDATE TO '0.2.0-citus-test'"
check "then the update reaches every node" \
	"$(everywhere "SELECT (SELECT extversion FROM pg_extension WHERE extname = 'bpr') || ' ' ||
		(SELECT count(*) FROM pg_attribute WHERE attrelid = 'bpr.models'::regclass AND attname = 'citus_test')")" \
	"$(each '0.2.0-citus-test 1')"
coord -c "ALTER EXTENSION bpr UPDATE TO '0.2.0'" -c "SET client_min_messages = warning" -c "SELECT bpr.bpr_distribute()" >/dev/null
check "distributed again, pushed-down serving is unchanged" "$(answers coord)" "$expected_v2"
check "and every node serves" "$(everywhere "$direct")" "$(each "$direct_v2")"
coord -c "SELECT * FROM bpr.bpr_undistribute()" >/dev/null
coord -c "DROP EXTENSION bpr"
check "DROP EXTENSION left nothing of bpr on any node but its empty schema, as on a single server" \
	"$(everywhere "SET citus.show_shards_for_app_name_prefixes = '*';
		SELECT (SELECT count(*) FROM pg_extension WHERE extname = 'bpr')
		+ (SELECT count(*) FROM pg_class WHERE relnamespace = 'bpr'::regnamespace)
		+ (SELECT count(*) FROM pg_proc WHERE pronamespace = 'bpr'::regnamespace)
		+ (SELECT count(*) FROM pg_class WHERE relname ~ '^(model_names|models|features|parameters|embeddings|training_log)_[0-9]+$')
		+ (SELECT count(*) FROM pg_dist_partition p WHERE NOT EXISTS (SELECT FROM pg_class c WHERE c.oid = p.logicalrelid))
		+ (SELECT count(*) FROM pg_dist_shard s WHERE NOT EXISTS (SELECT FROM pg_class c WHERE c.oid = s.logicalrelid))
		+ (SELECT count(*) FROM pg_prepared_xacts)")" "$(each 0)"
coord -c "DROP SCHEMA bpr"
check "DROP SCHEMA bpr removed the schema from every node" \
	"$(everywhere "SELECT (SELECT count(*) FROM pg_namespace WHERE nspname = 'bpr')
		+ (SELECT count(*) FROM pg_dist_object o WHERE o.classid IN ('pg_extension'::regclass, 'pg_namespace'::regclass)
		   AND NOT EXISTS (SELECT FROM pg_extension e WHERE e.oid = o.objid) AND NOT EXISTS (SELECT FROM pg_namespace n WHERE n.oid = o.objid))")" \
	"$(each 0)"

reported=1
echo "citus: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
