# Shared set-up for test/run_tests.sh, test/demo.sh and test/bench/*: sourced, not run.
#   bpr_packages         install the Debian 12 packages (skipped when already present)
#   bpr_build [CFLAGS]   make + make install, extra compiler flags in PG_CFLAGS
#   bpr_tmpdir NAME      a fresh /tmp/bpr-NAME.XXXXXX directory the postgres user can reach

BPR_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}
BPR_PACKAGES=(postgresql-15 postgresql-server-dev-15 postgresql-contrib postgresql-15-cron
	libopenblas-dev make gcc git)

# shellcheck source=cluster.sh
source "$BPR_ROOT/test/cluster.sh"

bpr_packages() {
	local pkg missing=()
	for pkg in "${BPR_PACKAGES[@]}"; do
		dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' ||
			missing+=("$pkg")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	echo "setup: installing ${missing[*]}" >&2
	if [ "$(id -u)" -ne 0 ]; then
		echo "setup: missing packages and not root: apt-get install -y ${missing[*]}" >&2
		return 1
	fi
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q &&
		apt-get install -y -q "${BPR_PACKAGES[@]}"
}

bpr_build() {
	local flags="${1:-}"
	make -C "$BPR_ROOT" -s -j"$(nproc)" PG_CFLAGS="$flags" &&
		make -C "$BPR_ROOT" -s PG_CFLAGS="$flags" install >/dev/null
}

bpr_tmpdir() {
	local dir
	dir=$(mktemp -d "/tmp/bpr-${1:-tmp}.XXXXXX")
	chmod 755 "$dir"
	echo "$dir"
}

# Benchmarks: a database (default bpr_bench) with the extension, on a private cluster that
# preloads bpr (BENCH_SERVER_OPTS: more -c options) or, when PGHOST is already set, on that
# server. NO_BUILD=1 skips packages + build.
bpr_bench_start() {
	if [ "${NO_BUILD:-0}" != 1 ]; then
		bpr_packages && bpr_build || return 1
	fi
	if [ -z "${PGHOST:-}" ]; then
		BENCH_CLUSTER=$(bpr_tmpdir bench)
		trap 'cluster_stop "$BENCH_CLUSTER"; rm -rf "$BENCH_CLUSTER"' EXIT
		# benchmarks measure the recommended setup: bpr preloaded (one copy per server)
		cluster_start "$BENCH_CLUSTER" -c shared_preload_libraries=bpr -c max_connections=60 \
			${BENCH_SERVER_OPTS:-} || return 1
		source "$BENCH_CLUSTER/env"
	fi
	export PGDATABASE=${BENCH_DB:-bpr_bench}
	psql -X -d postgres -Atq -c "SELECT 1 FROM pg_database WHERE datname = '$PGDATABASE'" |
		grep -q 1 || createdb "$PGDATABASE"
	# the extension, unless its schema is already there
	psql -X -q -v ON_ERROR_STOP=1 -c 'DO $$ BEGIN
		IF to_regnamespace($n$bpr$n$) IS NULL THEN CREATE EXTENSION bpr; END IF; END $$'
}

# Loads MovieLens 100k into schema ml (uN = the uN.base/uN.test split, default u1).
bpr_load_ml() {
	local data=${ML100K:-$BPR_ROOT/../shared/data/ml-100k}
	data=$(cd "$data" && pwd) || { echo "no ML-100k data in $data (set ML100K)" >&2; return 1; }
	psql -X -q -v ON_ERROR_STOP=1 -v datadir="$data" -v split="${1:-u1}" \
		-f "$BPR_ROOT/test/bench/load_ml100k.sql"
}
