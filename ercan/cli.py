"""The `ercan` command line. Exit status: 0 all published, 1 a source was quarantined or a product withheld,
2 usage/config error."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from ercan.errors import ConfigError, ErcanError

app = typer.Typer(
    help="ercan: the open data pipeline for ecosystem restoration and carbon-sink monitoring.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
console = Console(highlight=False)
errors = Console(stderr=True, highlight=False)

StorageOption = Annotated[
    str | None,
    typer.Option("--storage", help="Storage root: a path or s3://bucket/prefix (default: $ERCAN_STORAGE, else ./ercan-data)."),
]


def _storage(url: str | None):
    from ercan.storage import Storage, resolve_root

    return Storage(resolve_root(url))


def _fail(error: Exception, status: int) -> typer.Exit:
    errors.print(f"[bold red]error:[/] {error}")
    return typer.Exit(status)


DaskOption = Annotated[bool, typer.Option("--dask", help="Run the tasks on a temporary local Dask cluster (prefect-dask).")]
DaskAddressOption = Annotated[
    str | None, typer.Option("--dask-address", help="Run the tasks on an existing Dask cluster (tcp://host:8786).")
]


@app.command()
def run(
    source: Annotated[list[str] | None, typer.Option("--source", help="Run only this source (repeatable).")] = None,
    storage: StorageOption = None,
    force: Annotated[bool, typer.Option("--force", help="Ignore every cache.")] = False,
    dask: DaskOption = False,
    dask_address: DaskAddressOption = None,
) -> None:
    """Run the nightly pipeline now (Prefect's ephemeral mode unless PREFECT_API_URL is set).

    Example: ercan run --source fra2020 --storage s3://bucket/ercan
    """
    _run_flow(source or None, storage, force, "ingest", dask_address or ("local" if dask else None))


@app.command()
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
) -> None:
    """What a data steward runs after fixing a source's data or suite: the source again from a stage.

    A rerun that passes the gate lifts the source's quarantine. Runs are named and tagged in the
    Prefect UI (source:ID, from:STAGE, force). Example: ercan rerun fra2020 --from validate --force
    """
    from ercan.errors import did_you_mean
    from ercan.pipeline import STAGES

    if bool(source) == all_sources:
        raise _fail(ConfigError("name the source(s) to rerun, or pass --all (not both)"), 2)
    if from_stage not in STAGES:
        raise _fail(ConfigError(f"unknown stage {from_stage!r}{did_you_mean(from_stage, STAGES)}; the stages are {', '.join(STAGES)}"), 2)
    _run_flow(source or None, storage, force, from_stage, dask_address or ("local" if dask else None))


def _run_flow(sources: list[str] | None, storage: str | None, force: bool, from_stage: str, dask: str | None) -> None:
    """Run the pipeline flow in this process and print what happened; exit 1 if a source is not accepted
    or a product withheld."""
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    # Prefect's 20 s for its temporary server to start is too short on a busy 2-core machine.
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
    try:
        from ercan.sources import get
        from ercan.storage import resolve_root

        for source_id in sources or []:
            get(source_id)  # a typo fails here, before Prefect starts a server
        resolve_root(storage)
        from ercan.flows.nightly import nightly, task_runner

        pipeline_flow = nightly.with_options(task_runner=task_runner(dask)) if dask else nightly
        summary = pipeline_flow(sources=sources, storage=storage, force=force, from_stage=from_stage)
    except ConfigError as e:
        raise _fail(e, 2) from None
    table = Table("source", "status", "rows", "note", title=f"ercan from {summary['from_stage']} → {summary['storage']}")
    not_accepted = False
    for sid, outcome in summary["sources"].items():
        not_accepted |= outcome["status"] != "accepted"
        status = "[green]accepted[/]" if outcome["status"] == "accepted" else f"[red]{outcome['status']}[/]"
        note = outcome["reason"] or ("unchanged (cached gate)" if outcome["cached"] else "")
        table.add_row(sid, status, str(outcome["rows"] or ""), note)
    if summary["sources"]:
        console.print(table)
    if summary["account_cached"]:
        console.print("accounting served from cache (no accepted input changed)")
    if summary["published"]:
        for item in summary["published"]:
            console.print(f"published {item['product']} {item['version']} ({item['rows']} rows)")
    else:
        console.print("no product changed: nothing new published")
    for product, reason in summary["withheld"].items():
        errors.print(f"[bold red]withheld[/] {product}: {reason}")
    if summary["data_docs"]:
        console.print(f"quality report (GX Data Docs): {summary['data_docs']}")
    if not_accepted:
        errors.print("[bold red]some sources were not accepted[/]; the rest were published. See `ercan sources`.")
    if summary["withheld"]:
        errors.print("[bold red]some products failed their quality gate[/] and were not published; their previous "
                     "versions stay served. See the `quality` product and docs/quality.md.")
    if not_accepted or summary["withheld"]:
        raise typer.Exit(1)


@app.command()
def deploy(
    cron: Annotated[str, typer.Option("--cron", help="When the nightly run starts, in UTC.")] = "0 2 * * *",
    pool: Annotated[str, typer.Option("--pool", help="The process work pool (created if missing).")] = "ercan",
    storage: StorageOption = None,
    dask: DaskOption = False,
    dask_address: DaskAddressOption = None,
) -> None:
    """Register the nightly deployment (cron, UTC) and the rerun deployment with the Prefect server
    at PREFECT_API_URL. A worker runs them: prefect worker start --pool ercan

    Example: ercan deploy --cron "30 1 * * *" --storage s3://bucket/ercan
    """
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
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


@app.command()
def ingest(
    source: Annotated[str, typer.Argument(help="Source id (see `ercan sources`).")],
    paths: Annotated[list[str], typer.Argument(help="Raw files (local paths or URLs).")],
    role: Annotated[str | None, typer.Option("--role", help="The input the file is for, when its name does not tell.")] = None,
    storage: StorageOption = None,
) -> None:
    """Add raw files to a source's snapshots and make them current (the next run harmonizes them).

    Example: ercan ingest fra2020 ~/Downloads/1_Forest_extent_characteristics_and_changes_en.xlsx
    """
    from ercan import snapshots
    from ercan.sources import get

    try:
        harmonizer = get(source)
        store = _storage(storage)
        for path in paths:
            meta = snapshots.ingest(store, harmonizer, role or _role_of(harmonizer, path), path, steward=True)
            what = "new snapshot" if meta["new"] else "already stored; made current"
            console.print(f"{source}/{meta['role']}: {meta['name']} sha256 {meta['sha256'][:12]}… ({what})")
    except ErcanError as e:
        raise _fail(e, 2) from None


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


@app.command()
def sources(storage: StorageOption = None) -> None:
    """The registered sources with their current snapshots, status and quarantine reason."""
    from ercan import state
    from ercan.sources import registry

    store = _storage(storage)
    table = Table("source", "title", "snapshots", "status", "reason", title="ercan sources")
    for sid, harmonizer in registry().items():
        current = state.load(store, sid)
        snaps = ", ".join(f"{role}:{s['sha256'][:12]}" for role, s in sorted(current.get("current", {}).items()))
        table.add_row(sid, harmonizer.source.title, snaps or "-", current.get("status", "new"), current.get("reason") or "")
    console.print(table)


@app.command()
def versions(
    product: Annotated[str | None, typer.Argument(help="One product (default: all).")] = None,
    diff: Annotated[bool, typer.Option("--diff", help="Show what changed in each version; the largest changes of the newest.")] = False,
    storage: StorageOption = None,
) -> None:
    """The published versions, newest first.

    Example: ercan versions carbon_stocks --diff
    """
    from ercan.errors import did_you_mean
    from ercan.publish import PRODUCTS
    from ercan.publish import versions as list_versions

    if product and product not in PRODUCTS:
        raise _fail(ConfigError(f"unknown product {product!r}{did_you_mean(product, PRODUCTS)}"), 2)
    store = _storage(storage)
    table = Table("product", "version", "created", "rows", "sources", *(["changes"] if diff else []), title="ercan versions")
    for name in [product] if product else PRODUCTS:
        manifests = list_versions(store, name)
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
            console.print(table)
            console.print(largest)
            return
    console.print(table)


@app.command()
def generate(
    check: Annotated[bool, typer.Option("--check", help="Only check the files are current (exit 1 if not).")] = False,
) -> None:
    """Regenerate the files derived from the field registry: docs/data_dictionary.md, expectations/schema.json
    and the products' expectations/products/<product>.schema.json."""
    from ercan.publish import PRODUCTS
    from ercan.schema import render_data_dictionary
    from ercan.sources import PROJECT_ROOT
    from ercan.validation import generated_suites

    stale = []
    generated = {PROJECT_ROOT / "docs" / "data_dictionary.md": render_data_dictionary(PRODUCTS), **generated_suites()}
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


def main() -> None:
    try:
        app()
    except ErcanError as e:
        errors.print(f"[bold red]error:[/] {e}")
        sys.exit(2)
