"""How the daemon serves the console's build (console.dir): the HTML uncached, assets immutable,
both under a strict Content-Security-Policy; and a clear answer when no build is configured."""

import gzip
import shutil
import tempfile
import unittest
from pathlib import Path

from harness import ServiceTestCase, raw_request

BUILD = Path(tempfile.mkdtemp(prefix="switchboard-console-files-"))
(BUILD / "assets").mkdir()
(BUILD / "index.html").write_text(
    '<!doctype html><html lang="pl"><script type="module" src="/console/assets/console-T3ST.js"></script></html>')
SCRIPT = b"document.title = 'konsola';\n" * 50
(BUILD / "assets" / "console-T3ST.js").write_bytes(SCRIPT)
(BUILD / "assets" / "console-T3ST.js.gz").write_bytes(gzip.compress(SCRIPT))


def get(daemon, target: str, headers=None):
    return raw_request("127.0.0.1", daemon.port, "GET", target, headers=headers or {})


class ConsoleFilesTest(ServiceTestCase):
    extra_config = f"console: {{ dir: '{BUILD}' }}\n"

    @classmethod
    def tearDownClass(cls) -> None:
        super().tearDownClass()
        shutil.rmtree(BUILD, ignore_errors=True)

    def test_the_page_is_never_cached_and_is_under_the_policy(self):
        d = self.service.daemon()
        r = get(d, "/console/")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.headers["content-type"], "text/html; charset=utf-8")
        self.assertIn("/console/assets/console-T3ST.js", r.text)
        self.assertEqual(r.headers["cache-control"], "no-cache")
        csp = r.headers["content-security-policy"]
        for directive in ("default-src 'self'", "script-src 'self'", "style-src 'self'", "frame-ancestors 'none'",
                          "object-src 'none'", "base-uri 'none'"):
            self.assertIn(directive, csp)
        self.assertNotIn("unsafe-inline", csp)
        self.assertNotIn("unsafe-eval", csp)
        self.assertEqual(r.headers["x-content-type-options"], "nosniff")
        self.assertEqual(r.headers["x-frame-options"], "DENY")
        self.assertEqual(get(d, "/console/", {"If-None-Match": r.headers["etag"]}).status, 304)
        bare = get(d, "/console")
        self.assertEqual(bare.status, 308)
        self.assertEqual(bare.headers["location"], "/console/")

    def test_assets_are_immutable_and_gzipped_for_browsers_that_take_it(self):
        d = self.service.daemon()
        plain = get(d, "/console/assets/console-T3ST.js")
        self.assertEqual(plain.status, 200)
        self.assertEqual(plain.body, SCRIPT)
        self.assertEqual(plain.headers["content-type"], "text/javascript; charset=utf-8")
        self.assertEqual(plain.headers["cache-control"], "public, max-age=31536000, immutable")
        packed = get(d, "/console/assets/console-T3ST.js", {"Accept-Encoding": "gzip, deflate, br"})
        self.assertEqual(packed.headers["content-encoding"], "gzip")
        self.assertEqual(gzip.decompress(packed.body), SCRIPT)
        self.assertLess(len(packed.body), len(SCRIPT) / 5)

    def test_only_files_of_the_build_are_served(self):
        d = self.service.daemon()
        for target in ("/console/assets/nope.js", "/console/assets/..%2Findex.html", "/console/assets/../index.html",
                       "/console/assets/console-T3ST.js.gz", "/console/index.html", "/console/assets/"):
            with self.subTest(target=target):
                r = get(d, target)
                self.assertEqual(r.status, 404, r)
                self.assertEqual(r.headers["content-type"], "application/json")


class NoConsoleTest(ServiceTestCase):
    def test_without_a_build_the_answer_says_so(self):
        r = get(self.service.daemon(), "/console/")
        self.assertEqual(r.status, 404)
        self.assertEqual(r.error_code, "console_not_installed")


if __name__ == "__main__":
    unittest.main()
