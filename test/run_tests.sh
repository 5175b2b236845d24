#!/usr/bin/env bash
# The test command: bash test/run_tests.sh
# On a fresh Debian 12 machine (as root): installs packages, builds with -Werror, installs
# the extension, runs the C unit tests, then the pg_regress suite twice: on a server with
# bpr (and pg_cron) in shared_preload_libraries (one shared copy of each model) and on a
# plain one (each backend its own copy), then the pg_cron, dump/restore, upgrade and Citus
# tests. Ends with "tests: N passed, M failed"; exits non-zero on any failure.
set -euo pipefail
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/setup.sh"
cd "$BPR_ROOT"

passed=0
failed=0
status=0

echo "== packages"
bpr_packages

echo "== build (-Werror) and install"
bpr_build -Werror

# Runs a command whose output ends in "[word:] N passed, M failed" and adds the counts
run_counted() {
	local name=$1 out summary p f
	shift
	out=$(mktemp)
	"$@" 2>&1 | tee "$out" || status=1
	if summary=$(grep -E '^([a-z_]+: )?[0-9]+ passed, [0-9]+ failed$' "$out" | tail -n 1) && [ -n "$summary" ]; then
		read -r p _ f _ <<<"${summary#*: }"
		passed=$((passed + p))
		failed=$((failed + f))
		[ "$f" -eq 0 ] || status=1
	else
		echo "$name did not report a summary" >&2
		failed=$((failed + 1))
		status=1
	fi
	rm -f "$out"
}

# Runs pg_regress on the tests named, against the server in PGHOST/PGPORT, and adds the counts
run_regress() {
	local label=$1 tests=$2 out summary n
	out=$(mktemp)
	make -s installcheck REGRESS="$tests" 2>&1 | tee "$out" || status=1
	# pg_regress ends with "All N tests passed." or "F of N tests failed." (or "P of N passed")
	summary=$(grep -Eo '(All [0-9]+ tests passed|[0-9]+ of [0-9]+ tests (passed|failed))' "$out" | tail -n 1 || true)
	n=$(wc -w <<<"$tests")
	case "$summary" in
	"All "*) read -r _ n _ <<<"$summary"; passed=$((passed + n)) ;;
	*failed) read -r f _ n _ <<<"$summary"; passed=$((passed + n - f)); failed=$((failed + f)) ;;
	*passed) read -r p _ n _ <<<"$summary"; passed=$((passed + p)); failed=$((failed + n - p)) ;;
	*)
		echo "pg_regress ($label) did not report a summary" >&2
		failed=$((failed + n))
		status=1
		;;
	esac
	if [ -s regression.diffs ] && grep -q 'failed' <<<"$summary"; then
		echo "== regression.diffs ($label)"
		cat regression.diffs
		cp regression.diffs "regression-$label.diffs"
		status=1
	fi
	rm -f "$out"
}

echo "== unit tests"
run_counted "the unit tests" make -s unittest

regress=$(sed -n 's/^REGRESS *= *//p' Makefile)
preloaded=$(sed -n 's/^REGRESS_PRELOADED *= *//p' Makefile)
shared=$(bpr_tmpdir shared)
plain=$(bpr_tmpdir plain)
trap 'cluster_stop "$shared"; cluster_stop "$plain"; rm -rf "$shared" "$plain"' EXIT

echo "== regression tests, bpr and pg_cron preloaded (shared copies)"
cluster_start "$shared" -c shared_preload_libraries=bpr,pg_cron -c cron.database_name=bpr_cron \
	-c cron.use_background_workers=on
source "$shared/env"
run_regress shared "$regress $preloaded"

echo "== pg_cron"
run_counted "the pg_cron test" bash test/cron.sh

echo "== pg_dump and restore"
run_counted "the dump and restore test" bash test/dump_restore.sh

echo "== regression tests, plain server (a copy per backend)"
cluster_start "$plain"
source "$plain/env"
run_regress plain "$regress"
run_counted "the progress NOTICE check" bash test/notices.sh

# the released library must load in fresh backends: a server that preloads none
echo "== upgrade from 0.1.0"
run_counted "the upgrade test" bash test/upgrade.sh

# a coordinator and two workers of their own (Citus built from ../shared/citus)
echo "== Citus"
run_counted "the Citus test" bash test/citus.sh

echo "tests: $passed passed, $failed failed"
[ "$failed" -eq 0 ] || status=1
exit "$status"
