"""The `areas` product: one row per area code the products use (every `area_code` and `parent_code`),
with its name, level, parent, years of validity and code system, so an analyst reads `M49:002` as
Africa and `CN-GX` as Guangxi without ercan's internals.

The names come from where the harmonizers' codes come from, none typed here:
- ISO 3166-1 alpha-3: country_converter's short names (the table ercan/areas.py matches source names
  against), else pycountry's ISO name; a withdrawn code (ISO 3166-3 per pycountry: ANT, SUN) its
  former name, `valid_to` the year it was withdrawn (the last year the readers accept it for,
  ercan.readers.check_withdrawn).
- ISO 3166-2: pycountry's subdivision names; a withdrawn code from its source's reviewed
  `withdrawn_subdivisions.csv` (ercan.readers.withdrawn_codes), with its year.
- UN M49 regions: ercan/accounting/m49_regions.csv, the hierarchy the accounting sums along.
- Any other code (WORLD, FRA regions, a source's own codes, sites): the sources' area crosswalks (a
  CSV beside a declaration with an `area_code` column and a name column, NAME_COLUMNS), the name
  most of them give (then the first source's, by id), e.g. WORLD "World" over cikd2024's "全球".
An area none of them names has no `area_name` and `name_source` "none"; the product's gate counts
them (a warning in `quality`).

Parent: a country's UN M49 sub-region and a region's region above it (the accounting's hierarchy);
any other area the parent the products give it most often (FRA regions, subnational units, sites).
Every parent is an area of the product too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow as pa

from ercan.accounting.hierarchy import M49_REGIONS, m49_code, m49_links
from ercan.areas import country_names
from ercan.readers import withdrawn_codes, withdrawn_countries
from ercan.schema import plain
from ercan.sources import PROJECT_ROOT, registry

# The columns of a source's area crosswalk that hold the area as the source names it (the crosswalk's key).
NAME_COLUMNS = ("name", "party_name", "area", "scope")
UNNAMED = "none"
ISO3, ISO3166_2, M49, WORLD, FRA = "ISO 3166-1 alpha-3", "ISO 3166-2", "UN M49", "WORLD", "FRA 2020 region"
LEVEL_OF_SYSTEM = {ISO3: "national", ISO3166_2: "subnational", M49: "regional", WORLD: "global", FRA: "regional"}
_LINK_COLUMNS = ["area_code", "area_level", "parent_code", "source"]
_AREA_COLUMNS = ["area_code", "area_name", "area_level", "parent_code", "valid_from", "valid_to", "code_system",
                 "name_source"]


def area_rows(frames: dict[str, pd.DataFrame | pa.Table]) -> pd.DataFrame:
    """The areas of the products in `frames` (the pipeline's products, `areas` itself left out)."""
    links = _links(frames)
    found = _Found(
        level=_most_given(links, "area_level"),
        parent=_most_given(links, "parent_code"),
        sources=_sources(links),
    )
    names = _Names.read()
    described, seen = [], set()
    codes = set(links["area_code"].tolist()) | set(links["parent_code"].dropna().tolist())
    while codes:  # then the parents that are no product's area (a UN M49 region above the regions)
        rows = [_described(code, found, names) for code in sorted(codes)]
        described += rows
        seen |= codes
        codes = {row["parent_code"] for row in rows if row["parent_code"] is not None} - seen
    return pd.DataFrame(described, columns=_AREA_COLUMNS)


def product_area_codes(frames: dict[str, pd.DataFrame | pa.Table]) -> list[str]:
    """Every area_code and parent_code of the products other than `areas`, except the sites (the areas
    product lists them from the observations' own rows; a plot inventory's millions of site ids are no
    value set for the gate to copy): what `areas` must hold (its product gate's `area_codes`)."""
    links = _links(frames)
    sites = set(links.loc[links["area_level"] == "site", "area_code"])
    return sorted((set(links["area_code"]) | set(links["parent_code"].dropna())) - sites)


def _links(frames: dict[str, pd.DataFrame | pa.Table]) -> pd.DataFrame:
    """The distinct (area_code, area_level, parent_code, source) of each product (one row per product that gives it)."""
    parts = []
    for product, frame in frames.items():
        names = frame.column_names if isinstance(frame, pa.Table) else list(frame.columns)
        if product == "areas" or "area_code" not in names:
            continue
        columns = [c for c in _LINK_COLUMNS if c in names]
        if isinstance(frame, pa.Table):  # (the observations: grouped in Arrow, their text dictionary-encoded)
            distinct = frame.select(columns).unify_dictionaries().group_by(columns).aggregate([])
            parts.append(distinct.cast(plain(distinct.schema)).to_pandas())
        else:
            parts.append(frame[columns].drop_duplicates())
    links = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=_LINK_COLUMNS)
    return links.reindex(columns=_LINK_COLUMNS).astype(object).where(links.notna(), None)


def _most_given(links: pd.DataFrame, column: str) -> dict[str, str]:
    """{area_code: the value of `column` most products and sources give it (ties: the first in order)}.
    Only the codes given several values are counted (a plot inventory's sites have one each)."""
    given = links.dropna(subset=[column]).drop_duplicates(["area_code", column])
    several = given["area_code"].duplicated(keep=False)
    counted = (links[links["area_code"].isin(given.loc[several, "area_code"])].dropna(subset=[column])
               .groupby(["area_code", column]).size().rename("n").reset_index())
    counted = counted.sort_values(["area_code", "n", column], ascending=[True, False, True]).drop_duplicates("area_code")
    return {**dict(zip(given.loc[~several, "area_code"].tolist(), given.loc[~several, column].tolist())),
            **dict(zip(counted["area_code"].tolist(), counted[column].tolist()))}


def _sources(links: pd.DataFrame) -> dict[str, str]:
    """{area_code: the sources that give it, by id}: joined only for the codes several sources give."""
    pairs = links.dropna(subset=["source"]).drop_duplicates(["area_code", "source"]).sort_values(["area_code", "source"])
    several = pairs["area_code"].duplicated(keep=False)
    joined = pairs[several].groupby("area_code")["source"].agg(", ".join)
    return {**dict(zip(pairs.loc[~several, "area_code"].tolist(), pairs.loc[~several, "source"].tolist())),
            **joined.to_dict()}


@dataclass(frozen=True)
class _Found:
    """What the products say of their areas: level, parent and sources by code."""

    level: dict[str, str]
    parent: dict[str, str]
    sources: dict[str, str]


@dataclass(frozen=True)
class _Names:
    """The libraries' and crosswalks' names by code system."""

    countries: dict[str, str]  # country_converter
    iso_countries: dict[str, str]  # pycountry, current ISO 3166-1
    subdivisions: dict[str, str]  # pycountry, current ISO 3166-2
    subdivision_country: dict[str, str]  # {ISO 3166-2: ISO3 of its country}, pycountry
    withdrawn: dict[str, tuple[str, str, str]]  # {code: (name, withdrawal date, where from)}
    m49: dict[str, tuple[str, str | None]]  # {M49:NNN: (name, parent code)}
    m49_parent: dict[str, str]  # {ISO3: its M49 sub-region}
    crosswalked: dict[str, tuple[str, str]]  # {code: (name, crosswalk)}

    @classmethod
    def read(cls) -> _Names:
        import pycountry

        regions = pd.read_csv(M49_REGIONS, dtype=str)
        countries = country_names()
        withdrawn = {code: (name, date, "pycountry ISO 3166-3") for code, (name, date) in withdrawn_countries().items()}
        folders = [h.module_file.parent for h in registry().values()]
        for folder in folders:
            withdrawn.update({code: (name, date, _shown(folder / "withdrawn_subdivisions.csv"))
                              for code, (name, date) in withdrawn_codes("iso3166_2", folder).items()})
        iso_countries = {c.alpha_3: c.name for c in pycountry.countries}
        placed = m49_links(sorted({*iso_countries, *countries}))
        return cls(
            countries=countries,
            iso_countries=iso_countries,
            subdivisions={s.code: s.name for s in pycountry.subdivisions},
            subdivision_country={s.code: pycountry.countries.get(alpha_2=s.country_code).alpha_3
                                 for s in pycountry.subdivisions},
            withdrawn=withdrawn,
            m49={m49_code(m): (name, m49_code(parent)) for name, m, parent in regions.itertuples(index=False)},
            m49_parent=dict(zip(placed.loc[placed["area_level"] == "national", "area_code"],
                                placed.loc[placed["area_level"] == "national", "parent_code"])),
            crosswalked=_crosswalked(folders),
        )


def _crosswalked(folders: list[Path]) -> dict[str, tuple[str, str]]:
    """{area_code: (the name most area crosswalks give it, the first crosswalk that gives it)}."""
    given = []
    for folder in folders:
        for path in sorted(folder.glob("*.csv")):
            header = pd.read_csv(path, nrows=0).columns
            name = next((c for c in NAME_COLUMNS if c in header), None)
            if "area_code" not in header or name is None:
                continue
            rows = pd.read_csv(path, dtype=str, keep_default_na=False, usecols=[name, "area_code"])
            given += [(code, text, _shown(path)) for text, code in rows[[name, "area_code"]].itertuples(index=False)
                      if text and code]
    table = pd.DataFrame(given, columns=["area_code", "name", "crosswalk"]).drop_duplicates(["area_code", "name",
                                                                                              "crosswalk"])
    table["order"] = range(len(table))
    votes = table.groupby(["area_code", "name"]).agg(n=("order", "size"), first=("order", "min")).reset_index()
    best = votes.sort_values(["area_code", "n", "first"], ascending=[True, False, True]).drop_duplicates("area_code")
    where = table.set_index("order")["crosswalk"]
    return {code: (name, where[first]) for code, name, first in best[["area_code", "name", "first"]].itertuples(index=False)}


def _shown(path: Path) -> str:
    return str(path.relative_to(PROJECT_ROOT)) if path.is_relative_to(PROJECT_ROOT) else str(path)


_THREE_LETTERS = re.compile(r"^[A-Z]{3}$")


def _described(code: str, found: _Found, names: _Names) -> dict:
    """The row of one area code."""
    level = found.level.get(code)
    name, name_source, valid_to, parent = None, UNNAMED, None, found.parent.get(code)
    if level == "site":
        system = f"site id of {found.sources.get(code, 'no source')}"
    elif code == WORLD:
        system, parent = WORLD, None
    elif code.startswith("M49:") or code in names.m49:
        system = M49
        if code in names.m49:
            (name, parent), name_source = names.m49[code], str(M49_REGIONS.relative_to(PROJECT_ROOT))
    elif code.startswith("FRA:"):
        system = FRA
    elif _THREE_LETTERS.match(code) and (code in names.iso_countries or code in names.countries
                                         or code in names.withdrawn):
        system, parent = ISO3, names.m49_parent.get(code, parent)
        if code in names.countries:
            name, name_source = names.countries[code], "country_converter"
        elif code in names.iso_countries:
            name, name_source = names.iso_countries[code], "pycountry ISO 3166-1"
    elif code in names.subdivisions or code in names.withdrawn:
        system, parent = ISO3166_2, parent or names.subdivision_country.get(code)
        if code in names.subdivisions:
            name, name_source = names.subdivisions[code], "pycountry ISO 3166-2"
    else:
        system = f"code of {found.sources.get(code, 'no source')}"
    if code in names.withdrawn:
        name, date, name_source = names.withdrawn[code]
        valid_to = int(date[:4])
    if name is None and code in names.crosswalked:
        name, name_source = names.crosswalked[code]
    return {"area_code": code, "area_name": name, "area_level": level or LEVEL_OF_SYSTEM.get(system),
            "parent_code": parent, "valid_from": None, "valid_to": valid_to, "code_system": system,
            "name_source": name_source}
