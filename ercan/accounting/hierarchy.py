"""The area hierarchy, read from the data: every observation's (area_code → parent_code) link.

Sources declare where their areas sit (FRA: country → FRA subregion → FRA region → WORLD;
GFW: US state → USA). An area may sit in more than one hierarchy, so this is a DAG; an aggregate's
members are its descendants one level of scale below it (countries for regions and WORLD,
subnational units for a country).
"""

from __future__ import annotations

from collections import defaultdict

import pandas as pd

MEMBER_LEVEL = {"global": "national", "regional": "national", "national": "subnational", "subnational": "site"}


class Hierarchy:
    def __init__(self, observations: pd.DataFrame):
        links = observations[["area_code", "area_level", "parent_code"]].drop_duplicates()
        self.level = dict(zip(links["area_code"], links["area_level"]))
        self.children: dict[str, set[str]] = defaultdict(set)
        self.parent: dict[str, str] = {}
        for code, parent in zip(links["area_code"], links["parent_code"]):
            if isinstance(parent, str):
                self.children[parent].add(code)
                self.parent.setdefault(code, parent)
        self.level.setdefault("WORLD", "global")

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
        return sorted(code for code in self.children if self.members(code))

    def membership(self) -> pd.DataFrame:
        """One row per (aggregate, member)."""
        rows = [(a, m) for a in self.aggregates() for m in sorted(self.members(a))]
        frame = pd.DataFrame(rows, columns=["aggregate", "member"])
        frame["aggregate_level"] = frame["aggregate"].map(self.level)
        return frame
