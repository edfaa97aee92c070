"""Cross-scale accounting on the real shipped data, plus one small hand-built frame whose
expected values are computed by hand in the test (the frame is made up for the arithmetic)."""

import pandas as pd
import pytest

from conftest import harmonize_sample, one
from ercan.accounting.hierarchy import Hierarchy
from ercan.accounting.products import build
from ercan.accounting.stocks import national_stocks


@pytest.fixture(scope="module")
def observations():
    return pd.concat([harmonize_sample(s) for s in ("fra2020", "gfw_usa")], ignore_index=True)


@pytest.fixture(scope="module")
def products(observations):
    return build(observations)


def test_national_stock_is_density_times_area(observations):
    stocks = national_stocks(observations)
    china = one(stocks, area_code="CHN", year=2020, pool="agb")
    assert china.value == pytest.approx(31.72 * 219_978_180)  # FRA 2d_C_AGB × 1a_Forest, China 2020
    assert china.unit == "t C" and china.flag == "derived"
    assert len(china.snapshot.split(";")) == 2  # traces back to both workbooks


def test_total_pool_only_where_every_pool_was_reported(observations):
    stocks = national_stocks(observations)
    assert stocks[(stocks.area_code == "CHN") & (stocks.pool == "total")].empty  # no litter/soil
    usa = stocks[(stocks.area_code == "USA") & (stocks.year == 2020)].set_index("pool").value
    assert usa["total"] == pytest.approx(usa[["agb", "bgb", "dead_wood", "litter", "soil"]].sum())


def test_world_forest_area_is_the_sum_of_the_236_countries(products, observations):
    stocks = products["carbon_stocks"]
    world = one(stocks, area_code="WORLD", variable="area", year=2020, pool=None, method="bottom_up")
    countries = observations[(observations.source == "fra2020") & (observations.area_level == "national")
                             & (observations.variable == "area") & (observations.year == 2020)
                             & observations.category.isna()]  # the total, not FRA's breakdowns
    assert len(countries) == 236
    assert world.value == pytest.approx(countries.value.sum(), rel=1e-12)
    assert (world.members_total, world.members_reporting, world.coverage) == (236, 236, "complete")


def test_partial_aggregates_say_so(products):
    stocks = products["carbon_stocks"]
    agb = one(stocks, area_code="WORLD", variable="carbon_stock", year=2020, pool="agb", method="bottom_up")
    assert agb.coverage == "partial" and agb.members_reporting == 193
    assert 0.98 < agb.coverage_share < 0.99  # FRA's own figure for these countries: 0.9873


def test_reported_world_row_reconciles_with_the_bottom_up_sum(products):
    rec = products["reconciliation"]
    world = one(rec, area_code="WORLD", variable="area", year=2020, source="fra2020", kind="aggregate_vs_members",
              category=None)
    assert world.reported_value == pytest.approx(4_058_930_810)
    assert world.bottom_up_value == pytest.approx(world.reported_value, rel=1e-9)
    assert bool(world.within_tolerance)
    assert rec[(rec.source == "fra2020") & (rec.kind == "aggregate_vs_members")].within_tolerance.all()


def test_us_states_reconcile_with_the_national_total(products):
    rec = products["reconciliation"]
    loss = one(rec, area_code="USA", variable="tree_cover_loss", year=2001, source="gfw_usa")
    assert loss.reported_value == pytest.approx(1_943_318.7440119705)
    assert loss.members_reporting == 51
    assert bool(loss.within_tolerance)


def test_aggregates_on_a_hand_built_frame():
    """Region R with countries A (100 ha, 10 t C/ha agb) and B (300 ha, no agb reported)."""
    def row(area, level, parent, variable, value, pool=None, unit="ha"):
        return dict(source="s", snapshot="h", area_code=area, area_level=level, parent_code=parent, year=2020,
                    land_category="forest_land", variable=variable, pool=pool, value=value, unit=unit,
                    flag="reported", category=None)
    frame = pd.DataFrame([
        row("A", "national", "R", "area", 100.0), row("B", "national", "R", "area", 300.0),
        row("A", "national", "R", "carbon_density", 10.0, "agb", "t C/ha"),
        row("R", "regional", "WORLD", "area", 400.0),
    ])
    stocks = build(frame)["carbon_stocks"]
    region_area = one(stocks, area_code="R", variable="area", pool=None)
    assert region_area.value == 400.0 and region_area.coverage == "complete"
    region_stock = one(stocks, area_code="R", variable="carbon_stock", pool="agb")
    assert region_stock.value == 1000.0  # 100 ha × 10 t C/ha; B did not report
    assert region_stock.coverage == "partial" and region_stock.coverage_share == pytest.approx(0.25)
    assert one(stocks, area_code="R", variable="carbon_density", pool="agb").value == pytest.approx(10.0)
    assert Hierarchy(frame).members("R") == {"A", "B"}


def test_china_provinces_are_compared_with_the_national_total():
    """9th inventory, 2018: the 34 province areas sum to 242,147,000 ha, the national total is
    220,446,200 ha: a +9.8 % finding, judged because every province reported."""
    rec = build(harmonize_sample("china_nfi9"))["reconciliation"]
    china = one(rec, area_code="CHN", variable="area", year=2018, source="china_nfi9", kind="aggregate_vs_members")
    assert china.reported_value == pytest.approx(220_446_200)
    assert china.bottom_up_value == pytest.approx(242_147_000)
    assert (china.members_reporting, china.coverage, china.within_tolerance) == (34, "complete", False)


def test_partial_aggregates_are_shown_but_not_judged():
    """CIKD 2024 gives a World row and five countries: compared, not judged against the tolerance."""
    observations = pd.concat([harmonize_sample("fra2020"), harmonize_sample("cikd2024")], ignore_index=True)
    rec = build(observations)["reconciliation"]
    world = one(rec, area_code="WORLD", variable="area", source="cikd2024", kind="aggregate_vs_members")
    assert world.coverage == "partial" and world.members_reporting == 4 and world.within_tolerance is None


def test_site_rows_summed_in_arrow_reconcile_like_the_sites_one_by_one():
    """Plot-level sources are summed per enclosing area in Arrow (accounting/sites.py) instead of
    being walked site by site; the reconciliation must be the same either way. The frame is made
    up for the arithmetic: two sites in province P, one in P's district D (both subnational, so
    P's members are all three sites), one site directly in the country (a member of nothing),
    a second year reported by
    one site only (P's coverage is partial)."""
    from ercan.accounting.reconcile import reconcile_aggregates
    from ercan.accounting.sites import split_sites
    from ercan.schema import conform, conform_table

    def row(code, level, parent, value, year=2020, uncertainty=0.1):
        return dict(source="s", snapshot="x", area_code=code, area_level=level, parent_code=parent, year=year,
                    land_category="forest_land", variable="area", value=value, unit="ha", uncertainty=uncertainty,
                    flag="reported")

    frame = pd.DataFrame([
        row("C", "national", None, 1000.0), row("P", "subnational", "C", 60.0), row("D", "subnational", "P", 25.0),
        row("P-1", "site", "P", 10.0), row("P-2", "site", "P", 20.0), row("D-1", "site", "D", 25.0),
        row("C-1", "site", "C", 5.0), row("P", "subnational", "C", 70.0, year=2021),
        row("P-1", "site", "P", 12.0, year=2021),
    ]).pipe(conform)
    one_by_one = reconcile_aggregates(frame, Hierarchy(frame))
    rest, sites = split_sites(conform_table(frame))
    summed = reconcile_aggregates(rest, Hierarchy(rest, sites.members), sites)
    columns = ["area_code", "year", "reported_value", "bottom_up_value", "members_total", "members_reporting", "coverage"]
    expected = one_by_one[columns].sort_values(["area_code", "year"]).reset_index(drop=True)
    assert_frame = summed[columns].sort_values(["area_code", "year"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(assert_frame, expected, check_dtype=False)
    p_2020 = one(summed, area_code="P", year=2020)
    assert (p_2020.bottom_up_value, p_2020.members_reporting, p_2020.members_total) == (55.0, 3, 3)
    assert one(summed, area_code="P", year=2021).coverage == "partial"
    assert one(summed, area_code="D", year=2020).bottom_up_value == 25.0
    # The sums themselves, uncertainty included (Approach 1 over the sites; unknown once one site's is)
    from ercan.accounting.aggregate import bottom_up

    frame.loc[frame["area_code"].eq("D-1"), "uncertainty"] = None
    rest, sites = split_sites(conform_table(frame))
    no_basis = pd.DataFrame(columns=["area_code", "year", "value"])
    columns = ["area_code", "year", "value", "uncertainty", "members_reporting", "members_total", "coverage"]
    by_site = bottom_up(frame, Hierarchy(frame), no_basis)[columns].sort_values(["area_code", "year"])
    summed = bottom_up(rest, Hierarchy(rest, sites.members), no_basis, sites)[columns].sort_values(["area_code", "year"])
    pd.testing.assert_frame_equal(summed.reset_index(drop=True), by_site.reset_index(drop=True), check_dtype=False)
    assert one(summed, area_code="P", year=2021).uncertainty == pytest.approx(0.1)  # P-1 alone: its own 10 %
    assert pd.isna(one(summed, area_code="P", year=2020).uncertainty)  # D-1's is unknown


# --- declared comparisons (`reconcile:` of a source) ---------------------------------------------
# The frames below are made up for the arithmetic: two sources' national rows, no real figures.

def national(source, variable, year, value, unit):
    return {"source": source, "variable": variable, "year": year, "value": value, "unit": unit,
            "area_code": "PRT", "area_level": "national", "land_category": "forest_land", "category": None,
            "pool": None, "snapshot": source}


def compared(rows, **comparison):
    from ercan.accounting.reconcile import Comparison, compare_sources

    declared = {"mine": (Comparison(land_category="forest_land", why="test", **comparison),)}
    return compare_sources(pd.DataFrame(rows), pd.DataFrame(), None, declared)


def test_a_comparison_takes_the_first_declared_source_at_the_nearest_year():
    rows = [national("mine", "area", 2012, 110.0, "ha"),
            national("fra", "area", 2010, 100.0, "ha"), national("fra", "area", 2015, 90.0, "ha"),
            national("owid", "area", 2012, 105.0, "ha")]
    exact = compared(rows, variable="area", against=("fra", "owid"), tolerance=0.05)
    assert exact[["preferred_source", "year", "other_year", "reported_value"]].values.tolist() == [["owid", 2012, 2012, 105.0]]
    near = compared(rows, variable="area", against=("fra", "owid"), tolerance=0.05, years_apart=3)
    row = one(near, other_source="mine")
    assert (row.preferred_source, row.year, row.other_year) == ("fra", 2010, 2012)  # 2 years before, not 3 after
    assert row.relative_difference == pytest.approx(0.10) and row.within_tolerance is False


def test_a_comparison_converts_carbon_to_co2_and_the_sign_convention():
    """A land sink of 3 t C/yr (uptake positive) is -11 t CO2e/yr of net emissions (x 44/12, sign flipped)."""
    rows = [national("mine", "net_emissions", 2018, -10.0, "t CO2e/yr"),
            national("budget", "land_sink", 2018, 3.0, "t C/yr")]
    row = one(compared(rows, variable="net_emissions", against=("budget",), against_variable="land_sink",
                       carbon_as_co2=True, sign=-1, tolerance=0.2), other_source="mine")
    assert row.reported_value == pytest.approx(-11.0) and row.unit == "t CO2e/yr" and row.variable == "net_emissions"
    assert row.relative_difference == pytest.approx(-10 / -11 - 1) and row.within_tolerance is True


@pytest.mark.parametrize("comparison, message", [
    ({"variable": "area", "against": ("fra2020",), "against_estimate": "stock_difference"}, "one of them"),
    ({"variable": "area", "against_estimate": "stock_difference"}, "checks the variable 'net_emissions'"),
    ({"variable": "aera", "against": ("fra2020",)}, "did you mean 'area'"),
    ({"variable": "area", "against": ("gcb2019",), "against_variable": "land_sink"}, "cannot be converted"),
    ({"variable": "area", "against": ("gcb2019",), "against_variable": "land_sink", "carbon_as_co2": True},
     "not carbon or CO2"),
])
def test_a_comparison_that_cannot_hold_fails_at_load(comparison, message):
    from pydantic import ValidationError

    from ercan.accounting.reconcile import Comparison

    with pytest.raises(ValidationError, match=message):
        Comparison(land_category="forest_land", tolerance=0.1, why="test", **comparison)


def test_every_declared_comparison_names_sources_that_exist():
    from ercan.sources import comparisons, registry

    declared = comparisons()
    assert {"fra2015", "fra2020", "cikd2024"} <= set(declared)
    assert all(other in registry() for compared in declared.values() for c in compared for other in c.against)


def test_a_comparison_with_no_year_in_common_gives_no_row():
    rows = [national("mine", "area", 2013, 110.0, "ha"), national("fra", "area", 2015, 100.0, "ha")]
    assert compared(rows, variable="area", against=("fra",), tolerance=0.05).empty


def test_a_comparison_against_an_unknown_source_names_the_declaration(tmp_path, monkeypatch):
    """A source folder outside the project (made up by this test) compares with a misspelt source."""
    from ercan.errors import ConfigError
    from ercan.sources import comparisons, registry

    folder = tmp_path / "sources" / "made_up"
    folder.mkdir(parents=True)
    (folder / "source.yaml").write_text("""
id: made_up
title: t
publisher: p
license: l
citation: c
inputs:
  table:
    file: table.csv
    columns: {Year: {to: year}}
    values: [{columns: [Area], set: {variable: area, unit: ha}}]
    set: {area_code: PRT, area_level: national, land_category: forest_land, flag: reported}
reconcile:
  - {variable: area, land_category: forest_land, against: [fra202], tolerance: 0.05, why: test}
""", encoding="utf-8")
    monkeypatch.setenv("ERCAN_HARMONIZERS", str(folder.parent))
    registry.cache_clear()
    try:
        with pytest.raises(ConfigError, match=r"made_up/source.yaml: reconcile.0.against: unknown source 'fra202'.*'fra2020'"):
            comparisons()
    finally:
        monkeypatch.delenv("ERCAN_HARMONIZERS")
        registry.cache_clear()
