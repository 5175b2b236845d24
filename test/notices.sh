#!/usr/bin/env bash
# The per-epoch progress NOTICE of bpr_train: epoch, loss, validation metric, seconds,
# triplets/s and an ETA, one line per epoch (timings vary: checked by pattern here, not
# by pg_regress). Runs against the server in PGHOST/PGPORT, in contrib_regression (the
# regression tests' planted data). Prints "notices: N passed, M failed".
set -uo pipefail
db=${PGDATABASE_REGRESS:-contrib_regression}
passed=0
failed=0
check() {
	if [ "$1" = 0 ]; then echo "ok: $2"; passed=$((passed + 1)); else echo "FAIL: $2"; failed=$((failed + 1)); fi
}

out=$(psql -X -d "$db" -v ON_ERROR_STOP=1 -At 2>&1 <<'SQL'
SET bpr.progress = on;
SELECT version FROM bpr.bpr_train('notice_check', ratings => 'planted.ratings', epochs => 3, seed => 1,
                                  validation => 'planted.ratings_test', patience => 100);
SELECT bpr.bpr_drop('notice_check');
SQL
)
echo "$out" | grep 'epoch'
n=$(echo "$out" | grep -cE '^NOTICE:  epoch [1-3]/3: loss [0-9]+\.[0-9]{4}, validation precision@10 [0-9]\.[0-9]{4}, [0-9]+\.[0-9]{2} s, [0-9]+ triplets/s, ETA [0-9]+ s$')
[ "$n" = 3 ]
check $? "one NOTICE per epoch with loss, validation precision, seconds, triplets/s and ETA ($n of 3)"
echo "$out" | grep -qE '^NOTICE:  epoch 3/3: .*, ETA 0 s$'
check $? "the last epoch's ETA is 0 s"
out=$(psql -X -d "$db" -At -c "SET bpr.progress = off" \
	-c "SELECT version FROM bpr.bpr_train('notice_check', ratings => 'planted.ratings', epochs => 2)" \
	-c "SELECT bpr.bpr_drop('notice_check')" 2>&1)
! echo "$out" | grep -q 'NOTICE:  epoch'
check $? "bpr.progress = off: no epoch NOTICE"
echo "notices: $passed passed, $failed failed"
[ "$failed" = 0 ]
