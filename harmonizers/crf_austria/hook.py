"""What the declaration cannot say about CRF Table 4.A as forest_puller transcribed it: CRF rows
are told apart by their labels and how many times a label repeats (crf_austria_rows.csv), a row may
be skipped after review, mineral and organic soils add up to one pool, and no column may be
silently left out."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ercan import readers
from ercan.declaration import DECLARATION, load
from ercan.errors import SourceError, did_you_mean
from ercan.readers import LINE
from ercan.schema import LAND_CATEGORIES

FOLDER = Path(__file__).parent
ROWS_CROSSWALK = "crf_austria_rows.csv"
ROLE = "table_4a"
LABELS = ("country", "year", "land_use", "subdivision")
NOT_KEPT = {  # read (a corrupt cell is reported) but not kept
    "biomass_gain": "CRF 'Carbon stock change in living biomass: Gains': no registry variable for gross gains; "
                    "biomass_net (= gains + losses, checked in tests) carries them",
    "biomass_loss": "CRF 'Carbon stock change in living biomass: Losses' (negative): as biomass_gain",
}
SOILS = ("mineral_soils", "organic_soils")  # added up to pool soil
SOIL, SOIL_FLAG = "mineral_soils+organic_soils", "soil flag"  # the columns made here, read by the declaration
AREA = "area"  # the one value a skipped row was reviewed to carry


class RowMapping(BaseModel):
    """A CRF row label (with its occurrence) -> category and land category, or skipped."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    land_use: str
    subdivision: str
    occurrence: int = Field(ge=1)
    keep: bool
    category: str
    land_category: str
    note: str

    @field_validator("land_category")
    @classmethod
    def _known_land_category(cls, value: str) -> str:
        if value not in LAND_CATEGORIES:
            raise ValueError(f"{value!r} is not one of {LAND_CATEGORIES}{did_you_mean(value, LAND_CATEGORIES)}")
        return value

    @model_validator(mode="after")
    def _category_when_kept(self):
        if self.keep and not re.fullmatch(r"CRF:4(?:\.[A-F](?:\.\d+)*)?(?:/[a-z_]+)?", self.category):
            raise ValueError(
                f"kept row {self.land_use}/{self.subdivision}: category {self.category!r} is not CRF:4.X[/subdivision]"
            )
        return self


def _row_crosswalk() -> dict[tuple[str, str, int], RowMapping]:
    frame = pd.read_csv(FOLDER / ROWS_CROSSWALK, dtype=str, keep_default_na=False)
    mappings = (RowMapping(**{**record, "keep": {"yes": True, "no": False}[record["keep"]]})
                for record in frame.to_dict("records"))
    return {(m.land_use, m.subdivision, m.occurrence): m for m in mappings}


ROWS = _row_crosswalk()
DECLARED = [c for block in load(FOLDER / DECLARATION).inputs[ROLE].values for c in block.columns]
VALUE_COLUMNS = [*(c for c in DECLARED if c != SOIL), *SOILS, *NOT_KEPT]


def cells(role: str, cells: pd.DataFrame, raw) -> pd.DataFrame:
    file = raw.name
    _check_every_column_is_known(cells, file, role)
    mapping = _row_mappings(cells, file)
    numbers = {c: readers.parse_numbers(cells[c], cells[LINE], "none", file=file, column=c, role=role)
               for c in VALUE_COLUMNS}
    keep = np.array([m.keep for m in mapping], dtype=bool)
    _check_skipped_rows(cells, numbers, keep, mapping, file)
    soils = pd.DataFrame({c: numbers[c] for c in SOILS})
    total = soils.sum(axis=1, min_count=1)
    cells = cells.assign(
        category=[m.category for m in mapping], land_category=[m.land_category for m in mapping],
        **{SOIL: total.map(lambda x: repr(float(x))).where(total.notna()),  # repr: digits that read back exactly
           SOIL_FLAG: np.where(soils.notna().sum(axis=1) > 1, "derived", "reported")},
    )
    return cells[keep]


def _check_every_column_is_known(cells: pd.DataFrame, file: str, role: str) -> None:
    readers.require_columns(cells, [*LABELS, *VALUE_COLUMNS], file=file, role=role)
    unknown = [c for c in cells.columns if c not in (*LABELS, *VALUE_COLUMNS, LINE)]
    if unknown:
        raise SourceError(
            f"column {unknown[0]!r} is neither read nor listed as not kept{did_you_mean(unknown[0], VALUE_COLUMNS)}",
            file=file, row=cells.attrs.get("header_line", 1), column=unknown[0],
            hint=f"A new CRF column: after checking what it is, declare it under inputs.{role}.values in "
                 "harmonizers/crf_austria/source.yaml, or add it to NOT_KEPT in harmonizers/crf_austria/hook.py.",
        )


def _row_mappings(cells: pd.DataFrame, file: str) -> list[RowMapping]:
    """Each row's crosswalk entry; unknown labels and unlisted repeats are errors."""
    land_use, subdivision, year = cells["land_use"], cells["subdivision"], cells["year"]
    occurrence = cells.groupby(["country", "year", "land_use", "subdivision"], sort=False, dropna=False).cumcount() + 1
    known_land_uses = sorted({k[0] for k in ROWS})
    where = f"harmonizers/crf_austria/{ROWS_CROSSWALK}"
    mapping = []
    for i in range(len(cells)):
        lu, sub, n, row = land_use.iloc[i], subdivision.iloc[i], int(occurrence.iloc[i]), int(cells[LINE].iloc[i])
        if lu not in known_land_uses:
            raise SourceError(f"unknown CRF land-use row {lu!r}{did_you_mean(lu, known_land_uses)}", file=file, row=row,
                              column="land_use", hint=f"Map the row in {where} after checking its CRF category.")
        subdivisions = sorted({k[1] for k in ROWS if k[0] == lu})
        if sub not in subdivisions:
            raise SourceError(f"unknown subdivision {sub!r} of {lu!r}{did_you_mean(sub, subdivisions)}", file=file,
                              row=row, column="subdivision",
                              hint=f"Map the subdivision in {where} after checking what it is.")
        if (lu, sub, n) not in ROWS:
            first = int(cells[LINE][(land_use == lu) & (subdivision == sub) & (year == year.iloc[i])].iloc[0])
            raise SourceError(
                f"{lu}/{sub} appears again (occurrence {n}; first at row {first}) and the crosswalk lists "
                f"{max(k[2] for k in ROWS if k[:2] == (lu, sub))} such row(s)", file=file, row=row,
                column="subdivision",
                hint=f"A repeated CRF row: find out what it is, then list it in {where}.",
            )
        mapping.append(ROWS[(lu, sub, n)])
    return mapping


def _check_skipped_rows(cells: pd.DataFrame, numbers: dict, keep: np.ndarray, mapping: list, file: str) -> None:
    """A skipped row was reviewed as carrying an area only: any other value needs a new review."""
    for column, values in numbers.items():
        if column == AREA:
            continue
        carrying = ~keep & values.notna().to_numpy()
        if carrying.any():
            position = int(np.flatnonzero(carrying)[0])
            m = mapping[position]
            raise SourceError(
                f"the crosswalk skips this row ({m.land_use}/{m.subdivision} occurrence {m.occurrence}, "
                f"reviewed as an area-only row) but it has a value, {values.iloc[position]}",
                file=file, row=int(cells[LINE].iloc[position]), column=column,
                hint=f"Review the row and update harmonizers/crf_austria/{ROWS_CROSSWALK}.",
            )
