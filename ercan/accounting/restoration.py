"""Progress toward Kunming-Montreal Target 2: 30 % of degraded ecosystems under effective
restoration by 2030.

The share achieved is restoration_area / degraded_area, and only where both were reported for
the same area (the latest of each up to the row's year); where the degraded area is unknown the
row says so and the share stays empty — it is never estimated. FRA's afforestation and natural
expansion (ha/yr) are published beside it as a forest-restoration proxy, labelled as such: they
are forest gains, not restoration of degraded land.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

TARGET_SHARE = 0.30
TARGET_YEAR = 2030
PROXY_VARIABLES = ("afforestation", "natural_expansion")
_AREA = ["area_code", "area_level", "parent_code"]
# The variables restoration_progress reads from the observations, at any level of area.
OBSERVED = ("restoration_area", "degraded_area", "restoration_commitment", *PROXY_VARIABLES)


def restoration_progress(observations: pd.DataFrame) -> pd.DataFrame:
    restored = observations[observations["variable"] == "restoration_area"]
    degraded = observations[observations["variable"] == "degraded_area"]
    commitments = observations[observations["variable"] == "restoration_commitment"]
    rows = restored.assign(indicator="restoration_area", basis="reported restoration")
    latest_degraded = _latest(degraded, rows)
    rows = rows.merge(latest_degraded, on=_AREA + ["year"], how="left")
    proxy = observations[observations["variable"].isin(PROXY_VARIABLES) & (observations["area_level"] == "national")]
    proxy = proxy.assign(
        indicator=proxy["variable"],
        basis="proxy: forest gain (" + proxy["variable"].str.replace("_", " ") + ", ha/yr), not restoration of degraded land",
    )
    frames = [rows, proxy, commitments.assign(indicator="restoration_commitment", basis="pledge")]
    frames = [f for f in frames if not f.empty]
    if not frames:
        return pd.DataFrame()
    out = pd.concat(frames, ignore_index=True)
    out["target_share"] = TARGET_SHARE
    out["target_year"] = TARGET_YEAR
    if "degraded_area" not in out:
        out["degraded_area"] = np.nan
    is_restored = out["indicator"] == "restoration_area"
    out["share_achieved"] = (out["value"] / out["degraded_area"]).where(is_restored)
    out["target_progress"] = out["share_achieved"] / TARGET_SHARE
    out["note"] = np.where(
        is_restored & out["degraded_area"].isna(),
        "degraded area not reported for this area: the Target 2 share cannot be computed",
        None,
    )
    return out


def _latest(degraded: pd.DataFrame, rows: pd.DataFrame) -> pd.DataFrame:
    """For each restoration row, the latest degraded area of the same area reported up to its year."""
    if degraded.empty or rows.empty:
        return pd.DataFrame(columns=_AREA + ["year", "degraded_area"])
    pairs = rows[_AREA + ["year"]].drop_duplicates().merge(
        degraded[_AREA + ["year", "value"]].rename(columns={"year": "degraded_year", "value": "degraded_area"}), on=_AREA
    )
    pairs = pairs[pairs["degraded_year"] <= pairs["year"]].sort_values("degraded_year")
    return pairs.drop_duplicates(_AREA + ["year"], keep="last").drop(columns="degraded_year")
