#!/usr/bin/env bash
# scripts/run end to end (issue 13 items 2 and 5, issue 8 item 6): the run
# directory 0700 and every file in it 0600; another local user reads none
# of them; a run directory of another user, open to others or holding a
# planted symlink is refused untouched; a second scripts/run on the same
# directory refuses and leaves the first serving; started as root, the
# whole stack runs unprivileged; SIGTERM stops every process it started.
# Exit 0 pass, 1 fail, 77 skip (automake's test driver).
set -euo pipefail

srcdir=${MOCKPIE_SRCDIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
builddir=${MOCKPIE_BUILDDIR:-$srcdir}
fcgi=$builddir/src/mockpie-fcgi
run_script=$srcdir/scripts/run
wait_start=60		# seconds for the stack to answer /health
wait_refusal=60		# seconds for a refusing scripts/run to exit
wait_stop=40		# seconds for the stack to stop on SIGTERM

. "$srcdir/tests/run_lib.sh"
need_run_stack
command -v redis-cli >/dev/null || skip "no redis-cli"

# Started as root, scripts/run runs the stack as MOCKPIE_RUN_USER; the
# other local user that must read nothing is nobody, so the stack runs as
# daemon here (as nobody it would own the files nobody tries to read).
as_root=0
if [ "$(id -u)" -eq 0 ]; then
	as_root=1
	run_user=daemon
	probe_user=nobody
	id -u "$run_user" >/dev/null 2>&1 || skip "no user $run_user to run the stack as"
	id -u "$probe_user" >/dev/null 2>&1 || skip "no user $probe_user"
	command -v runuser >/dev/null || skip "no runuser"
	runuser -u "$run_user" -- test -x "$fcgi" -a -r "$run_script" \
	    -a -r "$srcdir/conf/mockpie.conf" ||
	    skip "$run_user, whom scripts/run would run the stack as, cannot reach $fcgi or $srcdir"
else
	run_user=$(id -un)
fi
run_uid=$(id -u "$run_user")
run_gid=$(id -g "$run_user")

# NGINX is make check's path to nginx for the harness; nginx itself reads
# that variable as sockets to inherit and complains of it.
unset MOCKPIE_REDIS_URL MOCKPIE_JWT_SECRET MOCKPIE_JWT_SECRET_FILE \
    MOCKPIE_DATABASE MOCKPIE_LISTEN MOCKPIE_PIDFILE SUDO_USER NGINX
# A small pool, fewer workers than the FastCGI connections scripts/run's
# nginx keeps: the pool serves every kept connection (it cannot stall).
workers=2
export MOCKPIE_FCGI_BIN=$fcgi MOCKPIE_RUN_USER=$run_user MOCKPIE_WORKERS=$workers

# as root, in /tmp: the stack's user must reach its run directory
tmp=${TMPDIR:-/tmp}
[ $as_root -eq 0 ] || tmp=/tmp
base=$(mktemp -d "$tmp/mockpie-it-run.XXXXXX")
chmod 0755 "$base"
run=$base/run
runpid=
racepid=
procs=()		# pid:start time of every process the stack started

# pid:start of process $1, nothing when it is gone or a zombie
identity() {
	local stat
	stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	stat=${stat##*) }
	read -r -a stat <<<"$stat"
	[ "${stat[0]}" != Z ] || return 1
	printf '%s:%s\n' "$1" "${stat[19]}"
}
alive() { [ -n "$1" ] && [ "$(identity "${1%%:*}" 2>/dev/null)" = "$1" ]; }
add_proc() { local id; id=$(identity "$1") && procs+=("$id"); return 0; }

cleanup() {
	local p
	stop_wait "$runpid" TERM "$wait_stop" || true
	[ -z "$racepid" ] || kill -TERM "$racepid" 2>/dev/null || true
	for p in ${runpid:+"$runpid"} "${procs[@]}"; do
		alive "$p" && { kill -KILL "${p%%:*}" 2>/dev/null || true; }
	done
	rm -rf "$base"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# The directory and its entries as ls sees them, for "touched nothing".
snapshot() {
	ls -ld --time-style=full-iso "$1" "$1"/ 2>&1
	ls -lA --time-style=full-iso "$1"/ 2>&1
}
entry() { ls -ld --time-style=full-iso "$1" 2>&1; }

# refused DIR WHY [entry]: scripts/run on DIR exits 1 saying WHY, changing
# nothing in DIR (with "entry": DIR's own entry only, for a directory
# whose content others change, such as /)
refused() {
	local dir=$1 why=$2 before after snap rc=0 out=$base/refusal.log
	snap=snapshot
	[ "${3:-}" != entry ] || snap=entry
	before=$($snap "$dir")
	MOCKPIE_RUN_DIR=$dir MOCKPIE_HTTP_PORT=$(free_port) \
	    timeout "$wait_refusal" "$run_script" >"$out" 2>&1 </dev/null || rc=$?
	after=$($snap "$dir")
	if [ "$rc" -ne 1 ] || ! grep -q -- "$why" "$out" ||
	    [ "$before" != "$after" ]; then
		echo "  exit status $rc; output:"
		sed 's/^/  | /' "$out"
		[ "$before" = "$after" ] || diff <(echo "$before") <(echo "$after") || true
		return 1
	fi
}

# mkdir as the stack's user
mkdir_as() {
	mkdir -m "$2" "$1"
	[ $as_root -eq 0 ] || chown "$run_uid:$run_gid" "$1"
}

# --- refusals, each touching nothing --------------------------------------
if [ $as_root -eq 1 ]; then
	mkdir -m 0700 "$base/other"
	chown "$probe_user:" "$base/other"
	check "a run directory of another user is refused" \
	    refused "$base/other" "belongs to $probe_user, not to $run_user"
else
	check "a run directory of another user (/) is refused" \
	    refused / "not to $run_user" entry
fi
mkdir_as "$base/open" 0700
chmod 0777 "$base/open"		# after mkdir: the umask does not apply
check "a run directory of mode 0777 is refused" \
    refused "$base/open" "writable by group or others (mode 777)"
mkdir_as "$base/g" 0700
chmod 0770 "$base/g"
check "a group-writable run directory is refused" \
    refused "$base/g" "writable by group or others (mode 770)"
mkdir_as "$base/planted" 0700
echo "not a secret" >"$base/target"
ln -s "$base/target" "$base/planted/jwt_secret"
[ $as_root -eq 0 ] || chown -h "$run_uid:$run_gid" "$base/planted/jwt_secret"
check "a run directory holding a symlink is refused" \
    refused "$base/planted" "jwt_secret is a symbolic link"
check "  and the symlink's target is untouched" \
    test "$(cat "$base/target")" = "not a secret"
ln -s "$base/planted" "$base/link"
check "a run directory that is a symlink is refused" \
    refused "$base/link" "it is a symbolic link"

# --- the stack, and a second started at the same moment -----------------
# Two scripts/run on one fresh directory, neither yet started: exactly one
# serves, the other says the directory is in use and exits 1 (a check of
# pid files could not tell: none exists yet).
port=$(free_port) || { bad "no free port"; exit 1; }
port_b=$(free_port) || { bad "no free port"; exit 1; }
start() {
	(umask 077; exec env MOCKPIE_RUN_DIR="$run" MOCKPIE_HTTP_PORT="$1" \
	    "$run_script" >"$2" 2>&1 </dev/null) &
}
start "$port" "$base/run.log"
runpid=$!
start "$port_b" "$base/run_b.log"
racepid=$!
loser=
for ((i = 0; i < wait_start * 10; i++)); do
	if ! kill -0 "$racepid" 2>/dev/null; then
		loser=$racepid
		break
	fi
	if ! kill -0 "$runpid" 2>/dev/null; then	# B won: swap
		loser=$runpid
		runpid=$racepid
		port=$port_b
		mv "$base/run.log" "$base/run_a.log"
		mv "$base/run_b.log" "$base/run.log"
		mv "$base/run_a.log" "$base/run_b.log"
		break
	fi
	sleep 0.1
done
racepid=
if [ -z "$loser" ]; then
	bad "of two scripts/run started together on one directory, one exits within $wait_start s"
	exit 1
fi
rc=0
wait "$loser" || rc=$?
check "of two scripts/run started together on one directory, one exits 1 (got $rc)" \
    test "$rc" = 1
check "  saying the directory is in use" \
    grep -q "is in use by another scripts/run" "$base/run_b.log"
url=http://127.0.0.1:$port
health_code "$url" "$runpid" "$wait_start"
if [ "$code" != 200 ]; then
	bad "the other serves /health within $wait_start s (got '$code')"
	sed 's/^/  | /' "$base/run.log"
	exit 1
fi
ok "  and the other serves /health (both started under umask 077)"

# some data: a user in SQLite, a session in Redis, a snapshot on disk
register "$url" runtest +15550009999
check "a registration is stored (201)" test "$code" = 201
check "Redis writes its snapshot" \
    sh -c "timeout 10 redis-cli -s '$run/redis.sock' save | grep -q OK"

# every process it started, and who runs it
declare -A kids		# children per pid file
collect() {
	local pidfile p k
	procs=()
	add_proc "$runpid"
	for pidfile in redis.pid mockpie.pid nginx.pid; do
		kids[${pidfile%.pid}]=0
		p=$(cat "$run/$pidfile" 2>/dev/null) || {
			bad "no $run/$pidfile"
			continue
		}
		add_proc "$p"
		for k in $(cat "/proc/$p"/task/*/children 2>/dev/null); do
			add_proc "$k"
			kids[${pidfile%.pid}]=$((${kids[${pidfile%.pid}]} + 1))
		done
	done
}
collect
# the pool's children: its workers and its mail sender
expect=$((5 + workers + ${kids[nginx]} + ${kids[redis]}))
check "scripts/run, redis-server, the pool's master, $workers workers and mail sender, nginx's master and ${kids[nginx]} workers are found" \
    test "${kids[mockpie]}" -eq "$((workers + 1))" -a "${kids[nginx]}" -ge 1 \
    -a "${#procs[@]}" -eq "$expect"
wrong=
for p in "${procs[@]}"; do
	u=$(awk '/^Uid:/ { print $2 }' "/proc/${p%%:*}/status" 2>/dev/null) || true
	[ "$u" = "$run_uid" ] || wrong+=" ${p%%:*}(uid $u)"
done
check "every process runs as $run_user (uid $run_uid)${wrong:+:$wrong}" test -z "$wrong"
[ $as_root -eq 0 ] || check "  which is not root" test "$run_uid" -ne 0

# --- what the pool maps: SQLite and no smtp_url need neither library ------
pool=$(cat "$run/mockpie.pid")
pool_procs=("$pool" $(cat "/proc/$pool"/task/*/children 2>/dev/null))
check "the pool's maps are readable (control: libhiredis is in the master's)" \
    grep -q '/libhiredis\.so' "/proc/$pool/maps"
mapped=
for p in "${pool_procs[@]}"; do
	! grep -qE '/lib(pq|curl)\.so' "/proc/$p/maps" || mapped+=" $p"
done
check "with SQLite and no smtp_url none of the pool's ${#pool_procs[@]} processes maps libpq or libcurl${mapped:+:$mapped}" \
    test -z "$mapped"

# --- file modes -----------------------------------------------------------
mode() { stat -c %a "$1" 2>/dev/null; }
check "the run directory is 0700" test "$(mode "$run")" = 700
for f in mockpie.db jwt_secret redis.log nginx-error.log dump.rdb lock \
    redis.conf nginx.conf; do
	check "$f is 0600" test "$(mode "$run/$f")" = 600
done
for f in mockpie.db-wal mockpie.db-shm; do
	[ -e "$run/$f" ] || continue
	check "$f is 0600" test "$(mode "$run/$f")" = 600
done
check "appendonlydir is 0700" test "$(mode "$run/appendonlydir")" = 700
n=0
for f in "$run"/appendonlydir/*; do
	n=$((n + 1))
	check "appendonlydir/${f##*/} is 0600" test "$(mode "$f")" = 600
done
check "Redis keeps an append-only file" test "$n" -gt 0
open=$(find "$run" -mindepth 1 -perm /077 ! -name redis.sock -printf '%m %p\n')
check "nothing in the run directory is open to group or others${open:+: $open}" \
    test -z "$open"

# --- another local user ---------------------------------------------------
if [ $as_root -eq 1 ]; then
	as_probe() { timeout 10 runuser -u "$probe_user" -- "$@"; }
	check "$probe_user can run commands at all (control)" \
	    as_probe test -r /etc/passwd
	for f in mockpie.db jwt_secret redis.log nginx-error.log dump.rdb \
	    "appendonlydir/$(ls "$run/appendonlydir" | head -n 1)"; do
		check "$probe_user cannot read $f" \
		    sh -c "! timeout 10 runuser -u '$probe_user' -- cat '$run/$f' >/dev/null 2>&1"
	done
	check "$probe_user cannot list the run directory" \
	    sh -c "! timeout 10 runuser -u '$probe_user' -- ls '$run' >/dev/null 2>&1"
	check "$probe_user cannot reach Redis's socket (the sessions)" \
	    sh -c "! timeout 10 runuser -u '$probe_user' -- redis-cli -s '$run/redis.sock' ping 2>/dev/null | grep -q PONG"
else
	echo "skip another local user cannot read the files: needs root (runuser)"
fi

# --- a second scripts/run on the same directory, a pid file lost ---------
state() {
	local f
	for f in redis.conf nginx.conf jwt_secret lock redis.pid mockpie.pid \
	    nginx.pid mockpie.sock redis.sock; do
		stat -c '%n %i %Y %s' "$run/$f" 2>&1
	done
}
rm -f "$run/mockpie.pid"	# a lost pid file changes nothing: the lock holds
before=$(state)
port2=$(free_port)
rc=0
MOCKPIE_RUN_DIR=$run MOCKPIE_HTTP_PORT=$port2 \
    timeout "$wait_refusal" "$run_script" >"$base/second.log" 2>&1 </dev/null || rc=$?
check "a second scripts/run on the same directory exits 1 (got $rc)" test "$rc" = 1
check "  saying the directory is in use by the first (pid $runpid)" \
    grep -q "is in use by another scripts/run (pid $runpid)" "$base/second.log"
check "  rewriting no file of the first" test "$before" = "$(state)"
check "  starting nothing on its port" \
    sh -c "! (exec 3<>/dev/tcp/127.0.0.1/$port2) 2>/dev/null"
gone=
for p in "${procs[@]}"; do alive "$p" || gone+=" ${p%%:*}"; done
check "  stopping nothing of the first${gone:+: gone$gone}" test -z "$gone"
code=$(curl -s -m 5 -o /dev/null -w '%{http_code}' "$url/health" || true)
check "  and the first still serves /health" test "$code" = 200

# --- SIGTERM stops everything it started ----------------------------------
kill -TERM "$runpid"
for ((i = 0; i < wait_stop * 10; i++)); do
	kill -0 "$runpid" 2>/dev/null || break
	sleep 0.1
done
rc=0
if kill -0 "$runpid" 2>/dev/null; then
	rc=timeout
else
	wait "$runpid" || rc=$?
fi
check "SIGTERM stops scripts/run within $wait_stop s, status 0 (got $rc)" test "$rc" = 0
left=
for p in "${procs[@]}"; do alive "$p" && left+=" ${p%%:*}"; done
check "every process it started is gone${left:+: left$left}" test -z "$left"
check "its sockets are removed" \
    test ! -e "$run/mockpie.sock" -a ! -e "$run/redis.sock"
check "its lock is free" flock -n "$run/lock" true
check "the /health it printed once ready was an answer, not an nginx error" \
    grep -q '^{"status"' "$base/run.log"
runpid=

# --- a restart keeps the sessions; a killed scripts/run keeps its lock ----
port=$(free_port) || { bad "no free port"; exit 1; }
url=http://127.0.0.1:$port
start "$port" "$base/run2.log"
runpid=$!
health_code "$url" "$runpid" "$wait_start"
check "scripts/run starts again on its own run directory (got '$code')" \
    test "$code" = 200
access=$(sed -n 's/.*"access_token": *"\([^"]*\)".*/\1/p' "$base/register.json")
code=$(curl -s -m 10 -o /dev/null -w '%{http_code}' \
    -H "Authorization: Bearer $access" "$url/auth/me" || true)
check "  and the session opened before the restart still answers /auth/me (got $code)" \
    test "$code" = 200
collect
{
	kill -KILL "$runpid"
	wait "$runpid"
} 2>/dev/null || true	# without bash's "Killed" line
rc=0
MOCKPIE_RUN_DIR=$run MOCKPIE_HTTP_PORT=$(free_port) \
    timeout "$wait_refusal" "$run_script" >"$base/third.log" 2>&1 </dev/null || rc=$?
check "scripts/run killed with SIGKILL: its directory stays locked while what it started lives (exit $rc)" \
    grep -q "is in use by what another scripts/run (pid $runpid, gone) started" "$base/third.log"
runpid=
for p in "${procs[@]}"; do	# what the test itself cleans up
	# gone between the two: not an error (set -e)
	alive "$p" && { kill -TERM "${p%%:*}" 2>/dev/null || true; }
done
for ((i = 0; i < wait_stop * 10; i++)); do
	left=
	for p in "${procs[@]}"; do alive "$p" && left+=" ${p%%:*}"; done
	[ -n "$left" ] || break
	sleep 0.1
done
check "  (and they stop on SIGTERM${left:+; left:$left})" test -z "$left"

if [ $failed -ne 0 ]; then
	for f in run.log run2.log third.log; do
		[ -f "$base/$f" ] || continue
		echo "$f:"
		sed 's/^/  | /' "$base/$f"
	done
fi
exit $failed
