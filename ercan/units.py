"""Unit conversion through pint: source unit text in, canonical unit (schema.CANONICAL_UNITS) out."""

from __future__ import annotations

import re
import unicodedata
from functools import cache
from pathlib import Path

import numpy as np
import pint

from ercan.errors import SourceError, did_you_mean

# How unit text is written in sources and in the schema, as pint expressions. Text not listed
# here is handed to pint as it is (so "kha" or "百公顷" work without an entry).
C_TO_CO2 = 44 / 12  # molar masses of CO2 and C

_SPELLINGS = {
    "ha": "hectare",
    "1000 ha": "1000 * hectare",
    "ha/yr": "hectare / year",
    "1000 ha/yr": "1000 * hectare / year",
    "m3": "meter ** 3",
    "million m3": "1e6 * meter ** 3",
    "t C": "tonne * carbon",
    "t C/ha": "tonne * carbon / hectare",
    "Mg C/ha": "megagram * carbon / hectare",
    "g C/m2/d": "gram * carbon / meter ** 2 / day",
    "t CO2e": "tonne * co2e",
    "t CO2e/yr": "tonne * co2e / year",
    "Mg CO2e": "megagram * co2e",
    "Mg CO2e/yr": "megagram * co2e / year",
    "Gg CO2e": "gigagram * co2e",
    "Gg CO2e/yr": "gigagram * co2e / year",
    "t C/yr": "tonne * carbon / year",
    "%": "percent",
    "m3/ha": "meter ** 3 / hectare",
    "t dm/ha": "tonne * dry_matter / hectare",
    "t dm/ha/yr": "tonne * dry_matter / hectare / year",
    "t dm/m3": "tonne * dry_matter / meter ** 3",
    "t C/t dm": "carbon / dry_matter",
    "1": "dimensionless",
}


@cache
def registry() -> pint.UnitRegistry:
    ureg = pint.UnitRegistry()
    ureg.load_definitions(str(Path(__file__).with_name("units.txt")))
    return ureg


_CARBON = re.compile(r"(?<![A-Za-z])C(?![A-Za-z0-9])")  # "t C/ha", "Gt C/yr": C is carbon, not coulomb
_MASS_CARBON = re.compile(r"\b([kMGTP]?[gt])C\b")  # "GtC", "MgC"
_CO2 = re.compile(r"\bCO2(e|eq)?\b")
_KILOTONNE = re.compile(r"\bkt\b")  # pint reads "kt" as knot
_POWER = re.compile(r"\b(k?m)([23])\b")  # "km2" → "km**2"


def normalise(text: str) -> str:
    """NFKC folds subscripts (CO₂ → CO2); 'CO2 equivalent' is written 'CO2e'."""
    text = " ".join(unicodedata.normalize("NFKC", text).split())
    return text.replace("CO2 equivalent", "CO2e")


def _pint_expression(text: str) -> str:
    """The pint expression of a unit text: listed spellings first, else substances spelt out."""
    text = normalise(text)
    if text in _SPELLINGS:
        return _SPELLINGS[text]
    text = _MASS_CARBON.sub(r"\1 carbon", text)
    text = _CO2.sub("co2e", text)
    text = _KILOTONNE.sub("kilotonne", text)
    text = _POWER.sub(r"\1**\2", text)
    return _CARBON.sub("carbon", text)


@cache
def factor(from_unit: str, to_unit: str) -> float:
    """Multiply values in `from_unit` by this to get `to_unit`; raises SourceError if impossible."""
    source, target = _quantity(from_unit), _quantity(to_unit)
    try:
        return float(source.to(target.units).magnitude / target.magnitude)
    except pint.errors.DimensionalityError:
        raise SourceError(
            f"unit {from_unit!r} cannot be converted to {to_unit!r} (different dimensions)",
            hint="Check the unit the harmonizer declares for this variable.",
        ) from None


@cache
def carbon_as_co2_factor(from_unit: str, to_unit: str) -> float:
    """Multiply amounts of carbon in `from_unit` by this to get the same carbon as CO2 in `to_unit`
    (x 44/12, the molar masses), or amounts of CO2 to their carbon (x 12/44)."""
    ureg, source, target = registry(), _quantity(from_unit), _quantity(to_unit)
    for substance, molar_ratio in ((ureg.co2e / ureg.carbon, C_TO_CO2), (ureg.carbon / ureg.co2e, 1 / C_TO_CO2)):
        try:
            return float((source * substance).to(target.units).magnitude / target.magnitude) * molar_ratio
        except pint.errors.DimensionalityError:
            continue
    raise SourceError(f"unit {from_unit!r} is not carbon or CO2 of {to_unit!r}",
                      hint="Compare carbon with CO2 only: the units must differ by their substance alone.")


def _quantity(text: str) -> pint.Quantity:
    try:
        return registry().parse_expression(_pint_expression(text))
    except (pint.errors.UndefinedUnitError, pint.errors.DefinitionSyntaxError, AttributeError, TypeError, ValueError):
        raise SourceError(
            f"unknown unit {text!r}{did_you_mean(normalise(text), _SPELLINGS)}",
            hint="Declare the unit in the harmonizer with a spelling listed in ercan/units.py or defined in ercan/units.txt.",
        ) from None


def convert(values: np.ndarray, from_unit: str, to_unit: str) -> np.ndarray:
    return np.asarray(values, dtype="float64") * factor(from_unit, to_unit)
