#!/usr/bin/env bash
# MOCKPIE_DATABASE=postgresql://... scripts/run (issue 10, "done means"):
# scripts/run serves a PostgreSQL the user already runs, with nothing else
# set.  The test plays that user: its own throw-away PostgreSQL (initdb,
# password auth, 127.0.0.1 on a free port, an empty database), then
# scripts/run with the URL; a registration lands in that database (and no
# SQLite file appears), the session answers /auth/me, and SIGTERM stops it.
# Exit 0 pass, 1 fail, 77 skip (automake's test driver).
set -euo pipefail

srcdir=${MOCKPIE_SRCDIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
builddir=${MOCKPIE_BUILDDIR:-$srcdir}
fcgi=$builddir/src/mockpie-fcgi
run_script=$srcdir/scripts/run
wait_up=60		# seconds for PostgreSQL or the stack to answer
wait_stop=40		# seconds for scripts/run to stop on SIGTERM

. "$srcdir/tests/run_lib.sh"
need_run_stack
pgbin=
for d in /usr/lib/postgresql/*/bin; do
	[ -x "$d/initdb" ] && [ -x "$d/psql" ] && pgbin=$d
done
[ -n "$pgbin" ] || skip "no PostgreSQL server (apt-get install postgresql)"

# As root, PostgreSQL runs as postgres and the stack as daemon (as in
# it_run.sh); otherwise both as the caller.
as=()			# the prefix that runs a command as PostgreSQL's user
pg_user=$(id -un)
if [ "$(id -u)" -eq 0 ]; then
	id -u postgres >/dev/null 2>&1 || skip "no user postgres"
	id -u daemon >/dev/null 2>&1 || skip "no user daemon"
	command -v runuser >/dev/null || skip "no runuser"
	runuser -u daemon -- test -x "$fcgi" -a -r "$run_script" ||
	    skip "daemon, whom scripts/run would run the stack as, cannot reach $fcgi"
	command -v setpriv >/dev/null || skip "no setpriv"
	# exec'd in place (setpriv, not runuser's session): the pid is the
	# postmaster's own, and SIGINT reaches it
	as=(setpriv --reuid=postgres --regid=postgres --init-groups
	    --reset-env --)
	pg_user=postgres
	export MOCKPIE_RUN_USER=daemon
fi
unset MOCKPIE_REDIS_URL MOCKPIE_JWT_SECRET MOCKPIE_JWT_SECRET_FILE \
    MOCKPIE_DATABASE MOCKPIE_LISTEN MOCKPIE_PIDFILE SUDO_USER NGINX
export MOCKPIE_FCGI_BIN=$fcgi MOCKPIE_WORKERS=2

base=$(mktemp -d /tmp/mockpie-it-run-pg.XXXXXX)
chmod 0755 "$base"
pgdata=$base/pgdata
run=$base/run
runpid=
pgpid=
cleanup() {
	stop_wait "$runpid" TERM "$wait_stop" ||
	    kill -KILL "$runpid" 2>/dev/null || true
	stop_wait "$pgpid" INT 10 ||		# PostgreSQL's fast shutdown
	    kill -KILL "$pgpid" 2>/dev/null || true
	rm -rf "$base"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# --- the user's PostgreSQL --------------------------------------------------
pgpass=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')
mkdir -m 0700 "$pgdata"
printf '%s\n' "$pgpass" >"$base/pwfile"
[ "$pg_user" = "$(id -un)" ] || chown "$pg_user" "$pgdata" "$base/pwfile"
"${as[@]}" "$pgbin/initdb" -D "$pgdata" -U mockpie --pwfile="$base/pwfile" \
    --auth=scram-sha-256 -E UTF8 --locale=C >"$base/initdb.log" 2>&1 ||
    { sed 's/^/  | /' "$base/initdb.log"; bad "initdb"; exit 1; }
rm -f "$base/pwfile"
pgport=$(free_port) || { bad "no free port"; exit 1; }
(exec "${as[@]}" "$pgbin/postgres" -D "$pgdata" -p "$pgport" \
    -c listen_addresses=127.0.0.1 -c unix_socket_directories="$pgdata" \
    >"$base/postgres.log" 2>&1) &
pgpid=$!
psql_() {
	PGPASSWORD=$pgpass "$pgbin/psql" -X -q -At -h 127.0.0.1 -p "$pgport" \
	    -U mockpie "$@"
}
for ((i = 0; i < wait_up * 10; i++)); do
	psql_ -d postgres -c 'SELECT 1' >/dev/null 2>&1 && break
	kill -0 "$pgpid" 2>/dev/null ||
	    { sed 's/^/  | /' "$base/postgres.log"; bad "postgres started"; exit 1; }
	sleep 0.1
done
psql_ -d postgres -c 'CREATE DATABASE shop' ||
    { bad "an empty database"; exit 1; }
ok "a PostgreSQL of the user's own, an empty database in it"

# --- scripts/run on it --------------------------------------------------------
port=$(free_port) || { bad "no free port"; exit 1; }
url=http://127.0.0.1:$port
(umask 077; exec env MOCKPIE_RUN_DIR="$run" MOCKPIE_HTTP_PORT="$port" \
    MOCKPIE_DATABASE="postgresql://mockpie:$pgpass@127.0.0.1:$pgport/shop" \
    "$run_script" >"$base/run.log" 2>&1 </dev/null) &
runpid=$!
health_code "$url" "$runpid" "$wait_up"
if [ "$code" != 200 ]; then
	bad "MOCKPIE_DATABASE=postgresql://... scripts/run serves /health (got '$code')"
	sed 's/^/  | /' "$base/run.log"
	exit 1
fi
ok "MOCKPIE_DATABASE=postgresql://... scripts/run serves /health"
curl -s -m 5 "$url/health?ready=1" >"$base/health.json" || true
check "  /health?ready=1 says the database is connected" \
    grep -Eq '"database": *\{ *"status": *"connected"' "$base/health.json"

register "$url" runpg +15550008888
check "a registration through it answers 201 (got $code)" test "$code" = 201
rows=$(psql_ -d shop -c \
    "SELECT count(*) FROM users WHERE email = 'runpg@example.com'" || true)
check "  and is a row of that database (got '$rows')" test "$rows" = 1
check "  with no SQLite file in the run directory" \
    test ! -e "$run/mockpie.db"
access=$(sed -n 's/.*"access_token": *"\([^"]*\)".*/\1/p' "$base/register.json")
code=$(curl -s -m 10 -o /dev/null -w '%{http_code}' \
    -H "Authorization: Bearer $access" "$url/auth/me" || true)
check "  its access token answers /auth/me (got $code)" test "$code" = 200
code=$(curl -s -m 10 -o /dev/null -w '%{http_code}' -X POST \
    --data-urlencode "email=runpg@example.com" \
    --data-urlencode "password=$pw" "$url/auth/login" || true)
check "  and the user logs in with a form, as the web client does (got $code)" \
    test "$code" = 200

check "SIGTERM stops scripts/run" stop_wait "$runpid" TERM "$wait_stop"
check "  and the database password is in none of its logs" \
    sh -c "! cat '$base/run.log' $run/*.log 2>/dev/null | grep -qF '$pgpass'"
runpid=

if [ $failed -ne 0 ]; then
	echo "run.log:"
	sed 's/^/  | /' "$base/run.log"
fi
exit $failed
