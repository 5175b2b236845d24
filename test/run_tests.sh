#!/usr/bin/env bash
# The test command: bash test/run_tests.sh
# On a fresh Debian 12 machine (as root): installs packages, builds with -Werror, installs
# the extension, runs the C unit tests, then the pg_regress tests against a private
# cluster. Ends with "tests: N passed, M failed"; exits non-zero on any failure.
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

echo "== unit tests"
run_counted "the unit tests" make -s unittest

echo "== regression tests"
cluster=$(bpr_tmpdir test)
trap 'cluster_stop "$cluster"; rm -rf "$cluster"' EXIT
cluster_start "$cluster"
source "$cluster/env"
regress_out=$(mktemp)
make -s installcheck 2>&1 | tee "$regress_out" || status=1
# pg_regress ends with "All N tests passed." or "F of N tests failed." (or "P of N passed")
summary=$(grep -Eo '(All [0-9]+ tests passed|[0-9]+ of [0-9]+ tests (passed|failed))' "$regress_out" | tail -n 1 || true)
n_regress=$(sed -n 's/^REGRESS *= *//p' Makefile | wc -w)
case "$summary" in
"All "*) read -r _ n _ <<<"$summary"; passed=$((passed + n)) ;;
*failed) read -r f _ n _ <<<"$summary"; passed=$((passed + n - f)); failed=$((failed + f)) ;;
*passed) read -r p _ n _ <<<"$summary"; passed=$((passed + p)); failed=$((failed + n - p)) ;;
*)
	echo "pg_regress did not report a summary (server log: $cluster/server.log)" >&2
	tail -n 20 "$cluster/server.log" >&2 || true
	failed=$((failed + n_regress))
	status=1
	;;
esac
if [ -s regression.diffs ] && grep -q 'failed' <<<"$summary"; then
	echo "== regression.diffs"
	cat regression.diffs
	status=1
fi
rm -f "$regress_out"

echo "== pg_dump and restore"
run_counted "the dump and restore test" bash test/dump_restore.sh

echo "== upgrade from 0.1.0"
run_counted "the upgrade test" bash test/upgrade.sh

echo "tests: $passed passed, $failed failed"
[ "$failed" -eq 0 ] || status=1
exit "$status"
