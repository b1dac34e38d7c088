#!/usr/bin/env python3
"""Writes the seed corpora of tests/fuzz/corpus/{body,token,config}.

Run from anywhere; deterministic, so re-running changes nothing.  Files
whose names start with "crash-" are regressions found by scripts/fuzz and
are never written or removed here.  Tokens are signed with the secret and
at the time that tests/fuzz/fuzz_token.c uses.
"""
import base64
import hashlib
import hmac
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
SECRET = b"fuzz-secret-0123456789-abcdefghijklmnopq"
NOW = 1700000000
JTI = "AAAAAAAAAAAAAAAAAAAAAA"      # 22 base64url characters
SID = "BBBBBBBBBBBBBBBBBBBBBB"
WEBKIT = "----WebKitFormBoundary7MA4YWxkTrZu0gW"   # fuzz_body.c


def write(target, name, data):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


# ---------------------------------------------------------------- body

def body_seeds():
    form, js, mp, ct = b"\x00", b"\x01", b"\x02", b"\x03"
    seeds = {
        # urlencoded
        "form-login": form + b"email=alice%40example.com"
            b"&password=s3cr%C3%A9t+pw",
        "form-register": form + b"email=bob%40example.org"
            b"&password=correct+horse+battery+staple&name=Bob+%F0%9F%98%80",
        "form-empty-pairs": form + b"&a=1&&b=2&",
        "form-no-value": form + b"flag&x=&=y",
        "form-bad-percent": form + b"a=%zz&b=%4",
        "form-trailing-percent": form + b"a=%",
        "form-nul": form + b"email=a%00b",
        "form-bad-utf8": form + b"name=%C3%28&x=%ED%A0%80",
        "form-dup": form + b"a=1&b=2&a=3",
        "form-too-many": form + b"&".join(b"f%d=v" % i for i in range(33)),
        "form-long-name": form + b"n" * 65 + b"=v",
        "form-raw-utf8": form + "name=Zoë&city=東京".encode(),
        # JSON
        "json-login": js + b'{"email":"alice@example.com","password":"pw"}',
        "json-unicode": js + b'{"name":"Zo\\u00eb \\ud83d\\ude00",'
            b'"c":"\xe6\x9d\xb1"}',
        "json-lone-surrogate": js + b'{"a":"\\ud800"}',
        # issue 8.7: every lone half is refused, a pair is a code point
        "json-lone-low": js + b'{"a":"\\udc00"}',
        "json-lone-high-then-char": js + b'{"a":"\\ud800\\u0041"}',
        "json-lone-high-at-end": js + b'{"a":"1","first_name":"Zo\\udbff"}',
        "json-lone-two-highs": js + b'{"a":"\\ud800\\ud800"}',
        "json-lone-low-then-high": js + b'{"a":"\\udc00\\ud800"}',
        "json-lone-in-key": js + b'{"a\\ud800":"1"}',
        "json-lone-nested": js + b'{"a":["\\udfff"]}',
        "json-surrogate-pair": js + b'{"a":"\\ud83d\\ude00","b":"\\uD83D\\uDE00"}',
        "json-escaped-backslash-u": js + b'{"a":"\\\\ud800"}',
        "json-escapes": js + b'{"a\\"b":"\\/\\\\\\b\\f\\n\\r\\t","c":"x"}',
        "json-dup": js + b'{"email":"a","email":"b"}',
        "json-dup-escaped": js + b'{"email":"a","\\u0065mail":"b"}',
        "json-nul-key": js + b'{"a\\u0000b":"x"}',
        "json-nul-value": js + b'{"a":"x\\u0000y"}',
        "json-bool": js + b'{"all":true,"x":false}',
        "json-null": js + b'{"a":null}',
        "json-number": js + b'{"a":1,"b":1.5e3}',
        "json-nested": js + b'{"a":{"$ne":1},"b":["x"]}',
        "json-deep": js + b'{"a":[[[[[1]]]]]}',
        "json-array": js + b'["a","b"]',
        "json-scalar": js + b'42',
        "json-trailing": js + b'{"a":"b"}xyz',
        "json-two": js + b'{}{}',
        "json-trailing-comma": js + b'{"a":"b",}',
        "json-single-quotes": js + b"{'a':'b'}",
        "json-nan": js + b'{"a":NaN}',
        "json-bad-utf8": js + b'{"a":"\xc0\xaf"}',
        "json-bom": js + b'\xef\xbb\xbf{"a":"b"}',
        "json-whitespace": js + b' \r\n\t{ "a" : "b" , "c":"d" } \n',
        "json-empty": js + b'{}',
        "json-unterminated": js + b'{"a":"b',
        "json-too-many": js + ("{" + ",".join('"f%d":"v"' % i
            for i in range(33)) + "}").encode(),
        "json-key-in-array": js + b'{"a":["b","c"],"d":"e"}',
        "json-comment": js + b'{"a":"b" /* c */}',
    }

    # multipart, the browsers' way (Chrome FormData)
    def part(name, value, extra=b""):
        return (b"--" + WEBKIT.encode() + b"\r\n"
                b'Content-Disposition: form-data; name="' + name + b'"'
                + extra + b"\r\n\r\n" + value + b"\r\n")
    close = b"--" + WEBKIT.encode() + b"--\r\n"
    seeds.update({
        "mp-chrome": mp + part(b"email", b"alice@example.com")
            + part(b"password", "pässwörd".encode()) + close,
        "mp-file": mp + part(b"avatar", b"GIF89a\x00\x01",
            b'; filename="a.gif"\r\nContent-Type: image/gif') + close,
        "mp-filename-star": mp + part(b"f", b"x",
            b"; filename*=UTF-8''%C3%A9.txt") + close,
        "mp-preamble-epilogue": mp + b"preamble\r\n"
            + part(b"a", b"1") + close + b"epilogue",
        "mp-padding": mp + b"--" + WEBKIT.encode() + b"  \t\r\n"
            b'Content-Disposition: form-data; name="a"\r\n\r\n1\r\n' + close,
        "mp-unclosed": mp + part(b"a", b"1"),
        "mp-bare-lf": mp + b"--" + WEBKIT.encode() + b"\n"
            b'Content-Disposition: form-data; name="a"\n\n1\n' + close,
        "mp-base64": mp + part(b"a", b"MQ==",
            b"\r\nContent-Transfer-Encoding: base64") + close,
        "mp-8bit": mp + part(b"a", b"\xc3\xa9",
            b"\r\nContent-Transfer-Encoding: 8bit") + close,
        "mp-long-header": mp + part(b"a", b"1",
            b"\r\nX-Pad: " + b"p" * 2100) + close,
        "mp-no-disposition": mp + b"--" + WEBKIT.encode()
            + b"\r\nContent-Type: text/plain\r\n\r\nx\r\n" + close,
        "mp-dup": mp + part(b"a", b"1") + part(b"a", b"2") + close,
        "mp-quoted-name": mp + part(b'we\\"ird\\\\name', b"v") + close,
        "mp-crlf-value": mp + part(b"a", b"line1\r\nline2\r\n--not") + close,
        "mp-two-names": mp + part(b"a", b"1", b'; name="b"') + close,
        "mp-attachment": mp + b"--" + WEBKIT.encode() + b"\r\n"
            b'Content-Disposition: attachment; name="a"\r\n\r\n1\r\n' + close,
        "mp-fold": mp + b"--" + WEBKIT.encode() + b"\r\n"
            b"Content-Disposition: form-data;\r\n name=\"a\"\r\n\r\n1\r\n"
            + close,
        "mp-empty": mp + close,
        "mp-nul-value": mp + part(b"a", b"x\x00y") + close,
    })

    # Content-Type from the input (mode 3)
    ff = b"---------------------------1234567890"
    seeds.update({
        "ct-firefox": ct + b'multipart/form-data; boundary="' + ff + b'"\n'
            b"--" + ff + b"\r\n"
            b'Content-Disposition: form-data; name="email"\r\n\r\n'
            b"a@b.c\r\n--" + ff + b"--\r\n",
        "ct-json-charset": ct + b"application/json; charset=utf-8\n"
            b'{"a":"b"}',
        "ct-json-latin1": ct + b"application/json; charset=latin1\n{}",
        "ct-form-quoted-charset": ct + b'APPLICATION/X-WWW-FORM-URLENCODED '
            b';charset="UTF-8"\na=b',
        "ct-text": ct + b"text/plain\nhello",
        "ct-two-boundaries": ct + b"multipart/form-data; boundary=a; "
            b"boundary=b\n--a--",
        "ct-mixed": ct + b"multipart/mixed; boundary=XyZ\n--XyZ--",
        "ct-boundary-70": ct + b"multipart/form-data; boundary=" + b"b" * 70
            + b"\n--" + b"b" * 70 + b"--",
        "ct-boundary-71": ct + b"multipart/form-data; boundary=" + b"b" * 71
            + b"\n--" + b"b" * 71 + b"--",
        "ct-boundary-space": ct + b'multipart/form-data; boundary="a b"\n'
            b'--a b\r\nContent-Disposition: form-data; name="x"\r\n\r\n'
            b"1\r\n--a b--",
        "ct-empty-params": ct + b"application/json;;; charset=utf-8;\n{}",
        "ct-bad-param": ct + b"application/json; charset\n{}",
        "ct-quoted-escape": ct + b'multipart/form-data; boundary="a\\"b"\n'
            b'--a"b--',
        "ct-empty-body": ct + b"application/json\n",
        "ct-no-type": ct + b"\nabc",
        "ct-unclosed-quote": ct + b'application/json; charset="utf-8\n{}',
    })
    for name, data in seeds.items():
        write("body", name, data)


# ---------------------------------------------------------------- token

def b64(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def enc(obj):
    if isinstance(obj, (bytes, str)):
        return obj.encode() if isinstance(obj, str) else obj
    return json.dumps(obj, separators=(",", ":")).encode()


def jwt(header, payload, alg=hashlib.sha256, key=SECRET, sig=None):
    signing = b64(enc(header)) + "." + b64(enc(payload))
    if sig is None:
        sig = b64(hmac.new(key, signing.encode(), alg).digest())
    return signing + "." + sig


def claims(**over):
    c = {"iss": "mockpie", "sub": "42", "iat": NOW - 10, "exp": NOW + 890,
         "jti": JTI, "sid": SID, "typ": "access"}
    for k, v in over.items():
        if v is None:
            c.pop(k, None)
        else:
            c[k] = v
    return c


def max_len_token(header):
    """A valid token of exactly 4096 bytes, token.c's TOKEN_MAX_LEN."""
    n = 2800
    while len(jwt(header, claims(pad="p" * (n + 1)))) <= 4096:
        n += 1
    tok = jwt(header, claims(pad="p" * n))
    return tok


def token_seeds():
    hs256 = {"alg": "HS256", "typ": "JWT"}
    hs512 = {"alg": "HS512", "typ": "JWT"}
    good = jwt(hs256, claims())
    seeds = {
        "valid-access": good,
        "valid-refresh": jwt(hs256, claims(typ="refresh",
            exp=NOW + 7 * 86400 - 10)),
        "valid-hs512": jwt(hs512, claims(), hashlib.sha512),
        "valid-escaped-iss": jwt(hs256,
            b'{"iss":"\\u006dockpie","sub":"42","iat":%d,"exp":%d,'
            b'"jti":"%s","sid":"%s","typ":"access"}'
            % (NOW, NOW + 900, JTI.encode(), SID.encode())),
        "hs384": jwt({"alg": "HS384"}, claims(), hashlib.sha384),
        "alg-none": jwt({"alg": "none"}, claims(), sig=""),
        "alg-none-sig": jwt({"alg": "none"}, claims(), sig="AAAA"),
        "alg-lowercase": jwt({"alg": "hs256"}, claims()),
        "alg-rs256": jwt({"alg": "RS256"}, claims()),
        "alg-missing": jwt({"typ": "JWT"}, claims()),
        "alg-number": jwt({"alg": 256}, claims()),
        "alg-dup": jwt(b'{"alg":"none","alg":"HS256"}', claims()),
        "expired": jwt(hs256, claims(iat=NOW - 2000, exp=NOW - 100)),
        "exp-in-leeway": jwt(hs256, claims(exp=NOW - 20)),
        "future-iat": jwt(hs256, claims(iat=NOW + 100)),
        "exp-string": jwt(hs256, claims(exp=str(NOW + 900))),
        "exp-real": jwt(hs256, claims(exp=NOW + 900.5)),
        "exp-huge": jwt(hs256, b'{"iss":"mockpie","sub":"42","iat":1,'
            b'"exp":99999999999999999999999,"jti":"%s","sid":"%s",'
            b'"typ":"access"}' % (JTI.encode(), SID.encode())),
        "exp-negative": jwt(hs256, claims(exp=-1)),
        "exp-missing": jwt(hs256, claims(exp=None)),
        "sub-zero": jwt(hs256, claims(sub="0")),
        "sub-negative": jwt(hs256, claims(sub="-1")),
        "sub-leading-zero": jwt(hs256, claims(sub="007")),
        "sub-overflow": jwt(hs256, claims(sub="99999999999999999999")),
        "sub-int": jwt(hs256, claims(sub=42)),
        "sub-nul": jwt(hs256, b'{"iss":"mockpie","sub":"4\\u00002",'
            b'"iat":%d,"exp":%d,"jti":"%s","sid":"%s","typ":"access"}'
            % (NOW, NOW + 900, JTI.encode(), SID.encode())),
        "jti-short": jwt(hs256, claims(jti="abc")),
        "sid-bad-chars": jwt(hs256, claims(sid="BBBBBBBBBBBBBBBBBBBB+/")),
        "iss-wrong": jwt(hs256, claims(iss="evil")),
        "typ-missing": jwt(hs256, claims(typ=None)),
        "typ-object": jwt(hs256, claims(typ={"a": 1})),
        "payload-array": jwt(hs256, b'["iss","sub"]'),
        "payload-empty-object": jwt(hs256, b"{}"),
        "payload-not-json": jwt(hs256, b"not json"),
        "header-not-json": jwt(b"{alg:HS256", claims()),
        "other-secret": jwt(hs256, claims(), key=b"x" * 40),
        "truncated-sig": good[:-10],
        "truncated-payload": good[:good.index(".") + 20],
        "two-segments": good[:good.rindex(".")],
        "four-segments": good + ".AAAA",
        "empty-segment": ".." + good.split(".")[2],
        "padded": good + "==",
        "std-alphabet": good.replace("-", "+").replace("_", "/") + "+/",
        "bearer-prefix": "Bearer " + good,
        "nul-inside": good.encode() + b"\x00junk",
        "too-long": good + "A" * (4097 - len(good)),
        "max-len": max_len_token(hs256),
        "truncated-mid": ".".join([good.split(".")[0],
            good.split(".")[1][:-7], good.split(".")[2]]),
        "dots": "...",
        "empty": "",
    }
    # "header\npayload": fuzz_token.c encodes and signs them itself
    h = b'{"alg":"HS256","typ":"JWT"}'
    signed = {
        "signed-valid": enc(claims()),
        "signed-refresh": enc(claims(typ="refresh")),
        "signed-dup-claims": b'{"iss":"mockpie","sub":"42","sub":"43",'
            b'"iat":%d,"exp":%d,"jti":"%s","sid":"%s","typ":"access"}'
            % (NOW, NOW + 900, JTI.encode(), SID.encode()),
        "signed-exp-bool": enc(claims(exp=True)),
        "signed-exp-big": enc(claims(exp=2**63)),
        "signed-exp-min": enc(claims(exp=-2**63)),
        "signed-iat-zero": enc(claims(iat=0)),
        "signed-sub-null": enc(claims(sub=None)),
        "signed-sub-max": enc(claims(sub="9223372036854775807")),
        "signed-sub-space": enc(claims(sub=" 42")),
        "signed-jti-unicode": enc(claims(jti="\u00e9" * 11)),
        "signed-typ-upper": enc(claims(typ="ACCESS")),
        "signed-nested": enc(claims(iss={"a": [1, {"b": None}]})),
        "signed-deep": b"[" * 64 + b"]" * 64,
        "signed-trailing": enc(claims()) + b" {}",
        "signed-empty": b"",
    }
    for name, payload in signed.items():
        seeds[name] = h + b"\n" + payload
    seeds["signed-hs512-header"] = (b'{"alg":"HS512"}\n'
        + enc(claims()))
    seeds["signed-alg-none-header"] = b'{"alg":"none"}\n' + enc(claims())
    seeds["signed-header-array"] = b'["HS256"]\n' + enc(claims())
    seeds["signed-header-extra"] = (b'{"alg":"HS256","kid":"x","crit":'
        b'["exp"],"typ":"at+jwt"}\n' + enc(claims()))
    for name, data in seeds.items():
        write("token", name, data)


# ---------------------------------------------------------------- config

def config_seeds():
    with open(os.path.join(TOP, "conf", "mockpie.conf"), "rb") as f:
        write("config", "shipped", f.read())
    seeds = {
        "empty": "",
        "minimal": "workers = 2\n",
        "no-newline": "workers = 2",
        "crlf": "workers = 2\r\nlog_level = debug\r\n",
        "comments": "# c\n   # indented\n\n\t\nworkers=3 \n",
        "no-equals": "workers 4\n",
        "empty-key": "= 4\n",
        "empty-value": "listen =\nworkers =\n",
        "unknown-key": "wrokers = 4\n",
        "out-of-range": "workers = 1025\n",
        "negative": "max_requests = -1\n",
        "int-overflow": "max_requests = 99999999999999999999\n",
        "trailing-junk": "workers = 4x\n",
        "sizes": "body_limit = 1m\npassword_memlimit = 4g\n",
        "size-overflow": "body_limit = 99999999999999999k\n",
        "size-suffix-only": "body_limit = k\n",
        "bools": "redis_required = YES\nredis_test_enabled = off\n",
        "bool-bad": "redis_required = maybe\n",
        "origins": "cors_origins = http://a.example, https://b.example:8443"
            "\thttp://[::1]:3000\n",
        "origins-too-many": "cors_origins = " + ",".join(
            "http://h%d.example" % i for i in range(17)) + "\n",
        "origin-path": "cors_origins = http://a.example/path\n",
        "origin-empty": "cors_origins =\n",
        "redis-unix": "redis_url = unix:///run/redis.sock?db=3\n",
        "redis-auth": "redis_url = redis://user:p%40ss@w@[::1]:6380/15\n",
        "redis-bad-port": "redis_url = redis://localhost:99999/0\n",
        "redis-unclosed": "redis_url = redis://[::1:6379\n",
        "redis-bad-escape": "redis_url = redis://:%zz@h/0\n",
        "redis-scheme": "redis_url = http://localhost/\n",
        "backoff-inverted": "redis_backoff_min_ms = 5000\n"
            "redis_backoff_max_ms = 1000\n",
        "ttl-inverted": "access_token_ttl = 86400\n"
            "refresh_token_ttl = 3600\n",
        "alg": "jwt_algorithm = HS512\njwt_issuer = me\n",
        "alg-none": "jwt_algorithm = none\n",
        "log-levels": "log_level = WARN\nlog_level = nope\n",
        "opslimit": "password_opslimit = 65\n",
        "paths": "database = db/x.db\npidfile = /run/p.pid\n"
            "common_passwords_file = ../c.txt\n"
            "jwt_secret_file = secret\n",
        "path-long": "database = " + "d" * 1100 + "\n",
        "issuer-long": "jwt_issuer = " + "i" * 64 + "\n",
        # CONFIG_LINE_MAX 4096: 4094 bytes and a newline fit, 4095 do not
        "line-4094": "#" + "c" * 4093 + "\nworkers = 2\n",
        "line-4095": "#" + "c" * 4094 + "\nworkers = 2\n",
        "line-too-long": "listen = " + "l" * 5000 + "\n",
        "nul-in-line": "workers = 2\x00junk\nlog_level = debug\n",
        "binary": "\xff\xfe=\x01\n",
        "repeat": "workers = 2\nworkers = 3\ncors_origins = http://a\n"
            "cors_origins = http://b\n",
    }
    for name, data in seeds.items():
        write("config", name, data.encode("latin-1"))


def main():
    body_seeds()
    token_seeds()
    config_seeds()
    return 0


if __name__ == "__main__":
    sys.exit(main())
