"""What china_nfi9's declaration cannot say: province names to ISO 3166-2:CN through the shared,
pycountry-checked crosswalk, and the national dump read as one result per NFI round (see `notes`)."""

from __future__ import annotations

from functools import cache

import pandas as pd
import pycountry

from ercan.errors import ConfigError, SourceError, did_you_mean, shown
from ercan.readers import LINE
from ercan.sources import PROJECT_ROOT

CROSSWALK = PROJECT_ROOT / "harmonizers" / "crosswalks" / "china_provinces.csv"  # shared with the benchmarks
COUNTRY = "CHN"  # parent of every province
NATIONAL_NAMES = {"全国": "CHN"}  # area names that are the whole country
AREA_COLUMNS = {"provinces": "省份", "national": "地区"}  # each input's column of names (declared to area_code)
YEAR_COLUMN = "年份"  # the national dump's
# NFI round -> (first year, last year), the official inventory periods; its results describe its last year
ROUNDS = {7: (2004, 2008), 8: (2009, 2013), 9: (2014, 2018)}
KEY = ["area_code", "variable", "land_category", "year"]


def rows(rows: pd.DataFrame, files) -> pd.DataFrame:
    of = {role: rows["snapshot"] == files[role].sha256 for role in AREA_COLUMNS}
    provinces = _coded(rows[of["provinces"]], file=files["provinces"].name, column=AREA_COLUMNS["provinces"])
    national = _coded(rows[of["national"]], file=files["national"].name, column=AREA_COLUMNS["national"])
    _once(provinces, file=files["provinces"].name)
    national = _one_per_round(national, file=files["national"].name)
    _no_key_in_both(provinces, national, files["provinces"].name, files["national"].name)
    return pd.concat([provinces, national], ignore_index=True)


@cache
def province_codes() -> dict[str, str]:
    """Province name (Chinese) -> ISO 3166-2:CN code, from the reviewed crosswalk, checked against pycountry."""
    table = pd.read_csv(CROSSWALK, dtype=str, keep_default_na=False)
    known = {s.code for s in pycountry.subdivisions.get(country_code="CN")}
    problems = [f"{n!r} -> {c!r} is not an ISO 3166-2:CN code" for n, c in zip(table.name_zh, table.iso_3166_2)
                if c not in known]
    problems += [f"{n!r} is listed twice" for n in table.name_zh[table.name_zh.duplicated()]]
    problems += [f"{n!r} is a national name" for n in table.name_zh if n in NATIONAL_NAMES]
    if problems:
        raise ConfigError(f"{CROSSWALK.name}: " + "; ".join(problems))
    return dict(zip(table.name_zh, table.iso_3166_2))


def _coded(rows: pd.DataFrame, *, file: str, column: str) -> pd.DataFrame:
    """The rows' area names (read into area_code) as codes: a province subnational under CHN, 全国 national."""
    known = {**province_codes(), **NATIONAL_NAMES}
    unknown = rows[~rows["area_code"].isin(list(known))].sort_values(LINE)
    if len(unknown):
        name = unknown["area_code"].iloc[0]
        raise SourceError(f"unknown province or region name {shown(name)}{did_you_mean(name, known)}", file=file,
                          row=int(unknown[LINE].iloc[0]), column=column,
                          hint=f"After checking what it is, add it to {CROSSWALK.relative_to(PROJECT_ROOT)} "
                               "(name_zh, iso_3166_2).")
    national = rows["area_code"].isin(list(NATIONAL_NAMES))
    return rows.assign(area_code=rows["area_code"].map(known),
                       area_level=national.map({True: "national", False: "subnational"}),
                       parent_code=pd.Series(COUNTRY, index=rows.index, dtype=object).where(~national, None))


def _once(rows: pd.DataFrame, *, file: str) -> None:
    """One value per province, series and year: two names of one province (北京, 北京市) are one area."""
    ordered = rows.sort_values(LINE, kind="stable")
    again = ordered.duplicated(KEY)
    if again.any():
        second = ordered[again].iloc[0]
        first = ordered[(ordered[KEY] == second[KEY]).all(axis=1)].iloc[0]
        key = "|".join(str(second[c]) for c in KEY)
        raise SourceError(f"area, series and year {key!r} appears again (first at row {int(first[LINE])})", file=file,
                          row=int(second[LINE]), column=AREA_COLUMNS["provinces"],
                          hint="Two names of one province count as one area: if both rows are meant, they are "
                               "different series; if one is a repeat, declare it under inputs.provinces.drop.")


def _one_per_round(rows: pd.DataFrame, *, file: str) -> pd.DataFrame:
    """The first row of each round (per area and series), at the round's last year; every year of a
    round repeats its result, and years after the last round repeat the last round's."""
    rows = rows.sort_values(LINE, kind="stable").assign(_round=_round_of(rows["year"]))
    early = rows[rows["_round"].isna() & (rows["year"] <= max(last for _, last in ROUNDS.values()))]
    if len(early):
        spans = ", ".join(f"{first}-{last}" for first, last in ROUNDS.values())
        raise SourceError(f"year {early['year'].iloc[0]} is in no NFI round the harmonizer knows ({spans})",
                          file=file, row=int(early[LINE].iloc[0]), column=YEAR_COLUMN,
                          hint="After checking the round's period, add it to ROUNDS in harmonizers/china_nfi9/hook.py.")
    last_round = max(ROUNDS, key=lambda number: ROUNDS[number][1])
    series = ["area_code", "variable", "land_category"]
    rounds = rows["_round"].fillna(last_round)  # a year after the last round is checked against it
    result = rows.groupby([*(rows[c] for c in series), rounds], sort=False)["value"].transform("first")
    differs = rows["value"] != result
    if differs.any():
        _differs(rows, rows[differs].iloc[0], file=file)
    kept = rows[rows["_round"].notna()].drop_duplicates([*series, "_round"])
    return kept.assign(year=kept["_round"].map(lambda number: ROUNDS[number][1]).astype(rows["year"].dtype)
                       ).drop(columns="_round")


def _round_of(years: pd.Series) -> pd.Series:
    found = pd.Series(float("nan"), index=years.index)
    for number, (first, last) in ROUNDS.items():
        found[(years >= first) & (years <= last)] = number
    return found


def _differs(rows: pd.DataFrame, at: pd.Series, *, file: str) -> None:
    """The error for the row `at`, whose value is not its round's result."""
    if pd.isna(at["_round"]):
        number = max(ROUNDS, key=lambda n: ROUNDS[n][1])
        first, last = ROUNDS[number]
        raise SourceError(
            f"a year after the last NFI round the harmonizer knows ({number}, {first}-{last}) has a value that is "
            "not that round's carried forward", file=file, row=int(at[LINE]), column=at["_column"],
            hint="A new inventory round? After checking its period, add it to ROUNDS in harmonizers/china_nfi9/hook.py.")
    number = int(at["_round"])
    base = rows[(rows[["area_code", "variable", "land_category", "_round"]]
                 == at[["area_code", "variable", "land_category", "_round"]]).all(axis=1)].iloc[0]
    first, last = ROUNDS[number]
    raise SourceError(
        f"{at['year']} differs from {base['year']} (row {int(base[LINE])}) in NFI round {number} ({first}-{last}); "
        "the hook reads the table as one inventory result per round, repeated over the round's years",
        file=file, row=int(at[LINE]), column=at["_column"],
        hint="Yearly values are not an NFI round's result: ingest a corrected dump, or revise ROUNDS and how "
             "harmonizers/china_nfi9/hook.py reads it.")


def _no_key_in_both(provinces: pd.DataFrame, national: pd.DataFrame, provinces_file: str, national_file: str) -> None:
    both = provinces.merge(national, on=KEY)
    if len(both):
        first = both.iloc[0]
        raise SourceError(
            f"{first.area_code} {first.variable} ({first.land_category}) {first.year} is given by both "
            f"{provinces_file!r} and {national_file!r}", file=national_file,
            hint="The provinces file holds provinces only: the national total comes from the dump.")
