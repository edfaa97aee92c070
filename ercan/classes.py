"""Classes of a factor's condition (growing stock 0-20, 21-40, >200 m3/ha) as validity ranges
[condition_min, condition_max) that adjoin (ercan.reference.class_bounds): printed in the headers of a
wide table (`values: [{classes: true}]`) or in each row's bounds (`classes_of`)."""

from __future__ import annotations

import re

import pandas as pd

from ercan.errors import SourceError
from ercan.readers import LINE
from ercan.reference import class_bounds

_NUMBER = r"\d+(?:\.\d+)?"
# 21-40 (or 21_40, 21–40, 21 to 40; an upper INF is open), <20 (from 0), >200 (open)
CLASS_RANGE = re.compile(rf"(?P<lower>{_NUMBER})\s*(?:-|–|_|to)\s*(?P<upper>{_NUMBER}|inf|∞)|[<≤]=?\s*(?P<below>"
                         rf"{_NUMBER})|[>≥]=?\s*(?P<above>{_NUMBER})", re.IGNORECASE)


def header_ranges(headers: list[str], texts: list[str], *, file: str, line: int | None, key: str
                  ) -> list[tuple[float, float | None]]:
    """[min, max) of each header's class (`texts`: the part of the header that is the class), the
    classes adjoining in the order of the columns."""
    classes = []
    for header, text in zip(headers, texts):
        found = CLASS_RANGE.fullmatch(text.strip())
        if not found:
            raise SourceError(f"{text!r} is not a class (0-20, 21_40, 100-INF, <20, >200)", file=file, row=line,
                              column=header, hint=f"Review the table's classes, then {key} (its group is the class).")
        lower, upper, below, above = found.group("lower", "upper", "below", "above")
        is_open = above is not None or upper is not None and not upper[0].isdigit()
        classes.append((float(above or lower or 0), None if is_open else float(upper or below)))
    try:
        return class_bounds(classes)
    except SourceError as e:
        raise e.located(file=file, row=line) from None


def adjoining_rows(long: pd.DataFrame, of: tuple[str, ...], *, file: str, column: str) -> pd.DataFrame:
    """condition_min/condition_max of the rows alike in the fields `of`, in file order, as adjoining
    classes (whole-number classes 0-20, 21-40 become [0, 20), [20, 40))."""
    long = long.copy()
    for _, group in long.sort_values(LINE, kind="stable").groupby(list(of), dropna=False, sort=False):
        classes = [(low, None if pd.isna(high) else high) for low, high in zip(group["condition_min"],
                                                                                 group["condition_max"])]
        try:
            bounds = class_bounds(classes)
        except SourceError as e:
            raise e.located(file=file, row=int(group[LINE].iloc[0]), column=column) from None
        long.loc[group.index, "condition_min"] = [low for low, _ in bounds]
        long.loc[group.index, "condition_max"] = [float("nan") if high is None else high for _, high in bounds]
    return long
