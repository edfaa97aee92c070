"""IPCC methods, uncertainty, gap-filling, cross-source reconciliation and Target 2 on the real
shipped data; each expected value is computed by hand in the test from cells of the source files
(named in comments). Frames built by hand are marked as such and only exercise arithmetic."""

import numpy as np
import pandas as pd
import pytest

from conftest import harmonize_sample, one
from ercan.accounting import methods, uncertainty
from ercan.accounting.hierarchy import M49_REGIONS, m49_ancestors
from ercan.accounting.products import Options, build
from ercan.accounting.restoration import restoration_progress
from ercan.areas import un_subregions
from ercan.errors import ConfigError
from ercan.sources import comparisons

SOURCES = ("fra2020", "fra2015", "gcb2019", "crf_austria", "unfccc_non_annex_i", "restoration")


@pytest.fixture(scope="module")
def observations():
    return pd.concat([harmonize_sample(s) for s in SOURCES], ignore_index=True)


@pytest.fixture(scope="module")
def products(observations):
    return build(observations, Options(interpolate_years=(2012, 2025)), comparisons=comparisons())


def fra(observations, variable, code, year, pool=None):
    return one(observations, source="fra2020", variable=variable, area_code=code, year=year, pool=pool,
               category=None).value  # the total, not FRA's breakdowns (planted forest, ...)


# --- Approach 1 and 2 ------------------------------------------------------------------------

def test_approach_1_formulas_by_hand():
    # Eq. 3.2: √((0.1·100)² + (0.2·200)²) / 300
    assert uncertainty.of_sum([100.0, 200.0], [0.1, 0.2]) == pytest.approx(np.sqrt(10**2 + 40**2) / 300)
    # Eq. 3.1: √(0.3² + 0.1²)
    assert uncertainty.of_product([0.3, 0.1]) == pytest.approx(0.316227766)
    # correlated difference: σ² = 10² + 12² − 2·0.9·10·12 = 28, over |120 − 100|
    assert uncertainty.of_difference(100.0, 0.1, 120.0, 0.1, 0.9) == pytest.approx(np.sqrt(28) / 20)
    assert uncertainty.of_difference(100.0, 0.1, 120.0, 0.1, 0.0) == pytest.approx(np.sqrt(244) / 20)


def test_monte_carlo_reproduces_exactly_with_its_seed_and_agrees_with_approach_1():
    inputs = {"a": (np.array([100.0, 50.0]), np.array([0.1, 0.3])), "b": (np.array([200.0, 5.0]), np.array([0.2, 0.5]))}

    def total(a, b):
        return a + b

    first = uncertainty.monte_carlo(total, inputs, seed=7)
    again = uncertainty.monte_carlo(total, inputs, seed=7)
    other = uncertainty.monte_carlo(total, inputs, seed=8)
    assert all(np.array_equal(x, y) for x, y in zip(first, again))  # bit for bit
    assert not np.array_equal(first[0], other[0])
    # for a sum of normals Approach 2 converges to Approach 1: half-width ≈ U·total
    half = (first[1] - first[0]) / 2
    expected = uncertainty.of_sum(np.array([[100.0, 200.0], [50.0, 5.0]]), np.array([[0.1, 0.2], [0.3, 0.5]])) * [300, 55]
    assert half == pytest.approx(expected, rel=0.05)


# --- IPCC methods on real data ----------------------------------------------------------------

def test_china_forest_sink_2010_2020_by_stock_difference(products, observations):
    """FRA 2020 China: agb 27.31 / 31.72 and bgb 6.91 / 7.94 t C/ha (2d_C_AGB, 2d_C_BGB) on the
    forest areas of 1a_Forest for 2010 and 2020. China reports no litter/soil, so the living
    biomass is the pool with a complete series."""
    a2010, a2020 = fra(observations, "area", "CHN", 2010), fra(observations, "area", "CHN", 2020)
    c2010, c2020 = (27.31 + 6.91) * a2010, (31.72 + 7.94) * a2020
    expected = -(c2020 - c2010) / 10 * 44 / 12
    sink = one(products["carbon_fluxes"], area_code="CHN", method="stock_difference", pool="biomass",
               year_start=2010, year_end=2020)
    assert sink.value == pytest.approx(expected)
    assert sink.value < 0 and sink.unit == "t CO2e/yr"  # a removal
    assert -7.0e8 < sink.value < -6.5e8  # ≈ 0.68 Gt CO2/yr
    # Approach 1: each pool stock = density × area has U = √(0.3² + 0.1²) (documented defaults);
    # the biomass stock is the sum of its pools (Eq. 3.2); the two dates are correlated (ρ = 0.9)
    u_pool = np.sqrt(0.3**2 + 0.1**2)
    u2010 = u_pool * np.hypot(27.31, 6.91) / (27.31 + 6.91)
    u2020 = u_pool * np.hypot(31.72, 7.94) / (31.72 + 7.94)
    rho = uncertainty.defaults()["stock_difference_correlation"]
    assert sink.uncertainty == pytest.approx(uncertainty.of_difference(c2010, u2010, c2020, u2020, rho))
    assert sink.interval_low < sink.value < sink.interval_high < 0
    assert sink.uncertainty_basis == "default"  # FRA gives no uncertainty: flagged


def test_global_net_land_flux_by_gain_loss(products):
    """GCB 2019, 2018: land-use change 1.509 GtC/yr (loss), land sink 3.469 GtC/yr (gain)."""
    flux = one(products["carbon_fluxes"], area_code="WORLD", method="gain_loss", year=2018)
    assert flux.value == pytest.approx(-(3.469e9 - 1.509e9) * 44 / 12)
    spread = np.sqrt((0.4 * 3.469e9) ** 2 + (0.9 * 1.509e9) ** 2)  # documented GCB defaults
    assert flux.uncertainty == pytest.approx(spread / (3.469e9 - 1.509e9))


def test_reported_stock_changes_convert_to_the_reported_net_emissions(products):
    """CRF Austria 2017, 4.A.1 coniferous: ΔC biomass 295.08, dead wood 170.68, soil −712.38 kt C;
    the table's own net emissions are 904.28 kt CO2: −ΣΔC × 44/12 must give the same."""
    fluxes = products["carbon_fluxes"]
    derived = one(fluxes, source="crf_austria", method="reported_stock_change", category="CRF:4.A.1/coniferous")
    reported = one(fluxes, source="crf_austria", method="reported", category="CRF:4.A.1/coniferous")
    assert derived.value == pytest.approx(-(295_080 + 170_680 - 712_380) * 44 / 12)
    assert derived.value == pytest.approx(reported.value, rel=1e-4)  # the table rounds to 0.01 kt


def test_biomass_from_growing_stock_formula():
    # C = V × BCEF × (1 + R) × CF, with made-up round numbers: 100 m3 × 0.7 × 1.2 × 0.47
    assert methods.biomass_carbon(100.0, 0.7, 0.2, 0.47) == pytest.approx(39.48)


# --- levels, gap-filling ---------------------------------------------------------------------

def test_every_un_region_of_the_country_table_has_an_m49_code():
    coded = set(pd.read_csv(M49_REGIONS)["un_region"])
    assert set(un_subregions().values()) <= coded
    assert m49_ancestors("CHN") == ["M49:030", "M49:142", "WORLD"]
    assert m49_ancestors("BRA") == ["M49:005", "M49:419", "M49:019", "WORLD"]


def test_missing_pool_is_filled_from_the_regional_density_and_flagged(products, observations):
    stocks = products["carbon_stocks"]
    soil = one(stocks, area_code="CHN", year=2020, variable="carbon_density", pool="soil")
    assert soil.flag == "gap_filled" and soil.method == "regional_density:M49:030"
    # Eastern Asia's area-weighted soil density over the members that reported soil in 2020
    members = ["JPN", "KOR", "MNG", "PRK"]
    reported = observations[(observations.source == "fra2020") & observations.area_code.isin(members) & (observations.year == 2020)]
    density = reported[(reported.variable == "carbon_density") & (reported.pool == "soil")].set_index("area_code").value
    area = reported[reported.variable == "area"].set_index("area_code").value[density.index]
    assert soil.value == pytest.approx((density * area).sum() / area.sum())
    filled_stock = one(stocks, area_code="CHN", year=2020, variable="carbon_stock", pool="soil")
    assert filled_stock.value == pytest.approx(soil.value * fra(observations, "area", "CHN", 2020))


def test_a_pool_the_country_reported_in_another_year_takes_its_own_nearest_density(products, observations):
    # Australia reports its pools in FRA 2020 from 2000 on (sheet 2d: agb 42.78 t C/ha in 2000), not
    # for 1990: its 1990 pools take its own 2000 densities, not Oceania's.
    stocks = products["carbon_stocks"]
    agb = one(stocks, area_code="AUS", year=1990, variable="carbon_density", pool="agb")
    assert (agb.flag, agb.method) == ("gap_filled", "own_density:2000")
    assert agb.value == pytest.approx(fra(observations, "carbon_density", "AUS", 2000, "agb")) == pytest.approx(42.78)
    stock = one(stocks, area_code="AUS", year=1990, variable="carbon_stock", pool="agb")
    assert stock.value == pytest.approx(42.78 * fra(observations, "area", "AUS", 1990))
    # a reported year is never overwritten
    assert one(stocks, area_code="AUS", year=2000, variable="carbon_density", pool="agb").flag == "reported"


def test_world_stock_is_published_reported_only_and_gap_filled(products):
    stocks = products["carbon_stocks"]
    world = stocks[(stocks.area_code == "WORLD") & (stocks.year == 2020) & (stocks.variable == "carbon_stock") & (stocks.pool == "total")]
    reported_only = one(world, method="bottom_up")
    gap_filled = one(world, method="bottom_up_gap_filled")
    assert reported_only.coverage == "partial" and reported_only.members_reporting == 54
    assert gap_filled.flag == "gap_filled" and gap_filled.value > reported_only.value
    # FAO, FRA 2020 Key findings: 662 Gt C in the world's forests in 2020 (docs/accounting.md)
    assert gap_filled.value / 662e9 - 1 == pytest.approx(0.0, abs=0.02)


def test_gap_filling_is_switchable(observations):
    stocks = build(observations[observations.source == "fra2020"], Options(gap_fill="off"))["carbon_stocks"]
    assert not (stocks.flag == "gap_filled").any()
    assert not stocks.method.str.startswith("regional_density").any()


def test_interpolation_only_where_asked_and_never_beyond_the_data(products, observations):
    stocks = products["carbon_stocks"]
    area = one(stocks, area_code="CHN", year=2012, variable="area", pool=None, flag="interpolated")
    a2010, a2015 = fra(observations, "area", "CHN", 2010), fra(observations, "area", "CHN", 2015)
    assert area.value == pytest.approx(a2010 + 2 / 5 * (a2015 - a2010))
    assert stocks[(stocks.year == 2025)].empty  # 2025 is after the last reporting year: no extrapolation
    plain = build(observations[observations.source == "fra2020"])["carbon_stocks"]
    assert not (plain.flag == "interpolated").any()


def test_interpolation_years_setting_is_checked(monkeypatch):
    monkeypatch.setenv("ERCAN_INTERPOLATE_YEARS", "2016-2018,2021")
    assert Options.from_env().interpolate_years == (2016, 2017, 2018, 2021)
    monkeypatch.setenv("ERCAN_INTERPOLATE_YEARS", "twenty")
    with pytest.raises(ConfigError, match="ERCAN_INTERPOLATE_YEARS"):
        Options.from_env()


# --- reconciliation across sources and methods -----------------------------------------------

def test_sources_for_the_same_forest_area_are_compared_with_the_preferred_one(products, observations):
    rec = products["reconciliation"]
    row = one(rec, kind="source_vs_source", area_code="CHN", year=2015, other_source="fra2015")
    fra2015 = one(observations, source="fra2015", area_code="CHN", year=2015, variable="area").value
    assert row.preferred_source == "fra2020" and row.reported_value == fra(observations, "area", "CHN", 2015)
    assert row.other_value == fra2015
    assert row.relative_difference == pytest.approx((fra2015 - row.reported_value) / row.reported_value)
    assert row.within_tolerance == (abs(row.relative_difference) <= row.tolerance)


def test_stock_difference_is_compared_with_the_inventory(products):
    """China's 2012 inventory (non-Annex-I CSV, 5.A forest land: −597.529 Mt CO2) beside FRA's
    2010-2015 biomass stock-difference estimate."""
    rec = products["reconciliation"]
    row = one(rec, kind="method_vs_reported", area_code="CHN", year=2012, year_start=2010, year_end=2015)
    fluxes = products["carbon_fluxes"]
    estimate = one(fluxes, area_code="CHN", method="stock_difference", pool="biomass", year_start=2010, year_end=2015)
    assert row.reported_value == pytest.approx(-597_529_000)
    assert row.other_value == pytest.approx(estimate.value)
    assert row.preferred_source == "unfccc_non_annex_i" and row.other_source == "fra2020:stock_difference:biomass"


# --- Target 2 ------------------------------------------------------------------------------------

def test_target_2_share_stays_empty_where_the_degraded_area_is_unknown(products):
    usa = one(products["restoration_progress"], area_code="USA", indicator="restoration_area", year=2019)
    assert usa.value == 17_000_000 and usa.target_share == 0.30
    assert pd.isna(usa.share_achieved) and "degraded area not reported" in usa.note


def test_target_2_share_where_both_numbers_exist():
    # hand-built frame: 30 ha restored of 200 ha degraded reported two years earlier
    def row(variable, year, value):
        return dict(source="s", snapshot="h", area_code="X", area_level="national", parent_code=None, year=year,
                    land_category="all", variable=variable, pool=None, value=value, unit="ha", flag="reported")
    frame = pd.DataFrame([row("degraded_area", 2018, 200.0), row("restoration_area", 2020, 30.0)])
    progress = one(restoration_progress(frame), indicator="restoration_area")
    assert progress.share_achieved == pytest.approx(0.15) and progress.target_progress == pytest.approx(0.5)
