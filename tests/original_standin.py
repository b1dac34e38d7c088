#!/usr/bin/python3
"""A stand-in of the original MockPie backend, for tests only.

It authenticates exactly as the original's TokenHandler.get_current_user
(backend/app/utils/token_handler.py and redis_client.py in the public
Mock-Pie/mockpie-main), four steps:

  1. PyJWT decode(token, SECRET_KEY, algorithms=[HS256]); any failure 401;
  2. the claim "sub" is the user's email; missing, 401;
  3. the row of "users" with that email and deleted_at IS NULL; none, 401;
  4. Redis GET access_token:<users.id> must hold the JSON
     {"token": <exactly this token>, "type": "access"}; else 401.

  serve --port P --secret-file F --redis-port R --dsn DSN
      GET /users/profile: 200 {"id", "email"} or 401 {"detail"};
      anything else 404 {"served_by": "original"}, to show the routing.
  mint --secret-file F --redis-port R --user-id N --email E
      A pair minted the original's way, the two keys set as
      redis_client.py sets them; prints "access refresh".
"""
import argparse
import datetime
import http.server
import json
import socketserver
import sys

import jwt
import psycopg2
import redis


def secret(path):
    with open(path, "rb") as f:
        return f.read()


class Profile(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def answer(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def current_user(self):
        auth = self.headers.get("Authorization", "")
        if not auth.startswith("Bearer "):
            return None
        token = auth[7:]
        try:
            payload = jwt.decode(token, self.server.secret,
                                 algorithms=["HS256"])
        except jwt.PyJWTError:
            return None
        email = payload.get("sub")
        if email is None:
            return None
        with self.server.db.cursor() as cur:
            cur.execute("SELECT id, email FROM users WHERE email = %s "
                        "AND deleted_at IS NULL", (email,))
            row = cur.fetchone()
        if row is None:
            return None
        data = self.server.redis.get("access_token:%d" % row[0])
        if data is None:
            return None
        stored = json.loads(data)
        if stored.get("token") != token or stored.get("type") != "access":
            return None
        return {"id": row[0], "email": row[1]}

    def do_GET(self):
        if self.path != "/users/profile":
            self.answer(404, {"detail": "Not Found",
                              "served_by": "original"})
            return
        user = self.current_user()
        if user is None:
            self.answer(401, {"detail": "Could not validate credentials"})
        else:
            self.answer(200, user)


    def do_POST(self):
        self.answer(404, {"detail": "Not Found", "served_by": "original"})

    do_DELETE = do_POST


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True


def serve(args):
    srv = Server(("127.0.0.1", args.port), Profile)
    srv.secret = secret(args.secret_file)
    srv.db = psycopg2.connect(args.dsn)
    srv.db.autocommit = True
    srv.redis = redis.Redis(host="127.0.0.1", port=args.redis_port,
                            decode_responses=True)
    print("ready", flush=True)
    srv.serve_forever()


def mint(args):
    key = secret(args.secret_file)
    now = datetime.datetime.now(datetime.timezone.utc)
    access = jwt.encode({"sub": args.email,
                         "exp": now + datetime.timedelta(minutes=15)},
                        key, algorithm="HS256")
    refresh = jwt.encode({"sub": args.email, "refresh": True,
                          "exp": now + datetime.timedelta(days=7)},
                         key, algorithm="HS256")
    r = redis.Redis(host="127.0.0.1", port=args.redis_port,
                    decode_responses=True)
    r.setex("access_token:%d" % args.user_id, 15 * 60,
            json.dumps({"token": access, "type": "access"}))
    r.setex("refresh_token:%d" % args.user_id, 7 * 86400,
            json.dumps({"token": refresh, "type": "refresh"}))
    print(access, refresh)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("mode", choices=["serve", "mint"])
    p.add_argument("--port", type=int)
    p.add_argument("--secret-file", required=True)
    p.add_argument("--redis-port", type=int, required=True)
    p.add_argument("--dsn")
    p.add_argument("--user-id", type=int)
    p.add_argument("--email")
    args = p.parse_args()
    serve(args) if args.mode == "serve" else mint(args)


if __name__ == "__main__":
    sys.exit(main())
