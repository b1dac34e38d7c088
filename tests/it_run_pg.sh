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

failed=0
skip() { echo "SKIP: $*"; exit 77; }
ok() { echo "ok   $*"; }
bad() { echo "FAIL $*"; failed=1; }
check() {
	local what=$1
	shift
	if "$@"; then ok "$what"; else bad "$what"; fi
}

[ -x "$fcgi" ] || skip "no program at $fcgi: build it first"
dpkg -s nginx spawn-fcgi redis-server curl util-linux >/dev/null 2>&1 ||
    skip "a package scripts/run needs is missing (it would install it)"
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
	local i
	if [ -n "$runpid" ] && kill -0 "$runpid" 2>/dev/null; then
		kill -TERM "$runpid" 2>/dev/null || true
		for ((i = 0; i < wait_stop * 10; i++)); do
			kill -0 "$runpid" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$runpid" 2>/dev/null || true
	fi
	if [ -n "$pgpid" ] && kill -0 "$pgpid" 2>/dev/null; then
		kill -INT "$pgpid" 2>/dev/null || true	# fast shutdown
		for ((i = 0; i < 100; i++)); do
			kill -0 "$pgpid" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$pgpid" 2>/dev/null || true
	fi
	rm -rf "$base"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# below the ephemeral range, as it_run.sh picks its ports
low=$(awk '{print $1}' /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null ||
    echo 32768)
[ "$low" -gt 12000 ] 2>/dev/null || low=32768
free_port() {
	local i p
	for ((i = 0; i < 100; i++)); do
		p=$((10000 + RANDOM % (low - 10000)))
		(exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || {
			echo "$p"
			return 0
		}
	done
	return 1
}

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
code=
for ((i = 0; i < wait_up * 10; i++)); do
	code=$(curl -s -m 2 -o /dev/null -w '%{http_code}' "$url/health" || true)
	[ "$code" = 200 ] && break
	kill -0 "$runpid" 2>/dev/null || break
	sleep 0.1
done
if [ "$code" != 200 ]; then
	bad "MOCKPIE_DATABASE=postgresql://... scripts/run serves /health (got '$code')"
	sed 's/^/  | /' "$base/run.log"
	exit 1
fi
ok "MOCKPIE_DATABASE=postgresql://... scripts/run serves /health"
curl -s -m 5 "$url/health?ready=1" >"$base/health.json" || true
check "  /health?ready=1 says the database is connected" \
    grep -Eq '"database": *\{ *"status": *"connected"' "$base/health.json"

pw="it-run-pg-$RANDOM-correct-horse"
code=$(curl -s -m 10 -o "$base/register.json" -w '%{http_code}' \
    -H 'Content-Type: application/json' -X POST "$url/auth/register" \
    -d '{"first_name": "Run", "last_name": "Pg", "email": "run-pg@example.com",
	"username": "runpg", "phone_number": "+15550008888",
	"password": "'"$pw"'", "password_confirmation": "'"$pw"'",
	"gender": "female"}' || true)
check "a registration through it answers 201 (got $code)" test "$code" = 201
rows=$(psql_ -d shop -c \
    "SELECT count(*) FROM users WHERE email = 'run-pg@example.com'" || true)
check "  and is a row of that database (got '$rows')" test "$rows" = 1
check "  with no SQLite file in the run directory" \
    test ! -e "$run/mockpie.db"
access=$(sed -n 's/.*"access_token": *"\([^"]*\)".*/\1/p' "$base/register.json")
code=$(curl -s -m 10 -o /dev/null -w '%{http_code}' \
    -H "Authorization: Bearer $access" "$url/auth/me" || true)
check "  its access token answers /auth/me (got $code)" test "$code" = 200
code=$(curl -s -m 10 -o /dev/null -w '%{http_code}' -X POST \
    --data-urlencode "email=run-pg@example.com" \
    --data-urlencode "password=$pw" "$url/auth/login" || true)
check "  and the user logs in with a form, as the web client does (got $code)" \
    test "$code" = 200

kill -TERM "$runpid"
for ((i = 0; i < wait_stop * 10; i++)); do
	kill -0 "$runpid" 2>/dev/null || break
	sleep 0.1
done
check "SIGTERM stops scripts/run" sh -c "! kill -0 $runpid 2>/dev/null"
check "  and the database password is in none of its logs" \
    sh -c "! cat '$base/run.log' $run/*.log 2>/dev/null | grep -qF '$pgpass'"
runpid=

if [ $failed -ne 0 ]; then
	echo "run.log:"
	sed 's/^/  | /' "$base/run.log"
fi
exit $failed
