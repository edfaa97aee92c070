"""Errors that tell a data steward which source, file and cell is wrong and what to do."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class ErcanError(Exception):
    """Base class; the CLI turns these into a message and an exit status."""


class ConfigError(ErcanError):
    """A usage or configuration error (exit status 2)."""


class SourceError(ErcanError):
    """A source's input cannot be harmonized. The source is quarantined; the others go on."""

    def __init__(
        self,
        what: str,
        *,
        source: str | None = None,
        file: str | None = None,
        sheet: str | None = None,
        row: int | None = None,
        column: str | None = None,
        hint: str | None = None,
    ):
        self.what, self.source, self.file, self.sheet = what, source, file, sheet
        self.row, self.column, self.hint = row, column, hint
        super().__init__(str(self))

    def located(self, **where) -> SourceError:
        """The same error with more location filled in (the caller knows the source or file)."""
        for key, value in where.items():
            if getattr(self, key) is None:
                setattr(self, key, value)
        return self

    def __str__(self) -> str:
        where = [
            f"{label} {value!r}" if isinstance(value, str) else f"{label} {value}"
            for label, value in (
                ("source", self.source),
                ("file", self.file),
                ("sheet", self.sheet),
                ("row", self.row),
                ("column", self.column),
            )
            if value is not None
        ]
        text = f"{', '.join(where)}: {self.what}" if where else self.what
        return f"{text}. {self.hint}" if self.hint else text


def shown(value, limit: int = 80) -> str:
    """A cell's repr for a message, cut after `limit` characters: a runaway cell (a whole file in
    one field) must not turn the message into megabytes."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit]}… ({len(str(value)):,} characters)"


def closest(word: str, known: Iterable[str]) -> str | None:
    """The closest known spelling, to suggest in an error message."""
    matches = difflib.get_close_matches(str(word), [str(k) for k in known], n=1, cutoff=0.6)
    return matches[0] if matches else None


def did_you_mean(word: str, known: Iterable[str]) -> str:
    match = closest(word, known)
    return f" (did you mean {match!r}?)" if match else ""
