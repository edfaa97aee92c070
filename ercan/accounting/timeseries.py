"""Time series: reporting years differ by source. Values between two reporting years are
interpolated only where asked (a list of years), linearly, and flagged `interpolated`; a year
outside a series' reported range is never filled (no silent extrapolation, IPCC 2006 GL Vol. 1
Ch. 5 on time-series consistency)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ercan.accounting.stocks import join_snapshots
from ercan.accounting.uncertainty import combined_basis

_SERIES = ["source", "area_code", "area_level", "parent_code", "land_category", "category", "variable", "pool", "unit"]


def interpolate(rows: pd.DataFrame, years) -> pd.DataFrame:
    """Interpolated rows for the requested `years` that fall strictly between two reported years
    of each series and are not reported themselves. Uncertainty is the larger of the two ends'."""
    wanted = np.array(sorted(set(years)), dtype=float)
    found = []
    for key, series in rows.groupby(_SERIES, dropna=False):
        series = series.sort_values("year")
        known = series["year"].to_numpy(float)
        inside = wanted[(wanted > known.min()) & (wanted < known.max()) & ~np.isin(wanted, known)]
        if inside.size == 0:
            continue
        after = np.searchsorted(known, inside)
        found.append(pd.DataFrame({
            **dict(zip(_SERIES, key)),
            "year": inside.astype(int),
            "value": np.interp(inside, known, series["value"].to_numpy(float)),
            "uncertainty": np.maximum(series["uncertainty"].to_numpy(float)[after - 1], series["uncertainty"].to_numpy(float)[after]),
            "uncertainty_basis": combined_basis(
                series["uncertainty_basis"].to_numpy()[after - 1], series["uncertainty_basis"].to_numpy()[after]
            ) if "uncertainty_basis" in series else None,
            "snapshot": [join_snapshots(p) for p in zip(series["snapshot"].to_numpy()[after - 1], series["snapshot"].to_numpy()[after])],
        }))
    if not found:
        return pd.DataFrame()
    return pd.concat(found, ignore_index=True).assign(flag="interpolated", method="linear_interpolation")
