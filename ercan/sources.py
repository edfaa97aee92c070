"""The source registry: every module in `harmonizers/` that declares a SOURCE is a source.

Adding a source is adding one file there (plus its suite in `expectations/` and its sample data);
nothing else in the codebase lists sources.

`ERCAN_HARMONIZERS` (folders, separated like PATH) adds the harmonizer modules of other folders,
each with its suite beside it (`<folder>/<source id>.json`). The benchmark's synthetic source
plugs in this way (`benchmarks/harmonizers`), so it is never one of the real sources.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import inspect
import os
import pkgutil
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Literal

import pyarrow as pa
from pydantic import BaseModel, ConfigDict, Field

import ercan.harmonizers
from ercan.accounting.reconcile import Comparison
from ercan.errors import ConfigError, SourceError, did_you_mean

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SAMPLE_DATA = PROJECT_ROOT / "sample_data"
EXPECTATIONS = PROJECT_ROOT / "expectations"
EXTRA_HARMONIZERS_ENV = "ERCAN_HARMONIZERS"


class Source(BaseModel):
    """What a harmonizer declares about its source: provenance and where its raw files land."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    title: str
    publisher: str
    license: str
    citation: str
    # role -> file under sample_data/ that the nightly run ingests for that role
    inputs: dict[str, str]
    # role -> origin URL the nightly downloads the input from when it changed (HTTP ETag / Last-Modified)
    urls: dict[str, str] = Field(default_factory=dict)
    # The product the source's rows feed: measurements of areas go to `observations`; method
    # parameters (IPCC defaults, national reference stocks) to `reference_factors`.
    product: Literal["observations", "reference_factors"] = "observations"
    # Where the values come from: a publisher's `dataset` (an inventory, an assessment), or
    # `literature`, figures cited one by one from documents. Accounting labels the net emissions of
    # literature with method `literature`, so a paper's sink is never taken for an inventory's.
    origin: Literal["dataset", "literature"] = "dataset"
    # What the source's figures are checked against in `reconciliation` (other sources, methods)
    reconcile: tuple[Comparison, ...] = ()


@dataclass(frozen=True)
class RawFile:
    """A snapshot of one raw file as a harmonizer sees it."""

    role: str
    name: str
    sha256: str
    opener: Callable[[], object]

    def open(self):
        return self.opener()


@dataclass(frozen=True)
class Harmonizer:
    """A source and its `harmonize(files)`: the raw files by role to rows of the common schema (or of
    the reference table), through `ercan.harmonize.finish`. It returns one `pa.Table`, or, for an
    input too large to hold at once, an iterator of tables (each through `finish`, so all of one
    schema), which the pipeline writes to staging one at a time (`pipeline.gate`)."""

    source: Source
    harmonize: Callable[[Mapping[str, RawFile]], pa.Table | Iterable[pa.Table]]
    module_file: Path
    suite_folder: Path = EXPECTATIONS
    declared: object | None = None  # the ercan.declaration.DeclaredSource of a declared source
    # `harmonize` that also says where each row was read (file, line, column), where the harmonizer knows
    harmonize_with_places: Callable[[Mapping[str, RawFile]], tuple[pa.Table, pa.Table]] | None = None

    @property
    def code_sha256(self) -> str:
        """Changes whenever the harmonizer's file or a crosswalk it may read changes (a declared
        source: only its own folder's files and the readers)."""
        if self.declared is not None:
            return self.declared.code_sha256
        digest = hashlib.sha256(self.module_file.read_bytes())
        for crosswalk in sorted((PROJECT_ROOT / "harmonizers" / "crosswalks").glob("*")):
            digest.update(crosswalk.read_bytes())
        return digest.hexdigest()

    @property
    def suite_path(self) -> Path:
        return self.suite_folder / f"{self.source.id}.json"


def _harmonizer_modules() -> Iterator[tuple[object, Path]]:
    """(module, folder of its suite): the shipped harmonizers, then those of ERCAN_HARMONIZERS."""
    for module_info in pkgutil.iter_modules(ercan.harmonizers.__path__):
        yield importlib.import_module(f"ercan.harmonizers.{module_info.name}"), EXPECTATIONS
    for folder in filter(None, os.environ.get(EXTRA_HARMONIZERS_ENV, "").split(os.pathsep)):
        folder = Path(folder).resolve()
        if not folder.is_dir():
            raise ConfigError(f"{EXTRA_HARMONIZERS_ENV}: {folder} is not a folder of harmonizer modules")
        for module_info in pkgutil.iter_modules([str(folder)]):
            name = f"ercan_extra_harmonizers.{module_info.name}"
            spec = importlib.util.spec_from_file_location(name, folder / f"{module_info.name}.py")
            module = sys.modules[name] = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            yield module, folder


def _declared(folder: Path, suite_folder: Path) -> Harmonizer:
    """The harmonizer of a declared source: `<folder>/source.yaml` read by the layout readers."""
    from ercan.declaration import DECLARATION, DeclaredSource

    try:
        declared = DeclaredSource(folder)
    except ConfigError as e:
        return _undeclarable(folder, suite_folder, e)
    d = declared.declaration
    source = Source(
        id=d.id, title=d.title, publisher=d.publisher, license=d.license, citation=d.citation,
        inputs={role: spec.sample or f"{d.id}/{spec.file}" for role, spec in d.inputs.items()},
        urls={role: spec.url for role, spec in d.inputs.items() if spec.url},
        product=d.product, origin=d.origin, reconcile=d.reconcile,
    )
    return Harmonizer(source, declared.harmonize, folder / DECLARATION, suite_folder, declared,
                      declared.harmonize_with_places)


def _undeclarable(folder: Path, suite_folder: Path, error: ConfigError) -> Harmonizer:
    """A source whose declaration does not load: registered under its folder's name, so that its gate
    quarantines it with the error (naming the file and key) while every other source runs."""
    unknown = "unknown: its declaration does not load"
    source = Source(id=folder.name, title=unknown, publisher=unknown, license=unknown, citation=unknown, inputs={})

    def harmonize(files):
        raise SourceError(str(error), hint="Fix the declaration (the raw files stay as they are) and rerun the source.")

    return Harmonizer(source, harmonize, folder / "source.yaml", suite_folder)


def _declared_folders() -> Iterator[tuple[Path, Path]]:
    """(source folder, folder of its suite): harmonizers/<id>/source.yaml, then those of ERCAN_HARMONIZERS."""
    folders = [(PROJECT_ROOT / "harmonizers", EXPECTATIONS)]
    folders += [(Path(f).resolve(), Path(f).resolve())
                for f in filter(None, os.environ.get(EXTRA_HARMONIZERS_ENV, "").split(os.pathsep))]
    for parent, suite_folder in folders:
        for declaration in sorted(parent.glob("*/source.yaml")):
            yield declaration.parent, suite_folder


@cache
def registry() -> dict[str, Harmonizer]:
    found: dict[str, Harmonizer] = {}

    def add(harmonizer: Harmonizer) -> None:
        if harmonizer.source.id in found:
            raise ConfigError(f"source id {harmonizer.source.id!r} is declared twice ({harmonizer.module_file})")
        found[harmonizer.source.id] = harmonizer

    for module, suite_folder in _harmonizer_modules():
        source = getattr(module, "SOURCE", None)
        if source is not None:
            add(Harmonizer(source, module.harmonize, Path(inspect.getfile(module)), suite_folder))
    for folder, suite_folder in _declared_folders():
        add(_declared(folder, suite_folder))
    return dict(sorted(found.items()))


def of_origin(origin: str) -> set[str]:
    """The ids of the registered sources whose values have this origin (`Source.origin`)."""
    return {source_id for source_id, harmonizer in registry().items() if harmonizer.source.origin == origin}


def get(source_id: str) -> Harmonizer:
    sources = registry()
    if source_id not in sources:
        raise ConfigError(
            f"unknown source {source_id!r}{did_you_mean(source_id, sources)}; `ercan sources` lists them"
        )
    return sources[source_id]


def comparisons() -> dict[str, tuple[Comparison, ...]]:
    """{source id: the comparisons it declares under `reconcile:`}; one naming an unknown source is an error."""
    sources = registry()
    for harmonizer in sources.values():
        for position, comparison in enumerate(harmonizer.source.reconcile):
            for other in comparison.against:
                if other not in sources:
                    raise ConfigError(f"{harmonizer.module_file}: reconcile.{position}.against: unknown source "
                                      f"{other!r}{did_you_mean(other, sources)}")
    return {source_id: h.source.reconcile for source_id, h in sources.items() if h.source.reconcile}


GENERATED_BEGIN = "<!-- generated by `ercan generate` from the source declarations: do not edit -->"
GENERATED_END = "<!-- end of generated -->"


def render_index(sources: Mapping[str, Harmonizer]) -> str:
    """The table of every source, its product, landing files and where it is declared, for
    sample_data/README.md and docs/sources.md: generated, so adding a source edits neither."""
    lines = [GENERATED_BEGIN, "", "| source id | title | product | landing files (sample_data/) | declared in | hook |",
             "|---|---|---|---|---|---|"]
    for source_id, harmonizer in sources.items():
        declared = harmonizer.declared
        where = harmonizer.module_file.relative_to(PROJECT_ROOT).as_posix() if harmonizer.module_file.is_relative_to(PROJECT_ROOT) else harmonizer.module_file.name
        hook = ("`hook.py`" if declared.declaration.hook else "none") if declared is not None else "a Python module"
        files = ", ".join(f"`{path}`" for path in harmonizer.source.inputs.values())
        lines.append(f"| `{source_id}` | {harmonizer.source.title} | {harmonizer.source.product} | {files} | `{where}` | {hook} |")
    return "\n".join([*lines, "", GENERATED_END])


HOOKS_BEGIN = "<!-- generated by `ercan generate` from the hooks' docstrings: do not edit -->"


def render_hooks(sources: Mapping[str, Harmonizer]) -> str:
    """The sources that still have a hook, each with what its hook does that no key covers (the hook's
    docstring), for docs/adding_a_source.md."""
    import ast

    lines = [HOOKS_BEGIN, "", "| source id | what its hook does that no declaration key covers |", "|---|---|"]
    for source_id, harmonizer in sources.items():
        declared = harmonizer.declared
        if declared is not None and declared.declaration.hook:
            from ercan.declaration import HOOK

            why = ast.get_docstring(ast.parse((declared.folder / HOOK).read_text(encoding="utf-8"))) or "(no docstring)"
            lines.append(f"| `{source_id}` | {' '.join(why.split())} |")
    return "\n".join([*lines, "", GENERATED_END])


def with_index(text: str, index: str) -> str:
    """`text` with its generated section (the one `index` begins with) replaced by `index`
    (appended where it has none)."""
    begin = index.split("\n", 1)[0]
    if begin not in text:
        return text.rstrip("\n") + "\n\n" + index + "\n"
    before, rest = text.split(begin, 1)
    return before + index + rest.split(GENERATED_END, 1)[1]
