"""The storage root on fsspec: a local folder or an s3:// prefix, the same code for both.

Layout under the root:
  snapshots/<source>/<sha256>/<file>     raw files, content-addressed, never edited (+ meta.json)
  state/sources/<source>.json            each source's current snapshots, status and quarantine reason
  staging/<source>/<key>.parquet         harmonized rows by what determines them (state says which are accepted)
  products/<product>/<version>/          immutable published versions, manifest.json written last
  catalog.yaml                           the intake 2 catalog
  locks/<name>.lock                      held by the one process publishing (exclusive create)
"""

from __future__ import annotations

import hashlib
import json
import os
import posixpath
import queue
import signal
import socket
import threading
import time
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import BinaryIO
from urllib.parse import quote

import fsspec
import pyarrow as pa
import pyarrow.parquet as pq

from ercan.errors import ConfigError, ErcanError

DEFAULT_ROOT = "./ercan-data"


class LockedError(ErcanError):
    """Another process holds the lock and did not release it in time."""


# Errors of a store that may pass if tried again (a dropped connection, a timeout, an S3 endpoint
# restarting); missing files, refused permissions and ercan's own errors will not.
_PERMANENT = (FileNotFoundError, FileExistsError, PermissionError, IsADirectoryError, NotADirectoryError)


def is_transient(error: BaseException) -> bool:
    """Whether a failed storage operation is worth retrying (the Prefect tasks retry these with backoff)."""
    if isinstance(error, (ErcanError, *_PERMANENT)):
        return False
    if isinstance(error, OSError):  # ConnectionError, TimeoutError, and s3fs's translation of S3 errors
        return True
    try:
        from botocore.exceptions import ConnectionError as BotoConnectionError, HTTPClientError
    except ImportError:  # no S3 support installed: nothing else here is transient
        return False
    return isinstance(error, BotoConnectionError | HTTPClientError)


def crash_point(name: str) -> None:
    """Where tests interrupt a run to prove the store stays readable: `ERCAN_CRASH_AT=name` kills the
    process here (SIGKILL); `ERCAN_STOP_AT=name` suspends it (SIGSTOP) until the test has changed the
    world around it (e.g. stopped the S3 endpoint) and sends SIGCONT. Unset, nothing happens."""
    # Signalled to this thread, not the process: a process-wide signal may be taken by another thread
    # first and let this one run on past the point (e.g. into a lock it then holds half-written).
    if os.environ.get("ERCAN_CRASH_AT") == name:
        signal.pthread_kill(threading.get_ident(), signal.SIGKILL)
    if os.environ.get("ERCAN_STOP_AT") == name:
        signal.pthread_kill(threading.get_ident(), signal.SIGSTOP)


# The tokens of the locks this process holds now: a lock file naming this process with another token
# is one it failed to remove (the store was unreachable when it released it), so it is free.
_HELD_TOKENS: set[str] = set()


def resolve_root(cli_value: str | None = None) -> str:
    """--storage, else $ERCAN_STORAGE, else ./ercan-data (local paths made absolute)."""
    url = cli_value or os.environ.get("ERCAN_STORAGE") or DEFAULT_ROOT
    if "://" not in url:
        return str(Path(url).expanduser().resolve())
    if not url.startswith(("s3://", "file://", "memory://")):
        raise ConfigError(f"storage {url!r} is not supported: use a local path or s3://bucket/prefix")
    return url.rstrip("/")


# The setting of the address the store is served at (Storage.link_of).
PUBLIC_URL = "ERCAN_PUBLIC_URL"


def is_web_link(link: str) -> bool:
    """Whether `link` (from `Storage.link_of`) is an address a browser opens, not a path in the store."""
    return link.startswith(("http://", "https://"))


def relative_href(page: str, target: str) -> str:
    """The link from the page at store path `page` to the store path `target`, relative to the page:
    links inside the store hold wherever the store is copied, served or hosted."""
    return quote(posixpath.relpath(target, posixpath.dirname(page) or "."))


# Local writes go to `<name>.tmp-<random>` first; a process killed before the rename leaves one behind.
TEMPORARY = ".tmp-"
STREAM_CHUNK = 8 << 20  # bytes a stream is copied by: S3 multipart parts are at least 5 MiB


class Storage:
    def __init__(self, url: str):
        self.url = url
        self.fs, self.root = fsspec.core.url_to_fs(url)
        self.protocol = self.fs.protocol if isinstance(self.fs.protocol, str) else self.fs.protocol[0]
        self.is_local = self.protocol in ("file", "local")

    def path(self, *parts: str) -> str:
        """The fs path of `parts` under the root; parts may not climb out of it."""
        rel = PurePosixPath(*parts)
        if rel.is_absolute() or ".." in rel.parts:
            raise ConfigError(f"path {str(rel)!r} would leave the storage root")
        return f"{self.root}/{rel}" if parts else self.root

    def url_of(self, *parts: str) -> str:
        """The full URL (with protocol) of `parts`, for readers outside this process."""
        p = self.path(*parts)
        return p if self.is_local else f"{self.protocol}://{p}"

    def link_of(self, *parts: str) -> str:
        """Where someone outside the store opens `parts` (a Prefect artifact, the CLI's output): under
        $ERCAN_PUBLIC_URL, the address the store is served at (S3 website, `ercan serve`, any web
        server), when it is set; else its place in the store (a local path or an s3:// URL), never a
        file:// link, which browsers refuse from a web page such as the Prefect UI."""
        public = os.environ.get(PUBLIC_URL, "").rstrip("/")
        return f"{public}/{quote(str(PurePosixPath(*parts)))}" if public else self.url_of(*parts)

    def exists(self, *parts: str) -> bool:
        return self.fs.exists(self.path(*parts))

    def read_bytes(self, *parts: str) -> bytes:
        return self.fs.cat_file(self.path(*parts))

    def write_bytes(self, data: bytes, *parts: str) -> None:
        """Readers see the old bytes or the new ones, never a part (local: temp file + rename;
        S3: a PUT is atomic)."""
        if self.is_local:
            with self._writing(*parts) as f:
                f.write(data)
        else:  # one request, where _writing's multipart upload takes three
            target = self.path(*parts)
            self.fs.makedirs(str(PurePosixPath(target).parent), exist_ok=True)
            self.fs.pipe_file(target, data)

    def write_stream(self, source: BinaryIO, *parts: str) -> tuple[str, int]:
        """Copy the open file `source` to `parts` a chunk at a time (memory flat with its size), in
        place only once complete (`_writing`); returns the bytes' SHA-256 and their number."""
        digest, size = hashlib.sha256(), 0
        with self._writing(*parts) as target:
            while chunk := source.read(STREAM_CHUNK):
                digest.update(chunk)
                target.write(chunk)
                size += len(chunk)
        return digest.hexdigest(), size

    def move(self, source: tuple[str, ...], *parts: str) -> None:
        """Move a file within the store (local: a rename; S3: a server-side copy, then a delete)."""
        self.fs.makedirs(str(PurePosixPath(self.path(*parts)).parent), exist_ok=True)
        self.fs.mv(self.path(*source), self.path(*parts))

    @contextmanager
    def _writing(self, *parts: str) -> Iterator[BinaryIO]:
        """`parts` open for writing, put in place only when the block completes: readers see the old
        bytes or all the new ones, and a block that raises leaves the old ones (or none). Local: a
        temporary name beside it, renamed over it at the end (a killed process leaves it behind, for
        remove_temporaries); S3: a multipart upload, completed at the end, aborted on an error (an
        upload never completed, e.g. of a killed process, is no object)."""
        target = self.path(*parts)
        self.fs.makedirs(str(PurePosixPath(target).parent), exist_ok=True)
        if self.is_local:
            tmp = f"{target}{TEMPORARY}{uuid.uuid4().hex}"
            try:
                with open(tmp, "wb") as f:
                    yield f
                crash_point(f"writing {'/'.join(parts)}")  # the new bytes complete, not yet in place
                os.replace(tmp, target)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        else:
            f = self.fs.open(target, "wb", autocommit=False)
            try:
                yield f
            except BaseException:
                try:
                    f.close()  # as fsspec's transactions do; with autocommit off, closing never completes the upload
                finally:
                    f.discard()  # aborts it
                raise
            f.close()  # uploads the last part
            f.commit()  # completes the upload: the object appears whole

    def read_json(self, *parts: str, default=None):
        if not self.exists(*parts):
            return default
        return json.loads(self.read_bytes(*parts))

    def write_json(self, obj, *parts: str) -> None:
        self.write_bytes(json.dumps(obj, indent=2, sort_keys=True, default=str).encode(), *parts)

    def listdir(self, *parts: str) -> list[str]:
        """Names (not paths) directly under `parts`; empty if it does not exist."""
        if not self.exists(*parts):
            return []
        return sorted(PurePosixPath(p).name for p in self.fs.ls(self.path(*parts), detail=False))

    def remove_temporaries(self, *parts: str) -> list[str]:
        """Remove the temporary files a killed writer of `parts` left beside it (see _writing).
        Only call while no other process can be writing `parts` (e.g. holding its lock)."""
        folder, name = parts[:-1], parts[-1]
        leftovers = [n for n in self.listdir(*folder) if n.startswith(name + TEMPORARY)]
        for leftover in leftovers:
            self.remove(*folder, leftover)
        return leftovers

    def write_parquet(self, table: pa.Table, *parts: str) -> int:
        return self.write_parquet_batches([table], table.schema, *parts)

    def write_parquet_batches(self, batches: Iterable[pa.Table], schema: pa.Schema, *parts: str) -> int:
        """Tables of `schema` written as one zstd Parquet file as they come (one row group or more
        each; from an iterator, the next one made in a thread while this one is written: both mostly
        in Arrow, which releases the GIL); in place only once all are written (see `_writing`: an error
        while producing them, e.g. a SourceError of a harmonizer, leaves nothing under the name).
        Returns the number of rows."""
        rows = 0
        with self._writing(*parts) as f, pq.ParquetWriter(f, schema, compression="zstd") as writer:
            for batch in batches if isinstance(batches, (list, tuple)) else _ahead(batches):
                writer.write_table(batch)  # a table of another schema is a ValueError
                rows += batch.num_rows
        return rows

    def read_parquet(self, *parts: str, strings_as_dictionary: bool = False) -> pa.Table:
        """The Parquet file as a table; `strings_as_dictionary` reads its text columns dictionary-encoded
        (each distinct string once per row group, not once per row: far less memory for repetitive
        columns such as source, unit, variable)."""
        with self.fs.open(self.path(*parts), "rb") as f:
            text = None
            if strings_as_dictionary:
                text = [field.name for field in pq.read_schema(f) if pa.types.is_string(field.type)]
            return pq.read_table(f, read_dictionary=text)

    def remove(self, *parts: str) -> None:
        if self.exists(*parts):
            self.fs.rm(self.path(*parts), recursive=True)

    @contextmanager
    def lock(self, name: str, *, wait: float | None = None, stale_after: float = 6 * 3600.0):
        """Hold `locks/<name>.lock` while the block runs: created exclusively (a local O_EXCL open,
        an S3 conditional PUT), so two processes never both hold it. A lock left by a process that
        died on this host, or older than `stale_after` seconds, is broken, and so is one this process
        failed to release (a retry after the store came back does not wait for itself). A lock held
        by a live process is waited for `wait` seconds (default $ERCAN_LOCK_WAIT, else 120)."""
        if wait is None:
            try:
                wait = float(os.environ.get("ERCAN_LOCK_WAIT", "120"))
            except ValueError:
                raise ConfigError(f"ERCAN_LOCK_WAIT={os.environ['ERCAN_LOCK_WAIT']!r} is not a number of seconds; "
                                  "set it to how long a run waits for another's publish, e.g. 600") from None
        path = self.path("locks", f"{name}.lock")
        self.fs.makedirs(self.path("locks"), exist_ok=True)
        mine = {"host": socket.gethostname(), "pid": os.getpid(), "since": datetime.now(UTC).isoformat(),
                "token": uuid.uuid4().hex}
        deadline = time.monotonic() + wait
        while True:
            try:
                with self.fs.open(path, "xb") as f:
                    f.write(json.dumps(mine).encode())
                _HELD_TOKENS.add(mine["token"])
                # Listings this process cached (s3fs does) may predate what others published while it waited.
                self.fs.invalidate_cache()
                break
            except FileExistsError:
                holder = self._lock_holder(path)
                if holder is not None and self._is_stale(holder, stale_after):
                    # Re-read just before removing: a fresh holder that replaced it in between stays.
                    if self._lock_holder(path) == holder:
                        self.fs.rm(path)
                    continue
                holder = holder or {}
                if time.monotonic() > deadline:
                    raise LockedError(
                        f"{self.url_of('locks', name + '.lock')} is held by {holder.get('host')} pid "
                        f"{holder.get('pid')} since {holder.get('since')}: another ercan run is publishing. "
                        "Wait for it to finish; if that process no longer exists, delete the lock file."
                    ) from None
                time.sleep(0.5)
        try:
            yield
        finally:
            _HELD_TOKENS.discard(mine["token"])
            if (self._lock_holder(path) or {}).get("token") == mine["token"]:
                self.fs.rm(path)

    def _lock_holder(self, path: str) -> dict | None:
        try:
            return json.loads(self.fs.cat_file(path))
        except (FileNotFoundError, ValueError):
            return None

    @staticmethod
    def _is_stale(holder: dict, stale_after: float) -> bool:
        since = datetime.fromisoformat(holder.get("since", "1970-01-01T00:00:00+00:00"))
        if (datetime.now(UTC) - since).total_seconds() > stale_after:
            return True
        if holder.get("host") == socket.gethostname():
            if holder.get("pid") == os.getpid():
                return holder.get("token") not in _HELD_TOKENS
            try:
                os.kill(int(holder["pid"]), 0)
            except ProcessLookupError:
                return True  # its process died (e.g. killed mid-publish)
            except (PermissionError, KeyError, ValueError):
                return False
        return False


_DONE = object()


def _ahead(items: Iterator) -> Iterator:
    """The items, the next one made in a thread of its own while the caller uses this one; at most one
    waits made. An error making them is raised here, where it would have been; the caller stopping
    (an error writing) stops the thread and closes the iterator."""
    made: queue.Queue = queue.Queue(maxsize=1)
    stop = threading.Event()

    def hand(item) -> bool:
        while not stop.is_set():
            try:
                made.put(item, timeout=0.1)
                return True
            except queue.Full:
                pass
        return False

    def make():
        try:
            for item in items:
                if not hand(item):
                    break
            else:
                hand(_DONE)
        except BaseException as e:  # noqa: BLE001 - raised again in the caller's thread
            hand(_Raised(e))
        finally:
            if stop.is_set() and hasattr(items, "close"):
                items.close()

    thread = threading.Thread(target=make, name="ercan-ahead", daemon=True)
    thread.start()
    try:
        while (item := made.get()) is not _DONE:
            if isinstance(item, _Raised):
                raise item.error
            yield item
    finally:
        stop.set()
        thread.join()


class _Raised:
    def __init__(self, error: BaseException):
        self.error = error
