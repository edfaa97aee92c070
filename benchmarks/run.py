"""Run the whole ercan pipeline on the synthetic benchmark inputs and time every stage.

    python benchmarks/run.py --rows 1000000 [--seed 0] [--out /tmp/ercan-bench] [--no-reference] [--flow]

1. Generates the inputs with benchmarks/generate.py unless they exist (outside the repo, --out).
2. Registers the synthetic source through ERCAN_HARMONIZERS=benchmarks/harmonizers (it is never a
   real source) and runs the real stage functions on a fresh store, in order: ingest (what
   `ercan ingest SOURCE PATH` does), harmonize and validate (the source's gate: `pipeline.gate`;
   harmonize is the harmonizer and the staging write that consumes the tables it yields, timed
   apart; validate is the rest: reading the staged rows back, GX suites, the verdict), account,
   publish. Prefect is not involved (it only wraps these functions per source, never per row);
   `--flow` also times the nightly flow, `ercan run --source bench_inventory` (a process each), against
   a `prefect server start` of its own, as in production: a full run on a store of its own, then a run
   with no change; and a run with no change without a server (Prefect starts a temporary one).
3. Runs the same stages again with nothing changed: the cost of a quiet night (as in the flow, the
   gate's verdict is served from the store and accounting and publishing are skipped when the
   products were last published from the same inputs: `pipeline.products_current`).
4. Before all that (so its peak RSS is its own), the same harmonization and aggregation as DuckDB
   SQL (benchmarks/reference.sql), timed; ercan / reference is printed.

Per stage: wall time, rows/s, peak RSS (the kernel's VmHWM, reset before each stage through
/proc/self/clear_refs) and the bytes held by pyarrow's memory pool after it. The results go to
benchmarks/out/bench-<ROWS>.json (git-ignored) and are printed as a table.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import time
from contextlib import ExitStack, contextmanager
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
SOURCE_ID = "bench_inventory"
sys.path.insert(0, str(HERE))

from generate import CROSSWALK, DEFAULT_OUT, generate  # noqa: E402


def _peak_rss_reset() -> bool:
    """Reset the kernel's peak-RSS mark of this process (Linux ≥ 4.0); False where not allowed."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def _peak_rss_mib() -> float:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # peak since start (not per stage)


class Stages:
    """Wall time, peak RSS and Arrow pool bytes of each named stage, in the order they ran."""

    def __init__(self):
        self.results: list[dict] = []

    @contextmanager
    def stage(self, name: str, rows: int):
        import pyarrow as pa

        per_stage = _peak_rss_reset()
        start, cpu_start = time.perf_counter(), time.process_time()
        record = {"stage": name, "rows": rows}
        self.results.append(record)
        yield record
        seconds = time.perf_counter() - start
        record.update(
            seconds=round(seconds, 3),
            # CPU seconds of this process (all its threads): steadier than wall time on a shared machine
            cpu_seconds=round(time.process_time() - cpu_start, 3),
            rows_per_s=round(record["rows"] / seconds) if seconds > 0 else None,
            peak_rss_mib=round(_peak_rss_mib(), 1),
            peak_rss_scope="stage" if per_stage else "process",
            arrow_pool_mib=round(pa.total_allocated_bytes() / 2**20, 1),
        )


class StagingTimed:
    """The store, telling `staged` when the gate's staging write of the harmonized rows returns.
    Only that write calls `write_parquet_batches` on the store the gate was given (the quality
    rows are written through `write_parquet`, which calls the real store's own)."""

    def __init__(self, storage, staged):
        self._storage, self._staged = storage, staged

    def __getattr__(self, name):
        return getattr(self._storage, name)

    def write_parquet_batches(self, *args, **kwargs):
        try:
            return self._storage.write_parquet_batches(*args, **kwargs)
        finally:
            self._staged()


def run_pipeline(storage, inputs: dict, expected_rows: int, timings: Stages, force: bool = False) -> dict:
    """One pass through the stages on `storage`; returns what came out."""
    from ercan import pipeline, snapshots
    from ercan.sources import get

    harmonizer = get(SOURCE_ID)
    with timings.stage("ingest", expected_rows):
        for role, path in inputs.items():
            snapshots.ingest(storage, harmonizer, role, path, steward=True)

    # "harmonize" runs from the harmonizer's call to the end of the staging write, where the gate
    # consumes the tables the harmonizer yields; "validate" is the rest of the gate.
    harmonize_stage, harmonizing = {}, ExitStack()

    def timed_harmonize(files):
        harmonize_stage.update(record=harmonizing.enter_context(timings.stage("harmonize", expected_rows)))
        return harmonizer.harmonize(files)

    def staged():
        harmonizing.close()
        _peak_rss_reset()  # validate's peak is measured from here

    timed = dataclasses.replace(harmonizer, harmonize=timed_harmonize)
    gate_start = len(timings.results)
    with timings.stage("validate", expected_rows) as validate_record:
        outcome = pipeline.gate(StagingTimed(storage, staged), timed, force=force)
    if outcome.quarantined:
        raise SystemExit(f"the benchmark source was quarantined: {outcome.reason}")
    if "record" in harmonize_stage:  # validate = gate − harmonize (the gate's record came first)
        record = harmonize_stage["record"]
        validate_record["seconds"] = round(validate_record["seconds"] - record["seconds"], 3)
        validate_record["cpu_seconds"] = round(validate_record["cpu_seconds"] - record["cpu_seconds"], 3)
        validate_record["rows_per_s"] = round(expected_rows / validate_record["seconds"]) if validate_record["seconds"] > 0 else None
        timings.results[gate_start], timings.results[gate_start + 1] = record, validate_record
    else:
        validate_record["note"] = "gate cached: harmonize and validate skipped"

    # As the flow does: products last published from the same inputs are neither rebuilt nor published.
    with timings.stage("account", expected_rows) as record:
        inputs_key = pipeline.products_key(storage)
        frames = {} if pipeline.products_current(storage, inputs_key, force=force) else pipeline.account(storage)
        record["products"] = {name: len(frame) for name, frame in frames.items()}
        if not frames:
            record["note"] = "products current: accounting skipped"
    with timings.stage("publish", expected_rows) as record:
        manifests = pipeline.publish_products(storage, frames, inputs_key=inputs_key, force=force)
        record["published"] = {m["product"]: m["row_count"] for m in manifests}
    return {"gate_cached": outcome.cached, "products": {k: len(v) for k, v in frames.items()},
            "published": {m["product"]: m["row_count"] for m in manifests}}


def run_reference(target: Path, inputs: dict, out: Path) -> dict:
    """benchmarks/reference.sql on the same files, timed; its outputs are checked like ercan's."""
    import hashlib

    import duckdb

    from ercan.units import factor

    out.mkdir(parents=True, exist_ok=True)
    sha = {role: hashlib.file_digest(open(path, "rb"), "sha256").hexdigest() for role, path in inputs.items()}
    sql = (HERE / "reference.sql").read_text(encoding="utf-8").format(
        crosswalk=CROSSWALK, plots=inputs["plots"], stands=inputs["stands"], out=out,
        plots_sha256=sha["plots"], stands_sha256=sha["stands"],
    )
    # The unit texts of the inputs, with the factors ercan.units derives (the same definitions).
    units = [("area", u, factor(u, "ha")) for u in ("百公顷", "万公顷")] + [("growing_stock", "万立方米", factor("万立方米", "m3"))]
    timings = Stages()
    with timings.stage("reference (duckdb)", 0) as record:
        con = duckdb.connect()
        con.execute("CREATE TEMP TABLE units (variable VARCHAR, unit VARCHAR, factor DOUBLE)")
        con.executemany("INSERT INTO units VALUES (?, ?, ?)", units)
        con.execute(sql)
        unmapped = con.execute("SELECT rows FROM unmapped").fetchone()[0]
        rows = con.execute("SELECT count(*) FROM observations").fetchone()[0]
        reconciled = con.execute(f"SELECT count(*) FROM '{out}/reconciliation.parquet'").fetchone()[0]
        con.close()
        record["rows"] = rows
    if unmapped:
        raise SystemExit(f"the DuckDB reference left {unmapped} rows unmapped")
    return {**timings.results[0], "duckdb": duckdb.__version__, "observations": rows, "reconciliation": reconciled,
            "threads": os.cpu_count()}


@contextmanager
def prefect_server(home: Path, env: dict):
    """`prefect server start` on a free port of 127.0.0.1, its state in `home`, as the nightly runs against
    one; yields the environment pointing at it, stops it afterwards."""
    import socket

    import httpx

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    home.mkdir(parents=True, exist_ok=True)
    env = {**env, "PREFECT_HOME": str(home), "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
    env.pop("PREFECT_API_URL", None)
    with open(home / "server.log", "w") as log:
        server = subprocess.Popen([str(Path(sys.executable).with_name("prefect")), "server", "start", "--host",
                                   "127.0.0.1", "--port", str(port)], env=env, stdout=log, stderr=subprocess.STDOUT)
    api = f"http://127.0.0.1:{port}/api"
    try:
        deadline = time.monotonic() + 120
        while True:
            if server.poll() is not None:
                raise SystemExit(f"prefect server start exited: see {home / 'server.log'}")
            try:
                if httpx.get(f"{api}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit(f"the Prefect server did not answer in 120 s: see {home / 'server.log'}")
            time.sleep(0.5)
        yield {**env, "PREFECT_API_URL": api}
    finally:
        server.terminate()
        server.wait(timeout=60)


def flow_runs(target: Path, env: dict) -> dict:
    """The nightly flow (`ercan run --source bench_inventory`, a process each) against a running Prefect
    server, on a store of its own: the full run from the landing files, then a night with no change; and a
    no-change run without a server (Prefect then starts a temporary one, in every process)."""
    store = target / "flow-store"
    shutil.rmtree(store, ignore_errors=True)
    with prefect_server(target / "prefect-home", env) as served:
        full = run_flow(str(store), served)
        no_change = run_flow(str(store), served)
    return {"full": full, "no_change": no_change, "no_change_share": round(no_change["seconds"] / full["seconds"], 4),
            "no_change_temporary_server": run_flow(str(store), env)}


def run_flow(storage_url: str, env: dict) -> dict:
    """A nightly run through Prefect (`ercan run --source bench_inventory`), timed as a process."""
    command = [str(Path(sys.executable).with_name("ercan")), "run", "--source", SOURCE_ID, "--storage", storage_url]
    start = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    return {"command": " ".join(command[1:]), "seconds": round(seconds, 3), "exit_status": done.returncode,
            "max_rss_mib_children": round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1),
            "output_tail": done.stdout.strip().splitlines()[-3:] + done.stderr.strip().splitlines()[-3:]}


def _print(report: dict) -> None:
    machine = report["machine"]
    print(f"\nercan benchmark: {report['inputs']['rows']:,} rows ({report['inputs']['expected_observations']:,} "
          f"observations), {machine['cpus']} cpus, load average {machine['load_average_at_start'][0]:.1f} at start, "
          f"{machine['load_average_at_end'][0]:.1f} at end")
    header = f"{'run':<12}{'stage':<20}{'seconds':>10}{'CPU s':>10}{'rows/s':>14}{'peak RSS MiB':>14}{'arrow MiB':>11}"
    print(header + "\n" + "-" * len(header))
    for run in ("first_run", "second_run"):
        for s in report[run]["stages"]:
            print(f"{run:<12}{s['stage']:<20}{s['seconds']:>10.2f}{s['cpu_seconds']:>10.2f}{s['rows_per_s'] or 0:>14,}"
                  f"{s['peak_rss_mib']:>14,.0f}{s['arrow_pool_mib']:>11,.0f}")
        print(f"{run:<12}{'total':<20}{report[run]['seconds']:>10.2f}")
    ref = report.get("reference")
    if ref:
        print(f"{'reference':<12}{'duckdb ' + ref['duckdb']:<20}{ref['seconds']:>10.2f}{ref['cpu_seconds']:>10.2f}"
              f"{ref['rows_per_s'] or 0:>14,}{ref['peak_rss_mib']:>14,.0f}")
        print(f"\nercan / reference: {report['ratio_to_reference']:.2f}x   "
              f"second run / first run: {report['second_run_share']:.1%}   "
              f"peak RSS (process): {report['peak_rss_mib_process']:,.0f} MiB")
    flow = report.get("flow")
    if flow:
        print(f"`ercan run` through a Prefect server: full {flow['full']['seconds']:.2f} s (exit "
              f"{flow['full']['exit_status']}), no change {flow['no_change']['seconds']:.2f} s (exit "
              f"{flow['no_change']['exit_status']}): {flow['no_change_share']:.1%}; no change with a temporary "
              f"server: {flow['no_change_temporary_server']['seconds']:.2f} s")


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="where inputs, store and reference output go")
    parser.add_argument("--json", type=Path, default=None, help="results file (default benchmarks/out/bench-ROWS.json)")
    parser.add_argument("--no-reference", action="store_true", help="skip the DuckDB reference")
    parser.add_argument("--flow", action="store_true", help="also time `ercan run` through a Prefect server: full, "
                        "then with no change (and with no change without a server)")
    args = parser.parse_args(argv)

    target = args.out.resolve() / f"rows-{args.rows}-seed-{args.seed}"
    if not (target / "inputs.json").is_file():
        generate(args.rows, args.seed, args.out)
    facts = json.loads((target / "inputs.json").read_text(encoding="utf-8"))
    inputs = {role: str(target / name) for role, name in facts["files"].items()}
    env = {**os.environ, "ERCAN_HARMONIZERS": str(HERE / "harmonizers"), "ERCAN_BENCH_INPUTS": str(target)}
    os.environ.update(env)  # before ercan's source registry is first read

    from ercan.storage import Storage

    store = target / "store"
    shutil.rmtree(store, ignore_errors=True)
    storage = Storage(str(store))
    rows = facts["expected_observations"]
    report: dict = {"inputs": facts, "store": str(store),
                    "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform(),
                           "load_average_at_start": os.getloadavg()}}
    if not args.no_reference:  # first, while the process holds no pipeline memory: its peak RSS is its own
        report["reference"] = run_reference(target, inputs, target / "reference")
    for run in ("first_run", "second_run"):
        timings = Stages()
        start = time.perf_counter()
        outcome = run_pipeline(storage, inputs, rows, timings)
        report[run] = {"seconds": round(time.perf_counter() - start, 3), "stages": timings.results, **outcome}
    report["second_run_share"] = report["second_run"]["seconds"] / report["first_run"]["seconds"]
    if not args.no_reference:
        report["ratio_to_reference"] = report["first_run"]["seconds"] / report["reference"]["seconds"]
    if args.flow:
        report["flow"] = flow_runs(target, env)
    report["peak_rss_mib_process"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    report["machine"]["load_average_at_end"] = os.getloadavg()  # other jobs on the same cores slow every figure
    path = args.json or HERE / "out" / f"bench-{args.rows}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    _print(report)
    print(f"results: {path}")
    return report


if __name__ == "__main__":
    main()
