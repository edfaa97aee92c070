"""The area hierarchy, read from data: every observation's (area_code → parent_code) link, plus
every country's UN M49 geographic region.

Sources declare where their areas sit (FRA: country → FRA subregion → FRA region → WORLD;
GFW: US state → USA). The UN M49 regions come from country_converter's country table (each
country's M49 sub-region) and `m49_regions.csv` (the M49 codes of the regions and which region
holds which, from the UN Statistics Division's standard), never from a hand-kept country list.
An area sits in several hierarchies, so this is a DAG; an aggregate's members are its descendants
one level of scale below it (countries for regions and WORLD, subnational units for a country,
sites for a subnational unit). Sites come as counts per enclosing area (accounting/sites.py): a
plot-level inventory has millions, and no aggregate needs them one by one.
"""

from __future__ import annotations

from collections import defaultdict
from functools import cache
from pathlib import Path

import pandas as pd

from ercan.areas import un_subregions

M49_REGIONS = Path(__file__).with_name("m49_regions.csv")

MEMBER_LEVEL = {"global": "national", "regional": "national", "national": "subnational", "subnational": "site"}


class Hierarchy:
    def __init__(self, observations: pd.DataFrame, site_members: pd.Series | None = None):
        """`observations`: rows above site level; `site_members`: the distinct sites in each area
        that encloses some (SiteSums.members)."""
        links = observations[["area_code", "area_level", "parent_code"]].drop_duplicates()
        countries = links.loc[links["area_level"] == "national", "area_code"].unique()
        links = pd.concat([links, m49_links(countries)], ignore_index=True)
        self.level = dict(zip(links["area_code"], links["area_level"]))
        self.children: dict[str, set[str]] = defaultdict(set)
        self.parents: dict[str, set[str]] = defaultdict(set)
        self.parent: dict[str, str] = {}
        for code, parent in zip(links["area_code"], links["parent_code"]):
            if isinstance(parent, str):
                self.children[parent].add(code)
                self.parents[code].add(parent)
                self.parent.setdefault(code, parent)
        self.level.setdefault("WORLD", "global")
        self.site_members = site_members if site_members is not None else pd.Series(dtype="int64")

    def members(self, aggregate: str) -> set[str]:
        """The aggregate's descendants at its member level."""
        wanted = MEMBER_LEVEL.get(self.level.get(aggregate, ""))
        found, stack, seen = set(), [aggregate], set()
        while stack:
            for child in self.children.get(stack.pop(), ()):
                if child in seen:
                    continue
                seen.add(child)
                if self.level.get(child) == wanted:
                    found.add(child)
                else:
                    stack.append(child)
        return found

    def aggregates(self) -> list[str]:
        with_sites = set(self.site_rollup()["aggregate"])
        return sorted({code for code in self.children if self.members(code)} | with_sites)

    def membership(self) -> pd.DataFrame:
        """One row per (aggregate, member) above site level (sites: `site_rollup`)."""
        rows = [(a, m) for a in sorted(self.children) for m in sorted(self.members(a))]
        frame = pd.DataFrame(rows, columns=["aggregate", "member"])
        frame["aggregate_level"] = frame["aggregate"].map(self.level)
        return frame

    def site_rollup(self) -> pd.DataFrame:
        """(aggregate, parent): each subnational area whose members the sites enclosed by `parent` are:
        the parent itself and the subnational areas above it (an area at another level has no site
        members, like a site directly in a country)."""
        rows, stack = [], [(parent, parent) for parent in self.site_members.index]
        while stack:
            code, parent = stack.pop()
            if self.level.get(code) == "subnational":
                rows.append((code, parent))
                stack += [(above, parent) for above in self.parents.get(code, ())]
        return pd.DataFrame(rows, columns=["aggregate", "parent"]).drop_duplicates()

    def member_counts(self, membership: pd.DataFrame) -> pd.Series:
        """Each aggregate's number of members (its sites, for a subnational area), from `membership()`."""
        counts = membership.groupby("aggregate").size()
        rollup = self.site_rollup()
        sites = rollup["parent"].map(self.site_members).groupby(rollup["aggregate"]).sum()
        return counts.add(sites, fill_value=0).astype("int64")


def m49_code(number: str) -> str:
    return "WORLD" if number == "001" else f"M49:{number}"


@cache
def _m49_table() -> tuple[dict[str, str], pd.DataFrame]:
    regions = pd.read_csv(M49_REGIONS, dtype=str)
    region_links = pd.DataFrame({
        "area_code": regions["m49"].map(m49_code),
        "area_level": "regional",
        "parent_code": regions["parent_m49"].map(m49_code),
    })
    return dict(zip(regions["un_region"], regions["m49"].map(m49_code))), region_links


def m49_links(countries) -> pd.DataFrame:
    """(country → its M49 sub-region) for these ISO3 codes, and every M49 region's own link to the
    region above it. Codes the country table does not know (e.g. FRA 2015's retired ANT) get none."""
    code_of_region, region_links = _m49_table()
    region_of = {iso3: code_of_region.get(name) for iso3, name in un_subregions().items()}
    countries = [c for c in countries if isinstance(region_of.get(c), str)]
    country_links = pd.DataFrame(
        {"area_code": countries, "area_level": "national", "parent_code": [region_of[c] for c in countries]}
    )
    return pd.concat([country_links, region_links], ignore_index=True)


def m49_ancestors(country: str) -> list[str]:
    """The country's M49 regions from the nearest up: sub-region, (intermediate) region, WORLD."""
    code_of_region, region_links = _m49_table()
    parent = dict(zip(region_links["area_code"], region_links["parent_code"]))
    chain, code = [], code_of_region.get(un_subregions().get(country, ""))
    while code:
        chain.append(code)
        code = parent.get(code)
    return chain
