#!/usr/bin/python3
"""A real SMTP receiver for the e-mail tests (aiosmtpd, Debian's python3-aiosmtpd).

Listens on 127.0.0.1 and keeps every accepted message in DIR:
  DIR/<n>.eml   the message exactly as received (after SMTP's dot-unstuffing, CRLF kept,
                without the final ".")
  DIR/<n>.json  {"n", "mail_from" ("" for the null return path), "mail_from_arg" (the MAIL
                command's argument as sent, e.g. "FROM:<> SIZE=412"), "rcpt_tos", "at" (Unix time),
                "tls" (STARTTLS was used), "auth_user" (null without AUTH), "size"}
The .json file appears last (written to a temporary name, then renamed): a reader that sees it
finds the .eml complete.

Failures on request, for any number of test processes sharing one sink:
  DIR/reject-rcpt  one address a line (any case): RCPT TO one of them gets
                   "550 5.1.1 ... User unknown"; the file stays.
  DIR/tempfail     the next DATA fails with "451 4.3.0" once, then the file is removed. When it
                   holds addresses (one a line), only a transaction to one of them is failed.

  --tls-cert C --tls-key K   offer STARTTLS and require it before MAIL (a submission server)
  --auth USER:PASS           require AUTH (PLAIN or LOGIN) before MAIL; offered only after
                             STARTTLS when a certificate is given
  --exit-with-parent         stop when the parent process is gone (a test binary that crashed)
"""

import argparse
import asyncio
import json
import logging
import os
import signal
import ssl
import sys
import threading
import time

try:
    from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword
except ImportError:  # pragma: no cover
    sys.stderr.write("smtp_sink.py: aiosmtpd is missing: apt-get install python3-aiosmtpd "
                     "(and run this script with Debian's /usr/bin/python3)\n")
    sys.exit(3)

log = logging.getLogger("smtp_sink")


def atomic_write(path, data):
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def read_lines(path):
    try:
        with open(path, encoding="utf-8") as f:
            return [line.strip().lower() for line in f if line.strip()]
    except FileNotFoundError:
        return None


class RecordingSMTP(SMTP):
    """Keeps the MAIL command's argument as sent, so tests can see the exact null sender."""

    async def smtp_MAIL(self, arg):
        self.session.sink_mail_arg = arg
        await super().smtp_MAIL(arg)


class Sink:
    def __init__(self, directory):
        self.dir = directory
        self.next_n = 1 + max([int(name[:-5]) for name in os.listdir(directory)
                               if name.endswith(".json") and name[:-5].isdigit()], default=0)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        rejected = read_lines(os.path.join(self.dir, "reject-rcpt")) or []
        if address.lower() in rejected:
            log.info("RCPT %s rejected (reject-rcpt)", address)
            return f"550 5.1.1 <{address}>: Recipient address rejected: User unknown in local recipient table"
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):
        path = os.path.join(self.dir, "tempfail")
        wanted = read_lines(path)
        if wanted is not None and (not wanted or any(r.lower() in wanted for r in envelope.rcpt_tos)):
            claimed = f"{path}.used{os.getpid()}"
            try:
                os.rename(path, claimed)  # only one transaction gets it
                os.remove(claimed)
                log.info("DATA to %s deferred (tempfail)", envelope.rcpt_tos)
                return "451 4.3.0 Temporary failure, please try again later"
            except FileNotFoundError:
                pass
        n = self.next_n
        self.next_n += 1
        raw = envelope.original_content or b""
        auth = session.auth_data if session.authenticated else None
        record = {
            "n": n,
            "mail_from": "" if envelope.mail_from == "<>" else envelope.mail_from,
            "mail_from_arg": getattr(session, "sink_mail_arg", None),
            "rcpt_tos": list(envelope.rcpt_tos),
            "at": time.time(),
            "tls": server._tls_protocol is not None,
            "auth_user": auth.login.decode("utf-8", "replace") if isinstance(auth, LoginPassword) else None,
            "size": len(raw),
        }
        atomic_write(os.path.join(self.dir, f"{n}.eml"), raw)
        atomic_write(os.path.join(self.dir, f"{n}.json"), json.dumps(record).encode())
        log.info("accepted %d: from %r to %s, %d bytes", n, record["mail_from"], record["rcpt_tos"], len(raw))
        return f"250 2.0.0 OK queued as {n}"


def make_authenticator(user, password):
    def authenticate(server, session, envelope, mechanism, auth_data):
        ok = (isinstance(auth_data, LoginPassword) and auth_data.login == user.encode()
              and auth_data.password == password.encode())
        log.info("AUTH %s as %r: %s", mechanism,
                 auth_data.login if isinstance(auth_data, LoginPassword) else None, "ok" if ok else "refused")
        if not ok:
            return AuthResult(success=False, handled=False)  # aiosmtpd answers 535 5.7.8
        return AuthResult(success=True, auth_data=auth_data)
    return authenticate


async def serve(args, stop_event):
    loop = asyncio.get_running_loop()
    tls = None
    if args.tls_cert:
        tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls.load_cert_chain(args.tls_cert, args.tls_key)
    auth = None
    if args.auth:
        user, _, password = args.auth.partition(":")
        auth = make_authenticator(user, password)
    sink = Sink(args.dir)

    def factory():
        return RecordingSMTP(
            sink, loop=loop, hostname="smtp-sink.localhost", ident="switchboard smtp sink",
            tls_context=tls, require_starttls=tls is not None,
            authenticator=auth, auth_required=auth is not None, auth_require_tls=tls is not None)

    server = await loop.create_server(factory, host="127.0.0.1", port=args.port)
    port = server.sockets[0].getsockname()[1]
    if args.port_file:
        atomic_write(args.port_file, str(port).encode())
    log.info("listening on 127.0.0.1:%d (dir %s, starttls %s, auth %s)", port, args.dir,
             tls is not None, auth is not None)
    await stop_event.wait()
    server.close()
    await server.wait_closed()
    log.info("stopped")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--port-file")
    parser.add_argument("--dir", required=True)
    parser.add_argument("--tls-cert")
    parser.add_argument("--tls-key")
    parser.add_argument("--auth", help="USER:PASS")
    parser.add_argument("--exit-with-parent", action="store_true")
    args = parser.parse_args(argv)
    if bool(args.tls_cert) != bool(args.tls_key):
        parser.error("--tls-cert and --tls-key go together")
    os.makedirs(args.dir, exist_ok=True)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    stop_event = asyncio.Event()

    def stop():
        loop.call_soon_threadsafe(stop_event.set)

    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop_event.set)
    if args.exit_with_parent:
        parent = os.getppid()

        def watch():
            while os.getppid() == parent:
                time.sleep(0.5)
            log.info("parent process gone")
            stop()
        threading.Thread(target=watch, daemon=True).start()
    loop.run_until_complete(serve(args, stop_event))
    loop.close()


if __name__ == "__main__":
    main()
