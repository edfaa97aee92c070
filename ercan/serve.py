"""`ercan serve`: a local store's reports, Data Docs, products and catalog over HTTP, read-only, on
127.0.0.1, for a steward without S3 hosting (the standard library's http.server, nothing to install).

Only what a reader needs is served: `catalog.yaml`, `reports/` and `products/`; the store's own
bookkeeping (state, staging, snapshots, locks) is not. Every method but GET and HEAD is refused, and
so is a path leading outside the served folders (a `..`, or a symbolic link out of the store). `/`
sends the browser to the latest report, whose links (all relative) lead to the rest.
"""

from __future__ import annotations

from functools import partial
from http import HTTPStatus
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

from ercan.gate_reports import latest_docs
from ercan.report import latest_report
from ercan.storage import TEMPORARY, Storage

HOST = "127.0.0.1"  # this machine only: the store holds unpublished state beside the products
SERVED = ("catalog.yaml", "reports", "products")


class StoreHandler(SimpleHTTPRequestHandler):
    """GET and HEAD of the served part of the store under `directory`, nothing else."""

    server_version = "ercan-serve"

    def send_head(self):
        if urlsplit(self.path).path == "/":
            return self._to_latest_report()
        root = Path(self.directory).resolve()
        target = Path(self.translate_path(self.path)).resolve()  # resolved: a link out of the store is outside
        if not target.is_relative_to(root) or not self._served(target.relative_to(root).parts):
            self.send_error(HTTPStatus.NOT_FOUND, "not served: only catalog.yaml, reports/ and products/ are")
            return None
        return super().send_head()

    @staticmethod
    def _served(parts: tuple[str, ...]) -> bool:
        # a file being written (`<name>.tmp-<random>`) is not there yet
        return bool(parts) and parts[0] in SERVED and not any(TEMPORARY in part for part in parts)

    def _to_latest_report(self):
        report = latest_report(Storage(self.directory))
        if report is None:
            self.send_error(HTTPStatus.NOT_FOUND, "no report yet: a run that publishes writes one")
            return None
        self.send_response(HTTPStatus.FOUND)
        self.send_header("Location", f"/{report}")
        self.send_header("Content-Length", "0")
        self.end_headers()
        return None

    def _refuse(self):
        self.send_response(HTTPStatus.METHOD_NOT_ALLOWED)
        self.send_header("Allow", "GET, HEAD")
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_POST = do_PUT = do_DELETE = do_PATCH = _refuse


def make_server(root: str, port: int) -> ThreadingHTTPServer:
    """A server of the local store at `root` on 127.0.0.1:`port` (0: a free port; `server_port` says which)."""
    return ThreadingHTTPServer((HOST, port), partial(StoreHandler, directory=root))


def addresses(storage: Storage, base: str) -> dict[str, str]:
    """{what: its URL} for the latest report and Data Docs of the store served at `base`."""
    pages = {"report of the published versions": latest_report(storage),
             "quality report (GX Data Docs)": latest_docs(storage)}
    return {what: f"{base}{path}" for what, path in pages.items() if path}
