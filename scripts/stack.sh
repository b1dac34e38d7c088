# Sourced by scripts/bench and scripts/soak: a throw-away stack on
# 127.0.0.1 (redis-server on a unix socket, the pool and the do-nothing
# responder under spawn-fcgi, nginx from conf/nginx.conf.in plus two bench
# locations), one registered user and its access token.
# In: $top, $nginx_workers, $keepalive (0: a connection per request).
# Out: $dir, $base, $token, $pw; $pids (the servers it started) belongs to it.
need=""
for p in wrk nginx spawn-fcgi redis-server curl; do
	command -v "$p" >/dev/null 2>&1 || [ -x "/usr/sbin/$p" ] || need="$need $p"
done
if [ -n "$need" ]; then
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	    wrk nginx spawn-fcgi redis-server curl >/dev/null
fi
[ -x src/mockpie-fcgi ] && [ -x tests/fcgi_noop ] || {
	[ -f Makefile ] || { autoreconf -fi && ./configure; }
	make -j2 src/mockpie-fcgi tests/fcgi_noop
}
NGINX=$(command -v nginx || echo /usr/sbin/nginx)

dir=$(mktemp -d /tmp/mockpie-bench.XXXXXX)
pids=()
cleanup() {
	[ -f "$dir/nginx.pid" ] && kill "$(cat "$dir/nginx.pid")" 2>/dev/null
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	[ -f "$dir/mockpie.pid" ] && kill "$(cat "$dir/mockpie.pid")" 2>/dev/null
	[ -f "$dir/noop.pid" ] && pkill -P "$(cat "$dir/noop.pid")" 2>/dev/null
	[ -f "$dir/noop.pid" ] && kill "$(cat "$dir/noop.pid")" 2>/dev/null
	sleep 0.5
	rm -rf "$dir"
}
trap cleanup EXIT INT TERM

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')

redis-server --port 0 --unixsocket "$dir/redis.sock" --save "" \
    --appendonly no --daemonize no --dir "$dir" >/dev/null 2>&1 &
pids+=($!)

export MOCKPIE_REDIS_URL="unix://$dir/redis.sock"
export MOCKPIE_DATABASE="$dir/mockpie.db"
export MOCKPIE_JWT_SECRET
MOCKPIE_JWT_SECRET=$(head -c 48 /dev/urandom | base64 -w0)
export MOCKPIE_LOG_LEVEL=warn
spawn-fcgi -s "$dir/mockpie.sock" -M 0660 -P "$dir/mockpie.pid" -- \
    "$top/src/mockpie-fcgi" -c "$top/conf/mockpie.conf" \
    2>"$dir/mockpie.log" >/dev/null
spawn-fcgi -s "$dir/noop.sock" -M 0660 -P "$dir/noop.pid" -- \
    "$top/tests/fcgi_noop" "${MOCKPIE_WORKERS:-8}" >/dev/null

user_line=""
[ "$(id -u)" = 0 ] && user_line="user root root;"
extra='location = /__bench/static { return 200 '"'"'{}'"'"'; }
		location = /__bench/noop { fastcgi_pass noop; }'
sed -e "s|@USER_LINE@|$user_line|" -e "s|@RUN_DIR@|$dir|g" \
    -e "s|@NGINX_WORKERS@|$nginx_workers|" -e "s|@HTTP_PORT@|$port|" \
    -e "s|@SOCKET@|$dir/mockpie.sock|" -e "s|@KEEPALIVE@|$keepalive|" \
    -e "s|@BODY_LIMIT@|64k|" \
    -e "s|@CORS_MAP@|\"http://localhost:3000\" \$http_origin;|" \
    -e "s|^\([[:space:]]*\)@SERVER_EXTRA@$|\1$(printf '%s' "$extra" | tr '\n' '\001')|" \
    conf/nginx.conf.in | tr '\001' '\n' | \
    sed "/^\tupstream mockpie {/i\\
\tupstream noop { server unix:$dir/noop.sock; keepalive $keepalive; }
" >"$dir/nginx.conf"
if [ "$keepalive" = 0 ]; then	# a connection per request, for comparison
	sed -i -e '/^[[:space:]]*keepalive [0-9]*;/d' \
	    -e 's/upstream noop { server \(unix:[^;]*\); keepalive 0; }/upstream noop { server \1; }/' \
	    -e '/fastcgi_keep_conn/d' "$dir/nginx.conf"
fi
"$NGINX" -p "$dir" -c "$dir/nginx.conf" -e "$dir/nginx-error.log"

base="http://127.0.0.1:$port"
for _ in $(seq 50); do
	curl -sf "$base/health" >/dev/null 2>&1 && break
	sleep 0.1
done

# one user, one token for /auth/me; the login body for /auth/login
pw="bench-password-$RANDOM-x"
curl -sf -X POST "$base/auth/register" -F first_name=Bench -F last_name=Mark \
    -F email=bench@example.com -F username=bench -F phone_number=+15550001 \
    -F "password=$pw" -F "password_confirmation=$pw" -F gender=female \
    >"$dir/register.json"
token=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["access_token"])' "$dir/register.json")
cat >"$dir/login.lua" <<LUA
wrk.method = "POST"
wrk.body = "email=bench%40example.com&password=$pw"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
LUA

