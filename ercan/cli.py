"""The `ercan` command line. Exit status: 0 all published, 1 a source was quarantined or a product withheld,
or the store failed or stayed locked (nothing half-published), 2 usage/config error.

Output: rich tables on stdout, errors on stderr; rich drops colours when stdout is not a terminal or
NO_COLOR is set, and the progress bar of a run is shown only on a terminal. `--quiet` prints only
errors, `--json` one JSON document on stdout for scripts.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from ercan.errors import ConfigError, ErcanError


def examples(*pairs: tuple[str, str], footer: str = "") -> str:
    """A command's help epilog: each example as a dim comment line over its command line."""
    lines = ["[bold]Examples[/]"]
    for what, command in pairs:
        lines += [f"[dim]# {escape(what)}[/]", escape(command)]
    return "\n".join(lines) + (f"\n\n{footer}" if footer else "")


app = typer.Typer(
    help="ercan: the open data pipeline for ecosystem restoration and carbon-sink monitoring.",
    epilog=examples(
        ("run every source and publish what changed into ./ercan-data", "ercan run"),
        ("what each source's gate decided", "ercan sources"),
        ("a steward's fix: the source again from its snapshots", "ercan rerun fra2020"),
        ("the published versions of a product", "ercan versions carbon_stocks"),
        ("more on a command", "ercan run --help"),
    ),
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    rich_markup_mode="rich",
)
console = Console(highlight=False)
errors = Console(stderr=True, highlight=False)

def _version(asked: bool) -> None:
    if asked:
        from importlib.metadata import version

        from ercan.publish import code_version

        code = code_version()  # what every manifest records as the code that built it
        commit = f", git {code['git_commit'][:12]}" if "git_commit" in code else ""
        console.print(f"ercan {code['package']}{commit} (Python {code['python']}, Prefect {version('prefect')}, "
                      f"Great Expectations {version('great-expectations')}, pandas {version('pandas')}, "
                      f"pyarrow {version('pyarrow')})", soft_wrap=True)  # one line, for scripts, at any width
        raise typer.Exit()


@app.callback()
def _main(version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                                help="The version of ercan (and its commit) and of its stack.")] = False):
    """ercan: the open data pipeline for ecosystem restoration and carbon-sink monitoring."""


StorageOption = Annotated[
    str | None,
    typer.Option("--storage", help="Storage root: a path or s3://bucket/prefix (default: $ERCAN_STORAGE, else ./ercan-data)."),
]


def _storage(url: str | None, out: Output | None = None):
    from ercan.storage import Storage, resolve_root

    try:
        return Storage(resolve_root(url))
    except ConfigError as e:
        raise _fail(e, 2, out or Output()) from None


EXIT_STATUS = ("Exit status: 0 all published, 1 a source quarantined or a product withheld (the rest published), "
               "or the store failed or stayed locked (nothing half-published), 2 usage or configuration error.")
QuietOption = Annotated[bool, typer.Option("--quiet", "-q", help="Print only errors.")]
JsonOption = Annotated[
    bool, typer.Option("--json", help="Print one JSON document on stdout and nothing else (errors still go to stderr).")
]


@dataclass(frozen=True)
class Output:
    """What a command prints: tables and messages, nothing but errors (`--quiet`), or one JSON document (`--json`)."""

    quiet: bool = False
    as_json: bool = False

    def print(self, *renderables) -> None:
        if not (self.quiet or self.as_json):
            console.print(*renderables)

    def status(self, message: str):
        """A spinner with `message` while a step runs, on a terminal only."""
        interactive = console.is_terminal and not (self.quiet or self.as_json)
        return console.status(escape(message)) if interactive else nullcontext()

    def document(self, document: dict) -> None:
        if self.as_json:
            typer.echo(json.dumps(document, indent=2, default=str))


def _fail(error: Exception, status: int, out: Output = Output()) -> typer.Exit:
    errors.print(f"[bold red]error:[/] {error}")
    out.document({"error": str(error), "exit_status": status})
    return typer.Exit(status)


DaskOption = Annotated[bool, typer.Option("--dask", help="Run the tasks on a temporary local Dask cluster (prefect-dask).")]
DaskAddressOption = Annotated[
    str | None, typer.Option("--dask-address", help="Run the tasks on an existing Dask cluster (tcp://host:8786).")
]


@app.command(epilog=examples(
    ("every source; the store in ./ercan-data", "ercan run"),
    ("two sources (the products are still built from every accepted one)", "ercan run --source fra2020 --source gcb2019"),
    ("the store on S3 (keys and endpoint from the AWS environment variables)", "ercan run --storage s3://bucket/ercan"),
    ("for scripts: the served version of a product", "ercan run --json | jq -r .products.carbon_stocks.version"),
    footer=EXIT_STATUS,
))
def run(
    source: Annotated[list[str] | None, typer.Option("--source", help="Run only this source (repeatable).")] = None,
    storage: StorageOption = None,
    force: Annotated[bool, typer.Option("--force", help="Ignore every cache.")] = False,
    dask: DaskOption = False,
    dask_address: DaskAddressOption = None,
    quiet: QuietOption = False,
    json_: JsonOption = False,
) -> None:
    """Run the nightly pipeline now (Prefect's ephemeral mode unless PREFECT_API_URL is set)."""
    _run_flow(source or None, storage, force, "ingest", dask_address or ("local" if dask else None), Output(quiet, json_))


@app.command(epilog=examples(
    ("a source again from its current snapshots", "ercan rerun fra2020"),
    ("its kept rows validated again, after a change to its suite", "ercan rerun fra2020 --from validate --force"),
    ("every source's accepted rows accounted and published again", "ercan rerun --all --from account"),
    ("only errors; the exit status says whether it was accepted", "ercan rerun fra2020 --quiet && echo accepted"),
    footer=EXIT_STATUS,
))
def rerun(
    source: Annotated[list[str] | None, typer.Argument(help="The source(s) to rerun (or --all).")] = None,
    all_sources: Annotated[bool, typer.Option("--all", help="Rerun every source.")] = False,
    from_stage: Annotated[
        str, typer.Option("--from", help="Start at ingest|harmonize|validate|account|publish; earlier stages' results are reused.")
    ] = "ingest",
    force: Annotated[bool, typer.Option("--force", help="Ignore the caches of the stages from --from on.")] = False,
    storage: StorageOption = None,
    dask: DaskOption = False,
    dask_address: DaskAddressOption = None,
    quiet: QuietOption = False,
    json_: JsonOption = False,
) -> None:
    """What a data steward runs after fixing a source's data or suite: the source again from a stage.

    A rerun that passes the gate lifts the source's quarantine. Runs are named and tagged in the
    Prefect UI (source:ID, from:STAGE, force).
    """
    from ercan.errors import did_you_mean
    from ercan.pipeline import STAGES

    out = Output(quiet, json_)
    if bool(source) == all_sources:
        raise _fail(ConfigError("name the source(s) to rerun, or pass --all (not both)"), 2, out)
    if from_stage not in STAGES:
        raise _fail(ConfigError(f"unknown stage {from_stage!r}{did_you_mean(from_stage, STAGES)}; the stages are {', '.join(STAGES)}"), 2, out)
    _run_flow(source or None, storage, force, from_stage, dask_address or ("local" if dask else None), out)


def _prefect_defaults() -> None:
    """What `make run` exports, for every command that starts Prefect (set before Prefect is imported:
    it reads its settings then); a variable already set wins."""
    from ercan.sources import PROJECT_ROOT

    # Prefect's database and logs stay in the project (as with `make run`), not in ~/.prefect.
    os.environ.setdefault("PREFECT_HOME", str(PROJECT_ROOT / ".prefect"))
    # No usage reports: without network its telemetry thread prints "database is locked" tracebacks.
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    # Prefect's 20 s for its temporary server to start is too short on a busy 2-core machine.
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")


def _run_flow(sources: list[str] | None, storage: str | None, force: bool, from_stage: str, dask: str | None,
              out: Output) -> None:
    """Run the pipeline flow in this process and print what happened; exit 1 if a source is not accepted
    or a product withheld."""
    _prefect_defaults()
    try:
        from ercan.sources import get, registry
        from ercan.storage import resolve_root

        for source_id in sources or []:
            get(source_id)  # a typo fails here, before Prefect starts a server
        resolve_root(storage)
        from ercan.flows.nightly import nightly, task_runner
        from ercan.pipeline import STAGES

        pipeline_flow = nightly.with_options(task_runner=task_runner(dask)) if dask else nightly
        gates = len(sources or registry()) if STAGES.index(from_stage) <= STAGES.index("validate") else 0
        if gates:  # GX's import (~3 s) runs while Prefect starts its temporary server
            from ercan.validation import warm_up

            warm_up()
        with _flow_progress(out, gates):
            state = pipeline_flow(sources=sources, storage=storage, force=force, from_stage=from_stage,
                                  return_state=True)
        summary = state.result(raise_on_failure=False)  # a Failed run (a source quarantined) still gives its summary
        if isinstance(summary, BaseException):
            raise summary
    except ConfigError as e:
        raise _fail(e, 2, out) from None
    except ErcanError as e:  # e.g. another run held the publish lock too long
        raise _fail(e, 1, out) from None
    except Exception as e:
        from ercan.storage import is_transient

        if not is_transient(e):
            raise
        raise _fail(f"the store {resolve_root(storage)} failed even after retries: {type(e).__name__}: {e}. Nothing "
                    "was half-published: the catalog still serves the previous versions. Run again once the store "
                    "is reachable; it removes what this run left.", 1, out) from None
    table = Table("source", "status", "rows", "note", title=f"ercan from {summary['from_stage']} → {summary['storage']}")
    not_accepted = False
    for sid, outcome in summary["sources"].items():
        not_accepted |= outcome["status"] != "accepted"
        note = outcome["reason"] or ("unchanged (cached gate)" if outcome["cached"] else "")
        table.add_row(sid, _status(outcome["status"]), str(outcome["rows"] or ""), note)
    if summary["sources"]:
        out.print(table)
    if summary["account_cached"]:
        out.print("accounting served from cache (no accepted input changed)")
    if summary["published"]:
        for item in summary["published"]:
            out.print(f"published {item['product']} {item['version']} ({item['rows']} rows)")
    else:
        out.print("no product changed: nothing new published")
    for product, reason in summary["withheld"].items():
        errors.print(f"[bold red]withheld[/] {product}: {reason}")
    if summary["data_docs"]:
        out.print(f"quality report (GX Data Docs): {summary['data_docs']}")
    if summary["report"]:
        out.print(f"report of the published versions: {summary['report']}")
    if not_accepted:
        errors.print("[bold red]some sources were not accepted[/]; the rest were published. See `ercan sources`.")
    if summary["withheld"]:
        errors.print("[bold red]some products failed their quality gate[/] and were not published; their previous "
                     "versions stay served. See the `quality` product and docs/quality.md.")
    status = 1 if not_accepted or summary["withheld"] else 0
    out.document(_run_document(summary, status))
    if status:
        raise typer.Exit(status)


def _status(status: str) -> str:
    """A source's status, green when accepted, red when not (new: not run yet, plain)."""
    return {"accepted": "[green]accepted[/]", "new": "new"}.get(status, f"[red]{status}[/]")


def _run_document(summary: dict, status: int) -> dict:
    """The `--json` document of a run: every source's gate outcome, every product's served version and
    whether this run published it, and the exit status."""
    from ercan.publish import PRODUCTS
    from ercan.publish import versions as list_versions

    store = _storage(summary["storage"])
    published = {item["product"] for item in summary["published"]}
    products = {}
    for name in PRODUCTS:
        latest = next(iter(list_versions(store, name)), None)
        products[name] = {
            "version": latest and latest["version"],
            "rows": latest and latest["row_count"],
            "published": name in published,
            "withheld": summary["withheld"].get(name),
        }
    sources_ = {sid: {k: v for k, v in outcome.items() if k != "source"} for sid, outcome in summary["sources"].items()}
    return {"storage": summary["storage"], "from_stage": summary["from_stage"], "sources": sources_,
            "account_cached": summary["account_cached"], "products": products, "data_docs": summary["data_docs"],
            "report": summary["report"], "exit_status": status}


class _TaskRunProgress(logging.Handler):
    """Feeds the progress bar from the Prefect engine's log records ("Beginning flow run …", and
    "Finished in state …" from every task run): one step per source gate (the long part of a run), the
    other tasks named as they end. Warnings and errors are printed above the bar."""

    def __init__(self, progress: Progress, bar, formatter: logging.Formatter | None):
        from ercan.tasks.gate import gate

        super().__init__(logging.INFO)
        self.progress, self.bar, self.gate_task = progress, bar, gate.name  # its runs are named "gate SOURCE"
        self.setFormatter(formatter)

    def emit(self, record: logging.LogRecord) -> None:
        task = getattr(record, "task_name", None)
        if task and record.getMessage().startswith("Finished in state"):
            gate = task == self.gate_task
            self.progress.update(self.bar, advance=int(gate), last=record.task_run_name if gate else task)
            if self.progress.tasks[0].finished:
                self.progress.update(self.bar, description="account and publish")
        elif record.getMessage().startswith("Beginning flow run"):  # Prefect's server is up, the gates start
            self.progress.update(self.bar, last="flow run started")
        if record.levelno >= logging.WARNING:
            self.progress.console.print(self.format(record), markup=False, highlight=False)


@contextmanager
def _flow_progress(out: Output, gates: int):
    """Prefect's console log for the rest of the command: unchanged when output goes to a pipe or file
    (CI logs keep it), only errors with --quiet or --json, and on a terminal a progress bar of the
    source gates in its place, then only warnings and errors."""
    from prefect.logging.handlers import PrefectConsoleHandler

    root = logging.getLogger()
    prefect_consoles = [h for h in root.handlers if isinstance(h, PrefectConsoleHandler)]
    if out.quiet or out.as_json:
        for handler in prefect_consoles:
            handler.setLevel(logging.ERROR)
    if out.quiet or out.as_json or not (console.is_terminal and errors.is_terminal):
        yield
        return
    for handler in prefect_consoles:
        handler.setLevel(logging.CRITICAL + 1)  # the bar's handler prints the warnings and errors meanwhile
    columns = (SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn(), TextColumn("[dim]{task.fields[last]}"))
    with Progress(*columns, console=errors, transient=True) as progress:
        bar = progress.add_task("source gates" if gates else "account and publish",
                                total=gates or None, last="starting Prefect…")
        feed = _TaskRunProgress(progress, bar, prefect_consoles[0].formatter if prefect_consoles else None)
        root.addHandler(feed)
        try:
            yield
        finally:
            root.removeHandler(feed)
            for handler in prefect_consoles:
                handler.setLevel(logging.WARNING)


@app.command(epilog=examples(
    ("the Prefect server to register with", "export PREFECT_API_URL=http://127.0.0.1:4200/api"),
    ("nightly at 02:00 UTC; the store in ./ercan-data", "ercan deploy"),
    ("at 01:30 UTC, the store on S3", 'ercan deploy --cron "30 1 * * *" --storage s3://bucket/ercan'),
    ("then a worker runs the deployments", "prefect worker start --pool ercan"),
))
def deploy(
    cron: Annotated[str, typer.Option("--cron", help="When the nightly run starts, in UTC.")] = "0 2 * * *",
    pool: Annotated[str, typer.Option("--pool", help="The process work pool (created if missing).")] = "ercan",
    storage: StorageOption = None,
    dask: DaskOption = False,
    dask_address: DaskAddressOption = None,
) -> None:
    """Register the nightly and the rerun deployments with the Prefect server at PREFECT_API_URL.

    The nightly one runs on a cron schedule in UTC; a worker of the work pool runs both.
    """
    _prefect_defaults()
    from prefect.settings import PREFECT_API_URL

    from ercan.storage import resolve_root

    api = PREFECT_API_URL.value()
    if not api:
        raise _fail(ConfigError(
            "ercan deploy needs a Prefect server: start one (`prefect server start`) and "
            "export PREFECT_API_URL=http://127.0.0.1:4200/api (see docs/operations.md)"
        ), 2)
    try:
        storage_url = resolve_root(storage)
        from ercan.flows.deployments import register

        register(storage_url, cron=cron, pool=pool, dask=dask_address or ("local" if dask else None))
    except ConfigError as e:
        raise _fail(e, 2) from None
    except OSError as e:  # httpx's connection errors are OSErrors too
        raise _fail(ConfigError(f"cannot reach the Prefect server at {api}: {e}. Is `prefect server start` running?"), 2) from None
    console.print(f"registered ercan/nightly (cron {cron!r} UTC) and ercan/rerun on work pool {pool!r} at {api}; store {storage_url}")
    console.print(f"start a worker:   prefect worker start --pool {pool}")
    console.print("rerun a source:   prefect deployment run ercan/rerun --param 'sources=[\"fra2020\"]' --param from_stage=harmonize")


@app.command(epilog=examples(
    ("a new release of a source's file (the name tells which input it is)",
     "ercan ingest fra2020 ~/Downloads/1_Forest_extent_characteristics_and_changes_en.xlsx"),
    ("a renamed file: say which input it is for", "ercan ingest fra2020 extent-2026.xlsx --role extent"),
    ("then gate and publish it", "ercan rerun fra2020"),
))
def ingest(
    source: Annotated[str, typer.Argument(help="Source id (see `ercan sources`).")],
    paths: Annotated[list[str], typer.Argument(help="Raw files (local paths or URLs).")],
    role: Annotated[str | None, typer.Option("--role", help="The input the file is for, when its name does not tell.")] = None,
    storage: StorageOption = None,
    quiet: QuietOption = False,
    json_: JsonOption = False,
) -> None:
    """Add raw files to a source's snapshots and make them current (the next run harmonizes them)."""
    from ercan import snapshots
    from ercan.sources import get

    out = Output(quiet, json_)
    ingested = []
    try:
        harmonizer = get(source)
        store = _storage(storage, out)
        for path in paths:
            with out.status(f"reading, hashing and storing {Path(path).name}…"):
                meta = snapshots.ingest(store, harmonizer, role or _role_of(harmonizer, path), path, steward=True)
            ingested.append({k: meta[k] for k in ("role", "name", "sha256", "bytes", "new")})
            what = "new snapshot" if meta["new"] else "already stored; made current"
            out.print(f"{source}/{meta['role']}: {meta['name']} sha256 {meta['sha256'][:12]}… ({what})")
    except ErcanError as e:
        raise _fail(e, 2, out) from None
    out.document({"source": source, "storage": store.url, "snapshots": ingested, "exit_status": 0})


def _role_of(harmonizer, path: str) -> str:
    inputs = harmonizer.source.inputs
    if len(inputs) == 1:
        return next(iter(inputs))
    by_name = [role for role, rel in inputs.items() if Path(rel).name == Path(path).name]
    if len(by_name) == 1:
        return by_name[0]
    raise ConfigError(
        f"cannot tell which input of {harmonizer.source.id!r} {Path(path).name!r} is for; "
        f"pass --role, one of {sorted(inputs)}"
    )


@app.command(epilog=examples(
    ("every source of the store in ./ercan-data", "ercan sources"),
    ("the sources not accepted, for a script",
     """ercan sources --json | jq -r '.sources | to_entries[] | select(.value.status != "accepted") | .key'"""),
))
def sources(storage: StorageOption = None, quiet: QuietOption = False, json_: JsonOption = False) -> None:
    """The registered sources with their current snapshots, status and quarantine reason."""
    from ercan import state
    from ercan.sources import registry

    out = Output(quiet, json_)
    store = _storage(storage, out)
    table = Table("source", "title", "snapshots", "status", "reason", title="ercan sources")
    listing = {}
    for sid, harmonizer in registry().items():
        current = state.load(store, sid)
        snaps = {role: s["sha256"] for role, s in sorted(current.get("current", {}).items())}
        listing[sid] = {"title": harmonizer.source.title, "snapshots": snaps, "status": current.get("status", "new"),
                        "reason": current.get("reason")}
        table.add_row(sid, harmonizer.source.title, ", ".join(f"{role}:{sha[:12]}" for role, sha in snaps.items()) or "-",
                      _status(listing[sid]["status"]), listing[sid]["reason"] or "")
    out.print(table)
    out.document({"storage": store.url, "sources": listing, "exit_status": 0})


@app.command(epilog=examples(
    ("every product's versions", "ercan versions"),
    ("what changed in each version, and the largest changes of the newest", "ercan versions carbon_stocks --diff"),
    ("the version before the newest, for a script", "ercan versions carbon_stocks --json | jq -r '.products.carbon_stocks[1].version'"),
))
def versions(
    product: Annotated[str | None, typer.Argument(help="One product (default: all).")] = None,
    diff: Annotated[bool, typer.Option("--diff", help="Show what changed in each version; the largest changes of the newest.")] = False,
    storage: StorageOption = None,
    quiet: QuietOption = False,
    json_: JsonOption = False,
) -> None:
    """The published versions, newest first (each stays loadable from the catalog)."""
    from ercan.errors import did_you_mean
    from ercan.publish import PRODUCTS
    from ercan.publish import versions as list_versions

    out = Output(quiet, json_)
    if product and product not in PRODUCTS:
        raise _fail(ConfigError(f"unknown product {product!r}{did_you_mean(product, PRODUCTS)}"), 2, out)
    store = _storage(storage, out)
    table = Table("product", "version", "created", "rows", "sources", *(["changes"] if diff else []), title="ercan versions")
    listing = {}
    for name in [product] if product else PRODUCTS:
        manifests = list_versions(store, name)
        listing[name] = [{"version": m["version"], "created_at": m["created_at"], "rows": m["row_count"],
                          "sources": [s["id"] for s in m.get("sources", [])], "changes": m.get("changes")}
                         for m in manifests]
        for manifest in manifests:
            sources_ = ", ".join(s["id"] for s in manifest.get("sources", []))
            row = [name, manifest["version"], manifest["created_at"][:19], str(manifest["row_count"]), sources_]
            if diff:
                c = manifest.get("changes")
                row.append(f"+{c['added']} −{c['removed']} ~{c['changed']}" if c else "first version")
            table.add_row(*row)
        if diff and product and manifests and manifests[0].get("changes"):
            changes = store.read_json("products", name, manifests[0]["version"], "changes.json")
            largest = Table(title=f"largest changes in {manifests[0]['version']} since {changes['from_version']}")
            for column in (changes["largest_changes"] or [{}])[0]:
                largest.add_column(column)
            for change in changes["largest_changes"]:
                largest.add_row(*("" if v is None else str(v) for v in change.values()))
            out.print(table)
            out.print(largest)
            out.document({"storage": store.url, "products": listing, "largest_changes": changes["largest_changes"],
                          "exit_status": 0})
            return
    out.print(table)
    out.document({"storage": store.url, "products": listing, "exit_status": 0})


@app.command(epilog=examples(
    ("what would go, and how many bytes, keeping the newest 5 of each kind", "ercan gc --dry-run"),
    ("keep the newest 3, and anything younger than 30 days", "ercan gc --keep 3 --older-than 30d"),
    ("also published versions older than a year (never a product's latest)", "ercan gc --versions-older-than 365d"),
    footer="Exit status: 0 done, 1 another run held the publish lock too long, 2 usage error.",
))
def gc(
    keep: Annotated[int | None, typer.Option("--keep", help="Keep the newest N of each kind (default 5 when no --older-than).")] = None,
    older_than: Annotated[str | None, typer.Option("--older-than", help="Remove only what is older than AGE (12h, 30d, 8w).")] = None,
    versions_: Annotated[int | None, typer.Option("--versions", help="Also remove published versions beyond the newest N of each product.")] = None,
    versions_older_than: Annotated[str | None, typer.Option("--versions-older-than", help="Also remove published versions older than AGE.")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="List what would be removed, and its bytes; remove nothing.")] = False,
    storage: StorageOption = None,
    quiet: QuietOption = False,
    json_: JsonOption = False,
) -> None:
    """Prune what the store only grows: accounting caches, old staging, Data Docs and reports.

    Whatever the current state points at stays (the current inputs' cache, the accepted rows, the
    latest Data Docs and reports); published versions stay unless --versions or
    --versions-older-than asks, and then each product's latest and served version still stays.
    """
    from rich.filesize import decimal

    from ercan import retention

    out = Output(quiet, json_)
    try:
        rule = retention.Keep(5 if keep is None and older_than is None else keep,
                              older_than and retention.parse_age(older_than))
        versions_rule = None
        if versions_ is not None or versions_older_than:
            versions_rule = retention.Keep(versions_, versions_older_than and retention.parse_age(versions_older_than))
        store = _storage(storage, out)
        with out.status("listing the store…"):
            found = (retention.plan if dry_run else retention.collect)(store, rule, versions_rule)
    except ConfigError as e:
        raise _fail(e, 2, out) from None
    except ErcanError as e:  # another run held the publish lock too long
        raise _fail(e, 1, out) from None
    table = Table("kind", "created", "size", title=f"ercan gc → {store.url}" + (" (dry run)" if dry_run else ""))
    table.add_column("path", overflow="fold")  # whole, on a narrow terminal too: it says what went
    for item in found.remove:
        table.add_row(item.kind, f"{item.created:%Y-%m-%d %H:%M}", decimal(item.bytes), item.path)
    if found.remove:
        out.print(table)
    current = sum(item.current for item in found.keep)
    out.print(f"{'would remove' if dry_run else 'removed'} {len(found.remove)} item(s), {decimal(found.bytes)}; "
              f"kept {len(found.keep)} ({current} current, the rest by the rule)")
    out.document({"storage": store.url, "dry_run": dry_run, "bytes": found.bytes, "kept": len(found.keep),
                  "removed": [{"kind": i.kind, "path": i.path, "created": i.created.isoformat(), "bytes": i.bytes}
                              for i in found.remove], "exit_status": 0})


@app.command(epilog=examples(
    ("after a change to the field registry (ercan/schema.py) or a product's columns", "ercan generate"),
    ("in CI: exit 1 if a generated file is stale", "ercan generate --check"),
))
def generate(
    check: Annotated[bool, typer.Option("--check", help="Only check the files are current (exit 1 if not).")] = False,
) -> None:
    """Regenerate the files derived from the field registry and the products' columns.

    They are docs/data_dictionary.md, expectations/schema.json, expectations/products/<product>.schema.json
    the source index in docs/sources.md and sample_data/README.md (from the source declarations) and
    the guide's list of the sources with a hook (from the hooks' docstrings).
    """
    from ercan.publish import PRODUCTS
    from ercan.schema import render_data_dictionary
    from ercan.sources import PROJECT_ROOT, registry, render_hooks, render_index, with_index
    from ercan.validation import generated_suites

    stale = []
    index = render_index(registry())
    generated = {PROJECT_ROOT / "docs" / "data_dictionary.md": render_data_dictionary(PRODUCTS), **generated_suites()}
    for page in (PROJECT_ROOT / "docs" / "sources.md", PROJECT_ROOT / "sample_data" / "README.md"):
        generated[page] = with_index(page.read_text(encoding="utf-8"), index)
    guide = PROJECT_ROOT / "docs" / "adding_a_source.md"
    generated[guide] = with_index(guide.read_text(encoding="utf-8"), render_hooks(registry()))
    for path, text in generated.items():
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            stale.append(path)
            if not check:
                path.parent.mkdir(parents=True, exist_ok=True)
                Path(path).write_text(text, encoding="utf-8")
    if check and stale:
        errors.print("stale: " + ", ".join(str(p) for p in stale) + " (run `ercan generate`)")
        raise typer.Exit(1)
    console.print("generated files are current" if check else f"wrote {len(stale)} file(s)")


@app.command(epilog=examples(
    ("the store in ./ercan-data at http://127.0.0.1:8000/ (the latest report)", "ercan serve"),
    ("another store, another port", "ercan serve --storage /srv/ercan-data --port 8081"),
    ("links in Prefect artifacts and `ercan run`'s output to it", "export ERCAN_PUBLIC_URL=http://127.0.0.1:8000"),
    footer="Ctrl-C stops it.",
))
def serve(
    storage: StorageOption = None,
    port: Annotated[int, typer.Option("--port", help="The port on 127.0.0.1 (0: any free one).")] = 8000,
) -> None:
    """Serve a local store's reports, Data Docs, products and catalog read-only on 127.0.0.1.

    For a steward without S3 hosting: open the printed address in a browser. Only GET and HEAD of
    catalog.yaml, reports/ and products/ are answered.
    """
    from ercan.serve import addresses, make_server

    store = _storage(storage)
    if not store.is_local:
        raise _fail(ConfigError(f"{store.url} is not a local store: serve an S3 store from S3 (static website "
                                "hosting) and set ERCAN_PUBLIC_URL to its address (docs/operations.md)"), 2)
    if not store.exists():
        raise _fail(ConfigError(f"no store at {store.root}: `ercan run --storage {store.root}` makes one"), 2)
    try:
        server = make_server(store.root, port)
    except OSError as e:
        raise _fail(ConfigError(f"cannot listen on 127.0.0.1:{port}: {e.strerror or e} (try --port)"), 2) from None
    base = f"http://127.0.0.1:{server.server_port}/"
    console.print(f"serving {escape(store.root)} read-only at {base}", soft_wrap=True)  # soft: a URL on one line
    for what, url in addresses(store, base).items():
        console.print(f"{what}: {url}", soft_wrap=True)
    sys.stdout.flush()  # the address reaches a pipe (a script, a test) before the first request
    with server:
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            console.print("stopped")


def main() -> None:
    try:
        app()
    except ErcanError as e:
        errors.print(f"[bold red]error:[/] {e}")
        sys.exit(2)


@app.command("new-source", epilog=examples(
    ("draft a source from its raw file", "ercan new-source cikd2025 ~/Downloads/forest_indicators_table1.csv"),
    ("a source of two files, drafted into another checkout", "ercan new-source nfi_peru extent.csv stocks.csv --into ../ercan-fork"),
    ("then review the draft and run it", "ercan rerun cikd2025"),
    footer="Exit status: 0 the draft was written, 2 the id exists, a file is missing, or another usage error.",
))
def new_source(
    source: Annotated[str, typer.Argument(help="The new source's id (lower case, digits and _).")],
    paths: Annotated[list[Path], typer.Argument(help="Its raw files (CSV, .xlsx; JSON is described for a hook).")],
    into: Annotated[Path | None, typer.Option("--into", help="The project root to write into (default: this project's).")] = None,
) -> None:
    """Sniff raw files and write a draft source: harmonizers/ID/source.yaml, expectations/ID.json, sample_data/ID/.

    Each file's encoding, delimiter, preamble, header and footer rows, wide or long layout, digit
    grouping, unit hints, area and year columns are detected; the draft says how sure each is, and
    what could not be decided is printed. An existing source is never overwritten.
    """
    from ercan.sniff import new_source as draft_source
    from ercan.sources import PROJECT_ROOT

    try:
        draft = draft_source(source, paths, into or PROJECT_ROOT)
    except ConfigError as e:
        raise _fail(e, 2) from None
    for found in draft.sniffs:
        table = Table("detected", "value", "how sure", "how", title=f"{found.name} ({found.format})")
        for key, guess in found.guesses.items():
            table.add_row(key, escape(str(guess.value))[:60], guess.sure, escape(guess.how))
        for column in found.columns:
            if column.kind in ("area", "year") or column.unit_text:
                what = column.kind + (f" ({column.codes}, {column.share:.0%} matched)" if column.kind == "area" else "")
                what += f" unit {column.unit_text!r}" + (f" → {column.variable}" if column.variable else "") if column.unit_text else ""
                table.add_row(f"column {escape(column.name)}", escape(what), "", "")
        console.print(table)
    if draft.undecided:
        console.print("[bold yellow]could not decide[/] (TODO comments in the draft):")
        for item in draft.undecided:
            console.print(f"  - {escape(item)}")
    console.print(f"wrote {draft.declaration}, {draft.suite} and {draft.sample}/ (the files and a SOURCE.txt stub)")
    console.print(f"next: review the draft, fill in its TODOs, then `ercan rerun {source}` (docs/adding_a_source.md)")
