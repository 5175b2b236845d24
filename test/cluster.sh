#!/usr/bin/env bash
# Private, throw-away PostgreSQL 15 clusters for tests, the demo and benchmarks.
#
#   bash test/cluster.sh start DIR [-c name=value ...]   # initdb + start; writes DIR/env
#   source DIR/env                   # exports PGHOST (socket dir), PGPORT, PGUSER=postgres
#   bash test/cluster.sh stop DIR    # fast shutdown; safe to call twice
#
# Or source this file and call cluster_start DIR / cluster_stop DIR.
# postgres refuses to run as root, so as root the server runs as the `postgres` user:
# DIR's parents must be traversable by postgres (use e.g. `mktemp -d /tmp/bpr-XXXXXX`).
# No TCP: the server listens only on a Unix socket in DIR/sock.

PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}

# Runs a command as the cluster owner: postgres when we are root, else ourselves.
_as_owner() {
	if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# First port from 5433 up with no TCP listener and no PostgreSQL socket of that number.
_free_port() {
	local port
	for port in $(seq 5433 5633); do
		[ -e "/tmp/.s.PGSQL.$port" ] && continue
		# a Unix socket of that port anywhere (other private clusters)
		command -v ss >/dev/null && ss -xl | grep -q "/\.s\.PGSQL\.$port " && continue
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
			echo "$port"
			return 0
		fi
	done
	echo "cluster.sh: no free port in 5433..5633" >&2
	return 1
}

cluster_start() {
	local dir=${1:?usage: cluster_start DIR [-c name=value ...]}
	shift
	mkdir -p "$dir"
	dir=$(cd "$dir" && pwd)
	chmod 755 "$dir"
	[ "$(id -u)" -eq 0 ] && chown postgres:postgres "$dir"
	if ! _as_owner test -w "$dir"; then
		echo "cluster.sh: $dir is not writable by the server user (parents not traversable?)" >&2
		return 1
	fi
	if [ -f "$dir/data/PG_VERSION" ] && _as_owner "$PGBIN/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
		echo "cluster.sh: a cluster is already running in $dir" >&2
		return 1
	fi

	# the socket path must stay under ~107 bytes
	if [ ${#dir} -gt 80 ]; then
		echo "cluster.sh: $dir is too long for a Unix socket path" >&2
		return 1
	fi

	_as_owner mkdir -p "$dir/sock"
	if [ ! -f "$dir/data/PG_VERSION" ]; then
		_as_owner "$PGBIN/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 \
			--locale=C >"$dir/initdb.log" 2>&1 ||
			{ cat "$dir/initdb.log" >&2; return 1; }
	fi

	local port
	port=$(_free_port) || return 1
	# test settings: durability off, moderate memory, quiet log
	local opts="-p $port -k $dir/sock -c listen_addresses=''"
	opts+=" -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
	opts+=" -c shared_buffers=128MB -c work_mem=16MB -c maintenance_work_mem=64MB"
	opts+=" -c max_connections=40 -c log_min_messages=warning"
	# extra server options (e.g. -c shared_preload_libraries=bpr)
	[ $# -gt 0 ] && opts+=" $*"
	if ! _as_owner "$PGBIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
		-o "$opts" start >/dev/null; then
		echo "cluster.sh: server failed to start; log follows" >&2
		tail -n 30 "$dir/server.log" >&2
		return 1
	fi

	printf 'export PGHOST=%s PGPORT=%s PGUSER=postgres\n' "$dir/sock" "$port" >"$dir/env"
	chmod 644 "$dir/env"
	echo "cluster.sh: started in $dir (socket $dir/sock, port $port)" >&2
}

cluster_stop() {
	local dir=${1:?usage: cluster_stop DIR}
	[ -d "$dir" ] || return 0
	dir=$(cd "$dir" && pwd)
	if [ -f "$dir/data/postmaster.pid" ]; then
		_as_owner "$PGBIN/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
	fi
	return 0
}

# Executed (not sourced): dispatch the subcommand.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	set -euo pipefail
	case "${1:-}" in
	start) shift; cluster_start "$@" ;;
	stop) cluster_stop "${2:?usage: $0 stop DIR}" ;;
	*)
		echo "usage: $0 start|stop DIR" >&2
		exit 2
		;;
	esac
fi
