"""Tier 1 estimates by climatic domain on the real shipped data: biomass from growing stock and the
Tier 1 gap-fill, each checked against a value computed by hand from the cells of the source files
(named in comments): FRA 2020 (sheets 1a_Forest, 2a_GS_Forest), FRA's climaticDomain.csv, the FRA
biomass calculator (sheets BCEF, RS Ratio) and Earthshot's IPCC Tier 1 table."""

import numpy as np
import pandas as pd
import pytest

from conftest import harmonize_sample, one
from ercan.accounting.products import Options, build
from ercan.accounting.uncertainty import defaults
from ercan.errors import ConfigError
from ercan.sources import comparisons

pytestmark = pytest.mark.slow  # harmonizing the seven calculator workbooks and two builds: ~1 min on 2 cores

FACTOR_SOURCES = ("fra_climatic_domains", "fra_biomass_calculator", "ipcc_defaults")
CF = 0.47  # IPCC 2006 Table 4.3 (ipcc_defaults: tropical, subtropical; 'all forest' biomass elsewhere)


@pytest.fixture(scope="module")
def observations():
    return harmonize_sample("fra2020")


@pytest.fixture(scope="module")
def factors():
    return pd.concat([harmonize_sample(s) for s in FACTOR_SOURCES], ignore_index=True)


@pytest.fixture(scope="module")
def regional(observations, factors):
    return build(observations, Options(), factors, comparisons())


@pytest.fixture(scope="module")
def tier1(observations, factors):
    return build(observations, Options(gap_fill="tier1_climatic_domain"), factors)


def fra(observations, variable, code, year=2020):
    return one(observations, variable=variable, area_code=code, year=year, category=None, land_category="forest_land").value


def estimate(products, code, pool):
    return one(products["carbon_stocks"], area_code=code, year=2020, pool=pool, method="growing_stock_bcef")


# --- biomass from growing stock --------------------------------------------------------------

def test_biomass_from_growing_stock_in_one_domain(regional, observations):
    """DR Congo 2020: 100 % tropical; 30,781.88 million m3 on 126,155.24 thousand ha = 244 m3/ha.
    BCEF_S tropical, class 200+: hardwoods 0.95, conifers 0.70 → 0.825 (FRA 2020 does not split
    forest types: their mean); AGB 244 × 0.825 = 201 t/ha → R tropical, broadleaved humid >125:
    0.24, broadleaved dry >20: 0.28, coniferous >150: 0.20 → 0.24."""
    volume = fra(observations, "growing_stock", "COD")
    assert volume / fra(observations, "area", "COD") == pytest.approx(244.0)
    bcef, r = (0.95 + 0.70) / 2, (0.24 + 0.28 + 0.20) / 3
    agb, biomass = estimate(regional, "COD", "agb"), estimate(regional, "COD", "biomass")
    assert agb.value == pytest.approx(volume * bcef * CF)
    assert biomass.value == pytest.approx(volume * bcef * (1 + r) * CF)
    assert biomass.flag == "estimated" and biomass.unit == "t C"
    # Approach 1: growing stock and every factor at their documented defaults (no ranges printed)
    u_v, u_f = defaults()["growing_stock"], defaults()["reference_factor"]
    assert biomass.uncertainty == pytest.approx(np.sqrt(u_v**2 + u_f**2 + (u_f * r / (1 + r)) ** 2 + u_f**2))
    assert biomass.uncertainty_basis == "default"


def test_biomass_from_growing_stock_weighs_the_domains(regional, observations):
    """USA 2020: 41,268.86 million m3 on 309,795 thousand ha = 133.2 m3/ha; climaticDomain.csv:
    26 % subtropical, 58 % temperate, 14 % boreal, 1 % polar (no forest factors: dropped, the
    rest scaled to 98 %)."""
    volume = fra(observations, "growing_stock", "USA")
    density = volume / fra(observations, "area", "USA")
    assert 100 < density < 200
    domains = {  # weight, mean BCEF_S of the forest types in the growing-stock class
        "subtropical": (26 / 98, (0.66 + 0.55) / 2),  # class 80+: hardwoods, conifers
        "temperate": (58 / 98, (1.05 + 0.70 + 0.75) / 3),  # class 100-200: hardwoods, pines, other conifers
        "boreal": (14 / 98, (0.55 + 0.50 + 0.53 + 0.77) / 4),  # class 100+: hardwoods, pines, firs and spruces, larch
    }
    r = {  # R in the class of AGB = density × BCEF (81, 111 and 78 t/ha)
        "subtropical": (0.20 + 0.28 + 0.29) / 3,  # broadleaved humid <125, dry >20, coniferous 50-150
        "temperate": (0.23 + 0.29) / 2,  # broadleaved 75-150, coniferous 50-150
        "boreal": (0.23 + 0.24) / 2,  # broadleaved 75-150, coniferous >75
    }
    assert [density * b for _, b in domains.values()] == pytest.approx([80.6, 111.0, 78.3], abs=0.1)
    expected = volume * sum(w * b * (1 + r[d]) * CF for d, (w, b) in domains.items())
    assert estimate(regional, "USA", "biomass").value == pytest.approx(expected)


def test_the_estimate_is_reconciled_with_the_reported_biomass(regional, observations):
    """DR Congo 2020: FRA's reported living biomass (2d agb + bgb densities × area) is the published
    value; the estimate from growing stock is compared with it within the declared 50 %."""
    reported = one(regional["carbon_stocks"], area_code="COD", year=2020, pool="biomass", method="pool_sum")
    row = one(regional["reconciliation"], kind="method_vs_reported", area_code="COD", year=2020,
              other_source="fra2020:growing_stock_bcef:biomass")
    assert row.reported_value == reported.value and row.preferred_source == "fra2020"
    assert row.other_value == estimate(regional, "COD", "biomass").value
    assert row.tolerance == 0.5 and row.within_tolerance == (abs(row.other_value / row.reported_value - 1) <= 0.5)


def test_estimates_do_not_feed_stock_difference(regional):
    fluxes = regional["carbon_fluxes"]
    assert not fluxes["method"].eq("growing_stock_bcef").any()
    assert not fluxes.get("other_source", pd.Series(dtype=str)).fillna("").str.contains("growing_stock").any()


# --- Tier 1 gap-fill by climatic domain ------------------------------------------------------

def test_tier1_gap_fill_by_hand(tier1, observations):
    """South Sudan reports no biomass; 100 % tropical, Africa. Earthshot's Tier 1 table, natural
    forest over 20 years (Kmax with its low-high) and the zone's R in the class of that biomass
    (<125 or >125 t/ha), per tropical zone in Africa."""
    agb = {"rainforest": (212.9, 69.8, 356.0, 0.53), "moist": (72.8, 36.4, 109.2, 0.23), "dry": (69.6, 22.1, 117.1, 0.33),
           "shrubland": (48.4, 2.6, 94.2, 0.33), "mountain": (190.0, 58.8, 321.2, 0.28)}
    mean_agb = np.mean([v for v, *_ in agb.values()])
    mean_bgb = np.mean([v * r for v, _, _, r in agb.values()])
    u_agb = np.mean([(high - low) / 2 / v for v, low, high, _ in agb.values()])
    stocks = tier1["carbon_stocks"]
    density = one(stocks, area_code="SSD", year=2020, variable="carbon_density", pool="agb")
    assert density.method == "tier1_climatic_domain" and density.flag == "gap_filled"
    assert density.value == pytest.approx(mean_agb * CF)
    assert density.uncertainty == pytest.approx(np.hypot(u_agb, defaults()["reference_factor"]))
    bgb = one(stocks, area_code="SSD", year=2020, variable="carbon_density", pool="bgb")
    assert bgb.value == pytest.approx(mean_bgb * CF)
    stock = one(stocks, area_code="SSD", year=2020, variable="carbon_stock", pool="agb")
    assert stock.value == pytest.approx(density.value * fra(observations, "area", "SSD"))
    # pools without a Tier 1 default keep the regional density
    soil = one(stocks, area_code="SSD", year=2020, variable="carbon_density", pool="soil")
    assert soil.method.startswith("regional_density:")


def test_gap_fill_method_is_switchable(regional, tier1):
    def ssd_agb(products):
        return one(products["carbon_stocks"], area_code="SSD", year=2020, variable="carbon_density", pool="agb").method

    assert ssd_agb(regional).startswith("regional_density:") and ssd_agb(tier1) == "tier1_climatic_domain"
    assert not regional["carbon_stocks"]["method"].eq("tier1_climatic_domain").any()
    # both world totals against FAO's 662 Gt C (FRA 2020 Key findings; docs/accounting.md)
    for products in (regional, tier1):
        world = one(products["carbon_stocks"], area_code="WORLD", year=2020, variable="carbon_stock", pool="total",
                    method="bottom_up_gap_filled")
        assert world.value / 662e9 - 1 == pytest.approx(0.0, abs=0.02)


def test_gap_fill_setting_is_checked(monkeypatch):
    for text, method in (("tier1_climatic_domain", "tier1_climatic_domain"), ("on", "regional_density"), ("off", "off")):
        monkeypatch.setenv("ERCAN_GAP_FILL", text)
        assert Options.from_env().gap_fill == method
    monkeypatch.setenv("ERCAN_GAP_FILL", "tier1")
    with pytest.raises(ConfigError, match="ERCAN_GAP_FILL='tier1': write one of regional_density, tier1_climatic_domain, off"):
        Options.from_env()
