"""What `ercan gc` removes from a store that otherwise only grows, and what it never removes.

Each run can leave, in the store:
  cache/<name>                     Prefect's cached accounting result of one inputs key (tens of MB),
                                   and the result records of failed task runs
  staging/<source>/<key>.*         a source's harmonized rows and gate results of earlier snapshots,
  staging/products/<product>/<key>.*   and the product gates' results of earlier contents
  reports/data_docs/<run id>/      the GX Data Docs of a run whose results changed (about 13 MB)
  reports/<report id>/             the report of a publish
  products/<product>/<version>/    a published version: only with its own rule (`versions`)
  snapshots/<source>/.incoming-<id>/   the partial copy of an ingest killed before it finished
                                   (ercan/snapshots.py): removed once idle for INGEST_IDLE, whatever
                                   the rule, since an ingest that is running writes it all the time

Of each kind, per group (a source's or a product's folder, else the kind), the newest `count`
items and/or those younger than `younger_than` stay. Whatever the current state points at stays
whatever the rule: the cache entry of the current inputs key (the one last published and the one
the next run computes), every source's accepted rows and current gate results, each product's last
gate, the latest Data Docs and every Data Docs a kept report links to, the report of each product's
latest version and the newest report, and, when versions are pruned, each product's latest version
and the one the catalog serves. Snapshots (the raw files every version traces back to) and the
landing zone are never touched (but for a killed ingest's partial copy).

Removal holds the publish lock, so no run publishes meanwhile, and goes in an order a crash cannot
break: a version's manifest first (it becomes an incomplete version, which readers skip and the next
publish removes), then the report index and the catalog without what goes, then the files.
Plain Python on the project's Storage: the same on a local folder and on S3.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import yaml

from ercan.catalog.build import REPORT_INDEX, build_catalog, entry_name, report_links
from ercan.errors import ConfigError
from ercan.gate_reports import DATA_DOCS
from ercan.pipeline import products_key
from ercan.publish import versions as list_versions
from ercan.report import REPORTS, latest_report
from ercan.snapshots import INCOMING
from ercan.storage import TEMPORARY, Storage

CACHE, STAGING, PRODUCTS, SNAPSHOTS = "cache", "staging", "products", "snapshots"
INGEST_IDLE = timedelta(hours=6)  # as the publish lock's: no running ingest leaves its copy untouched that long
_AGE = re.compile(r"(\d+)([smhdw])")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
# The run ids of Data Docs (gate_reports.new_run_id) and report ids (report.publish_report) start with
# their UTC creation time; a folder named otherwise is not one of ercan's and is left alone.
_DOCS_TIME, _REPORT_TIME = "%Y%m%dT%H%M%SZ", "v%Y%m%dT%H%M%S%fZ"
_LINKED_DOCS = re.compile(r"data_docs/([0-9]{8}T[0-9]{6}Z-[0-9a-f]+)/")


def parse_age(text: str) -> timedelta:
    """'30d' → 30 days; units s, m (minutes), h, d, w."""
    match = _AGE.fullmatch(text.strip())
    if not match or int(match[1]) == 0:
        raise ConfigError(f"age {text!r} is not a positive number with a unit: say e.g. 12h, 30d or 8w "
                          "(s, m minutes, h, d, w)")
    return timedelta(**{_UNITS[match[2]]: int(match[1])})


@dataclass(frozen=True)
class Keep:
    """Which items of a kind stay: the newest `count` of each group, and/or those younger than
    `younger_than`; with both, an item goes only when it is neither."""

    count: int | None = None
    younger_than: timedelta | None = None

    def __post_init__(self):
        if self.count is None and self.younger_than is None:
            raise ConfigError("say what to keep: a count (--keep N), an age (--older-than 30d), or both")
        if self.count is not None and self.count < 1:
            raise ConfigError(f"keep {self.count}: keep at least the newest one of each kind (1)")

    def keeps(self, rank: int, age: timedelta) -> bool:
        """Whether the item `rank` places from the newest of its group (0: the newest), `age` old, stays."""
        by_count = self.count is not None and rank < self.count
        by_age = self.younger_than is not None and age < self.younger_than
        return by_count or by_age


@dataclass(frozen=True)
class Item:
    kind: str  # cache | staging | data docs | report | version
    group: str  # what `Keep.count` counts in: a source's or product's folder, else the kind's
    path: str  # its store path (a folder, a file, or the key shared by a staging key's files)
    created: datetime
    bytes: int
    parts: tuple[tuple[str, ...], ...]  # what removing it removes (store parts of files or folders)
    current: bool = False  # what the current state points at: kept whatever the rule


@dataclass
class Plan:
    remove: list[Item] = field(default_factory=list)
    keep: list[Item] = field(default_factory=list)

    @property
    def bytes(self) -> int:
        return sum(item.bytes for item in self.remove)


def plan(storage: Storage, keep: Keep, versions: Keep | None = None, *, now: datetime | None = None) -> Plan:
    """What `collect` would remove with these rules, and what stays; removes nothing. `versions`:
    the rule for published versions (None: every version stays)."""
    now = now or datetime.now(UTC)
    found = Plan()

    def judge(items: Iterable[Item], rule: Keep) -> None:
        by_group: dict[str, list[Item]] = {}
        for item in items:
            by_group.setdefault(item.group, []).append(item)
        for group in by_group.values():
            for rank, item in enumerate(sorted(group, key=lambda i: i.created, reverse=True)):
                stays = item.current or rule.keeps(rank, now - item.created)
                (found.keep if stays else found.remove).append(item)

    if versions is not None:
        judge(_versions(storage), versions)
    judge(_cache(storage), keep)
    judge(_staging(storage), keep)
    judge(_reports(storage), keep)
    kept_reports = [item for item in found.keep if item.kind == "report"]
    judge(_data_docs(storage, kept_reports), keep)
    judge(_killed_ingests(storage), Keep(younger_than=INGEST_IDLE))
    return found


def collect(storage: Storage, keep: Keep, versions: Keep | None = None, *, now: datetime | None = None) -> Plan:
    """Remove what `plan` says goes, holding the publish lock; returns what went and what stayed."""
    with storage.lock("publish"):
        found = plan(storage, keep, versions, now=now)
        removed_versions = [item for item in found.remove if item.kind == "version"]
        removed_pages = {item.path + "/index.html" for item in found.remove if item.kind == "report"}
        for item in removed_versions:  # an incomplete version from here on: readers skip it
            storage.remove(*item.parts[0], "manifest.json")
        if removed_versions or removed_pages:
            links = report_links(storage)
            gone = {tuple(item.parts[0][1:]) for item in removed_versions}
            kept = {product: {version: page for version, page in pages.items()
                              if page not in removed_pages and (product, version) not in gone}
                    for product, pages in links.items()}
            storage.write_json({product: pages for product, pages in kept.items() if pages}, *REPORT_INDEX)
            build_catalog(storage)
        for item in found.remove:
            for parts in item.parts:
                storage.remove(*parts)
    return found


def _files(storage: Storage, *parts: str) -> list[dict]:
    """The files directly under `parts` with their size and modification time ('mtime' locally,
    'LastModified' on S3), written completely (a killed writer's temporary is left to its owner)."""
    if not storage.exists(*parts):
        return []
    return [info for info in storage.fs.ls(storage.path(*parts), detail=True)
            if info["type"] == "file" and TEMPORARY not in info["name"]]


def _name(info: dict) -> str:
    return info["name"].rstrip("/").rsplit("/", 1)[-1]


def _modified(info: dict) -> datetime:
    if "LastModified" in info:
        return info["LastModified"]
    return datetime.fromtimestamp(info["mtime"], UTC)


def _cache(storage: Storage) -> list[Item]:
    """Prefect's result records under cache/: the accounting's, named `account-<inputs key>`, counted
    apart from the records of failed task runs (random names), which would otherwise take its places."""
    current = _current_inputs_keys(storage)
    items = []
    for info in _files(storage, CACHE):
        name = _name(info)
        group = f"{CACHE}/{name.split('-', 1)[0]}-*" if "-" in name else f"{CACHE} (failed task runs)"
        items.append(Item("cache", group, f"{CACHE}/{name}", _modified(info), info["size"], ((CACHE, name),),
                          current=any(key in name for key in current)))
    return items


def _current_inputs_keys(storage: Storage) -> set[str]:
    """The inputs key the products were last published from, and the one a run would compute now (the
    sources' state may have moved on since, e.g. a product withheld): the accounting entry of either
    is what the next run reuses."""
    last = storage.read_json("state", "products.json", default={}).get("inputs_key")
    return {key for key in (last, products_key(storage)) if key}


def _staging(storage: Storage) -> list[Item]:
    """Staging files grouped by their key (`<key>.parquet`, `.places.parquet`, `.gx.json`,
    `.quality.parquet`, `.gate.json`), one group per source and per product folder."""
    current = _current_staging_keys(storage)
    folders = [(name,) for name in storage.listdir(STAGING) if name != PRODUCTS]
    folders += [(PRODUCTS, name) for name in storage.listdir(STAGING, PRODUCTS)]
    items = []
    for folder in folders:
        by_key: dict[str, list[dict]] = {}
        for info in _files(storage, STAGING, *folder):
            by_key.setdefault(_name(info).split(".", 1)[0], []).append(info)
        group = "/".join((STAGING, *folder))
        items += [Item("staging", group, f"{group}/{key}.*", max(_modified(i) for i in infos),
                       sum(i["size"] for i in infos), tuple((STAGING, *folder, _name(i)) for i in infos),
                       current=key in current)
                  for key, infos in by_key.items()]
    return items


def _current_staging_keys(storage: Storage) -> set[str]:
    """Every source's accepted rows and current gate (also of a source no longer registered: its state
    still names them), every product's last gate, and the results the latest Data Docs show."""
    keys = set()
    for name in storage.listdir("state", "sources"):
        state = storage.read_json("state", "sources", name, default={})
        keys |= {(state.get("accepted") or {}).get("key"), state.get("gate_key"), state.get("quality")}
    for name in storage.listdir("state", "product_gates"):
        keys.add(storage.read_json("state", "product_gates", name, default={}).get("key"))
    shown = storage.read_json("state", "data_docs.json", default={}).get("results", {})
    keys |= {parts[-1].split(".", 1)[0] for parts in shown.values()}
    return keys - {None}


def _folders(storage: Storage, parts: tuple[str, ...], time_format: str) -> list[tuple[str, datetime]]:
    """The folders under `parts` named after their UTC creation time in `time_format` (the part
    before the first '-'), with that time."""
    found = []
    for name in storage.listdir(*parts):
        try:
            found.append((name, datetime.strptime(name.split("-", 1)[0], time_format).replace(tzinfo=UTC)))
        except ValueError:
            continue
    return found


def _size(storage: Storage, *parts: str) -> int:
    return storage.fs.du(storage.path(*parts))


def _reports(storage: Storage) -> list[Item]:
    """The reports under reports/; current: the report of each product's latest version (what the
    catalog links), and the newest (what a run that publishes nothing links to)."""
    current = {latest_report(storage)}
    for product, pages in report_links(storage).items():
        latest = next(iter(list_versions(storage, product)), None)
        current.add(pages.get(latest["version"]) if latest else None)
    return [Item("report", REPORTS, f"{REPORTS}/{name}", created, _size(storage, REPORTS, name), ((REPORTS, name),),
                 current=f"{REPORTS}/{name}/index.html" in current)
            for name, created in _folders(storage, (REPORTS,), _REPORT_TIME)]


def _data_docs(storage: Storage, kept_reports: list[Item]) -> list[Item]:
    """The Data Docs runs under reports/data_docs/; current: the latest, and every one a kept report links to."""
    current = {storage.read_json("state", "data_docs.json", default={}).get("run_id")}
    for report in kept_reports:
        page = storage.read_bytes(report.path, "index.html").decode("utf-8", "replace")
        current |= set(_LINKED_DOCS.findall(page))
    folder = "/".join(DATA_DOCS)
    return [Item("data docs", folder, f"{folder}/{run}", created, _size(storage, *DATA_DOCS, run),
                 ((*DATA_DOCS, run),), current=run in current)
            for run, created in _folders(storage, DATA_DOCS, _DOCS_TIME)]


def _versions(storage: Storage) -> list[Item]:
    """Every complete published version; current: each product's latest and the one the catalog serves."""
    catalog = yaml.safe_load(storage.read_bytes("catalog.yaml")) if storage.exists("catalog.yaml") else {}
    served = set((catalog or {}).get("aliases", {}).values())
    items = []
    for product in storage.listdir(PRODUCTS):
        for rank, manifest in enumerate(list_versions(storage, product)):
            version = manifest["version"]
            items.append(Item(
                "version", f"{PRODUCTS}/{product}", f"{PRODUCTS}/{product}/{version}",
                datetime.fromisoformat(manifest["created_at"]), _size(storage, PRODUCTS, product, version),
                ((PRODUCTS, product, version),), current=rank == 0 or entry_name(product, version) in served))
    return items


def _killed_ingests(storage: Storage) -> list[Item]:
    """The `.incoming-<id>` folders under snapshots/<source>/, each as old as its newest file (a file
    being written is one too: its temporary's time moves while it is written)."""
    items = []
    for source in storage.listdir(SNAPSHOTS):
        for name in storage.listdir(SNAPSHOTS, source):
            if not name.startswith(INCOMING):
                continue
            files = [info for info in storage.fs.ls(storage.path(SNAPSHOTS, source, name), detail=True)
                     if info["type"] == "file"]
            created = max((_modified(info) for info in files), default=datetime.fromtimestamp(0, UTC))
            items.append(Item("killed ingest", SNAPSHOTS, f"{SNAPSHOTS}/{source}/{name}", created,
                              sum(info["size"] for info in files), ((SNAPSHOTS, source, name),)))
    return items
