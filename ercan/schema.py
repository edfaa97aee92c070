"""The common schema as one field registry.

Every column ercan publishes is described here once: its Arrow type, unit, meaning and allowed
values. The Parquet schemas, the schema expectations in `expectations/` and the data dictionary
in `docs/data_dictionary.md` are all generated from this registry, so they cannot drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

AREA_LEVELS = ("site", "subnational", "national", "regional", "global")
LAND_CATEGORIES = (
    "forest_land",
    "cropland",
    "grassland",
    "wetlands",
    "settlements",
    "other_land",
    "all",
)
# The controlled vocabulary of variables, each with the one canonical unit its values are in.
VARIABLE_UNITS: dict[str, str] = {
    "area": "ha",
    "tree_cover_extent": "ha",
    "carbon_density": "t C/ha",
    "carbon_stock": "t C",
    "carbon_stock_change": "t C/yr",
    "net_emissions": "t CO2e/yr",
    "gross_emissions": "t CO2e/yr",
    "growing_stock": "m3",
    "tree_cover_loss": "ha/yr",
    "afforestation": "ha/yr",
    "restoration_area": "ha",
    "degraded_area": "ha",
    "gpp": "g C/m2/d",
    "nee": "g C/m2/d",
    "reco": "g C/m2/d",
    "natural_expansion": "ha/yr",
    "deforestation": "ha/yr",
    "restoration_commitment": "ha",
    "forest_cover": "%",
    "growing_stock_density": "m3/ha",
    "biomass_density": "t dm/ha",
    "land_use_emissions": "t C/yr",
    "land_sink": "t C/yr",
}
VARIABLES = tuple(VARIABLE_UNITS)

# What no value of a variable can physically be, in its canonical unit: (min, max, why). The schema
# suite checks every one (critical: a value outside is an impossibility, not an outlier), so a source
# cannot forget one; a source's own suite may narrow them. Generous on purpose: they catch a wrong
# unit or a typo of orders of magnitude, not a surprising figure.
EARTH_LAND_HA = 1.49e10  # the Earth's land surface, 149 million km2
_AREA = (0.0, EARTH_LAND_HA, "no area is larger than the Earth's land surface (1.49e10 ha)")
_AREA_RATE = (0.0, EARTH_LAND_HA, "no area changes by more than the Earth's land surface (1.49e10 ha) in a year")
# Global terrestrial net primary production is about 60 Gt C/yr: no flux of land reaches 100 Gt C/yr.
_FLUX_C = (-1e11, 1e11, "no land flux reaches 100 Gt C/yr (global terrestrial NPP is about 60 Gt C/yr)")
_FLUX_CO2 = (-3.67e11, 3.67e11, "no land flux reaches 100 Gt C/yr = 367 Gt CO2/yr (global terrestrial NPP is "
             "about 60 Gt C/yr)")
_DAILY_FLUX = (-100.0, 100.0, "no ecosystem exchanges 100 g C/m2 in a day (daily GPP of the most productive "
               "crops peaks near 40 g C/m2/d)")
VARIABLE_BOUNDS: dict[str, tuple[float, float, str]] = {
    "area": _AREA,
    "tree_cover_extent": _AREA,
    "restoration_area": _AREA,
    "degraded_area": _AREA,
    "restoration_commitment": _AREA,
    "tree_cover_loss": _AREA_RATE,
    "afforestation": _AREA_RATE,
    "natural_expansion": _AREA_RATE,
    "deforestation": _AREA_RATE,
    "forest_cover": (0.0, 100.0, "a share of land area is 0-100 %"),
    "carbon_density": (0.0, 1e4, "no land holds 10,000 t C/ha (the deepest peatlands hold a few thousand; the most "
                                 "carbon-dense forests' biomass 1,867 t C/ha, Keith et al. 2009)"),
    "biomass_density": (0.0, 5e3, "no stand holds 5,000 t dm/ha (the most carbon-dense forests' biomass is about "
                                  "4,000 t dm/ha: 1,867 t C/ha, Keith et al. 2009)"),
    "growing_stock_density": (0.0, 2e4, "no stand holds 20,000 m3/ha of stem wood"),
    "growing_stock": (0.0, 2e12, "the world's growing stock is 557 billion m3 (FAO FRA 2020): no area holds 2e12 m3"),
    "carbon_stock": (0.0, 5e12, "all carbon of the land, soils and permafrost included, is below 5,000 Gt C"),
    "carbon_stock_change": _FLUX_C,
    "land_use_emissions": _FLUX_C,
    "land_sink": _FLUX_C,
    "net_emissions": _FLUX_CO2,
    "gross_emissions": (0.0, _FLUX_CO2[1], _FLUX_CO2[2]),
    "gpp": (-10.0, 100.0, _DAILY_FLUX[2] + "; partitioned daily GPP can be slightly negative"),
    "nee": _DAILY_FLUX,
    "reco": (-10.0, 100.0, _DAILY_FLUX[2] + "; partitioned daily respiration can be slightly negative"),
}


def is_additive(variable: str) -> bool:
    """Whether members' values add up to their aggregate's (areas, stocks, flows: yes; densities
    and per-area rates: no, they are weighted by area instead)."""
    unit = VARIABLE_UNITS[variable]
    return "/ha" not in unit and "/m2" not in unit and unit != "%"


ADDITIVE_VARIABLES = tuple(v for v in VARIABLES if is_additive(v))  # for vectorised filters (Series.isin)
POOLS = ("agb", "bgb", "dead_wood", "litter", "soil", "biomass", "total")
CANONICAL_UNITS = tuple(dict.fromkeys(VARIABLE_UNITS.values()))
FLAGS = ("reported", "estimated", "gap_filled", "interpolated", "derived", "imputed")


@dataclass(frozen=True)
class Relation:
    """Values of one kind that cannot exceed values of another in a source's rows: each row that
    `lesser` selects (column -> the values it may hold) is compared with the rows `greater` selects that
    share its `on` columns (with `parent`: whose area_code is the lesser row's parent_code; with
    `greatest`: the largest of them, whatever their year). Checked in the schema suite as a critical
    expectation, on a frame of the pairs named `lesser_name` and `greater_name` (ercan/relations.py)."""

    name: str
    lesser: dict[str, tuple]
    greater: dict[str, tuple]
    on: tuple[str, ...]
    lesser_name: str
    greater_name: str
    why: str
    parent: bool = False
    greatest: bool = False


_PARTS_OF_TOTAL = ("agb", "bgb", "dead_wood", "litter", "soil", "biomass")
_STOCKS = ("carbon_stock", "carbon_density", "biomass_density")  # per pool, none negative
_PERIOD = ("year", "year_start", "year_end")
# The additive quantities that cannot be negative (their bound starts at 0): a part of an area holds
# no more of them than the area.
NONNEGATIVE_ADDITIVE = tuple(v for v in ADDITIVE_VARIABLES if VARIABLE_BOUNDS[v][0] >= 0)
RELATIONS: dict[str, Relation] = {r.name: r for r in (
    Relation("loss_within_extent", {"variable": ("tree_cover_loss",)}, {"variable": ("tree_cover_extent",)},
             ("source", "area_code", "land_category", "category"), "tree_cover_loss", "largest_tree_cover_extent",
             "an area cannot lose more tree cover in a year than the largest tree cover extent its source reports "
             "for it (loss is measured within that extent)", greatest=True),
    Relation("pool_within_total", {"variable": _STOCKS, "pool": _PARTS_OF_TOTAL}, {"variable": _STOCKS, "pool": ("total",)},
             ("source", "area_code", *_PERIOD, "land_category", "category", "variable"), "pool_value", "total_pool",
             "a carbon pool cannot hold more than the total of all pools of the same area, year and land"),
    Relation("part_within_biomass", {"variable": _STOCKS, "pool": ("agb", "bgb")}, {"variable": _STOCKS, "pool": ("biomass",)},
             ("source", "area_code", *_PERIOD, "land_category", "category", "variable"), "agb_or_bgb", "biomass_pool",
             "above- or below-ground biomass cannot exceed the biomass of the same area, year and land (their sum)"),
    Relation("subnational_within_country", {"area_level": ("subnational",), "variable": NONNEGATIVE_ADDITIVE},
             {"area_level": ("national",), "variable": NONNEGATIVE_ADDITIVE},
             ("source", *_PERIOD, "land_category", "category", "variable", "pool"), "subnational_value", "country_value",
             "a subnational unit cannot hold more of an area, a stock or a flow that cannot be negative than its "
             "country (the same source, year, land and variable)", parent=True),
)}


# How far the sum of a source's members may be from the aggregate the source reports for them before
# the source is quarantined: orders of magnitude (a unit or a typo), far beyond the reconciliation's
# 0.1 % tolerance (ercan/accounting/reconcile.py), whose findings are for the steward and gate nothing.
# Below the aggregate only where every member reported: a partial sum is expected to fall short.
MEMBERS_FACTOR = 10.0
MEMBERS_WHY = ("the sum of a source's members (its states, countries, regions) is within 10x of the aggregate it "
               "reports for them: beyond that a member or the aggregate is off by orders of magnitude (a unit or a "
               "typo); smaller differences are reconciliation findings, not errors")


@dataclass(frozen=True)
class Field:
    name: str
    type: pa.DataType
    description: str
    unit: str | None = None
    allowed: tuple[str, ...] | None = None
    nullable: bool = True
    min_value: float | None = None
    max_value: float | None = None


def _f(name, type_, description, **kw) -> Field:
    return Field(name=name, type=type_, description=description, **kw)


FIELDS: dict[str, Field] = {
    f.name: f
    for f in [
        _f("source", pa.string(), "Source id (a harmonizer in `harmonizers/`).", nullable=False),
        _f("snapshot", pa.string(), "SHA-256 of the raw file the value was read from.", nullable=False),
        _f(
            "area_code",
            pa.string(),
            "ISO 3166-1 alpha-3 (countries), ISO 3166-2 (subnational units), a site id, "
            "`M49:NNN` (UN M49 regions), `FRA:<name>` (FRA 2020 regions) or `WORLD`.",
            nullable=False,
        ),
        _f("area_level", pa.string(), "Scale of the area.", allowed=AREA_LEVELS, nullable=False),
        _f("parent_code", pa.string(), "The enclosing area (province → country → region → WORLD)."),
        _f("year", pa.int32(), "Reference year.", nullable=False, min_value=1850, max_value=2100),
        _f("year_start", pa.int32(), "First year of the period, where the value is a rate over a period."),
        _f("year_end", pa.int32(), "Last year of the period, where the value is a rate over a period."),
        _f("land_category", pa.string(), "IPCC land category, or `all`.", allowed=LAND_CATEGORIES, nullable=False),
        _f(
            "category",
            pa.string(),
            "The source's own inventory category, prefixed by its code system "
            "(e.g. `IPCC1996:5.A`), where the value is one.",
        ),
        _f("variable", pa.string(), "What is measured (controlled vocabulary).", allowed=VARIABLES, nullable=False),
        _f("pool", pa.string(), "Carbon pool, where the variable has one.", allowed=POOLS),
        _f("value", pa.float64(), "The value, in `unit`.", nullable=False),
        _f("unit", pa.string(), "Canonical unit of `value`.", allowed=CANONICAL_UNITS, nullable=False),
        _f(
            "uncertainty",
            pa.float64(),
            "95% interval half-width as a fraction of the value, where known.",
            min_value=0.0,
        ),
        _f("flag", pa.string(), "How the value came about.", allowed=FLAGS, nullable=False),
    ]
}

OBSERVATION_COLUMNS: tuple[str, ...] = tuple(FIELDS)

# Columns that identify one observation; a source may not report two values for the same key.
OBSERVATION_KEY = (
    "source",
    "area_code",
    "year",
    "year_start",
    "year_end",
    "land_category",
    "category",
    "variable",
    "pool",
)

# Columns of derived products beyond the observation fields.
PRODUCT_FIELDS: dict[str, Field] = {
    f.name: f
    for f in [
        _f("members_total", pa.int32(), "Members (countries, provinces) the aggregate has."),
        _f("members_reporting", pa.int32(), "Members that reported the value."),
        _f(
            "coverage_share",
            pa.float64(),
            "Share (0-1) of the aggregate's forest area covered by the reporting members.",
            min_value=0.0,
            max_value=1.0,
        ),
        _f(
            "coverage",
            pa.string(),
            "`complete` when every member reported, else `partial`.",
            allowed=("complete", "partial"),
        ),
        _f("reported_value", pa.float64(), "The aggregate as the source reported it."),
        _f("bottom_up_value", pa.float64(), "The sum of the aggregate's members as computed by ercan."),
        _f("difference", pa.float64(), "bottom_up_value − reported_value."),
        _f("relative_difference", pa.float64(), "difference / reported_value."),
        _f("tolerance", pa.float64(), "The relative tolerance the comparison is judged against."),
        _f("within_tolerance", pa.bool_(), "Whether |relative_difference| ≤ tolerance; empty when coverage is partial."),
        _f("method", pa.string(), "How the value was obtained: `reported`, `density_x_area`, `pool_sum`, "
           "`bottom_up`, `regional_density:<region>` and `tier1_climatic_domain` (gap-filled), "
           "`growing_stock_bcef`, `stock_difference`, `gain_loss`, `literature` (net emissions cited from "
           "documents), ... "
           "(docs/accounting.md)."),
        _f("uncertainty_basis", pa.string(), "`reported` when the uncertainty comes from the sources, `default` "
           "when a documented default stood in for a missing one.", allowed=("reported", "default")),
        _f("interval_low", pa.float64(), "Lower end of the 95 % interval by Monte Carlo (IPCC Approach 2), in `unit`."),
        _f("interval_high", pa.float64(), "Upper end of the 95 % interval by Monte Carlo (IPCC Approach 2), in `unit`."),
        _f("kind", pa.string(), "What is reconciled: an aggregate against its members, a source against the "
           "preferred source, or an estimate against the reported value.",
           allowed=("aggregate_vs_members", "source_vs_source", "method_vs_reported")),
        _f("other_source", pa.string(), "The source (and method) compared with the preferred one."),
        _f("other_year", pa.int32(), "The compared source's year: the row's year, or one at most the "
           "comparison's `years_apart` from it; empty for an estimate over a period (`year_start`-`year_end`)."),
        _f("other_value", pa.float64(), "The compared source's value, in the row's unit and sign convention."),
        _f("preferred_source", pa.string(), "The source whose value is published: the first of the sources the "
           "compared one declares under `reconcile:` (docs/accounting.md) that has a figure."),
        _f("indicator", pa.string(), "What a restoration row measures.",
           allowed=("restoration_area", "restoration_commitment", "afforestation", "natural_expansion")),
        _f("basis", pa.string(), "What the indicator is: reported restoration, a pledge, or a labelled proxy."),
        _f("degraded_area", pa.float64(), "Degraded area (ha) reported for the same area, up to the row's year.", unit="ha"),
        _f("target_share", pa.float64(), "Kunming-Montreal Target 2: share of degraded ecosystems under "
           "effective restoration by `target_year`.", min_value=0.0, max_value=1.0),
        _f("target_year", pa.int32(), "Year of the target."),
        _f("share_achieved", pa.float64(), "restoration_area / degraded_area, where both were reported.", min_value=0.0),
        _f("target_progress", pa.float64(), "share_achieved / target_share (1 = target met).", min_value=0.0),
        _f("note", pa.string(), "Why a value is missing or how to read it."),
        _f("area_name", pa.string(), "The area's name, from the library or crosswalk `name_source` says (ISO 3166 "
           "through country_converter and pycountry, UN M49, the sources' area crosswalks); empty where none names "
           "it (`name_source` `none`)."),
        _f("valid_from", pa.int32(), "First year the code stands for the area, where a library records it (pycountry's "
           "ISO 3166 records only withdrawals, so none does yet: empty)."),
        _f("valid_to", pa.int32(), "Last year the code stands for the area: the year a withdrawn code was withdrawn "
           "(ISO 3166-3 per pycountry, a source's `withdrawn_subdivisions.csv`); empty while it is current."),
        _f("code_system", pa.string(), "What kind of code `area_code` is: `ISO 3166-1 alpha-3`, `ISO 3166-2`, "
           "`UN M49`, `WORLD`, `FRA 2020 region`, `site id of <source>` or `code of <source>` (a source's own)."),
        _f("name_source", pa.string(), "Where `area_name` comes from: a library (`country_converter`, `pycountry "
           "ISO 3166-1`, `pycountry ISO 3166-2`, `pycountry ISO 3166-3`), a file of the repository (the UN M49 "
           "table, a source's crosswalk), or `none`."),
        _f("subject", pa.string(), "What a quality gate checked: a source id or a product name."),
        _f("suite", pa.string(), "The expectation suite (a file in `expectations/`)."),
        _f("position", pa.int32(), "The expectation's position in its suite."),
        _f("expectation", pa.string(), "The GX expectation type."),
        _f("column_name", pa.string(), "The column(s) the expectation is about."),
        _f("severity", pa.string(), "`critical` quarantines the subject; `warning` only reports.",
           allowed=("critical", "warning", "info")),
        _f("success", pa.bool_(), "Whether the expectation held."),
        _f("element_count", pa.int64(), "Rows checked."),
        _f("unexpected_count", pa.int64(), "Rows that broke the expectation."),
        _f("unexpected_examples", pa.string(), "Up to five offending values (JSON)."),
        _f("reason", pa.string(), "Why the expectation failed, in words: severity, the rule and its bound, the "
           "suite's explanation, and the first offending rows by area, year, variable and place in the raw file "
           "(empty when it held)."),
    ]
}

# Reference factors: the parameters IPCC methods apply (expansion factors, ratios, default stocks
# and growth rates), by the stratum they hold for. They describe no area's state, so they are a
# table of their own (the `reference_factors` product), never observations. One unit each.
REFERENCE_PARAMETERS: dict[str, str] = {
    "bcef_stock": "t dm/m3",  # BCEF_S: growing stock volume -> above-ground biomass
    "bcef_increment": "t dm/m3",  # BCEF_I: net annual increment -> biomass growth
    "bcef_removals": "t dm/m3",  # BCEF_R: wood removals -> biomass removals
    "root_to_shoot": "1",  # R: below-ground / above-ground biomass
    "carbon_fraction": "t C/t dm",  # CF of dry matter
    "wood_density": "t dm/m3",  # basic wood density
    "biomass_density": "t dm/ha",  # default biomass stock (pool says which)
    "biomass_growth": "t dm/ha/yr",  # default annual biomass growth
    "carbon_density": "t C/ha",  # default or reference carbon stock (pool says which)
    "stock_change_factor": "1",  # relative stock change factors (F_LU, F_MG, F_I)
    "climatic_domain_share": "%",  # share of a country's area in a climatic domain (region = the country)
}
CLIMATIC_DOMAINS = ("tropical", "subtropical", "temperate", "boreal", "polar")
# What a factor's validity range (condition_min … condition_max) is measured in.
CONDITION_VARIABLES = {"growing_stock_density": "m3/ha", "biomass_density": "t dm/ha", "stand_age": "yr"}

REFERENCE_FIELDS: dict[str, Field] = {
    f.name: f
    for f in [
        FIELDS["source"],
        FIELDS["snapshot"],
        _f("parameter", pa.string(), "The factor (controlled vocabulary).", allowed=tuple(REFERENCE_PARAMETERS), nullable=False),
        FIELDS["pool"],
        _f("climatic_domain", pa.string(), "FAO/IPCC climatic domain the factor holds for.", allowed=CLIMATIC_DOMAINS),
        _f("ecological_zone", pa.string(), "FAO global ecological zone or the source's finer climate zone, lower case."),
        _f("region", pa.string(), "Continent (lower case) or ISO 3166-1 alpha-3 country the factor holds for."),
        _f("stratum", pa.string(), "Forest type, vegetation type or land use the factor holds for, as the source names it."),
        _f("condition_variable", pa.string(), "What bounds the factor's validity range.", allowed=tuple(CONDITION_VARIABLES)),
        _f("condition_min", pa.float64(), "Lower bound of the validity range (inclusive), in the condition's unit: "
           + ", ".join(f"{name} in {unit}" for name, unit in CONDITION_VARIABLES.items()) + "."),
        _f("condition_max", pa.float64(), "Upper bound of the validity range (exclusive: the next class starts there); empty when open-ended."),
        _f("value", pa.float64(), "The factor, in `unit`.", nullable=False),
        _f("value_low", pa.float64(), "Lower end of the factor's range or uncertainty interval, where given."),
        _f("value_high", pa.float64(), "Upper end of the factor's range or uncertainty interval, where given."),
        _f("unit", pa.string(), "Canonical unit of the parameter.", allowed=tuple(dict.fromkeys(REFERENCE_PARAMETERS.values())), nullable=False),
        _f("reference", pa.string(), "Where the value comes from (e.g. `IPCC 2006 GL Vol.4 Table 4.5`), as the source cites it."),
        FIELDS["flag"],
    ]
}
REFERENCE_COLUMNS: tuple[str, ...] = tuple(REFERENCE_FIELDS)
# One value per factor and stratum.
REFERENCE_KEY = (
    "source", "parameter", "pool", "climatic_domain", "ecological_zone", "region", "stratum",
    "condition_variable", "condition_min", "condition_max",
)

# Observation fields win on a shared name (reference_factors reuses their types).
ALL_FIELDS: dict[str, Field] = {**REFERENCE_FIELDS, **FIELDS, **PRODUCT_FIELDS}


def arrow_schema(columns: tuple[str, ...] = OBSERVATION_COLUMNS) -> pa.Schema:
    """The Arrow schema of a table with these registry columns, in this order."""
    return pa.schema(
        [pa.field(ALL_FIELDS[c].name, ALL_FIELDS[c].type, nullable=ALL_FIELDS[c].nullable) for c in columns]
    )


def plain(schema_: pa.Schema) -> pa.Schema:
    """The schema with dictionary-encoded text as plain text (how it is published and given to pandas)."""
    return pa.schema([f.with_type(f.type.value_type) if pa.types.is_dictionary(f.type) else f for f in schema_],
                     metadata=schema_.metadata)


def conform(frame):
    """Observation rows with exactly the registry's columns and types (via Arrow)."""
    return conform_table(frame).to_pandas()


def conform_table(rows) -> pa.Table:
    """Observation rows (a DataFrame or an Arrow table, e.g. with dictionary-encoded text) as an Arrow
    table with exactly the registry's columns and types."""
    if isinstance(rows, pa.Table):
        return rows.select(list(OBSERVATION_COLUMNS)).cast(arrow_schema())
    frame = rows.reindex(columns=list(OBSERVATION_COLUMNS))
    return pa.Table.from_pandas(frame, schema=arrow_schema(), preserve_index=False)


def render_data_dictionary(products) -> str:
    """The Markdown data dictionary (docs/data_dictionary.md), generated from the registry and the
    products' columns (`products`: ercan.publish.PRODUCTS, passed in because publish builds on this module)."""
    lines = [
        "# Data dictionary",
        "",
        "Generated from `ercan/schema.py` and the products in `ercan/publish.py` by `ercan generate`; "
        "do not edit by hand.",
        "",
        "## Products and their columns",
        "",
        "Every column is described in the field tables below.",
        "",
        "| product | what | columns, in order | one row per |",
        "|---|---|---|---|",
    ]
    for p in products.values():
        columns = ", ".join(f"`{c}`" for c in p.columns)
        lines.append(f"| `{p.name}` | {p.description} | {columns} | {', '.join(f'`{c}`' for c in p.key)} |")
    lines.append("")
    sections = (
        ("Observation fields (the common schema)", FIELDS),
        ("Product fields", PRODUCT_FIELDS),
        ("Reference factor fields (`reference_factors`)", REFERENCE_FIELDS),
    )
    for title, fields in sections:
        lines += [f"## {title}", "", "| column | type | required | allowed values / range | description |", "|---|---|---|---|---|"]
        for f in fields.values():
            if f.allowed:
                allowed = ", ".join(f"`{a}`" for a in f.allowed)
            elif f.min_value is not None or f.max_value is not None:
                allowed = f"{'' if f.min_value is None else f.min_value} … {'' if f.max_value is None else f.max_value}"
            else:
                allowed = ""
            lines.append(f"| `{f.name}` | {f.type} | {'yes' if not f.nullable else ''} | {allowed} | {f.description} |")
        lines.append("")
    lines += ["## Variables, their units and what no value can be", "",
              "Every value lies within its variable's range (the schema suite checks it, critical; "
              "`VARIABLE_BOUNDS` in `ercan/schema.py`).", "",
              "| variable | unit | possible range | why |", "|---|---|---|---|"]
    lines += [f"| `{variable}` | `{unit}` | {VARIABLE_BOUNDS[variable][0]:g} … {VARIABLE_BOUNDS[variable][1]:g} | "
              f"{VARIABLE_BOUNDS[variable][2]} |" for variable, unit in VARIABLE_UNITS.items()]
    lines += ["", "## Values that cannot exceed others", "",
              "Within one source's rows, each row of the first kind is at most the value of the second it is "
              "compared with (the schema suite checks each, critical; `RELATIONS` in `ercan/schema.py`).", "",
              "| relation | at most | rows | compared with | on | why |", "|---|---|---|---|---|---|"]
    lines += [f"| `{r.name}` | `{r.lesser_name}` ≤ `{r.greater_name}` | {_selection(r.lesser)} | {_selection(r.greater)}"
              f"{' (the largest, any year)' if r.greatest else ''} | "
              f"{'its parent area, ' if r.parent else ''}{', '.join(f'`{c}`' for c in r.on)} | {r.why} |"
              for r in RELATIONS.values()]
    lines += ["", f"And the sum of a source's members is within {MEMBERS_FACTOR:g}x of each aggregate it reports for "
              "them, below it only where every member reported (`MEMBERS_FACTOR`): " + MEMBERS_WHY + "."]
    lines += ["", "## Reference parameters and their units", "", "| parameter | unit |", "|---|---|"]
    lines += [f"| `{parameter}` | `{unit}` |" for parameter, unit in REFERENCE_PARAMETERS.items()]
    lines += ["", "## Observation key", "", "One value per " + ", ".join(f"`{c}`" for c in OBSERVATION_KEY) + ".", ""]
    return "\n".join(lines)


def _selection(where: dict[str, tuple]) -> str:
    return "; ".join(f"{column} {', '.join(f'`{v}`' for v in values)}" for column, values in where.items())
