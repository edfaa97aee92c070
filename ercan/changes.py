"""Changelogs: what changed in a product between two versions, by key, area and variable."""

from __future__ import annotations

import numpy as np
import pandas as pd

_LARGEST = 10


def diff(old: pd.DataFrame, new: pd.DataFrame, key: tuple[str, ...], value: str) -> dict:
    """Rows added, removed and changed (same key, different `value`), with the largest changes."""
    key = list(key)
    merged = old[key + [value]].merge(
        new[key + [value]], on=key, how="outer", indicator=True, suffixes=("_old", "_new")
    )
    before, after = merged[f"{value}_old"], merged[f"{value}_new"]
    both = merged["_merge"] == "both"
    if pd.api.types.is_numeric_dtype(before) and pd.api.types.is_numeric_dtype(after):
        same = np.isclose(before.astype(float), after.astype(float), rtol=1e-12, atol=0, equal_nan=True)
    else:
        same = (before == after) | (before.isna() & after.isna())
    merged["change"] = np.where(
        merged["_merge"] == "left_only", "removed", np.where(merged["_merge"] == "right_only", "added", np.where(same, "same", "changed"))
    )
    changed = merged[both & ~same].copy()
    groups = [c for c in ("area_code", "variable") if c in key]
    summary = merged[merged["change"] != "same"]
    by_group = (
        summary.groupby(groups + ["change"], dropna=False).size().unstack(fill_value=0).reset_index()
        if groups and not summary.empty
        else pd.DataFrame()
    )
    largest = []
    if not changed.empty and pd.api.types.is_numeric_dtype(before):
        changed["absolute_change"] = (changed[f"{value}_new"] - changed[f"{value}_old"]).abs()
        top = changed.sort_values("absolute_change", ascending=False).head(_LARGEST)
        largest = _records(top[key + [f"{value}_old", f"{value}_new"]])
    return {
        "value_column": value,
        "added": int((merged["change"] == "added").sum()),
        "removed": int((merged["change"] == "removed").sum()),
        "changed": int((merged["change"] == "changed").sum()),
        "by_area_and_variable": _records(by_group),
        "largest_changes": largest,
    }


def _records(frame: pd.DataFrame) -> list[dict]:
    clean = frame.astype(object).where(frame.notna(), None)
    return [{k: (v.item() if hasattr(v, "item") else v) for k, v in row.items()} for row in clean.to_dict("records")]
