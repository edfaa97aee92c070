"""IPCC Tier 1 defaults as a processed parameter table (Earthshot Labs), and single IPCC default
values quoted in code (reference factors, not observations).

`tier1` (earthshot_IPCC_Tier1_parameters.csv): one row per FAO ecological zone (`ecozone`, GEZ
names in lower case), continent and forest type ('natural' or a plantation genus/species). Read
as Earthshot's own model (model_utilities/ipcc_tier_1.py) uses it, declared in `FACTORS`:

- r0 / r20: above-ground biomass growth (t dm/ha/yr) of stands aged 0-20 / over 20 years →
  `biomass_growth`, pool agb, condition stand_age [0, 20) / [20, open);
- K20 / Kmax: above-ground biomass (t dm/ha) reached by 20 years / at most → `biomass_density`,
  pool agb, condition stand_age [0, 20) / [20, open) (IPCC 2019's ≤20 / >20 year classes);
- rs_young / rs_old: root-to-shoot ratio below / above `root_shoot_break` t dm/ha of above-ground
  biomass → `root_to_shoot`, condition biomass_density [0, break) / [break, open);
- `<name>_low` / `<name>_high` → value_low / value_high. Their meaning differs by row (range,
  ± standard deviation, 95 % interval or Earthshot's default factors, per the
  cap/rate_uncertainty_type columns, which are not carried: the schema has no field for it).

The units are implied by the code, not written in the file. The table is **derived**: it does
not say which IPCC table or edition each number comes from, so every row is flagged `derived`.
`ecozone` → climatic_domain and the FAO GEZ 2010 name through `crosswalks/climate_zones.csv`
('temperate oceanic' → temperate oceanic forest); `continent` → region (lower case).

Decisions, all checked on every run:
- Repeated rows: 5 rows repeat the row above them exactly (the oceania rows of boreal coniferous,
  boreal mountain system, boreal tundra woodland, temperate oceanic broadleaf and coniferous):
  each is read once. Two rows with the same zone, continent and forest type but different
  figures are an error naming both rows.
- A factor outside its own low-high interval is an error, except the reviewed cases in
  `EXCLUDED`: in 6 rows the r20 cells repeat the row's r0_low, r0_high and K20 (a column shift in
  the source), so r20 of those rows is not published.
- Two forest types are misspelt ('acaica mangium', 'cedeus libani'): read as `SPELLINGS` says.
- Some rows give K20 above Kmax (e.g. subtropical steppe coniferous: 110 vs 20 t/ha): kept as
  given (Earthshot's model caps biomass at Kmax).

`facts` (ipcc_default_values_facts.csv): one constant per row with the IPCC table as cited and the
code it was read from. Each row is mapped, or skipped with its reason, in
`crosswalks/ipcc_defaults_facts.csv` (a row the crosswalk lacks is an error); `reference` is the
citation with where it was read; flag `reported` (values as the cited code states them). Skipped:
the C → CO2 ratio 3.67 (a unit conversion) and a non-IPCC ratio (Mokany et al. 2006).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow as pa
from pydantic import BaseModel, ConfigDict, model_validator

from ercan import schema
from ercan.errors import ConfigError, SourceError, did_you_mean
from ercan.harmonize import finish, map_codes, parse_numbers, read_csv, require_columns, require_unique, to_unit
from ercan.reference import CLIMATE_ZONES, climate_zones, to_parameter_units
from ercan.sources import Source

SOURCE = Source(
    id="ipcc_defaults",
    title="IPCC Tier 1 defaults: biomass growth, biomass and root-to-shoot ratios by zone, continent and forest type; single default values",
    publisher="Earthshot Labs (earthshot_model_utils); WRI carbon-budget and code comments citing the IPCC 2006 Guidelines",
    license="none stated (Earthshot repository has no LICENSE); single facts cited from public code",
    citation=(
        "Earthshot-Labs/earthshot_model_utils@e7a2aba13b5c7e041c4bdb6b07cb393433eead82 "
        "model_utilities/tests/data/IPCC_Tier1_parameters.csv (processed from IPCC Vol.4 Ch.4 Tier 1 defaults); "
        "wri/carbon-budget@001fa9166bcfaab7eeba0f39ce9e2bdbe2cc0621 constants_and_names.py"
    ),
    inputs={
        "tier1": "ipcc_defaults/earthshot_IPCC_Tier1_parameters.csv",
        "facts": "ipcc_defaults/ipcc_default_values_facts.csv",
    },
    product="reference_factors",
)


class Factor(BaseModel):
    """One factor column of the Tier 1 table: what it is and the range of stands it holds for."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    column: str
    low: str | None = None  # column of the lower end of its interval
    high: str | None = None
    parameter: str
    unit: str  # as the source gives it (implied by Earthshot's code)
    pool: str | None = None
    condition_variable: str
    condition_min: float | str  # a number, or the column that holds it
    condition_max: float | str | None = None  # None: open-ended

    @model_validator(mode="after")
    def _vocabularies(self):
        if self.parameter not in schema.REFERENCE_PARAMETERS:
            raise ValueError(f"unknown parameter {self.parameter!r}{did_you_mean(self.parameter, schema.REFERENCE_PARAMETERS)}")
        if self.condition_variable not in schema.CONDITION_VARIABLES:
            raise ValueError(f"unknown condition {self.condition_variable!r}")
        if self.pool is not None and self.pool not in schema.POOLS:
            raise ValueError(f"unknown pool {self.pool!r}")
        return self


class Exclusion(BaseModel):
    """A reviewed factor that is not published, and why."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    ecozone: str
    continent: str
    forest_type: str
    column: str
    reason: str


KEY_COLUMNS = ("ecozone", "continent", "forest_type")
_STANDS_TO_20, _STANDS_OVER_20 = {"condition_min": 0, "condition_max": 20}, {"condition_min": 20}
FACTORS = (
    Factor(column="r0", low="r0_low", high="r0_high", parameter="biomass_growth", unit="t dm/ha/yr", pool="agb",
           condition_variable="stand_age", **_STANDS_TO_20),
    Factor(column="r20", low="r20_low", high="r20_high", parameter="biomass_growth", unit="t dm/ha/yr", pool="agb",
           condition_variable="stand_age", **_STANDS_OVER_20),
    Factor(column="K20", low="K20_low", high="K20_high", parameter="biomass_density", unit="t dm/ha", pool="agb",
           condition_variable="stand_age", **_STANDS_TO_20),
    Factor(column="Kmax", low="Kmax_low", high="Kmax_high", parameter="biomass_density", unit="t dm/ha", pool="agb",
           condition_variable="stand_age", **_STANDS_OVER_20),
    Factor(column="rs_young", parameter="root_to_shoot", unit="1", condition_variable="biomass_density",
           condition_min=0, condition_max="root_shoot_break"),
    Factor(column="rs_old", parameter="root_to_shoot", unit="1", condition_variable="biomass_density",
           condition_min="root_shoot_break"),
)
CONTINENTS = ("africa", "asia", "europe", "north america", "south america", "oceania")
SPELLINGS = {"acaica mangium": "acacia mangium", "cedeus libani": "cedrus libani"}
_SHIFTED = "the r20 cells repeat this row's r0_low, r0_high and K20 (a column shift in the source): r20 is unknown"
EXCLUDED = tuple(
    Exclusion(ecozone=zone, continent=continent, forest_type="natural", column="r20", reason=_SHIFTED)
    for zone in ("temperate continental", "temperate mountain system")
    for continent in ("asia", "europe", "oceania")
)
TIER1_REFERENCE = "Earthshot IPCC Tier 1 table (processed from IPCC Vol.4 Ch.4 Tier 1 defaults; tables not stated)"

FACT_COLUMNS = ("parameter", "ipcc_reference_as_cited", "ecozone_or_scope", "condition", "value", "unit", "source")
CROSSWALK = Path(__file__).with_name("crosswalks") / "ipcc_defaults_facts.csv"
FACTS = pd.read_csv(CROSSWALK, dtype=str, keep_default_na=False)
# How the facts file writes its units, in the spellings ercan.units converts.
FACT_UNITS = {"t C / t d.m.": "t C/t dm", "t d.m./ha": "t dm/ha", "ratio": "1", "t root d.m. / t shoot d.m.": "1",
              "t CO2 / t C": "t CO2/t C"}


def _fact_keys(parameter: pd.Series, scope: pd.Series, condition: pd.Series) -> pd.Series:
    """What identifies a fact: its parameter, scope and condition as the facts file writes them."""
    return parameter + " | " + scope + " | " + condition


def _check_facts_crosswalk() -> None:
    read = FACTS[FACTS["read"] == "yes"]
    for field, known in (("parameter", schema.REFERENCE_PARAMETERS), ("zone", ["", *CLIMATE_ZONES.index]),
                         ("pool", ["", *schema.POOLS]), ("region", ["", *CONTINENTS]),
                         ("condition_variable", ["", *schema.CONDITION_VARIABLES]), ("flag", schema.FLAGS)):
        for value in read[field]:
            if value not in known:
                raise ConfigError(f"harmonizers/crosswalks/{CROSSWALK.name}: unknown {field} {value!r}{did_you_mean(value, known)}")
    if (FACTS["read"] == "no").any() and (FACTS.loc[FACTS["read"] == "no", "note"] == "").any():
        raise ConfigError(f"harmonizers/crosswalks/{CROSSWALK.name}: a skipped fact needs its reason in `note`")


_check_facts_crosswalk()
FACTS["key"] = _fact_keys(FACTS["parameter_text"], FACTS["scope"], FACTS["condition_text"])


def harmonize(files) -> pa.Table:
    missing = sorted(set(SOURCE.inputs) - set(files))
    if missing:
        raise SourceError(f"no file for role(s) {missing}", hint=f"Ingest the files for roles {sorted(SOURCE.inputs)}.")
    rows = pd.concat([_tier1(files["tier1"]), _facts(files["facts"])], ignore_index=True)
    rows["unit"] = rows["parameter"].map(schema.REFERENCE_PARAMETERS)
    return finish(rows, SOURCE.id, schema.REFERENCE_COLUMNS)


def _tier1(raw) -> pd.DataFrame:
    table = read_csv(raw)
    numbers = list(dict.fromkeys(
        c for f in FACTORS for c in (f.column, f.low, f.high, f.condition_min, f.condition_max) if isinstance(c, str)
    ))
    require_columns(table, [*KEY_COLUMNS, *numbers], file=raw.name)
    keys = table[list(KEY_COLUMNS)].apply(lambda column: column.str.strip())
    values = {c: parse_numbers(table[c], file=raw.name, column=c) for c in numbers}
    common = pd.concat([
        climate_zones(keys["ecozone"], file=raw.name, column="ecozone"),
        pd.DataFrame({
            "region": map_codes(keys["continent"], {c: c for c in CONTINENTS}, what="continent", file=raw.name,
                                column="continent"),
            "stratum": keys["forest_type"].replace(SPELLINGS),
        }),
    ], axis=1)
    # Exact repeats of a row are read once; the same stratum with other figures is an error. The
    # index stays the file position, so errors name the file's rows.
    repeated = table.duplicated(keep="first")
    keys, common = keys[~repeated], common[~repeated]
    require_unique(keys.apply("|".join, axis=1), what="ecozone|continent|forest_type", file=raw.name,
                   column="ecozone", hint="The two rows give different figures for the same stratum: keep the right one.")
    frames = []
    for factor in FACTORS:
        rows = common.assign(
            parameter=factor.parameter, pool=factor.pool, value=values[factor.column],
            value_low=values[factor.low] if factor.low else float("nan"),
            value_high=values[factor.high] if factor.high else float("nan"),
            condition_variable=factor.condition_variable,
            condition_min=_bound(factor.condition_min, values), condition_max=_bound(factor.condition_max, values),
        )
        rows = rows[~_excluded(keys, factor.column)]
        _check_interval(rows, factor, raw.name)
        canonical = schema.REFERENCE_PARAMETERS[factor.parameter]
        for column in ("value", "value_low", "value_high"):
            rows[column] = to_unit(rows[column].astype("float64"), factor.unit, canonical, file=raw.name)
        frames.append(rows)
    return pd.concat(frames, ignore_index=True).assign(flag="derived", reference=TIER1_REFERENCE, snapshot=raw.sha256)


def _bound(bound: float | str | None, values: dict[str, pd.Series]):
    return values[bound] if isinstance(bound, str) else bound


def _excluded(keys: pd.DataFrame, column: str) -> pd.Series:
    excluded = pd.Series(False, index=keys.index)
    for e in EXCLUDED:
        if e.column == column:
            excluded |= (keys["ecozone"] == e.ecozone) & (keys["continent"] == e.continent) & (keys["forest_type"] == e.forest_type)
    return excluded


def _check_interval(rows: pd.DataFrame, factor: Factor, file: str) -> None:
    outside = (rows["value"] < rows["value_low"]) | (rows["value"] > rows["value_high"])
    if outside.any():
        at = rows.index[outside.to_numpy().argmax()]
        row = rows.loc[at]
        raise SourceError(
            f"{factor.column} = {row.value:g} lies outside its interval {factor.low} = {row.value_low:g}, "
            f"{factor.high} = {row.value_high:g}",
            file=file, row=2 + int(at), column=factor.column,
            hint="A column is probably shifted: fix the row, or review it and add it to EXCLUDED in harmonizers/ipcc_defaults.py.",
        )


def _facts(raw) -> pd.DataFrame:
    table = read_csv(raw)
    require_columns(table, FACT_COLUMNS, file=raw.name)
    table = table.apply(lambda column: column.str.strip())
    keys = _fact_keys(table["parameter"], table["ecozone_or_scope"], table["condition"])
    map_codes(keys, {key: key for key in FACTS["key"]}, what="fact (parameter | ecozone_or_scope | condition)",
              file=raw.name, column="parameter")
    facts = pd.DataFrame({
        "key": keys,
        "value": parse_numbers(table["value"], file=raw.name, column="value"),
        "source_unit": map_codes(table["unit"], FACT_UNITS, what="unit", file=raw.name, column="unit"),
        "reference": table["ipcc_reference_as_cited"].str.strip("'") + " (read in " + table["source"] + ")",
    })
    rows = facts.merge(FACTS, on="key")  # a fact stated for two domains gives two rows
    rows = rows[rows["read"] == "yes"].reset_index(drop=True)
    zones = climate_zones(rows["zone"], file=CROSSWALK.name, column="zone")
    rows = rows.replace("", None)
    return pd.concat([rows, zones], axis=1).assign(
        value=to_parameter_units(rows["value"], rows["parameter"], rows["source_unit"], file=raw.name),
        condition_min=pd.to_numeric(rows["condition_min"]),
        condition_max=pd.to_numeric(rows["condition_max"]),
        snapshot=raw.sha256,
    )[["parameter", "pool", "climatic_domain", "ecological_zone", "region", "stratum", "condition_variable",
       "condition_min", "condition_max", "value", "reference", "flag", "snapshot"]]

