"""Site rows (the plots of a plot-level inventory, flux towers) in bulk, summed per enclosing area.

A national forest inventory may report millions of plots. The accounting never needs one plot on
its own, only what the plots of a source add up to in the area that encloses them (a province's
bottom-up figure beside its reported one, and how many of its plots reported). `split_sites` takes
those sums from the Arrow table with Arrow's multithreaded hash aggregation, so the rest of the
accounting works in pandas on the few rows above site level, and no per-site Python ever runs.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ercan.accounting.stocks import join_snapshots
from ercan.dictionaries import unified
from ercan.schema import ADDITIVE_VARIABLES, OBSERVATION_KEY, conform_table, plain

# What a site's value is summed by: its enclosing area (its parent) and what the value is.
GROUP = ["parent_code", "source", "variable", "pool", "land_category", "category", "year", "unit"]


@dataclass(frozen=True)
class SiteSums:
    """The additive site values of each source, summed per parent area and group.

    `sums`: one row per GROUP with `value` (Σ), `spread2` (Σ (U·x)², IPCC Approach 1 terms),
    `spread_unknown` (some site's U is unknown), `members_reporting` (sites summed: one row per site
    and group, the observation key being unique) and `snapshot` (the raw files, joined).
    `members`: each parent's distinct sites over every source and year (its `members_total`)."""

    sums: pd.DataFrame
    members: pd.Series

    def of(self, source: str) -> SiteSums:
        """One source's sums (every source's sites still count as members)."""
        return SiteSums(self.sums[self.sums["source"] == source], self.members)

    @classmethod
    def empty(cls) -> SiteSums:
        return cls(pd.DataFrame(columns=[*GROUP, "value", "spread2", "spread_unknown", "members_reporting", "snapshot"]),
                   pd.Series(dtype="int64"))


def site_rows(table: pa.Table, variables) -> pd.DataFrame:
    """The site rows of these variables one by one (the registry's columns and types): for the
    products that list them row by row (a literature sink of one forest, a restoration site)."""
    wanted = pc.and_(pc.fill_null(pc.equal(table["area_level"], "site"), False),
                     pc.is_in(table["variable"], pa.array(variables, pa.string())))
    return conform_table(table.filter(wanted)).to_pandas()


def split_sites(table: pa.Table) -> tuple[pd.DataFrame, SiteSums]:
    """The rows above site level as pandas (the registry's columns and types), and the site rows as
    their sums (SiteSums). The sums are taken over the whole table by level and kept for the sites,
    so the site rows (nearly all of a plot-level source's) are never copied out of it."""
    is_site = pc.fill_null(pc.equal(table["area_level"], "site"), False)
    # In key order: sums and seeded Monte Carlo draws (one per row, in order) then depend on the rows'
    # values alone, not on the order a harmonizer happened to emit them in.
    rest = conform_table(table.filter(pc.invert(is_site))).to_pandas()
    rest = rest.sort_values(list(OBSERVATION_KEY), kind="stable", na_position="first", ignore_index=True)
    if not pc.any(is_site).as_py():
        return rest, SiteSums.empty()
    # Arrow groups dictionary-encoded keys only when every chunk shares one dictionary (each staged
    # file, even each row group read, brings its own; a source's gate may have unified its rows already).
    rows = table.select(["area_level", *GROUP, "area_code", "value", "uncertainty", "snapshot"])
    rows = unified(rows, rows.column_names)
    members = _of_sites(rows.group_by(["area_level", "parent_code"]).aggregate([("area_code", "count_distinct")]))
    members = members.set_index("parent_code")["area_code_count_distinct"].astype("int64")
    spread = pc.multiply(rows["uncertainty"], rows["value"])
    rows = rows.append_column("spread2", pc.multiply(spread, spread)).append_column("spread_unknown", pc.is_null(spread))
    sums = _of_sites(rows.group_by(["area_level", *GROUP]).aggregate([
        ("value", "sum"), ("spread2", "sum"), ("spread_unknown", "any"), ("value", "count"), ("snapshot", "distinct"),
    ]))
    sums = sums[sums["variable"].isin(ADDITIVE_VARIABLES)].rename(columns={
        "value_sum": "value", "spread2_sum": "spread2", "spread_unknown_any": "spread_unknown",
        "value_count": "members_reporting"})
    sums["snapshot"] = sums.pop("snapshot_distinct").map(join_snapshots)
    return rest, SiteSums(sums.reset_index(drop=True), members)


def _of_sites(groups: pa.Table) -> pd.DataFrame:
    """The site level's groups, as pandas with plain text."""
    groups = groups.filter(pc.fill_null(pc.equal(groups["area_level"], "site"), False)).drop_columns(["area_level"])
    return groups.cast(plain(groups.schema)).to_pandas()
