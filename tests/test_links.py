"""Links that work anywhere: a store's pages link each other relatively, `ercan serve` serves them
read-only, and a real headless Chromium (Debian's package, driven by playwright) reads the report and
the Data Docs from it offline.

One store is built by the pipeline's plain functions on the shipped data (every source gated, every
product published, the Data Docs and the report written), then MOVED to another folder: a link that
still held an absolute path into the old folder would break.
"""

from __future__ import annotations

import http.client
import json
import re
import shutil
import subprocess
import sys
import threading
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

import pytest

from ercan import gate_reports, product_gates, report, sources
from ercan.publish import PRODUCTS, versions
from ercan.serve import make_server
from ercan.storage import PUBLIC_URL, Storage, relative_href

ERCAN = str(Path(sys.executable).with_name("ercan"))
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]


class Page(HTMLParser):
    """The links (`href`, `src`) and the anchors (`id`, `name`) of an HTML page."""

    def __init__(self, text: str):
        super().__init__()
        self.links: list[tuple[str, str]] = []
        self.anchors: set[str] = set()
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name in ("href", "src") and value is not None:
                self.links.append((tag, value))
            elif name in ("id", "name") and value:
                self.anchors.add(value)


@pytest.fixture(scope="module")
def moved(published_store, tmp_path_factory):
    """A store the pipeline published into, moved elsewhere afterwards: (its new root, the gates'
    outcomes, the manifests, the store paths of the Data Docs and the report)."""
    built = published_store.copy(tmp_path_factory.mktemp("built") / "ercan-data")
    outcomes, manifests, docs = built.outcomes, built.manifests, built.docs
    page = report.publish_report(Storage(str(built.root)), manifests, docs)
    built = built.root
    root = tmp_path_factory.mktemp("elsewhere") / "moved-store"
    shutil.move(built, root)
    assert not built.exists()
    return root, outcomes, manifests, docs, page


def pages(root: Path) -> dict[Path, Page]:
    return {path: Page(path.read_text(encoding="utf-8")) for path in sorted(root.rglob("*.html"))}


@pytest.mark.slow
def test_every_link_in_a_moved_store_resolves_to_a_file_of_the_store(moved):
    root, *_ = moved
    found = pages(root)
    storage = Storage(str(root))
    results = sum(len(storage.read_json(*at)) for at in gate_reports.result_locations(storage).values())
    assert results >= len(sources.registry())  # a GX result per gate at least
    assert len(found) == 1 + 1 + 2 * results  # the report, the Data Docs' index, a result and a suite page each
    followed, broken = 0, []
    for path, page in found.items():
        for tag, link in page.links:
            parts = urlsplit(link)
            if parts.scheme == "data":  # the report's embedded plots
                continue
            if parts.scheme or parts.netloc or link.startswith("/"):
                broken.append((path, link, "not relative"))
                continue
            target = (path.parent / unquote(parts.path)).resolve() if parts.path else path
            followed += 1
            if not target.is_file() or not target.is_relative_to(root.resolve()):
                broken.append((path, link, "no such file in the store"))
            elif parts.fragment and target.suffix == ".html" and unquote(parts.fragment) not in found[target].anchors:
                broken.append((path, link, "no such anchor"))
    assert not broken, broken[:10]
    assert followed > 1000


def linked_from(page: Path) -> set[Path]:
    """The files the page at `page` links to."""
    return {(page.parent / unquote(urlsplit(link).path)).resolve()
            for _, link in Page(page.read_text(encoding="utf-8")).links if urlsplit(link).path and ":" not in link}


@pytest.mark.slow
def test_the_report_links_the_data_docs_the_catalog_and_every_versions_files(moved):
    root, _, _, docs, page = moved
    links = linked_from(root / page)
    assert (root / docs).resolve() in links and (root / "catalog.yaml").resolve() in links
    storage = Storage(str(root))
    for product in PRODUCTS:
        version = versions(storage, product)[0]
        folder = root / "products" / product / version["version"]
        assert {(folder / "manifest.json").resolve(), *((folder / f["path"]).resolve() for f in version["files"])} \
            <= links, product


@pytest.mark.slow
def test_the_data_docs_index_is_ercans_and_links_every_result_and_suite_page(moved):
    root, _, _, docs, _ = moved
    index = root / docs
    site = index.parent
    text = index.read_text(encoding="utf-8")
    assert "<h1>ercan Data Docs, run run1</h1>" in text and "bootstrapTable" not in text
    results = {p.resolve() for p in (site / "validations").rglob("*.html")}
    suites = {p.resolve() for p in (site / "expectations").rglob("*.html")}
    links = linked_from(index)
    assert results <= links and suites <= links and (root / "catalog.yaml").resolve() in links
    rows = re.findall(r"<tr class='(passed|failed)'><td>\1</td><td>([^<]+)</td>", text)
    assert len(rows) == len(results)
    assert rows.index(("failed", "ipcc_defaults")) < rows.index(("passed", "china_nfi9"))  # failed first
    quality = gate_reports.current_quality(Storage(str(root)))
    assert {subject for _, subject in rows} == set(quality.subject)


@pytest.mark.slow
def test_no_page_of_the_store_fetches_or_runs_anything_from_elsewhere(moved):
    root, *_ = moved
    for path, page in pages(root).items():
        text = path.read_text(encoding="utf-8")
        assert not [link for _, link in page.links if re.match(r"(https?:)?//", link)], path
        assert "<script" not in text and "onclick=" not in text, path
        assert not re.search(r"url\(\s*['\"]?(https?:)?//", text), path  # a stylesheet's image from elsewhere


@pytest.mark.slow
def test_artifacts_link_to_the_public_address_or_say_the_path_in_words(moved, monkeypatch):
    root, outcomes, manifests, docs, page = moved
    storage = Storage(str(root))
    quality = gate_reports.current_quality(storage)
    gates = product_gates.last_gates(storage)

    monkeypatch.delenv(PUBLIC_URL, raising=False)
    assert storage.link_of(page) == f"{root}/{page}"
    words = gate_reports.summary_markdown("run1", outcomes, gates, manifests, quality, storage.link_of(docs),
                                          storage.link_of(page))
    assert "file://" not in words and "](" not in words
    assert f"Data Docs: `{root}/{docs}` in the store (`ercan serve`" in words
    assert f"Report: `{root}/{page}` in the store" in words

    monkeypatch.setenv(PUBLIC_URL, "https://data.example.org/ercan/")
    url = f"https://data.example.org/ercan/{page}"
    assert storage.link_of(page) == url
    linked = gate_reports.summary_markdown("run1", outcomes, gates, manifests, quality, storage.link_of(docs),
                                           storage.link_of(page))
    assert f"Report: [{url}]({url})" in linked
    assert "Data Docs: [https://data.example.org/ercan/reports/data_docs/run1/index.html](" in linked


def test_a_relative_link_climbs_from_its_page_to_its_target():
    assert relative_href("reports/v1/index.html", "reports/data_docs/run1/index.html") == "../data_docs/run1/index.html"
    assert relative_href("reports/v1/index.html", "catalog.yaml") == "../../catalog.yaml"
    assert relative_href("index.html", "validations/a b/x:y.html") == "validations/a%20b/x%3Ay.html"


# --- ercan serve -------------------------------------------------------------------------------


@pytest.fixture
def small_store(tmp_path):
    """A store folder written by the test: a page, the catalog, ercan's own state, and a symbolic link
    out of the store."""
    root = tmp_path / "store"
    (root / "reports" / "r1").mkdir(parents=True)
    (root / "reports" / "r1" / "index.html").write_text("<h1>a report</h1>", encoding="utf-8")
    (root / "catalog.yaml").write_text("sources: {}\n", encoding="utf-8")
    (root / "state").mkdir()
    (root / "state" / "reports.json").write_text(json.dumps({"carbon_stocks": {"v1": "reports/r1/index.html"}}))
    (tmp_path / "secret.txt").write_text("outside the store", encoding="utf-8")
    (root / "reports" / "out").symlink_to(tmp_path)
    server = make_server(str(root), 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield root, server.server_port
    server.shutdown()
    server.server_close()


def request(port: int, method: str, path: str, body: bytes | None = None) -> tuple[int, dict, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    connection.request(method, path, body=body)  # the path as given, `..` and all
    response = connection.getresponse()
    result = response.status, dict(response.getheaders()), response.read()
    connection.close()
    return result


def test_serve_answers_the_store_pages_and_sends_the_root_to_the_latest_report(small_store):
    _, port = small_store
    status, headers, _ = request(port, "GET", "/")
    assert status == 302 and headers["Location"] == "/reports/r1/index.html"
    assert request(port, "GET", "/reports/r1/index.html")[::2] == (200, b"<h1>a report</h1>")
    assert request(port, "GET", "/catalog.yaml")[::2] == (200, b"sources: {}\n")
    assert request(port, "HEAD", "/catalog.yaml")[0] == 200


def test_serve_refuses_writes_bookkeeping_and_paths_out_of_the_store(small_store):
    root, port = small_store
    for method in ("PUT", "POST", "DELETE", "PATCH"):
        status, headers, _ = request(port, method, "/reports/r1/index.html", b"<h1>defaced</h1>")
        assert (status, headers["Allow"]) == (405, "GET, HEAD"), method
    assert (root / "reports" / "r1" / "index.html").read_text(encoding="utf-8") == "<h1>a report</h1>"
    for path in ("/state/reports.json", "/../secret.txt", "/reports/../../secret.txt", "/reports/%2e%2e/%2e%2e/secret.txt",
                 "/reports/out/secret.txt"):
        status, _, body = request(port, "GET", path)
        assert status == 404 and b"outside the store" not in body, path


def test_serve_refuses_an_s3_store_and_a_missing_one(tmp_path):
    s3 = subprocess.run([ERCAN, "serve", "--storage", "s3://bucket/ercan"], capture_output=True, text=True, timeout=120)
    assert s3.returncode == 2 and "not a local store" in s3.stderr and "ERCAN_PUBLIC_URL" in s3.stderr
    missing = subprocess.run([ERCAN, "serve", "--storage", str(tmp_path / "none")], capture_output=True, text=True,
                             timeout=120)
    assert missing.returncode == 2 and "no store at" in missing.stderr


# --- in a browser ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def served(moved):
    """`ercan serve` of the moved store on a free port: (its address, the addresses it printed)."""
    root = moved[0]
    process = subprocess.Popen([ERCAN, "serve", "--storage", str(root), "--port", "0"], stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL, text=True)
    try:
        lines = [process.stdout.readline() for _ in range(3)]
        base = re.match(r"serving .* read-only at (http://127\.0\.0\.1:\d+/)$", lines[0].strip()).group(1)
        printed = dict(line.strip().split(": ", 1) for line in lines[1:])
        yield base, printed
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


class Visit:
    """A browser page that records every request, failed response and console error, and lets no
    request leave 127.0.0.1 (the test asserts none was even tried)."""

    def __init__(self, browser, base: str):
        self.context = browser.new_context()
        self.page = self.context.new_page()
        self.host = urlsplit(base).netloc
        self.elsewhere, self.failed, self.errors = [], [], []
        self.context.route("**/*", self._local_only)
        self.page.on("response", lambda r: self.failed.append((r.status, r.url)) if r.status >= 400 else None)
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))

    def _local_only(self, route):
        if urlsplit(route.request.url).netloc == self.host or route.request.url.startswith("data:"):
            route.continue_()
        else:
            self.elsewhere.append(route.request.url)
            route.abort()

    def clean(self) -> bool:
        return not (self.elsewhere or self.failed or self.errors)

    def every_link_answers(self) -> int:
        """Each page the current page links to fetched from the server, every one a 200; how many."""
        hrefs = self.page.eval_on_selector_all("a[href]", "links => links.map(a => a.href)")
        assert hrefs and all(urlsplit(href).netloc == self.host for href in hrefs), hrefs[:5]
        targets = {urljoin(href, urlsplit(href).path) for href in hrefs}  # without their #anchors
        for target in targets:
            assert self.context.request.get(target).status == 200, target
        return len(targets)


@pytest.mark.slow
def test_serve_prints_where_the_latest_report_and_data_docs_are(moved, served):
    _, _, _, docs, page = moved
    base, printed = served
    assert printed == {"report of the published versions": f"{base}{page}", "quality report (GX Data Docs)": f"{base}{docs}"}


@pytest.mark.slow
def test_the_report_loads_in_chromium_with_its_plots_and_links_and_nothing_from_elsewhere(browser, served):
    base, _ = served
    visit = Visit(browser, base)
    visit.page.goto(base)  # the server sends its root to the latest report
    page = visit.page
    assert re.search(r"/reports/v[^/]+/index\.html$", page.url)
    assert page.title().startswith("ercan report v")
    for title in ("Products", "Sources", "Quality gates", "Target 2"):
        assert page.get_by_role("heading", name=title, exact=True).is_visible(), title
    plots = page.locator("img[alt='forest area and carbon stock by UN M49 region']")
    assert plots.is_visible() and plots.evaluate("img => img.naturalWidth") > 600
    assert page.locator("#products").get_by_role("cell", name="carbon_stocks", exact=True).is_visible()
    assert visit.every_link_answers() > 2 * len(PRODUCTS)  # manifests, Parquet files, catalog, Data Docs
    page.get_by_role("link", name="reports/data_docs/run1/index.html", exact=True).click()
    page.wait_for_load_state()
    assert page.get_by_role("heading", name="ercan Data Docs, run run1").is_visible()
    assert visit.clean(), (visit.elsewhere[:5], visit.failed[:5], visit.errors[:5])


@pytest.mark.slow
def test_the_data_docs_render_offline_in_chromium(browser, served, moved):
    base, printed = served
    visit = Visit(browser, base)
    page = visit.page
    page.goto(printed["quality report (GX Data Docs)"])
    rows = page.locator("tbody tr")
    assert rows.count() == len(list((moved[0] / moved[3]).parent.joinpath("validations").rglob("*.html")))
    assert rows.first.locator("td").first.inner_text() == "failed" and rows.first.is_visible()
    assert visit.every_link_answers() > rows.count()  # each row's result page, the suites' pages, the catalog

    rows.first.get_by_role("link", name="result").click()  # a failed result, as GX renders it, without its CDNs
    page.wait_for_load_state()
    assert page.get_by_text("Expectation Validation Result").first.is_visible()
    assert page.get_by_text("Unsuccessful Expectations").is_visible()
    assert page.locator(".row").first.evaluate("e => getComputedStyle(e).display") == "flex"  # ercan's stylesheet
    assert page.locator(".card:has(.btn-group-toggle)").count() == 1 and not page.locator(".btn-group-toggle").is_visible()
    page.get_by_role("link", name="Home").first.click()
    page.wait_for_load_state()
    assert page.url == printed["quality report (GX Data Docs)"]
    page.goto(urljoin(page.url, "expectations/china_nfi9.html"))
    assert page.get_by_text("Expectation Suite").first.is_visible() and page.get_by_text("area_code").first.is_visible()
    assert visit.clean(), (visit.elsewhere[:5], visit.failed[:5], visit.errors[:5])
