# Sourced by the shell suites of scripts/run (it_run.sh, it_run_pg.sh):
# their reporting (ok, bad, check, skip; $failed) and free_port.
# Exit codes are automake's: 0 pass, 1 fail, 77 skip.

failed=0
skip() { echo "SKIP: $*"; exit 77; }
ok() { echo "ok   $*"; }
bad() { echo "FAIL $*"; failed=1; }
# check DESCRIPTION COMMAND...: passes when the command succeeds
check() {
	local what=$1
	shift
	if "$@"; then ok "$what"; else bad "$what"; fi
}

# Skips unless the program and what scripts/run would install are here:
# scripts/run installs what is missing; a test must not.
need_run_stack() {
	[ -x "$fcgi" ] || skip "no program at $fcgi: build it first"
	dpkg -s nginx spawn-fcgi redis-server curl util-linux >/dev/null \
	    2>&1 ||
	    skip "a package scripts/run needs is missing (it would install it)"
}

# A port below the kernel's ephemeral range: the other suites that make
# check runs alongside take theirs from that range (bind to port 0), so a
# port picked here cannot be taken by them between the pick and nginx's
# bind.
ephemeral_low=$(awk '{print $1}' /proc/sys/net/ipv4/ip_local_port_range \
    2>/dev/null || echo 32768)
[ "$ephemeral_low" -gt 12000 ] 2>/dev/null || ephemeral_low=32768
free_port() {
	local i p
	for ((i = 0; i < 100; i++)); do
		p=$((10000 + RANDOM % (ephemeral_low - 10000)))
		(exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || {
			echo "$p"
			return 0
		}
	done
	return 1
}

# health_code URL PID SECONDS: polls URL/health until it answers 200, pid
# PID (scripts/run) exits or SECONDS pass; sets $code to the last status.
health_code() {
	local i
	code=
	for ((i = 0; i < $3 * 10; i++)); do
		code=$(curl -s -m 2 -o /dev/null -w '%{http_code}' "$1/health" ||
		    true)
		[ "$code" = 200 ] && break
		kill -0 "$2" 2>/dev/null || break
		sleep 0.1
	done
}

# register URL TAG PHONE: registers TAG@example.com (username TAG) with a
# fresh password ($pw), the answer in $base/register.json; sets $code.
register() {
	pw="$2-$RANDOM-correct-horse"
	code=$(curl -s -m 10 -o "$base/register.json" -w '%{http_code}' \
	    -H 'Content-Type: application/json' -X POST "$1/auth/register" \
	    -d '{"first_name": "Run", "last_name": "Test",
		"email": "'"$2"'@example.com", "username": "'"$2"'",
		"phone_number": "'"$3"'", "password": "'"$pw"'",
		"password_confirmation": "'"$pw"'", "gender": "female"}' ||
	    true)
}

# stop_wait PID SIGNAL SECONDS: signals PID, if it lives, and waits up to
# SECONDS for it to be gone; 0 when it is.
stop_wait() {
	local i
	[ -n "$1" ] && kill -0 "$1" 2>/dev/null || return 0
	kill "-$2" "$1" 2>/dev/null || true
	for ((i = 0; i < $3 * 10; i++)); do
		kill -0 "$1" 2>/dev/null || return 0
		sleep 0.1
	done
	return 1
}
