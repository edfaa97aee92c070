"""The landing zone: where each input's raw file arrives before the nightly snapshots it.

  landing/<source>/<file name>              the input's latest file (named as `Source.inputs[role]`'s file)
  landing/<source>/.<file name>.http.json   the ETag and Last-Modified its origin URL last answered

A file lands in three ways: an operator puts it there; the nightly downloads it from the input's
origin URL (`Source.urls[role]`), with a conditional GET, so an unchanged file is not downloaded
again; or, on a fresh store where nothing has landed, it is seeded from the shipped `sample_data/`.
A seed never overwrites a file already there.
"""

from __future__ import annotations

import http.client
import logging
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import PurePath
from urllib.parse import urlsplit

from ercan.errors import ConfigError, SourceError
from ercan.sources import SAMPLE_DATA, Source
from ercan.storage import Storage

LANDING = "landing"
HTTP_TIMEOUT = 60  # seconds a download may wait for the origin to answer
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Landed:
    """An input's file in the landing zone."""

    parts: tuple[str, ...]  # its path under the storage root
    origin: str  # where its bytes came from: the origin URL, the sample file, or the landing zone itself
    seeded: bool  # copied from the sample data just now, because nothing had landed


class NothingLanded(SourceError):
    """No file has landed for an input and none is shipped to seed it with."""


class _Unreachable(Exception):
    """The origin did not answer (no connection, a timeout, a cut response)."""


class _OriginStream:
    """A response read as a stream: its read errors are the origin's (a cut transfer), not the store's."""

    def __init__(self, response):
        self.response = response

    def read(self, size: int = -1) -> bytes:
        try:
            chunk = self.response.read(size)
        except (OSError, http.client.HTTPException) as e:
            raise _Unreachable(e) from None
        if not chunk and self.response.length:  # http.client's read(size) ends quietly short of Content-Length
            raise _Unreachable(f"the transfer ended {self.response.length} bytes short of its Content-Length")
        return chunk


def landing_parts(source: Source, role: str) -> tuple[str, ...]:
    return LANDING, source.id, PurePath(source.inputs[role]).name


def land(storage: Storage, source: Source, role: str) -> Landed:
    """The role's file in the landing zone, after downloading it from its origin URL when that changed,
    or seeding it from the sample data when nothing has landed.

    An origin answering with an HTTP error is a SourceError (the landed file stays as it was); an
    origin that does not answer is only a warning: the file landed before is ingested (on a fresh
    store, the seed), so a night with the origin down does not quarantine the source."""
    parts = landing_parts(source, role)
    url = source.urls.get(role)
    if url:
        check_url(source, role, url)
        try:
            if download(storage, source, role, url, parts):
                return Landed(parts, url, seeded=False)
        except _Unreachable as e:
            what = "the file landed before" if storage.exists(*parts) else "the sample data (nothing has landed)"
            log.warning("source %r, input %r: %s is unreachable (%s); ingesting %s", source.id, role, url, e, what)
    if storage.exists(*parts):
        return Landed(parts, storage.url_of(*parts), seeded=False)
    return Landed(parts, seed(storage, source, role, parts), seeded=True)


def check_url(source: Source, role: str, url: str) -> None:
    """Only http(s) origins: a file:// or other scheme would read this machine's files into the store."""
    if urlsplit(url).scheme.lower() not in ("http", "https"):
        raise ConfigError(f"source {source.id!r}, input {role!r}: origin URL {url!r} is not http:// or https://, "
                          "the only schemes downloaded; put such a file into the landing zone instead")


def seed(storage: Storage, source: Source, role: str, parts: tuple[str, ...]) -> str:
    """Copy the shipped sample file into the landing zone; returns its path."""
    sample = SAMPLE_DATA / source.inputs[role]
    if not sample.is_file():
        raise NothingLanded(f"nothing has landed for input {role!r} and there is no sample file {sample}",
                          source=source.id, file=storage.url_of(*parts),
                          hint="Put the input's file there, or declare its origin URL in the source's `urls`.")
    with sample.open("rb") as f:
        storage.write_stream(f, *parts)  # whole or not at all: a half copy would pass for a landed file
    return str(sample)


def download(storage: Storage, source: Source, role: str, url: str, parts: tuple[str, ...]) -> bool:
    """Fetch `url` into the landing file unless the origin answers that it did not change (304).
    True when bytes were downloaded."""
    validators_parts = (*parts[:-1], f".{parts[-1]}.http.json")
    # Validators are only worth sending for the file they were given with: none if the file is gone
    # (a 304 would leave nothing to ingest) or the URL was changed.
    validators = storage.read_json(*validators_parts, default={}) if storage.exists(*parts) else {}
    headers = _conditional_headers(validators) if validators.get("url") == url else {}
    try:
        response = urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=HTTP_TIMEOUT)
    except urllib.error.HTTPError as e:
        if e.code == 304:
            return False
        raise SourceError(f"cannot download input {role!r}: the origin answered HTTP {e.code} {e.reason}",
                          source=source.id, file=url,
                          hint="The file landed before stays; check the URL in the source's `urls`.") from None
    except (OSError, http.client.HTTPException) as e:  # URLError is an OSError; so are timeouts
        raise _Unreachable(getattr(e, "reason", None) or e) from None
    with response:  # in place once whole: a transfer cut short leaves the file landed before
        storage.write_stream(_OriginStream(response), *parts)
    storage.write_json({"url": url, "etag": response.headers.get("ETag"), "last_modified": response.headers.get("Last-Modified"),
                        "downloaded_at": datetime.now(UTC).isoformat()}, *validators_parts)
    return True


def _conditional_headers(validators: dict) -> dict[str, str]:
    headers = {}
    if validators.get("etag"):
        headers["If-None-Match"] = validators["etag"]
    if validators.get("last_modified"):
        headers["If-Modified-Since"] = validators["last_modified"]
    return headers
