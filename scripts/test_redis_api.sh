#!/usr/bin/env bash
# Manual API walk-through against a running scripts/run:
# health, redis-test, register, login, refresh, me, logout, me after logout.
# Usage: scripts/test_redis_api.sh [base-url]   (default http://127.0.0.1:8081)
set -euo pipefail

base=${1:-http://127.0.0.1:${MOCKPIE_HTTP_PORT:-8081}}
n=$RANDOM$RANDOM
email="walk$n@example.com"
password="walk-through-$n"
fail=0

step() { printf '\n== %s\n' "$*"; }
json() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }
expect() {	# expect STATUS CURL-ARGS...: prints the body, checks the status
	local want=$1; shift
	local out status
	out=$(curl -sS -w '\n%{http_code}' "$@")
	status=${out##*$'\n'}
	body=${out%$'\n'*}
	printf '%s\n' "$body"
	if [ "$status" != "$want" ]; then
		printf 'FAIL: expected %s, got %s\n' "$want" "$status"
		fail=1
	else
		printf 'ok: %s\n' "$status"
	fi
}

step "GET /health"
expect 200 "$base/health"
step "GET /api/redis-test"
expect 200 "$base/api/redis-test"
step "POST /auth/register ($email)"
expect 201 -X POST "$base/auth/register" \
	-F first_name=Walk -F last_name=Through -F "email=$email" \
	-F "username=walk$n" -F "phone_number=+1555${n:0:7}" \
	-F "password=$password" -F "password_confirmation=$password" \
	-F gender=prefer_not_to_say
step "POST /auth/login"
expect 200 -X POST "$base/auth/login" -F "email=$email" -F "password=$password"
access=$(printf '%s' "$body" | json '["access_token"]')
refresh=$(printf '%s' "$body" | json '["refresh_token"]')
step "POST /auth/refresh"
expect 200 -X POST "$base/auth/refresh" -F "refresh_token=$refresh"
access=$(printf '%s' "$body" | json '["access_token"]')
step "GET /auth/me"
expect 200 "$base/auth/me" -H "Authorization: Bearer $access"
step "POST /auth/logout"
expect 200 -X POST "$base/auth/logout" -H "Authorization: Bearer $access"
step "GET /auth/me after logout"
expect 401 "$base/auth/me" -H "Authorization: Bearer $access"
echo
[ "$fail" = 0 ] && echo "walk-through passed" || echo "walk-through FAILED"
exit "$fail"
