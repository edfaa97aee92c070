"""FRA's climatic-domain shares on the real shipped file (sample_data/fra2015/climaticDomain.csv)."""

import pytest
from conftest import edited_copy, harmonize_sample, replace_line

from ercan.errors import SourceError


def test_every_country_has_its_five_shares_in_percent():
    rows = harmonize_sample("fra_climatic_domains")
    assert len(rows) == 236 * 5 and set(rows.parameter) == {"climatic_domain_share"} and set(rows.unit) == {"%"}
    usa = rows[rows.region == "USA"].set_index("climatic_domain").value
    # line 227: United States of America,USA,0,26,58,14,1
    assert usa.to_dict() == {"tropical": 0, "subtropical": 26, "temperate": 58, "boreal": 14, "polar": 1}
    totals = rows.groupby("region").value.sum()
    assert (totals[~totals.index.isin(["ARG", "USA"])] == 100).all()
    assert totals[["ARG", "USA"]].tolist() == [99, 99]  # the reviewed rounding exceptions


def test_shares_that_do_not_add_up_are_an_error_naming_the_row(tmp_path):
    changed = edited_copy(tmp_path, "fra_climatic_domains", "shares", replace_line(2, "Afghanistan,AFG,0,97,3", "Afghanistan,AFG,0,97,4"))
    with pytest.raises(SourceError, match=r"row 2, column 'Tropical-Polar': Tropical \+ .* \+ Polar of \{'ISO': 'AFG'\} add up to 101, not 100"):
        harmonize_sample("fra_climatic_domains", shares=changed)
