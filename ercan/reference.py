"""What the reference-factor harmonizers share, so that factors of different sources look up alike.

The `reference_factors` product is read by gap-filling (biomass from growing stock:
C = V × BCEF × (1 + R) × CF), which looks a factor up by climatic domain, zone, stratum and the
range its condition falls in. Every reference source therefore writes these the same way:

- Zone names, as each source writes them, become `climatic_domain` (one of
  `schema.CLIMATIC_DOMAINS`) and `ecological_zone` (the FAO GEZ 2010 name where the source names a
  GEZ zone, else the source's finer zone, lower case) through one reviewed crosswalk,
  `harmonizers/crosswalks/climate_zones.csv`.
- Classes become validity ranges [condition_min, condition_max): adjoining classes share their
  bound and an open class has no max (`class_bounds`).
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from ercan import schema
from ercan.errors import SourceError
from ercan.harmonize import map_codes, to_unit
from ercan.sources import PROJECT_ROOT

CLIMATE_ZONES = pd.read_csv(
    PROJECT_ROOT / "harmonizers" / "crosswalks" / "climate_zones.csv", dtype=str, keep_default_na=False
).set_index("name")


def climate_zones(names: pd.Series, *, file: str, column: str, first_row: int = 2) -> pd.DataFrame:
    """`climatic_domain` and `ecological_zone` of each zone name (None where the crosswalk has none;
    an empty name gives neither). A name the crosswalk lacks is an error naming its row and the
    closest known name."""
    known = map_codes(names.fillna(""), {"": "", **{name: name for name in CLIMATE_ZONES.index}}, what="climate zone",
                      file=file, column=column, first_row=first_row)
    zones = CLIMATE_ZONES.reindex(known)[["climatic_domain", "ecological_zone"]]
    return zones.where(zones.notna() & (zones != ""), None).set_axis(names.index)


def to_parameter_units(values: pd.Series, parameters: pd.Series, source_units: pd.Series, *, file: str) -> pd.Series:
    """Each value from the unit its source gives it in to its parameter's canonical unit
    (`schema.REFERENCE_PARAMETERS`), through pint."""
    converted = values.astype("float64").copy()
    for (parameter, unit), rows in values.groupby([parameters, source_units]).groups.items():
        converted[rows] = to_unit(values[rows], unit, schema.REFERENCE_PARAMETERS[parameter], file=file)
    return converted


def class_bounds(classes: Sequence[tuple[float, float | None]]) -> list[tuple[float, float | None]]:
    """Printed classes (lower, upper; upper None when open) → validity ranges [min, max).

    Sources print classes either sharing their bounds (0-20, 20-40) or as whole-number classes
    (0-20, 21-40: above 20 up to 40); both become [0, 20), [20, 40), so a value between two printed
    classes (20.5) still finds one. A class that does not start where the previous one ended (a
    gap or an overlap), an open class that is not the last, or an empty class is an error: the
    layout was misread or the table is wrong."""
    bounds = []
    for i, (lower, upper) in enumerate(classes):
        start = lower
        if i:
            previous_lower, previous_upper = classes[i - 1]
            if previous_upper is None or lower not in (previous_upper, previous_upper + 1):
                raise SourceError(
                    f"class {_printed(lower, upper)} does not follow class {_printed(previous_lower, previous_upper)}"
                    " (classes must adjoin: 0-20 then 20-40 or 21-40)",
                    hint="Check the class bounds; a class is missing or mistyped.",
                )
            start = previous_upper
        if upper is not None and upper <= start:
            raise SourceError(f"class {_printed(lower, upper)} is empty", hint="Check the class bounds.")
        bounds.append((start, upper))
    return bounds


def _printed(lower: float, upper: float | None) -> str:
    return f"{lower:g}-{'open' if upper is None else format(upper, 'g')}"
