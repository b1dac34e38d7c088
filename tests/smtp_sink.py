#!/usr/bin/python3
# An SMTP sink for the tests (issue 15), not a mail server: it accepts
# every message on 127.0.0.1:PORT and writes it to DIR/<n>.eml (written
# to a temporary name, then renamed, so a reader never sees half of one).
# DIR/ready appears once it listens.  Run with Debian's python3 and its
# python3-aiosmtpd.  Usage: smtp_sink.py PORT DIR
import asyncio
import os
import sys

from aiosmtpd.smtp import SMTP


class Sink:
    def __init__(self, directory):
        self.dir = directory
        self.n = len([f for f in os.listdir(directory)
                      if f.endswith(".eml")])

    async def handle_DATA(self, server, session, envelope):
        self.n += 1
        tmp = os.path.join(self.dir, "%d.tmp" % self.n)
        with open(tmp, "wb") as f:
            f.write(b"X-Rcpt: " + ",".join(envelope.rcpt_tos).encode()
                    + b"\r\n")
            f.write(envelope.original_content or envelope.content)
        os.rename(tmp, os.path.join(self.dir, "%d.eml" % self.n))
        return "250 OK"


async def main(port, directory):
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: SMTP(Sink(directory), hostname="sink.test"),
        "127.0.0.1", port, reuse_address=True)
    open(os.path.join(directory, "ready"), "w").close()
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]), sys.argv[2]))
