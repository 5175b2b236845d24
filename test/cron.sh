#!/usr/bin/env bash
# Nightly retraining under pg_cron, as a user sets it up: a job that trains every minute
# with keep_versions; checks cron.job_run_details, the versions and the retention, then
# unschedules. Needs a running server with pg_cron and bpr in shared_preload_libraries,
# cron.database_name = 'bpr_cron' and cron.use_background_workers = on (test/run_tests.sh
# starts one). Prints 'cron: N passed, M failed'; exits non-zero on a failure.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
passed=0
failed=0
db=bpr_cron
q() { psql -X -q -v ON_ERROR_STOP=1 -At -d "$db" "$@"; }
check() {
	if [ "$2" = "$3" ]; then passed=$((passed + 1)); echo "ok: $1"
	else failed=$((failed + 1)); echo "FAILED: $1: '$2' <> '$3'"; fi
}
cleanup() {
	q -c "SELECT cron.unschedule(jobid) FROM cron.job WHERE jobname = 'bpr-nightly'" >/dev/null 2>&1 || true
	dropdb --if-exists "$db" >/dev/null 2>&1 || true
}
trap cleanup EXIT

dropdb --if-exists "$db" >/dev/null 2>&1 || true
createdb "$db"
q -c "CREATE EXTENSION pg_cron" -c "CREATE EXTENSION bpr" -c "SET search_path = public" -f test/data/planted.sql
q -c "SET bpr.progress = off" -c "SET client_min_messages = warning" \
	-c "SELECT version FROM bpr.bpr_train('nightly', ratings => 'ratings', epochs => 1, seed => 1)" \
	-c "SELECT version FROM bpr.bpr_train('nightly', ratings => 'ratings', epochs => 1, seed => 2)" \
	-c "SELECT version FROM bpr.bpr_train('nightly', ratings => 'ratings', epochs => 1, seed => 3)" >/dev/null
check "three versions before the job" "$(q -c "SELECT count(*) FROM bpr.models WHERE model = 'nightly'")" "3"

# every minute (the README's nightly job, at another pace); keep the active version and one more
q -c "SELECT cron.schedule('bpr-nightly', '* * * * *',
	\$\$SELECT bpr.bpr_train('nightly', ratings => 'ratings', epochs => 1, keep_versions => 2)\$\$)" >/dev/null
echo "cron: waiting for the job's first run (up to 150 s)"
for _ in $(seq 1 150); do
	done_runs=$(q -c "SELECT count(*) FROM cron.job_run_details d JOIN cron.job j USING (jobid)
		WHERE j.jobname = 'bpr-nightly' AND d.status IN ('succeeded', 'failed')")
	[ "$done_runs" -ge 1 ] && break
	sleep 1
done
check "the job ran" "$([ "$done_runs" -ge 1 ] && echo yes || echo no)" "yes"
check "the job succeeded" "$(q -c "SELECT string_agg(DISTINCT d.status, ',') FROM cron.job_run_details d
	JOIN cron.job j USING (jobid) WHERE j.jobname = 'bpr-nightly' AND d.status IN ('succeeded', 'failed')")" "succeeded"
check "the job trained version 4 and activated it" \
	"$(q -c "SELECT max(version) || ':' || bool_or(active AND version = 4) FROM bpr.models WHERE model = 'nightly'")" "4:true"
check "retention kept two versions" \
	"$(q -c "SELECT string_agg(version::text, ',' ORDER BY version) FROM bpr.models WHERE model = 'nightly'")" "3,4"
check "nothing left of the dropped versions" \
	"$(q -c "SELECT count(*) FROM bpr.embeddings WHERE model = 'nightly' AND version < 3")" "0"
check "the new version serves" "$(q -c "SELECT count(*) FROM bpr.bpr_recommend(7, 5, 'nightly')")" "5"
check "the job's registry row records the run" \
	"$(q -c "SELECT hyperparameters->>'keep_versions' FROM bpr.models WHERE model = 'nightly' AND version = 4")" "2"
q -c "SELECT cron.unschedule('bpr-nightly')" >/dev/null
check "unscheduled" "$(q -c "SELECT count(*) FROM cron.job WHERE jobname = 'bpr-nightly'")" "0"
echo "cron: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
