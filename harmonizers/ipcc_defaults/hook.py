"""What ipcc_defaults' declaration cannot say: the Tier 1 table's factors, each with its interval
and the stand condition it holds for (some bounds read from a column), exact repeats read once,
the interval check, and the facts expanded through their crosswalk (see `notes` in source.yaml).
`cells` returns one row per factor in the fields the declaration maps one to one, in canonical units."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from pydantic import BaseModel, ConfigDict, model_validator

from ercan import schema
from ercan.errors import ConfigError, SourceError, did_you_mean
from ercan.harmonize import map_codes, require_unique, to_unit
from ercan.readers import LINE, parse_numbers, require_columns
from ercan.reference import CLIMATE_ZONES, climate_zones, to_parameter_units

FOLDER = Path(__file__).parent


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
EXCLUDED_FILE = "excluded_factors.csv"  # reviewed factors that are not published, and why
EXCLUDED = pd.read_csv(FOLDER / EXCLUDED_FILE, dtype=str, keep_default_na=False)
TIER1_REFERENCE = "Earthshot IPCC Tier 1 table (processed from IPCC Vol.4 Ch.4 Tier 1 defaults; tables not stated)"

FACT_COLUMNS = ("parameter", "ipcc_reference_as_cited", "ecozone_or_scope", "condition", "value", "unit", "source")
CROSSWALK = "ipcc_defaults_facts.csv"
FACTS = pd.read_csv(FOLDER / CROSSWALK, dtype=str, keep_default_na=False)
# How the facts file writes its units, in the spellings ercan.units converts.
FACT_UNITS = {"t C / t d.m.": "t C/t dm", "t d.m./ha": "t dm/ha", "ratio": "1", "t root d.m. / t shoot d.m.": "1",
              "t CO2 / t C": "t CO2/t C"}
FIELDS = ["parameter", "pool", "climatic_domain", "ecological_zone", "region", "stratum", "condition_variable",
          "condition_min", "condition_max", "value", "value_low", "value_high", "unit", "reference", "flag"]


def _fact_keys(parameter: pd.Series, scope: pd.Series, condition: pd.Series) -> pd.Series:
    """What identifies a fact: its parameter, scope and condition as the facts file writes them."""
    return parameter + " | " + scope + " | " + condition


def _check_crosswalks() -> None:
    read = FACTS[FACTS["read"] == "yes"]
    for field, known in (("parameter", schema.REFERENCE_PARAMETERS), ("zone", ["", *CLIMATE_ZONES.index]),
                         ("pool", ["", *schema.POOLS]), ("region", ["", *CONTINENTS]),
                         ("condition_variable", ["", *schema.CONDITION_VARIABLES]), ("flag", schema.FLAGS)):
        for value in read[field]:
            if value not in known:
                raise ConfigError(f"harmonizers/ipcc_defaults/{CROSSWALK}: unknown {field} {value!r}{did_you_mean(value, known)}")
    if (FACTS["read"] == "no").any() and (FACTS.loc[FACTS["read"] == "no", "note"] == "").any():
        raise ConfigError(f"harmonizers/ipcc_defaults/{CROSSWALK}: a skipped fact needs its reason in `note`")
    if (EXCLUDED["reason"] == "").any() or not set(EXCLUDED["column"]) <= {f.column for f in FACTORS}:
        raise ConfigError(f"harmonizers/ipcc_defaults/{EXCLUDED_FILE}: each entry needs a factor column and its `reason`")


_check_crosswalks()
FACTS["key"] = _fact_keys(FACTS["parameter_text"], FACTS["scope"], FACTS["condition_text"])


def cells(role: str, cells: pd.DataFrame, raw) -> pd.DataFrame:
    # indexed by position in the file (line - 2), as the row-naming checks of ercan.harmonize expect
    table = cells.fillna("").set_axis(cells[LINE] - 2)
    rows = _tier1(table, raw) if role == "tier1" else _facts(table, raw)
    rows = rows.assign(unit=rows["parameter"].map(schema.REFERENCE_PARAMETERS)).reindex(columns=[LINE, *FIELDS])
    numbers = ["value", "value_low", "value_high", "condition_min", "condition_max"]
    return rows.astype(object).where(rows.notna(), None).assign(**{c: _text(rows[c]) for c in numbers})


def _text(numbers: pd.Series) -> pd.Series:
    """Numbers as text the declared reader parses back exactly (repr round-trips a float)."""
    return numbers.astype("float64").map(lambda n: None if pd.isna(n) else repr(n)).astype(object)


def _tier1(table: pd.DataFrame, raw) -> pd.DataFrame:
    numbers = list(dict.fromkeys(
        c for f in FACTORS for c in (f.column, f.low, f.high, f.condition_min, f.condition_max) if isinstance(c, str)
    ))
    require_columns(table, [*KEY_COLUMNS, *numbers], file=raw.name, role="tier1")
    keys = table[list(KEY_COLUMNS)]
    values = {c: parse_numbers(table[c], table[LINE], "none", file=raw.name, column=c, role="tier1") for c in numbers}
    common = pd.concat([
        climate_zones(keys["ecozone"], file=raw.name, column="ecozone"),
        pd.DataFrame({
            "region": map_codes(keys["continent"], {c: c for c in CONTINENTS}, what="continent", file=raw.name,
                                column="continent"),
            "stratum": keys["forest_type"].replace(SPELLINGS),
        }),
    ], axis=1)
    # Exact repeats of a row are read once; the same stratum with other figures is an error.
    repeated = table.drop(columns=[LINE]).duplicated(keep="first")
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
        frames.append(rows.assign(**{LINE: table.loc[rows.index, LINE]}))
    return pd.concat(frames, ignore_index=True).assign(flag="derived", reference=TIER1_REFERENCE)


def _bound(bound: float | str | None, values: dict[str, pd.Series]):
    return values[bound] if isinstance(bound, str) else bound


def _excluded(keys: pd.DataFrame, column: str) -> pd.Series:
    excluded = pd.Series(False, index=keys.index)
    for e in EXCLUDED[EXCLUDED["column"] == column].itertuples():
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
            hint=f"A column is probably shifted: review the row and, if so, list its factor in "
                 f"harmonizers/ipcc_defaults/{EXCLUDED_FILE} with the reason.",
        )


def _facts(table: pd.DataFrame, raw) -> pd.DataFrame:
    require_columns(table, FACT_COLUMNS, file=raw.name, role="facts")
    keys = _fact_keys(table["parameter"], table["ecozone_or_scope"], table["condition"])
    map_codes(keys, {key: key for key in FACTS["key"]}, what="fact (parameter | ecozone_or_scope | condition)",
              file=raw.name, column="parameter")
    facts = pd.DataFrame({
        "key": keys,
        LINE: table[LINE],
        "value": parse_numbers(table["value"], table[LINE], "none", file=raw.name, column="value", role="facts"),
        "source_unit": map_codes(table["unit"], FACT_UNITS, what="unit", file=raw.name, column="unit"),
        "reference": table["ipcc_reference_as_cited"].str.strip("'") + " (read in " + table["source"] + ")",
    })
    rows = facts.merge(FACTS, on="key")  # a fact stated for two domains gives two rows
    rows = rows[rows["read"] == "yes"].reset_index(drop=True)
    zones = climate_zones(rows["zone"], file=CROSSWALK, column="zone")
    rows = rows.replace("", None)
    return pd.concat([rows, zones], axis=1).assign(
        value=to_parameter_units(rows["value"], rows["parameter"], rows["source_unit"], file=raw.name),
        condition_min=pd.to_numeric(rows["condition_min"]),
        condition_max=pd.to_numeric(rows["condition_max"]),
    )
