"""Rows of different lengths kept in one flat array: a selection holds a few dozen terms and
facts of each of tens of thousands of candidates, and a dict or set of Python ints per
article costs ten times what its values do."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, slots=True)
class Ragged:
    """Row `r` is `values[starts[r]:starts[r + 1]]`."""

    values: np.ndarray
    starts: np.ndarray  # int64, one more than there are rows

    @classmethod
    def of(cls, values: np.ndarray, lengths: Sequence[int] | np.ndarray) -> Ragged:
        """The rows of `values` cut into `lengths`, in order."""
        starts = np.zeros(len(lengths) + 1, np.int64)
        np.cumsum(lengths, out=starts[1:])
        return cls(values, starts)

    @classmethod
    def from_rows(cls, rows: Sequence[Sequence[int]], dtype: type | str = np.int64) -> Ragged:
        lengths = np.fromiter(map(len, rows), np.int64, len(rows))
        flat = np.fromiter(itertools.chain.from_iterable(rows), dtype, int(lengths.sum()))
        return cls.of(flat, lengths)

    @classmethod
    def concat(cls, parts: Sequence[Ragged]) -> Ragged:
        if not parts:
            return cls(np.zeros(0, np.int64), np.zeros(1, np.int64))
        lengths = np.concatenate([p.lengths() for p in parts])
        return cls.of(np.concatenate([p.values for p in parts]), lengths)

    def __len__(self) -> int:
        return len(self.starts) - 1

    def __getitem__(self, row: int) -> np.ndarray:
        return self.values[self.starts[row] : self.starts[row + 1]]

    def lengths(self) -> np.ndarray:
        return np.diff(self.starts)

    def holders(self) -> np.ndarray:
        """The row of each value."""
        return np.repeat(np.arange(len(self)), self.lengths())

    def block(self, start: int, end: int) -> Ragged:
        """Rows `start` to `end` (a view)."""
        starts = self.starts[start : end + 1]
        return Ragged(self.values[starts[0] : starts[-1]], starts - starts[0])

    def take(self, rows: np.ndarray) -> Ragged:
        """These rows, in this order."""
        rows = np.asarray(rows, np.int64)
        lengths = self.lengths()[rows]
        return Ragged.of(self.values[ranges(self.starts[rows], lengths)], lengths)


def ranges(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """The positions `starts[k]` to `starts[k] + lengths[k] - 1` of each range, range after
    range."""
    at = np.repeat(starts - (np.cumsum(lengths) - lengths), lengths)
    return at + np.arange(len(at))
