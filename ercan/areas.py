"""Area codes: country names → ISO 3166-1 alpha-3 through country_converter. The names it misses or
gets wrong are reviewed per source, in that source's own `country_names.csv` (ercan.readers
`codes: country_name`), so one source's override never changes another's codes."""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import cache

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

_NOT_FOUND = "not found"
_ISO3 = re.compile(r"^[A-Z]{3}$")


class CountryName(BaseModel):
    """A reviewed name of a source's `country_names.csv`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    iso3: str = Field(pattern=r"^[A-Z]{3}$")
    note: str


_LONGEST_NAME = 200


def iso3_for_names(names: Iterable[str]) -> dict[str, str]:
    """{name: ISO3} for these names, by country_converter. Names it does not know are absent (the
    reader reports them with the closest name)."""
    # A runaway cell is no name: coco's regexes take minutes on a megabyte, and no country name
    # is longer than ~60 characters.
    unique = sorted({n for n in names if isinstance(n, str) and len(n) <= _LONGEST_NAME})
    # src="regex": a 3-letter name is not taken for an ISO3 code. coco's not_found=None returns the
    # name itself, so a sentinel marks misses.
    found = _country_converter().convert(unique, src="regex", to="ISO3", not_found=_NOT_FOUND) if unique else []
    found = [found] if isinstance(found, str) else found
    codes = {name: code for name, code in zip(unique, found) if isinstance(code, str) and _ISO3.match(code)}
    return codes


@cache
def _country_converter():
    """country_converter's converter. coco 1.3.2 cannot build its default one under pandas 3 (its
    table loader turns Namibia's ISO2 'NA' into a missing value and re.compile fails on it), so
    then the same table is loaded as coco does, but keeping 'NA' a string."""
    import country_converter as coco
    from country_converter import country_converter as cc_module

    try:
        return coco.CountryConverter()
    except TypeError:
        strings = ("name_short", "name_official", "regex", "ISO2", "ISO3", "continent", "UNregion")
        strings += ("EXIO1", "EXIO2", "EXIO3", "WIOD")
        integers = ("ISOnumeric", "UNcode", "FAOcode", "GBDcode", "EURO", "UN", "UNmember", "obsolete", "GEOnumeric")
        table = pd.read_csv(
            cc_module.COUNTRY_DATA_FILE,
            sep="\t",
            encoding="utf-8",
            converters=dict.fromkeys(strings, str),
            keep_default_na=False,
            na_values=cc_module.STR_NA_VALUES - {"NA"},
        )
        table = table.astype({c: "Int64" for c in table.columns if c in integers})
        return coco.CountryConverter(country_data=table)


def country_names() -> dict[str, str]:
    """{ISO3: short English name} for every country country_converter knows ("South Korea", not ISO's
    "Korea, Republic of"): the names analysts read, the table the harmonizers match names against."""
    table = _country_converter().data[["ISO3", "name_short"]]
    return dict(zip(table["ISO3"], table["name_short"]))


def un_subregions() -> dict[str, str]:
    """{ISO3: UN M49 sub-region name} for every country country_converter knows."""
    table = _country_converter().data[["ISO3", "UNregion"]]
    table = table[table["UNregion"].map(lambda r: isinstance(r, str) and r != "")]
    return dict(zip(table["ISO3"], table["UNregion"]))
