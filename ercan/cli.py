"""The `ercan` command line. Exit status: 0 all published, 1 a source was quarantined, 2 usage/config error."""

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


@app.command()
def run(
    source: Annotated[list[str] | None, typer.Option("--source", help="Run only this source (repeatable).")] = None,
    storage: StorageOption = None,
    force: Annotated[bool, typer.Option("--force", help="Ignore cached gate results.")] = False,
) -> None:
    """Run the nightly pipeline now (Prefect's ephemeral mode unless PREFECT_API_URL is set).

    Example: ercan run --source fra2020 --storage s3://bucket/ercan
    """
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    # Prefect's 20 s for its temporary server to start is too short on a busy 2-core machine.
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
    try:
        from ercan.sources import get
        from ercan.storage import resolve_root

        for source_id in source or []:
            get(source_id)  # a typo fails here, before Prefect starts a server
        resolve_root(storage)
        from ercan.flows.nightly import nightly

        summary = nightly(sources=source or None, storage=storage, force=force)
    except ConfigError as e:
        raise _fail(e, 2) from None
    table = Table("source", "status", "rows", "note", title=f"ercan run → {summary['storage']}")
    quarantined = False
    for sid, outcome in summary["sources"].items():
        quarantined |= outcome["status"] == "quarantined"
        status = "[red]quarantined[/]" if outcome["status"] == "quarantined" else "[green]accepted[/]"
        note = outcome["reason"] or ("unchanged (cached gate)" if outcome["cached"] else "")
        table.add_row(sid, status, str(outcome["rows"] or ""), note)
    console.print(table)
    if summary["published"]:
        for item in summary["published"]:
            console.print(f"published {item['product']} {item['version']} ({item['rows']} rows)")
    else:
        console.print("no product changed: nothing new published")
    if quarantined:
        errors.print("[bold red]some sources were quarantined[/]; the rest were published. See `ercan sources`.")
        raise typer.Exit(1)


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
    """Regenerate the files derived from the field registry: docs/data_dictionary.md and expectations/schema.json."""
    from ercan.schema import render_data_dictionary
    from ercan.sources import PROJECT_ROOT
    from ercan.validation import SCHEMA_SUITE, render_schema_suite

    stale = []
    for path, text in ((PROJECT_ROOT / "docs" / "data_dictionary.md", render_data_dictionary()), (SCHEMA_SUITE, render_schema_suite())):
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            stale.append(path)
            if not check:
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
