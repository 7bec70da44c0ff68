"""The agent console in a real browser: console/tests/browser.mjs (playwright-core driving Debian's
Chromium) against a daemon that serves the console's build at /console/.

This test builds the console (node console/build.mjs) into a scratch folder, starts a service
whose daemon serves it (`console: { dir: ... }`) and sends WhatsApp replies to the Graph fake
($SWITCHBOARD_TEST_GRAPH_URL, started by tests/run) for one WhatsApp number of its own, then runs
the browser script with the environment it documents and expects exit code 0.

Skipped, with the reason, when node, /usr/bin/chromium or console/node_modules (npm ci in
console/) is missing. Screenshots go to $SWITCHBOARD_CONSOLE_ARTIFACTS, else to a scratch folder
that is printed and kept.

For working on the console by hand: `python3 tests/api/browser_console.py serve` builds the console,
starts the same service and prints the URL and the logins until Ctrl+C or SIGTERM.
"""

import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest
from pathlib import Path

from harness import (ADMIN_TOKEN, META_APP_SECRET, META_PAGE_TOKEN, PASSWORDS, PUBLIC_URL, SHOP_TOKEN, SOURCE_DIR,
                     TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN, TWILIO_FROM, Daemon, Service)

CONSOLE_DIR = SOURCE_DIR / "console"
CHROMIUM = "/usr/bin/chromium"
GRAPH_URL = os.environ.get("SWITCHBOARD_TEST_GRAPH_URL", "")
# A WhatsApp number of this process only: the Graph fake may be shared by several test processes.
WA_PHONE_ID = "1065" + "".join(random.choice("0123456789") for _ in range(11))


def missing_tools() -> str | None:
    if shutil.which("node") is None:
        return "node is not installed (apt-get install nodejs npm)"
    if not os.access(CHROMIUM, os.X_OK):
        return f"{CHROMIUM} is not installed (apt-get install chromium)"
    if not (CONSOLE_DIR / "node_modules" / "playwright-core").is_dir():
        return "console/node_modules is missing (cd console && npm ci --no-audit --no-fund)"
    return None


def build_console(out_dir: Path) -> None:
    done = subprocess.run(["node", str(CONSOLE_DIR / "build.mjs"), str(out_dir)], capture_output=True, text=True,
                          timeout=300)
    if done.returncode != 0:
        raise RuntimeError(f"console build failed ({done.returncode}):\n{done.stdout}{done.stderr}")


class ConsoleDaemon(Daemon):
    """The harness's daemon with the console's build, and Graph calls going to the fake."""

    console_dir = ""

    @staticmethod
    def _config(database_url: str, callback_url: str, extra: str) -> str:
        text = Daemon._config(database_url, callback_url, extra)
        if GRAPH_URL:
            graph = "    graph_url: http://127.0.0.1:9\n"
            pages = "    pages:\n"
            assert graph in text and pages in text, "the harness's config changed: adapt browser_console.py"
            text = text.replace(graph, f"    graph_url: '{GRAPH_URL}'\n")
            text = text.replace(pages, "    whatsapp_numbers:\n"
                                       f"      \"{WA_PHONE_ID}\": {{ access_token: {{ secret: meta-page-token }} }}\n"
                                       + pages)
        return text + f"console: {{ dir: '{ConsoleDaemon.console_dir}' }}\n"


def start_service(out_dir: Path) -> Service:
    build_console(out_dir)
    ConsoleDaemon.console_dir = str(out_dir)
    return Service(daemon_class=ConsoleDaemon)


def browser_env(service: Service, artifacts: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update({
        "SB_URL": f"http://127.0.0.1:{service.daemon().port}",
        "SB_ADMIN_LOGIN": "boss",
        "SB_ADMIN_PASSWORD": PASSWORDS["boss"],
        "SB_AGENT_LOGIN": "anna",
        "SB_AGENT_PASSWORD": PASSWORDS["anna"],
        "SB_ARTIFACTS": str(artifacts),
        "SB_REQUIRE_ALL": "1" if os.environ.get("SWITCHBOARD_REQUIRE_BROWSER") == "1" else "0",
        "SB_SHOP_TOKEN": SHOP_TOKEN,
        "SB_ADMIN_TOKEN": ADMIN_TOKEN,
        "SB_GRAPH_URL": GRAPH_URL,
        "SB_META_APP_SECRET": META_APP_SECRET,
        "SB_WA_PHONE_ID": WA_PHONE_ID if GRAPH_URL else "",
        "SB_WA_TOKEN": META_PAGE_TOKEN,
        "SB_PUBLIC_URL": PUBLIC_URL,
        "SB_TWILIO_ACCOUNT_SID": TWILIO_ACCOUNT_SID,
        "SB_TWILIO_AUTH_TOKEN": TWILIO_AUTH_TOKEN,
        "SB_TWILIO_FROM": TWILIO_FROM,
    })
    return env


class ConsoleInBrowserTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls) -> None:
        reason = missing_tools()
        if reason and os.environ.get("SWITCHBOARD_REQUIRE_BROWSER") == "1":
            raise AssertionError(f"the browser test cannot run: {reason}")  # CTest's console_browser
        if reason:
            raise unittest.SkipTest(reason)
        cls.scratch = Path(tempfile.mkdtemp(prefix="sbconsole-"))
        cls.addClassCleanup(shutil.rmtree, cls.scratch, ignore_errors=True)
        cls.service = start_service(cls.scratch / "console")
        cls.addClassCleanup(cls.service.stop)

    def test_console_in_chromium(self):
        artifacts = Path(os.environ.get("SWITCHBOARD_CONSOLE_ARTIFACTS") or tempfile.mkdtemp(prefix="sbconsole-shots-"))
        artifacts.mkdir(parents=True, exist_ok=True)
        done = subprocess.run(["node", str(CONSOLE_DIR / "tests" / "browser.mjs")], capture_output=True, text=True,
                              env=browser_env(self.service, artifacts), timeout=600, cwd=CONSOLE_DIR)
        sys.stderr.write(done.stdout + done.stderr)
        sys.stderr.write(f"console screenshots: {artifacts}\n")
        if done.returncode != 0:
            sys.stderr.write("daemon log (tail):\n" + self.service.daemon().log_tail(60) + "\n")
        self.assertEqual(done.returncode, 0, "console/tests/browser.mjs failed (its output is above)")


def serve() -> None:
    """Starts the service for manual work and waits for Ctrl+C or SIGTERM, then cleans up."""
    def stop(signum, frame):
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)  # also when started in the background, where SIGINT is ignored
    scratch = Path(tempfile.mkdtemp(prefix="sbconsole-"))
    service = start_service(scratch / "console")
    try:
        env = browser_env(service, scratch / "shots")
        for k in sorted(env):
            if k.startswith("SB_"):
                print(f"export {k}='{env[k]}'")
        print(f"# open {env['SB_URL']}/console/  (rebuild: node console/build.mjs {scratch / 'console'}; "
              "the daemon reads the folder at startup)", flush=True)
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        service.stop()
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    if sys.argv[1:] == ["serve"]:
        serve()
    else:
        unittest.main()
