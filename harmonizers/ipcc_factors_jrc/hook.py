"""What the declaration cannot say about the JRC transcription of IPCC 2006 Tables 4.4, 4.5, 4.14:
zone names through the shared climate-zone crosswalk (ercan.reference), the growing-stock classes
of the BCEF headers, the biomass classes of the R:S rows, and genus + species as one stratum."""

from __future__ import annotations

import re

import pandas as pd

from ercan import readers
from ercan.errors import SourceError
from ercan.readers import LINE
from ercan.reference import class_bounds, climate_zones

ZONE = "climatic_zone"
BCEF_IDS = (ZONE, "forest_type", "bcef")
BCEF_ROLES = ("bcef_boreal", "bcef_temperate", "bcef_mediterranean")
GROWING_STOCK_CLASS = re.compile(r"^gs_(\d+)_(\d+|inf)$", re.IGNORECASE)  # upper INF: the open class
RS_ROLE, DENSITY_ROLE = "root_to_shoot", "wood_density"
SPELLINGS = {"pinus silvestris": "pinus sylvestris"}  # misspelt "genus species" -> the name it is read as


def cells(role: str, cells: pd.DataFrame, raw) -> pd.DataFrame:
    if role == DENSITY_ROLE:
        return _species(cells, raw.name, role)
    if role in BCEF_ROLES:
        readers.require_columns(cells, BCEF_IDS, file=raw.name, role=role)
        _check_growing_stock_classes(cells, raw.name)
    return _zones(cells, raw.name, role)


def rows(rows: pd.DataFrame, files) -> pd.DataFrame:
    """The R:S classes of one zone and forest type, in file order, become adjoining ranges."""
    ratios = rows[rows["parameter"] == "root_to_shoot"].sort_values(LINE, kind="stable")
    for _, group in ratios.groupby(["climatic_domain", "ecological_zone", "stratum"], dropna=False, sort=False):
        classes = [(low, None if pd.isna(high) else high)
                   for low, high in zip(group["condition_min"], group["condition_max"])]
        try:
            bounds = class_bounds(classes)
        except SourceError as e:
            raise e.located(file=files[RS_ROLE].name, row=int(group[LINE].iloc[0]), column="lower/upper") from None
        rows.loc[group.index, "condition_min"] = [low for low, _ in bounds]
        rows.loc[group.index, "condition_max"] = [high for _, high in bounds]
    return rows


def _zones(cells: pd.DataFrame, file: str, role: str) -> pd.DataFrame:
    readers.require_columns(cells, [ZONE], file=file, role=role)
    try:
        zones = climate_zones(cells[ZONE], file=file, column=ZONE, first_row=0)
    except SourceError as e:  # its row is the position: name the file's line instead
        hint = "After checking what it is, add it to harmonizers/crosswalks/climate_zones.csv."
        raise SourceError(e.what, file=file, row=int(cells[LINE].iloc[e.row]), column=ZONE, hint=hint) from None
    return cells.assign(climatic_domain=zones["climatic_domain"], ecological_zone=zones["ecological_zone"])


def _check_growing_stock_classes(cells: pd.DataFrame, file: str) -> None:
    """Every column but the ids is a growing-stock class, and the classes adjoin: a new or changed
    class is an error here, before the declared class columns are looked up."""
    header_line = cells.attrs.get("header_line", 1)
    classes = []
    for column in (c for c in cells.columns if c not in (*BCEF_IDS, LINE)):
        match = GROWING_STOCK_CLASS.match(column)
        if not match:
            raise SourceError(f"column {column!r} is not a growing-stock class (gs_<lower>_<upper>, upper INF if open)",
                              file=file, row=header_line, column=column,
                              hint="The table layout changed: review it, then the class columns under `values` "
                                   "in harmonizers/ipcc_factors_jrc/source.yaml.")
        lower, upper = match.groups()
        classes.append((float(lower), None if upper.upper() == "INF" else float(upper)))
    if not classes:
        raise SourceError("has no growing-stock class columns", file=file, row=header_line,
                          hint="Ingest the complete table (the gs_* columns are missing).")
    try:
        class_bounds(classes)
    except SourceError as e:
        raise e.located(file=file, row=header_line) from None


def _species(cells: pd.DataFrame, file: str, role: str) -> pd.DataFrame:
    """`stratum` = "genus species" (the genus alone where species is NaN); a misspelt repeat of a
    species with the same density is read once, with another density it is an error."""
    readers.require_columns(cells, ["genus", "species", "density"], file=file, role=role)
    genus, species = cells["genus"].fillna(""), cells["species"].fillna("")
    unnamed = (genus == "") & cells["density"].notna()
    if unnamed.any():
        raise SourceError("a density without a genus", file=file, row=int(cells[LINE][unnamed].iloc[0]), column="genus",
                          hint=f"Declare the row under inputs.{role}.drop after checking what it is.")
    cells = cells.assign(stratum=(genus + " " + species).str.strip().replace(SPELLINGS))
    dense = cells[cells["density"].notna()]
    cells = cells.drop(dense.index[dense.duplicated(["stratum", "density"])])
    dense = cells[cells["density"].notna()]
    again = dense["stratum"].duplicated()
    if again.any():
        stratum = dense["stratum"][again].iloc[0]
        first = int(dense[LINE][dense["stratum"] == stratum].iloc[0])
        raise SourceError(f"genus/species {stratum!r} appears again (first at row {first})", file=file,
                          row=int(dense[LINE][again].iloc[0]), column="genus",
                          hint=f"The same genus or species has two densities: after checking IPCC Table 4.14, declare "
                               f"the wrong row under inputs.{role}.drop.")
    return cells
