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
