#!/usr/bin/python3
# An SMTP sink for the tests (issue 15), not a mail server: it accepts
# every message on 127.0.0.1:PORT and writes it to DIR/<n>.eml (written
# to a temporary name, then renamed, so a reader never sees half of one),
# after an "X-Rcpt:" line (always the first), an "X-TLS:" line (none,
# starttls or smtps) and an "X-Auth-User:" line (the login, or -).
# DIR/ready appears once it listens.  Run with Debian's python3 and its
# python3-aiosmtpd.
#
# Usage: smtp_sink.py PORT DIR [--starttls CERT KEY | --smtps CERT KEY]
#                              [--auth USER PASSWORD]
#   --starttls  offers STARTTLS and refuses mail before it
#   --smtps     TLS from the first byte (implicit TLS, as on port 465)
#   --auth      refuses mail without AUTH (PLAIN or LOGIN) as USER with
#               PASSWORD; over --starttls, AUTH only after STARTTLS
import argparse
import asyncio
import hmac
import logging
import os
import ssl
import warnings

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword


class Sink:
    def __init__(self, directory, tls):
        self.dir = directory
        self.tls = tls
        self.n = len([f for f in os.listdir(directory)
                      if f.endswith(".eml")])

    async def handle_DATA(self, server, session, envelope):
        self.n += 1
        user = session.auth_data if session.authenticated else None
        tmp = os.path.join(self.dir, "%d.tmp" % self.n)
        with open(tmp, "wb") as f:
            f.write(b"X-Rcpt: " + ",".join(envelope.rcpt_tos).encode()
                    + b"\r\n")
            f.write(b"X-TLS: " + self.tls.encode() + b"\r\n")
            f.write(b"X-Auth-User: " + (user or b"-") + b"\r\n")
            f.write(envelope.original_content or envelope.content)
        os.rename(tmp, os.path.join(self.dir, "%d.eml" % self.n))
        return "250 OK"


def authenticator(user, password):
    want_user = user.encode()
    want_password = password.encode()

    def check(server, session, envelope, mechanism, auth_data):
        if mechanism not in ("PLAIN", "LOGIN") or \
                not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        ok = hmac.compare_digest(auth_data.login, want_user) & \
            hmac.compare_digest(auth_data.password, want_password)
        return AuthResult(success=bool(ok), handled=False,
                          auth_data=auth_data.login if ok else None)
    return check


def tls_context(cert, key):
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert, key)
    return ctx


async def main(args):
    loop = asyncio.get_running_loop()
    tls = "starttls" if args.starttls else "smtps" if args.smtps else "none"
    kw = {"hostname": "sink.test"}
    server_ssl = None
    if args.starttls:
        kw["tls_context"] = tls_context(*args.starttls)
        kw["require_starttls"] = True
    if args.smtps:
        server_ssl = tls_context(*args.smtps)
    if args.auth:
        kw["authenticator"] = authenticator(*args.auth)
        kw["auth_required"] = True
        # aiosmtpd knows only its own STARTTLS: under implicit TLS the
        # whole connection is encrypted, and it would refuse AUTH
        kw["auth_require_tls"] = not args.smtps
    # one Sink for every connection: its counter names the files, and a
    # Sink per connection (each counting the files when it was opened)
    # let two senders' connections write the same <n>.eml, one mail lost
    sink = Sink(args.dir, tls)
    server = await loop.create_server(
        lambda: SMTP(sink, **kw),
        "127.0.0.1", args.port, reuse_address=True, ssl=server_ssl)
    open(os.path.join(args.dir, "ready"), "w").close()
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    # the test's stderr: aiosmtpd's advice on AUTH without its own
    # STARTTLS (--smtps) and its deprecation notes are noise there
    warnings.filterwarnings("ignore", module="aiosmtpd")
    logging.getLogger("mail.log").setLevel(logging.ERROR)
    p = argparse.ArgumentParser(description="SMTP sink for the tests")
    p.add_argument("port", type=int)
    p.add_argument("dir")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--starttls", nargs=2, metavar=("CERT", "KEY"))
    mode.add_argument("--smtps", nargs=2, metavar=("CERT", "KEY"))
    p.add_argument("--auth", nargs=2, metavar=("USER", "PASSWORD"))
    asyncio.run(main(p.parse_args()))
