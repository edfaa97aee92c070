"""IPCC 2006 default factors as the JRC's forest_puller package transcribed them: BCEF, root-to-shoot
ratios and basic wood density (reference factors, not observations).

Files (tidy CSVs from xapple/forest_puller, extra_data/):

- `bcef_boreal`, `bcef_temperate`, `bcef_mediterranean` (IPCC 2006 GL Vol.4 Table 4.5): one row per
  zone (`climatic_zone`), forest type and factor (`bcef`: bcefs → `bcef_stock`, bcefi →
  `bcef_increment`, bcefr → `bcef_removals`), one column per growing-stock class, named
  `gs_<lower>_<upper>` in m3/ha with `INF` for the open class. Each zone has its own classes
  (boreal 0-20, 21-50, 51-100, 100-INF; temperate 0-20, 21-40, 41-100, 100-200, 200-INF), and one
  column is written `Gs_41_100`: names are matched case-insensitively. The classes become
  `condition_variable` = growing_stock_density with [condition_min, condition_max) ranges:
  whole-number classes 0-20, 21-50 mean "up to 20", "above 20 up to 50", so 21-50 becomes [20, 50)
  (`ercan.reference.class_bounds`).
- `root_to_shoot` (IPCC 2006 Table 4.4, as forest_puller's loader cites it): zone, forest type
  (con/broad/quercus/eucalyptus) and the class of above-ground biomass (`lower`, `upper` in
  t dm/ha, `INF` open) → `root_to_shoot` with condition biomass_density. forest_puller looks a
  ratio up with lower < AGB ≤ upper; ercan's convention puts a stand exactly on a bound in the upper
  class instead (IPCC prints "<20" and ">20" and leaves the bound itself to the user).
- `wood_density` (tree_species_info.csv; IPCC 2006 Table 4.14, as forest_puller's loader cites
  it): genus, species (the literal `NaN` where the row is for the whole genus) and `density`
  (t dm per m3 of fresh volume; `NaN` where unknown: no row) → `wood_density`, stratum "genus" or
  "genus species". The last row has no genus (forest_puller's colour for unknown genera) and no
  density: skipped. `pinus silvestris` is a misspelling of `pinus sylvestris` with the same density:
  read once. The file's other columns (conifer/broad, plot colour, IPCC forest type per zone) are a
  genus → forest-type crosswalk, not factors: not read.

Zones go through `crosswalks/climate_zones.csv`: boreal and temperate are whole domains;
**mediterranean** is placed in the subtropical domain with ecological_zone `mediterranean` (its
values are those the FRA 2020 biomass calculator gives for its Subtropical domain, and
Mediterranean Europe lies in FAO's subtropical domain); `subtropical_dry` is the FAO zone
subtropical dry forest. Forest types are declared in `CONFIG.forest_types`: BCEF strata keep IPCC
Table 4.5's names (pines, larch, firs and spruces, hardwoods, other conifers, conifers); the R:S
abbreviations con/broad are written out as coniferous/broadleaved, the words the FRA biomass
calculator uses for the same ratios.

Not read: country_codes.csv (27 EU countries' shares of the boreal/temperate/mediterranean zones)
says where a factor applies, it is no factor; it is not shipped.

Every value is `reported` (a transcription of the IPCC table), region empty (global defaults).
"""

from __future__ import annotations

import re

import pandas as pd
import pyarrow as pa
from pydantic import BaseModel, ConfigDict, model_validator

from ercan import schema
from ercan.errors import ConfigError, SourceError, did_you_mean
from ercan.harmonize import finish, map_codes, parse_numbers, read_csv, require_columns, require_unique
from ercan.reference import class_bounds, climate_zones, to_parameter_units
from ercan.sources import Source

SOURCE = Source(
    id="ipcc_factors_jrc",
    title="IPCC 2006 default BCEF, root-to-shoot ratios and wood densities, as transcribed by the JRC (forest_puller)",
    publisher="European Commission Joint Research Centre (forest_puller); values from the IPCC 2006 Guidelines",
    license="MIT (Copyright (c) 2020 Joint Research Centre); values from IPCC 2006 GL Vol.4 Ch.4",
    citation=(
        "IPCC (2006) Guidelines for National Greenhouse Gas Inventories, Vol.4 Ch.4, Tables 4.4, 4.5, 4.14; "
        "as transcribed in xapple/forest_puller@804e17947bc98139154c708d958a5dcfebff76a0 extra_data/"
    ),
    inputs={
        "bcef_boreal": "ipcc_factors_jrc/ipcc_bcef_boreal.csv",
        "bcef_temperate": "ipcc_factors_jrc/ipcc_bcef_temperate.csv",
        "bcef_mediterranean": "ipcc_factors_jrc/ipcc_bcef_mediterranean.csv",
        "root_to_shoot": "ipcc_factors_jrc/ipcc_root_to_shoot_ratio.csv",
        "wood_density": "ipcc_factors_jrc/tree_species_info.csv",
    },
    product="reference_factors",
)


class Config(BaseModel):
    """What the five files look like and what their labels mean."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    bcef_roles: tuple[str, ...]
    rs_role: str
    density_role: str
    zone_column: str
    type_column: str
    bcef_column: str
    bcef_kinds: dict[str, str]  # value of `bcef` -> parameter
    class_column: str  # regex of a growing-stock class column (case-insensitive): lower, upper
    open_bound: str  # written for "no upper bound"
    missing: str  # written for "no value"
    rs_lower: str
    rs_upper: str
    rs_value: str
    genus_column: str
    species_column: str
    density_column: str
    forest_types: dict[str, str]  # source label -> stratum
    spellings: dict[str, str]  # misspelt "genus species" -> the name it is read as
    units: dict[str, str]  # parameter -> unit the source gives it in
    references: dict[str, str]  # parameter -> where the value comes from

    @model_validator(mode="after")
    def _vocabularies(self):
        for parameter in (*self.bcef_kinds.values(), *self.units, *self.references):
            if parameter not in schema.REFERENCE_PARAMETERS:
                raise ValueError(f"unknown parameter {parameter!r}{did_you_mean(parameter, schema.REFERENCE_PARAMETERS)}")
        if set(self.units) != set(self.references):
            raise ValueError("give every parameter a unit and a reference")
        return self


CONFIG = Config(
    bcef_roles=("bcef_boreal", "bcef_temperate", "bcef_mediterranean"),
    rs_role="root_to_shoot",
    density_role="wood_density",
    zone_column="climatic_zone",
    type_column="forest_type",
    bcef_column="bcef",
    bcef_kinds={"bcefs": "bcef_stock", "bcefi": "bcef_increment", "bcefr": "bcef_removals"},
    class_column=r"^gs_(\d+)_(\d+|inf)$",
    open_bound="INF",
    missing="NaN",
    rs_lower="lower",
    rs_upper="upper",
    rs_value="ratio",
    genus_column="genus",
    species_column="species",
    density_column="density",
    forest_types={
        # BCEF: IPCC Table 4.5's forest types, as written
        "pines": "pines",
        "larch": "larch",
        "firs and spruces": "firs and spruces",
        "hardwoods": "hardwoods",
        "other conifers": "other conifers",
        "conifers": "conifers",
        # R:S: forest_puller's abbreviations written out
        "con": "coniferous",
        "broad": "broadleaved",
        "quercus": "quercus",
        "eucalyptus": "eucalyptus",
    },
    spellings={"pinus silvestris": "pinus sylvestris"},
    units={
        "bcef_stock": "t dm/m3",
        "bcef_increment": "t dm/m3",
        "bcef_removals": "t dm/m3",
        "root_to_shoot": "1",
        "wood_density": "t dm/m3",
    },
    references={
        "bcef_stock": "IPCC 2006 GL Vol.4 Ch.4 Table 4.5",
        "bcef_increment": "IPCC 2006 GL Vol.4 Ch.4 Table 4.5",
        "bcef_removals": "IPCC 2006 GL Vol.4 Ch.4 Table 4.5",
        "root_to_shoot": "IPCC 2006 GL Vol.4 Ch.4 Table 4.4",
        "wood_density": "IPCC 2006 GL Vol.4 Ch.4 Table 4.14",
    },
)

if {*CONFIG.bcef_roles, CONFIG.rs_role, CONFIG.density_role} != set(SOURCE.inputs):
    raise ConfigError("harmonizers/ipcc_factors_jrc.py: CONFIG roles differ from SOURCE.inputs")


def harmonize(files) -> pa.Table:
    missing = sorted(set(SOURCE.inputs) - set(files))
    if missing:
        raise SourceError(f"no file for role(s) {missing}", hint=f"Ingest the files for roles {sorted(SOURCE.inputs)}.")
    frames = [_bcef(files[role]) for role in CONFIG.bcef_roles]
    frames += [_root_to_shoot(files[CONFIG.rs_role]), _wood_density(files[CONFIG.density_role])]
    rows = pd.concat(frames, ignore_index=True).assign(flag="reported")
    rows["unit"] = rows["parameter"].map(schema.REFERENCE_PARAMETERS)
    rows["reference"] = rows["parameter"].map(CONFIG.references)
    return finish(rows, SOURCE.id, schema.REFERENCE_COLUMNS)


def _bcef(raw) -> pd.DataFrame:
    """One zone's BCEF table: factor rows × growing-stock class columns, to one row per value."""
    table = read_csv(raw)
    ids = [CONFIG.zone_column, CONFIG.type_column, CONFIG.bcef_column]
    require_columns(table, ids, file=raw.name)
    class_columns = [c for c in table.columns if c not in ids]
    classes = []
    for column in class_columns:
        match = re.match(CONFIG.class_column, column.strip(), flags=re.IGNORECASE)
        if not match:
            raise SourceError(
                f"column {column!r} is not a growing-stock class (gs_<lower>_<upper>, upper {CONFIG.open_bound} if open)",
                file=raw.name, row=1, column=column,
                hint="The table layout changed: fix the header or the harmonizer.",
            )
        lower, upper = match.groups()
        classes.append((float(lower), None if upper.upper() == CONFIG.open_bound else float(upper)))
    if not classes:
        raise SourceError("has no growing-stock class columns", file=raw.name, row=1, hint="Restore the gs_* columns.")
    try:
        bounds = class_bounds(classes)
    except SourceError as e:
        raise e.located(file=raw.name, row=1) from None
    parameters = map_codes(table[CONFIG.bcef_column].str.strip(), CONFIG.bcef_kinds, what="BCEF kind",
                           file=raw.name, column=CONFIG.bcef_column)
    strata = _forest_types(table, raw.name)
    require_unique(strata + "|" + parameters, what="forest type and BCEF", file=raw.name, column=CONFIG.bcef_column)
    common = pd.concat([climate_zones(table[CONFIG.zone_column].str.strip(), file=raw.name, column=CONFIG.zone_column),
                        pd.DataFrame({"stratum": strata, "parameter": parameters})], axis=1)
    frames = []
    for column, (low, high) in zip(class_columns, bounds, strict=True):
        values = parse_numbers(table[column], file=raw.name, column=column)
        frames.append(common.assign(value=to_parameter_units(values, parameters, parameters.map(CONFIG.units), file=raw.name), condition_min=low, condition_max=high))
    return pd.concat(frames, ignore_index=True).assign(condition_variable="growing_stock_density", snapshot=raw.sha256)


def _root_to_shoot(raw) -> pd.DataFrame:
    table = read_csv(raw)
    require_columns(table, [CONFIG.zone_column, CONFIG.type_column, CONFIG.rs_lower, CONFIG.rs_upper, CONFIG.rs_value],
                    file=raw.name)
    zones = climate_zones(table[CONFIG.zone_column].str.strip(), file=raw.name, column=CONFIG.zone_column)
    strata = _forest_types(table, raw.name)
    lower = parse_numbers(table[CONFIG.rs_lower], file=raw.name, column=CONFIG.rs_lower)
    upper_text = table[CONFIG.rs_upper].str.strip()
    upper = parse_numbers(upper_text.mask(upper_text.str.upper() == CONFIG.open_bound, ""), file=raw.name,
                          column=CONFIG.rs_upper)
    rows = pd.concat([zones, pd.DataFrame({"stratum": strata, "lower": lower, "upper": upper})], axis=1)
    rows["value"] = parse_numbers(table[CONFIG.rs_value], file=raw.name, column=CONFIG.rs_value)
    rows["condition_min"], rows["condition_max"] = None, None
    # The classes of one zone and forest type, in file order, must adjoin.
    for _, group in rows.groupby(["climatic_domain", "ecological_zone", "stratum"], dropna=False, sort=False):
        classes = [(low, None if pd.isna(high) else high) for low, high in zip(group["lower"], group["upper"], strict=True)]
        try:
            bounds = class_bounds(classes)
        except SourceError as e:
            raise e.located(file=raw.name, row=2 + int(group.index[0]), column=f"{CONFIG.rs_lower}/{CONFIG.rs_upper}") from None
        rows.loc[group.index, "condition_min"] = [low for low, _ in bounds]
        rows.loc[group.index, "condition_max"] = [high for _, high in bounds]
    parameters = pd.Series("root_to_shoot", index=rows.index)
    return rows.drop(columns=["lower", "upper"]).assign(
        parameter=parameters, value=to_parameter_units(rows["value"], parameters, parameters.map(CONFIG.units), file=raw.name),
        condition_variable="biomass_density", snapshot=raw.sha256,
    )


def _wood_density(raw) -> pd.DataFrame:
    table = read_csv(raw)
    require_columns(table, [CONFIG.genus_column, CONFIG.species_column, CONFIG.density_column], file=raw.name)
    genus, species = (table[c].str.strip().replace(CONFIG.missing, "") for c in (CONFIG.genus_column, CONFIG.species_column))
    density = parse_numbers(table[CONFIG.density_column].str.strip().replace(CONFIG.missing, ""), file=raw.name,
                            column=CONFIG.density_column)
    unnamed = (genus == "") & density.notna()
    if unnamed.any():
        raise SourceError("a density without a genus", file=raw.name, row=2 + int(unnamed.to_numpy().argmax()),
                          column=CONFIG.genus_column, hint="Fill in the genus the density is for.")
    stratum = (genus + " " + species).str.strip().replace(CONFIG.spellings)
    rows = pd.DataFrame({"stratum": stratum, "value": density})[density.notna()]
    # A misspelt duplicate is read once when it repeats the density; a different density is an error.
    rows = rows.drop_duplicates()
    require_unique(rows["stratum"], what="genus/species", file=raw.name, column=CONFIG.genus_column,
                   hint="The same genus or species has two densities: keep the right one.")
    parameters = pd.Series("wood_density", index=rows.index)
    return rows.assign(parameter=parameters, value=to_parameter_units(rows["value"], parameters, parameters.map(CONFIG.units), file=raw.name), snapshot=raw.sha256)


def _forest_types(table: pd.DataFrame, file: str) -> pd.Series:
    return map_codes(table[CONFIG.type_column].str.strip(), CONFIG.forest_types, what="forest type", file=file,
                     column=CONFIG.type_column)

