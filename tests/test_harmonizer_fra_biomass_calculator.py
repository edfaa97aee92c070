"""The FRA 2020 biomass calculator's BCEF and R/S look-up sheets, on the seven real workbooks and edited copies."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import openpyxl
import pytest
from conftest import harmonize_sample, sample_files

from ercan import schema
from ercan.errors import SourceError
from ercan.sources import SAMPLE_DATA, get

SOURCE_ID = "fra_biomass_calculator"
INPUTS = get(SOURCE_ID).source.inputs


@pytest.fixture(scope="module")
def rows():
    return harmonize_sample(SOURCE_ID)


def edited_workbook(tmp_path: Path, role: str, edit: Callable[[openpyxl.Workbook], None]) -> Path:
    """A copy of the role's shipped workbook with `edit` applied, saved by openpyxl (which writes no
    cached values for formulas: the look-up sheets hold none)."""
    workbook = openpyxl.load_workbook(SAMPLE_DATA / INPUTS[role])
    edit(workbook)
    path = tmp_path / Path(INPUTS[role]).name
    workbook.save(path)
    return path


def set_cell(sheet: str, cell: str, value) -> Callable[[openpyxl.Workbook], None]:
    def edit(workbook):
        workbook[sheet][cell] = value
    return edit


def factor(rows, parameter, domain, stratum, condition_min):
    match = rows[(rows.parameter == parameter) & (rows.climatic_domain == domain) & (rows.stratum == stratum)
                 & (rows.condition_min == condition_min)]
    assert len(match) == 1, (parameter, domain, stratum, condition_min, len(match))
    return match.iloc[0]


def test_bcef_blocks(rows):
    # calculator_temperate_en.xlsx, sheet BCEF: the temperate block (I:K), 'Pines' (I12), row 14: 0 | 20 | 1.8
    pines = factor(rows, "bcef_stock", "temperate", "pines", 0)
    assert (pines.value, pines.condition_max, pines.condition_variable, pines.unit) == (1.8, 20, "growing_stock_density", "t dm/m3")
    # row 11: 200 | 10000 | 0.8 → the open class
    hardwoods = factor(rows, "bcef_stock", "temperate", "hardwoods", 200)
    assert hardwoods.value == 0.8 and math.isnan(hardwoods.condition_max)
    # the tropical block (A:C), 'Broadleaved', row 13: 200 | + | 0.95
    tropical = factor(rows, "bcef_stock", "tropical", "hardwoods", 200)
    assert tropical.value == 0.95 and math.isnan(tropical.condition_max)
    assert factor(rows, "bcef_stock", "boreal", "larch", 50).value == 0.77  # O27
    assert factor(rows, "bcef_stock", "subtropical", "conifers", 0).value == 6  # G13
    assert set(rows.reference[rows.parameter == "bcef_stock"]) == {"IPCC 2006 GL Vol.4 Ch.4 (FRA 2020 biomass calculator, sheet BCEF)"}


def test_root_to_shoot_blocks_and_the_borrowed_ones(rows):
    # sheet RS Ratio, A6:C6: 0 | 125 | 0.2, 'Broadleaved humid' of the tropical domain
    humid = factor(rows, "root_to_shoot", "tropical", "broadleaved humid", 0)
    assert (humid.value, humid.condition_max, humid.condition_variable, humid.flag) == (0.2, 125, "biomass_density", "reported")
    # M11:O12 (boreal coniferous): the Max column is empty, so 0 runs to the next Min (75) and 75 is open
    boreal = factor(rows, "root_to_shoot", "boreal", "coniferous", 0)
    assert (boreal.value, boreal.condition_max) == (0.39, 75)
    assert math.isnan(factor(rows, "root_to_shoot", "boreal", "coniferous", 75).condition_max)
    # A14:C16: tropical coniferous "taken from temperate as no RS ratios in IPCC guidelines" (A18:A20)
    borrowed = rows[rows.flag == "gap_filled"]
    assert sorted(set(zip(borrowed.climatic_domain, borrowed.stratum, strict=True))) == [
        ("boreal", "broadleaved"), ("subtropical", "coniferous"), ("tropical", "coniferous")]
    assert factor(rows, "root_to_shoot", "tropical", "coniferous", 50).value == 0.29
    assert set(borrowed.reference) == {"FRA 2020 biomass calculator: the temperate value, as the IPCC 2006 guidelines give no R/S ratio for it"}


def test_one_set_from_seven_workbooks(rows):
    assert rows.groupby("parameter").size().to_dict() == {"bcef_stock": 53, "root_to_shoot": 25}
    assert (rows.flag == "gap_filled").sum() == 9
    assert not rows.duplicated(list(schema.REFERENCE_KEY)).any()
    assert set(rows.climatic_domain) == {"tropical", "subtropical", "temperate", "boreal"}
    assert rows.region.isna().all() and rows.ecological_zone.isna().all()
    shas = [f.sha256 for f in sample_files(SOURCE_ID).values()]
    assert set(rows.snapshot) == {";".join(shas)} and len(shas) == 7


# --- drift ---------------------------------------------------------------------------------------


def test_a_translation_that_disagrees_is_named_with_its_cell(tmp_path):
    changed = edited_workbook(tmp_path, "temperate_es", set_cell("BCEF", "K14", 1.9))
    with pytest.raises(SourceError, match=r"file 'calculator_temperate_es.xlsx', sheet 'BCEF', row 14, column 'K': gives "
                                          r"bcef_stock for temperate pines \[0, 20\) = 1.9 but calculator_temperate_en.xlsx "
                                          r"gives 1.8 \(cell K14\)"):
        harmonize_sample(SOURCE_ID, temperate_es=changed)


def test_an_unknown_label_names_its_cell_and_the_closest(tmp_path):
    changed = edited_workbook(tmp_path, "temperate_fr", set_cell("BCEF", "I5", "Feuilles"))
    with pytest.raises(SourceError, match=r"file 'calculator_temperate_fr.xlsx', sheet 'BCEF', row 5, column 'I': unknown "
                                          r"forest type label 'Feuilles' \(did you mean 'Feuillus'\?\)"):
        harmonize_sample(SOURCE_ID, temperate_fr=changed)


def test_an_unknown_domain_label_names_its_cell(tmp_path):
    changed = edited_workbook(tmp_path, "temperate_ru", set_cell("RS Ratio", "M3", "Бореальная"))
    with pytest.raises(SourceError, match=r"file 'calculator_temperate_ru.xlsx', sheet 'RS Ratio', row 3, column 'M': unknown "
                                          r"domain label 'Бореальная' \(did you mean 'Бореальная зона'\?\)"):
        harmonize_sample(SOURCE_ID, temperate_ru=changed)


def test_a_non_numeric_cell_names_its_cell(tmp_path):
    changed = edited_workbook(tmp_path, "boreal_en", set_cell("BCEF", "O14", "0,68"))
    with pytest.raises(SourceError, match=r"file 'calculator_boreal_en.xlsx', sheet 'BCEF', row 14, column 'O': '0,68' is not a number"):
        harmonize_sample(SOURCE_ID, boreal_en=changed)


def test_a_formula_without_cached_value_is_an_error_not_an_empty_cell(tmp_path):
    changed = edited_workbook(tmp_path, "tropical_en", set_cell("RS Ratio", "C7", "=0.2+0.04"))
    with pytest.raises(SourceError, match=r"file 'calculator_tropical_en.xlsx', sheet 'RS Ratio', row 7, column 'C': formula "
                                          r"'=0.2\+0.04' has no cached value"):
        harmonize_sample(SOURCE_ID, tropical_en=changed)


def test_a_label_without_its_header_row_is_named(tmp_path):
    changed = edited_workbook(tmp_path, "subtropical_en", set_cell("BCEF", "F12", "Maximum"))
    with pytest.raises(SourceError, match=r"sheet 'BCEF', row 12, column 'E': forest type 'Coniferous' is not followed by a "
                                          r"'Min \| Max \| <factor>' header"):
        harmonize_sample(SOURCE_ID, subtropical_en=changed)


def test_a_renamed_sheet_suggests_the_closest(tmp_path):
    def rename(workbook):
        workbook["RS Ratio"].title = "RS_Ratio"
    changed = edited_workbook(tmp_path, "temperate_en", rename)
    with pytest.raises(SourceError, match=r"file 'calculator_temperate_en.xlsx': sheet 'RS Ratio' is missing \(did you mean 'RS_Ratio'\?\)"):
        harmonize_sample(SOURCE_ID, temperate_en=changed)
