"""The landing zone: the nightly ingests `<storage>/landing/<source>/`, seeded from the sample data on
a fresh store, downloaded from an input's origin URL with a conditional GET (a real HTTP server on
127.0.0.1), and a steward's file stays current until a newer file lands."""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import os
import socket
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from ercan import pipeline, snapshots, state
from ercan.errors import ConfigError, SourceError
from ercan.sources import SAMPLE_DATA, get
from ercan.storage import Storage

SOURCE_ID = "gcb2019"
ROLE = "budget"
SAMPLE = SAMPLE_DATA / get(SOURCE_ID).source.inputs[ROLE]
LANDING = ("landing", SOURCE_ID, SAMPLE.name)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def current_sha(storage: Storage) -> str:
    return state.load(storage, SOURCE_ID)["current"][ROLE]["sha256"]


def a_newer_file() -> bytes:
    """The sample as its publisher might re-issue it: one more line of data."""
    return SAMPLE.read_bytes().rstrip(b"\r\n") + b"\n" + SAMPLE.read_bytes().splitlines()[-1] + b"\n"


@pytest.fixture
def store(tmp_path) -> Storage:
    return Storage(str(tmp_path / "store"))


@pytest.mark.parametrize("where", ["local", "memory"])
def test_a_fresh_store_is_seeded_from_the_sample_data_and_ingests_from_the_landing_zone(where, tmp_path):
    storage = Storage(str(tmp_path / "store") if where == "local" else f"memory://ercan-{uuid.uuid4().hex}")
    (meta,) = pipeline.ingest_landing(storage, get(SOURCE_ID))
    assert storage.read_bytes(*LANDING) == SAMPLE.read_bytes()
    assert meta["new"] and meta["current"] and meta["origin"] == str(SAMPLE)
    assert current_sha(storage) == sha256(SAMPLE.read_bytes())
    (raw,) = snapshots.current_files(storage, get(SOURCE_ID)).values()
    with raw.open() as f:
        assert f.read() == SAMPLE.read_bytes()
    # A second night with nothing new changes nothing.
    (again,) = pipeline.ingest_landing(storage, get(SOURCE_ID))
    assert not again["new"] and not again["current"]


def test_a_file_dropped_in_the_landing_zone_is_ingested_and_never_overwritten_by_the_seed(store):
    dropped = a_newer_file()
    store.write_bytes(dropped, *LANDING)  # before the store's first nightly: no seed over it
    (meta,) = pipeline.ingest_landing(store, get(SOURCE_ID))
    assert store.read_bytes(*LANDING) == dropped
    assert meta["current"] and current_sha(store) == sha256(dropped)
    assert meta["origin"] == store.url_of(*LANDING)

    the_next = dropped + dropped.splitlines()[-1] + b"\n"
    store.write_bytes(the_next, *LANDING)
    pipeline.ingest_landing(store, get(SOURCE_ID))
    assert store.read_bytes(*LANDING) == the_next and current_sha(store) == sha256(the_next)


def test_a_stewards_file_stays_current_until_a_newer_file_lands(store, tmp_path):
    harmonizer = get(SOURCE_ID)
    pipeline.ingest_landing(store, harmonizer)  # the seed
    corrected = tmp_path / "corrected.csv"
    corrected.write_bytes(a_newer_file())
    snapshots.ingest(store, harmonizer, ROLE, str(corrected), steward=True)

    (meta,) = pipeline.ingest_landing(store, harmonizer)  # the landing file did not change
    assert not meta["current"] and current_sha(store) == sha256(corrected.read_bytes())

    landed = corrected.read_bytes() + b"\n"
    store.write_bytes(landed, *LANDING)
    pipeline.ingest_landing(store, harmonizer)
    assert current_sha(store) == sha256(landed)

    # A file landing again after another is newer, though its bytes were snapshotted before.
    store.write_bytes(SAMPLE.read_bytes(), *LANDING)
    (meta,) = pipeline.ingest_landing(store, harmonizer)
    assert not meta["new"] and meta["current"] and current_sha(store) == sha256(SAMPLE.read_bytes())


def test_the_seed_does_not_replace_a_file_a_steward_ingested_before_the_first_nightly(store, tmp_path):
    corrected = tmp_path / "corrected.csv"
    corrected.write_bytes(a_newer_file())
    snapshots.ingest(store, get(SOURCE_ID), ROLE, str(corrected), steward=True)
    (meta,) = pipeline.ingest_landing(store, get(SOURCE_ID))
    assert store.read_bytes(*LANDING) == SAMPLE.read_bytes()
    assert not meta["current"] and current_sha(store) == sha256(corrected.read_bytes())


def test_a_stewards_file_of_a_source_with_nothing_to_land_stays_current(store, tmp_path):
    """A source with no sample and no origin (added by a steward): its ingested file is what it runs on."""
    harmonizer = dataclasses.replace(get(SOURCE_ID), source=get(SOURCE_ID).source.model_copy(
        update={"inputs": {ROLE: "no_such_source/budget.csv"}}))
    with pytest.raises(SourceError, match="nothing has landed for input 'budget' and there is no sample file"):
        pipeline.ingest_landing(store, harmonizer)
    corrected = tmp_path / "budget.csv"
    corrected.write_bytes(a_newer_file())
    snapshots.ingest(store, harmonizer, ROLE, str(corrected), steward=True)
    assert pipeline.ingest_landing(store, harmonizer) == []
    assert current_sha(store) == sha256(corrected.read_bytes())


class Origin:
    """A publisher's web server on 127.0.0.1 serving `files` (path -> bytes) with an ETag and a
    Last-Modified, answering 304 to a matching If-None-Match."""

    LAST_MODIFIED = "Wed, 21 Oct 2015 07:28:00 GMT"

    def __init__(self):
        self.files: dict[str, bytes] = {}
        self.cut: set[str] = set()  # paths whose transfer stops halfway (the connection drops)
        self.requests: list = []  # each request's headers (case-insensitive, as HTTP's)
        origin = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                origin.requests.append(self.headers)
                data = origin.files.get(self.path)
                if data is None:
                    self.send_error(404)
                    return
                etag = f'"{sha256(data)[:16]}"'
                if self.headers.get("If-None-Match") == etag:
                    self.send_response(304)
                    self.send_header("ETag", etag)
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("ETag", etag)
                self.send_header("Last-Modified", origin.LAST_MODIFIED)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data[: len(data) // 2] if self.path in origin.cut else data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"


@pytest.fixture
def origin(monkeypatch):
    monkeypatch.setenv("no_proxy", "127.0.0.1")  # a proxy of the test machine's must not stand in between
    server = Origin()
    server.thread.start()
    yield server
    server.server.shutdown()
    server.server.server_close()
    server.thread.join()


def with_origin(url: str):
    """The real gcb2019 harmonizer, its input declared with an origin URL."""
    harmonizer = get(SOURCE_ID)
    return dataclasses.replace(harmonizer, source=harmonizer.source.model_copy(update={"urls": {ROLE: url}}))


def landing_file(store: Storage) -> Path:
    return Path(store.path(*LANDING))


def test_an_origin_url_is_downloaded_again_only_when_its_file_changed(store, origin):
    origin.files["/gcb.csv"] = SAMPLE.read_bytes()
    harmonizer = with_origin(origin.url("/gcb.csv"))

    (meta,) = pipeline.ingest_landing(store, harmonizer)
    assert "If-None-Match" not in origin.requests[-1]
    assert store.read_bytes(*LANDING) == SAMPLE.read_bytes()
    assert meta["origin"] == origin.url("/gcb.csv") and current_sha(store) == sha256(SAMPLE.read_bytes())
    validators = store.read_json("landing", SOURCE_ID, f".{SAMPLE.name}.http.json")
    assert validators["etag"] and validators["last_modified"] == Origin.LAST_MODIFIED

    before = os.stat(landing_file(store))
    (meta,) = pipeline.ingest_landing(store, harmonizer)
    assert origin.requests[-1]["If-None-Match"] == validators["etag"]
    assert origin.requests[-1]["If-Modified-Since"] == Origin.LAST_MODIFIED
    after = os.stat(landing_file(store))
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)  # 304: not written again
    assert not meta["new"] and not meta["current"]

    origin.files["/gcb.csv"] = a_newer_file()
    (meta,) = pipeline.ingest_landing(store, harmonizer)
    assert store.read_bytes(*LANDING) == a_newer_file()
    assert meta["new"] and meta["current"] and current_sha(store) == sha256(a_newer_file())
    assert len(origin.requests) == 3


def test_an_origin_answering_404_is_a_source_error_and_the_landed_file_stays(store, origin):
    origin.files["/gcb.csv"] = SAMPLE.read_bytes()
    pipeline.ingest_landing(store, with_origin(origin.url("/gcb.csv")))

    with pytest.raises(SourceError) as raised:
        pipeline.ingest_landing(store, with_origin(origin.url("/moved.csv")))
    message = str(raised.value)
    assert origin.url("/moved.csv") in message and repr(ROLE) in message and repr(SOURCE_ID) in message
    assert "404" in message
    assert store.read_bytes(*LANDING) == SAMPLE.read_bytes()


def test_an_unreachable_origin_warns_and_the_landed_file_is_ingested(store, caplog):
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{probe.getsockname()[1]}/gcb.csv"
    dropped = a_newer_file()
    store.write_bytes(dropped, *LANDING)
    with caplog.at_level(logging.WARNING, logger="ercan.landing"):
        (meta,) = pipeline.ingest_landing(store, with_origin(url))
    assert meta["current"] and current_sha(store) == sha256(dropped)
    assert url in caplog.text and "unreachable" in caplog.text


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.org/gcb.csv", "/etc/passwd"])
def test_only_http_origins_are_downloaded(store, url):
    with pytest.raises(ConfigError, match="http"):
        pipeline.ingest_landing(store, with_origin(url))
    assert not store.exists("landing")


def test_a_transfer_cut_short_leaves_the_file_landed_before(store, origin, caplog):
    origin.files["/gcb.csv"] = SAMPLE.read_bytes()
    pipeline.ingest_landing(store, with_origin(origin.url("/gcb.csv")))
    origin.files["/gcb.csv"], origin.cut = a_newer_file(), {"/gcb.csv"}
    with caplog.at_level(logging.WARNING, logger="ercan.landing"):
        (meta,) = pipeline.ingest_landing(store, with_origin(origin.url("/gcb.csv")))
    assert "unreachable" in caplog.text
    assert store.read_bytes(*LANDING) == SAMPLE.read_bytes()  # not half of the newer file
    assert not meta["new"] and current_sha(store) == sha256(SAMPLE.read_bytes())
    assert [n for n in store.listdir("landing", SOURCE_ID) if ".tmp-" in n] == []


def test_an_empty_file_is_refused_at_ingest_and_nothing_changes(store, tmp_path):
    harmonizer = get(SOURCE_ID)
    pipeline.ingest_landing(store, harmonizer)  # the seed
    before = store.listdir("snapshots", SOURCE_ID)
    empty = tmp_path / "budget.csv"
    empty.write_bytes(b"")
    with pytest.raises(SourceError) as raised:
        snapshots.ingest(store, harmonizer, ROLE, str(empty), steward=True)
    message = str(raised.value)
    assert "is empty (0 bytes)" in message and "budget.csv" in message and SOURCE_ID in message
    assert "Nothing was ingested" in message

    store.write_bytes(b"", *LANDING)  # a download that wrote nothing: the nightly refuses it too
    with pytest.raises(SourceError, match="is empty"):
        pipeline.ingest_landing(store, harmonizer)
    assert store.listdir("snapshots", SOURCE_ID) == before  # no snapshot, no leftover of the copy
    assert current_sha(store) == sha256(SAMPLE.read_bytes())


def test_ingest_streams_a_large_file_in_flat_memory(store, tmp_path):
    """A 96 MiB file (the sample's header and data lines repeated: built here, not real figures) is
    hashed and copied with a small fraction of its size in Python memory; its layout is checked on its head."""
    import tracemalloc

    lines = SAMPLE.read_bytes().splitlines(keepends=True)
    body = b"".join(lines[1:])
    large = tmp_path / "budget.csv"
    with large.open("wb") as f:
        f.write(lines[0])
        while f.tell() < 96 << 20:
            f.write(body)
    expected = hashlib.sha256(large.read_bytes()).hexdigest()
    tracemalloc.start()
    try:
        meta = snapshots.ingest(store, get(SOURCE_ID), ROLE, str(large), steward=True)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert meta["sha256"] == expected == current_sha(store) and meta["bytes"] == large.stat().st_size
    assert peak < 32 << 20, f"peak {peak / 2**20:.0f} MiB of Python memory for a 96 MiB file"
    assert store.listdir("snapshots", SOURCE_ID) == [expected]
