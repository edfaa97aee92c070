import numpy as np
import pytest

from ercan.errors import SourceError
from ercan.units import convert, factor


@pytest.mark.parametrize(
    ("source_unit", "canonical", "expected"),
    [
        ("1000 ha", "ha", 1000.0),
        ("Gg CO₂ equivalent", "t CO2e", 1000.0),  # Unicode subscript as the UNFCCC writes it
        ("Gg CO2e/yr", "t CO2e/yr", 1000.0),
        ("Mg CO2e", "t CO2e", 1.0),
        ("百公顷", "ha", 100.0),
        ("万公顷", "ha", 10_000.0),
        ("亿立方米", "m3", 1e8),
        ("kha", "ha", 1000.0),
    ],
)
def test_source_units_convert_to_canonical(source_unit, canonical, expected):
    assert factor(source_unit, canonical) == pytest.approx(expected)


def test_mu_is_a_fifteenth_of_a_hectare():
    np.testing.assert_allclose(convert(np.array([15.0, 30.0]), "亩", "ha"), [1.0, 2.0])


def test_carbon_never_converts_silently_to_co2():
    with pytest.raises(SourceError, match="cannot be converted"):
        factor("t C", "t CO2e")


def test_unknown_unit_names_the_closest_spelling():
    with pytest.raises(SourceError, match=r"unknown unit '1000 hx' \(did you mean '1000 ha'\?\)"):
        factor("1000 hx", "ha")


@pytest.mark.parametrize(
    ("source_unit", "canonical", "expected"),
    [
        ("kt C", "t C", 1000.0),  # pint alone would read kt as knot
        ("Gt C/yr", "t C/yr", 1e9),
        ("GtC/yr", "t C/yr", 1e9),
        ("kt CO₂ equivalent/yr", "t CO2e/yr", 1000.0),
        ("km2", "ha", 100.0),
    ],
)
def test_inventory_spellings_of_carbon_units(source_unit, canonical, expected):
    assert factor(source_unit, canonical) == pytest.approx(expected)
