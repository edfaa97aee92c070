"""Brazil's reference carbon stocks by biome and vegetation type (MCTI's 4th national inventory),
IPCC-derived Tier 1 stocks by land use and IPCC climate zone, soil organic carbon references and
soil stock change factors by land use and class, as the LUC-impacts-Brazil model compiled them
(reference factors, not observations).

- `mcti` (MCTI_ref.xlsx, sheet 'All'): one row per biome (`Biome`, Portuguese without accents:
  'Amazona', 'Mata Atlantica'…) and phytophysiognomy code (`Phyto`: As, Ds, …; case matters, 'Sp'
  and 'SP' are different types), with the stocks of four pools: AGB → agb, BGB → bgb, DOM →
  dead_wood (the sheet 'OtherBiome' calls the same column DW), LIT → litter. →
  `carbon_density`, stratum "<biome>: <code>" with the biome's IBGE name (`BIOMES`). A type that
  does not occur in a biome has an empty row: no rows.
  **Skipped**: the 8 Cerrado types whose row continues in columns J:Y with values for groups of
  states ('PR/SP', 'BA/DF/GO/MG', …): for them the 'All' value holds only for some states (e.g.
  Cerrado Sd: 'MA/PI/TO'), not for Brazil, and `region` has no code for a group of states. The
  per-state sheets (Cerrado5 … Cerrado27) are not read: their numbering of the states is not
  documented and does not agree with the groups in 'All' (Sp: 3.81 in 'All', 7.4 in every state
  sheet). 'OtherBiome' repeats 'All' for the other five biomes (except one row, 119) and is not read.
- `ipcc` (IPCC_ref.xlsx): sheets Pasture, Forestry, Temporary, Semiperennial, Perennial, Other
  (`LAND_USES`), one row per IPCC climate zone id (`Clim_ID`) with AGB, BGB, DW, LIT →
  `carbon_density`, stratum = the land use. The ids are the zones of 'Sheet1' C18:D22
  (`CLIMATE_IDS`, checked against the sheet on every run) and go through
  `crosswalks/climate_zones.csv` ('warm temperate moist' spans two FAO domains: no
  climatic_domain). Sheet1 computes them from IPCC dry-matter defaults (× 0.47 or 0.465 carbon
  fraction, × a root-to-shoot ratio): a cell holding a formula is flagged `derived`, a typed
  number (e.g. temporary cropland AGB 4.7) `reported`.

Units are written nowhere in the workbooks. They are read as **t C/ha**: the folder's README lists
both workbooks as the "Reference value for Biomass Carbon", IPCC_ref's formulas turn t dm/ha into
carbon (e.g. Pasture AGB = 2.7 × 0.47), and the magnitudes are those of carbon (Amazon dense
forest AGB 106-139). Region is "BRA" for every row.

- `soc` (SOCref_Subordem.xlsx): the soil organic carbon reference (MapBiomas 2023a) of each land
  use (`SOIL_LAND_USES`: a sheet each) and climate-soil class, `ClimSoil` with `Average`, `Median`,
  `Standard Deviation` → `carbon_density`, pool soil, value = `Average` (the value the
  LUC-impacts-Brazil model multiplies by Fc). Each is the mean of MapBiomas' SOC map over the
  cells of that land use and class, so flagged `derived`. Median and standard deviation are not
  carried (no column: value_low/value_high hold an interval, and mean ± SD would be a number the
  source does not print). t C/ha, 0-30 cm (MapBiomas' soil collection); the sheet states no unit,
  but the model adds these stocks to the biomass carbon stocks above and plots the sum as
  "C Stock (t/ha)" (Create_input.py).
- `fc` (Fc.xlsx): the soil carbon stock change factor Fc of each land use (the same sheets) and
  `Biome_state` class (MCTI 2020 / IPCC 2006, 2019) → `stock_change_factor` (dimensionless), pool
  soil, flag `reported`. Fc is the one factor the model applies (SOC = Fc × SOCref): the product
  F_LU × F_MG × F_I, not the three separately, so it is kept as one factor.

  **The class ids are kept as the workbooks print them** (stratum "pasture; ClimSoil 101",
  "pasture; Biome_state 305"): the repository's code builds ClimSoil as 100 × climate class + soil
  suborder class (SOCref.py) and Biome_state as 100 × biome + state (Create_input.py), but the
  legends of the classes (climate_reclass.txt, soil_reclass.txt, the Biome and State rasters) are
  not in the shared data, and the state numbering it uses elsewhere (Cerrado5 … Cerrado27)
  contradicts the groups of states in MCTI_ref's 'All' (above). Naming a soil, climate, biome or
  state would be a guess, so `climatic_domain` is empty and `region` is BRA, like every row. A
  factor is findable by its id once the legend is shipped. An empty cell (no such class under
  that land use) gives no row; an id that is not a 3-digit class id is an error naming its row.
  **Sheet 'Other' is not read** in either workbook: every value is 0 (324 SOC, 162 Fc) and the
  model never reads it (no 'Other' stock in get_C); a zero placeholder is not a reference stock.
  A sheet that is neither read nor declared skipped is an error naming it.
"""

from __future__ import annotations

import pandas as pd
import pyarrow as pa
from openpyxl.utils import column_index_from_string
from pydantic import BaseModel, ConfigDict

from ercan import schema
from ercan.errors import SourceError
from ercan.harmonize import Sheet, finish, map_codes, parse_numbers, read_sheets, require_columns
from ercan.reference import climate_zones, to_parameter_units
from ercan.sources import Source

SOURCE = Source(
    id="brazil_reference_stocks",
    title=("Brazil: reference carbon stocks by biome and vegetation type (MCTI), IPCC Tier 1 stocks by land use and climate "
           "zone, soil organic carbon references and soil stock change factors by land use"),
    publisher="LUC-impacts-Brazil (Leodium2024), compiling MCTI/SIRENE (Brazil's 4th National Inventory) and IPCC 2006/2019 defaults",
    license="GPL-3.0 (repository LICENSE file)",
    citation=(
        "MCTI (2020) IV Inventário - LULUCF; SIRENE, MCTI & INPE (2020); IPCC (2006, 2019) Vol.4; MapBiomas Project (2023a) "
        "Annual Mapping of Soil Organic Carbon Stocks in Brazil 1985-2021 (beta), doi:10.58053/MapBiomas/DHAYLZ; as compiled in "
        "Leodium2024/LUC-impacts-Brazil@c4ddd399558f3d116f51752f1d38a8c27f1ec342 Input/Preliminary_Input/Carbon/"
    ),
    inputs={
        "mcti": "brazil_reference_stocks/MCTI_ref.xlsx",
        "ipcc": "brazil_reference_stocks/IPCC_ref.xlsx",
        "soc": "brazil_reference_stocks/SOCref_Subordem.xlsx",
        "fc": "brazil_reference_stocks/Fc.xlsx",
    },
    product="reference_factors",
)


class Table(BaseModel):
    """A tidy sheet: a header in row 1, one row per stratum, one column per pool."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    sheet: str
    key_columns: tuple[str, ...]
    pools: dict[str, str]  # column -> pool


UNIT = "t C/ha"  # stated nowhere in the workbooks; see the module docstring
REGION = "BRA"
MCTI = Table(sheet="All", key_columns=("Biome", "Phyto"), pools={"AGB": "agb", "BGB": "bgb", "DOM": "dead_wood", "LIT": "litter"})
MCTI_VARIANTS_FROM = "J"  # where a row's values for groups of states begin
BIOMES = {
    "Amazona": "Amazônia",
    "Caatinga": "Caatinga",
    "Cerrado": "Cerrado",
    "Mata Atlantica": "Mata Atlântica",
    "Pampa": "Pampa",
    "Pantanal": "Pantanal",
}
MCTI_REFERENCE = "MCTI (2020) IV Inventário LULUCF / SIRENE, as compiled in LUC-impacts-Brazil MCTI_ref.xlsx"
LAND_USES = {
    "Pasture": "pasture",
    "Forestry": "forest plantation",
    "Temporary": "temporary cropland",
    "Semiperennial": "semi-perennial cropland",
    "Perennial": "perennial cropland",
    "Other": "other land",
}
IPCC_POOLS = {"AGB": "agb", "BGB": "bgb", "DW": "dead_wood", "LIT": "litter"}
ZONES_SHEET, ZONE_ID_COLUMN, ZONE_NAME_COLUMN, ZONE_ROWS = "Sheet1", "C", "D", range(18, 23)
CLIMATE_IDS = {1: "warm temperate moist", 2: "tropical dry", 3: "tropical moist", 4: "tropical wet", 5: "tropical montane"}
IPCC_REFERENCE = "IPCC 2006/2019 Vol.4 Tier 1 defaults, as computed in LUC-impacts-Brazil IPCC_ref.xlsx"


class ClassTables(BaseModel):
    """A workbook of one sheet per land use, each a tidy table (header in row 1) of one value per
    class id."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    key_column: str
    value_column: str
    parameter: str
    unit: str  # of the workbook's values (stated nowhere in them; see the module docstring)
    flag: str
    reference: str
    sheets: dict[str, str]  # sheet -> land use
    skipped: dict[str, str]  # sheet -> why it is not read


CLASS_ID = r"\d{3}"  # 100 × climate (or biome) class + soil suborder (or state) class
# Native vegetation (the model's 'Forest' and 'Grassland') and the IPCC_ref land uses but 'Other'.
SOIL_LAND_USES = {"Forest": "forest", "Grassland": "grassland", **{k: v for k, v in LAND_USES.items() if k != "Other"}}
OTHER_IS_ZERO = "every value is 0 and the model never reads it: a placeholder, not a reference"
SOC = ClassTables(
    key_column="ClimSoil", value_column="Average", parameter="carbon_density", unit="t C/ha", flag="derived",
    reference="MapBiomas (2023a) soil organic carbon 0-30 cm, mean per climate-soil class and land use, as computed in "
              "LUC-impacts-Brazil SOCref_Subordem.xlsx",
    sheets=SOIL_LAND_USES, skipped={"Other": OTHER_IS_ZERO},
)
FC = ClassTables(
    key_column="Biome_state", value_column="Fc", parameter="stock_change_factor", unit="1", flag="reported",
    reference="MCTI (2020) IV Inventário LULUCF / SIRENE and IPCC 2006/2019 soil stock change factors (F_LU × F_MG × F_I), "
              "as compiled in LUC-impacts-Brazil Fc.xlsx",
    sheets=SOIL_LAND_USES, skipped={"Other": OTHER_IS_ZERO},
)


def harmonize(files) -> pa.Table:
    missing = sorted(set(SOURCE.inputs) - set(files))
    if missing:
        raise SourceError(f"no file for role(s) {missing}", hint=f"Ingest the files for roles {sorted(SOURCE.inputs)}.")
    stocks = pd.concat([_mcti(files["mcti"]), _ipcc(files["ipcc"])], ignore_index=True)
    rows = pd.concat([stocks.assign(parameter="carbon_density", source_unit=UNIT),
                      _by_class(files["soc"], SOC), _by_class(files["fc"], FC)], ignore_index=True)
    rows["value"] = to_parameter_units(rows["value"], rows["parameter"], rows["source_unit"], file=None)
    rows = rows.assign(unit=rows["parameter"].map(schema.REFERENCE_PARAMETERS), region=REGION)
    return finish(rows, SOURCE.id, schema.REFERENCE_COLUMNS)


def _mcti(raw) -> pd.DataFrame:
    sheet = read_sheets(raw, [MCTI.sheet])[MCTI.sheet]
    table = _read(sheet, MCTI)
    biomes = map_codes(table["Biome"], BIOMES, what="biome", file=raw.name, sheet=MCTI.sheet, column="Biome")
    strata = biomes + ": " + table["Phyto"]
    # A row that goes on with values for groups of states holds for some states only: left out.
    variants = range(column_index_from_string(MCTI_VARIANTS_FROM), len(sheet.rows[0]) + 1)
    by_state_groups = pd.Series([any(_text(sheet.value(row, column)) for column in variants) for row in table.index],
                                index=table.index)
    table, strata = table[~by_state_groups], strata[~by_state_groups]
    return _long(table, MCTI, strata, sheet).assign(reference=MCTI_REFERENCE, snapshot=raw.sha256)


def _ipcc(raw) -> pd.DataFrame:
    sheets = read_sheets(raw, [ZONES_SHEET, *LAND_USES])
    _check_climate_ids(sheets[ZONES_SHEET])
    frames = []
    for name, land_use in LAND_USES.items():
        spec = Table(sheet=name, key_columns=("Clim_ID",), pools=IPCC_POOLS)
        table = _read(sheets[name], spec)
        ids = parse_numbers(table["Clim_ID"], file=raw.name, sheet=name, column="Clim_ID")
        zone_names = map_codes(ids, CLIMATE_IDS, what="climate zone id", file=raw.name, sheet=name, column="Clim_ID")
        zones = climate_zones(zone_names, file=raw.name, column="Clim_ID")  # CLIMATE_IDS' names are all in the crosswalk
        rows = _long(table, spec, pd.Series(land_use, index=table.index), sheets[name])
        frames.append(rows.join(zones, on="sheet_row"))
    return pd.concat(frames, ignore_index=True).assign(reference=IPCC_REFERENCE, snapshot=raw.sha256)


def _by_class(raw, spec: ClassTables) -> pd.DataFrame:
    """One soil factor per land use and class id with a value, stratum "<land use>; <key> <id>"."""
    sheets = read_sheets(raw, spec.sheets, declared=[*spec.sheets, *spec.skipped])
    frames = []
    for name, land_use in spec.sheets.items():
        table_spec = Table(sheet=name, key_columns=(spec.key_column,), pools={spec.value_column: "soil"})
        table = _read(sheets[name], table_spec)
        ids = table[spec.key_column]
        bad = ~ids.str.fullmatch(CLASS_ID)
        if bad.any():
            raise SourceError(
                f"{ids[bad].iloc[0]!r} is not a 3-digit class id", file=raw.name, sheet=name, row=int(bad.idxmax()),
                column=spec.key_column, hint="Fix the id: the classes are numbered 101, 102, … as in the other sheets.",
            )
        frames.append(_long(table, table_spec, land_use + "; " + spec.key_column + " " + ids, sheets[name]))
    return pd.concat(frames, ignore_index=True).assign(
        parameter=spec.parameter, source_unit=spec.unit, flag=spec.flag, reference=spec.reference, snapshot=raw.sha256
    )


def _read(sheet: Sheet, spec: Table) -> pd.DataFrame:
    """The rows under the header, indexed by their row number in the sheet: key columns as text,
    pool columns as numbers (a cell that is no number is an error naming it). Rows without a key
    (empty rows) are left out; values without a key are an error."""
    header = pd.DataFrame(columns=[_text(c) for c in (sheet.rows[0] if sheet.rows else ())])
    require_columns(header, [*spec.key_columns, *spec.pools], file=sheet.file, sheet=sheet.name)
    columns = {name: list(header.columns).index(name) + 1 for name in (*spec.key_columns, *spec.pools)}
    rows = range(2, len(sheet.rows) + 1)
    text = pd.DataFrame({name: [_text(sheet.value(row, number)) for row in rows] for name, number in columns.items()},
                        index=rows, dtype="str")
    numbers = {
        column: parse_numbers(text[column], file=sheet.file, sheet=sheet.name, column=column, first_row=2)
        for column in spec.pools
    }
    keyed = text[list(spec.key_columns)].ne("").all(axis=1)
    keyless = ~keyed & pd.concat(numbers, axis=1).notna().any(axis=1)
    if keyless.any():
        raise SourceError("values without a key", file=sheet.file, sheet=sheet.name, row=int(keyless.idxmax()),
                          column="/".join(spec.key_columns), hint="Fill in what the values are for.")
    gaps = ~keyed & keyed[::-1].cummax()[::-1]  # an empty row with rows below it
    if gaps.any():
        raise SourceError("an empty row inside the table", file=sheet.file, sheet=sheet.name, row=int(gaps.idxmax()),
                          hint="Remove the empty row: the table's rows run from row 2 without gaps.")
    # Contiguous from row 2, so the shared helpers' row numbers (2 + position) stay right.
    return text[list(spec.key_columns)].assign(**numbers)[keyed]


def _long(table: pd.DataFrame, spec: Table, strata: pd.Series, sheet: Sheet) -> pd.DataFrame:
    """One row per stratum and pool with a value, flagged `derived` where the cell is a formula."""
    header = [_text(c) for c in sheet.rows[0]]
    frames = []
    for column, pool in spec.pools.items():
        number = header.index(column) + 1  # _read checked it is there
        formula = pd.Series([sheet.is_formula(row, number) for row in table.index], index=table.index)
        frames.append(pd.DataFrame({
            "stratum": strata, "pool": pool, "value": table[column], "sheet_row": table.index,
            "flag": formula.map({True: "derived", False: "reported"}),
        }))
    rows = pd.concat(frames)
    return rows[rows["value"].notna()].reset_index(drop=True)


def _check_climate_ids(sheet: Sheet) -> None:
    """The climate zone ids mean what `CLIMATE_IDS` says: Sheet1 lists them with their names."""
    id_column, name_column = column_index_from_string(ZONE_ID_COLUMN), column_index_from_string(ZONE_NAME_COLUMN)
    printed = {sheet.value(row, id_column): _text(sheet.value(row, name_column)) for row in ZONE_ROWS}
    if printed != CLIMATE_IDS:
        raise SourceError(
            f"the climate zone ids in {ZONE_ID_COLUMN}{ZONE_ROWS[0]}:{ZONE_NAME_COLUMN}{ZONE_ROWS[-1]} read {printed!r}, "
            f"not {CLIMATE_IDS!r}",
            file=sheet.file, sheet=sheet.name, row=ZONE_ROWS[0], column=ZONE_ID_COLUMN,
            hint="The zone numbering changed: check it and update CLIMATE_IDS in harmonizers/brazil_reference_stocks.py.",
        )


def _text(cell) -> str:
    return "" if cell is None else str(cell).strip()
