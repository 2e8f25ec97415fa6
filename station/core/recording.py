"""Recording CSV (docs/design.md): header `t` then one column per cell, forces in newtons.

Reading validates everything a hand-edited or truncated file can get wrong and raises
RecordingError with one line a person can act on.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np


class RecordingError(ValueError):
    """A recording file that cannot be used, worded for the person who chose it."""


@dataclass(frozen=True)
class Recording:
    cell_names: tuple[str, ...]
    t: np.ndarray  # (n,) seconds, starting at 0
    forces: np.ndarray  # (n, cells) newtons


def format_rows(t: Sequence[float], forces: Sequence[Sequence[float]]) -> list[list[str]]:
    return [[f"{ti:.6f}", *(f"{f:.3f}" for f in row)] for ti, row in zip(t, forces, strict=True)]


def write_recording(
    path: str | Path, cell_names: Sequence[str], t: Sequence[float], forces: np.ndarray
) -> None:
    """Write a recording; t is shifted so the file starts at its first sample."""
    t = np.asarray(t, dtype=float)
    t0 = t[0] if len(t) else 0.0
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["t", *cell_names])
        writer.writerows(format_rows(t - t0, np.asarray(forces)))


def read_recording(path: str | Path, expected_cells: Sequence[str] | None = None) -> Recording:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RecordingError(f"{path}: recording not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise RecordingError(f"{path}: cannot read recording ({exc})") from None
    return parse_recording(text, str(path), expected_cells)


def parse_recording(
    text: str, name: str = "recording", expected_cells: Sequence[str] | None = None
) -> Recording:
    rows = list(csv.reader(io.StringIO(text)))
    rows = [r for r in rows if any(field.strip() for field in r)]
    if not rows:
        raise RecordingError(f"{name}: empty file (expected a header 't,<cell>,...')")
    header = [h.strip() for h in rows[0]]
    if header[0] != "t" or len(header) < 2:
        raise RecordingError(f"{name}: header must start with 't' then one column per cell")
    cells = tuple(header[1:])
    if expected_cells is not None and list(cells) != list(expected_cells):
        raise RecordingError(
            f"{name}: columns {', '.join(cells)} do not match the config's cells "
            f"{', '.join(expected_cells)}"
        )
    if len(rows) < 2:
        raise RecordingError(f"{name}: no samples after the header")
    data = np.empty((len(rows) - 1, len(header)))
    for i, row in enumerate(rows[1:], start=2):
        if len(row) != len(header):
            raise RecordingError(f"{name}: line {i} has {len(row)} values, expected {len(header)}")
        for j, field in enumerate(row):
            try:
                value = float(field)
            except ValueError:
                raise RecordingError(
                    f"{name}: line {i}, column {header[j]}: not a number ({field.strip()!r})"
                ) from None
            if not math.isfinite(value):
                raise RecordingError(
                    f"{name}: line {i}, column {header[j]}: {field.strip()} is not a finite number"
                )
            data[i - 2, j] = value
    t = data[:, 0]
    backwards = np.flatnonzero(np.diff(t) <= 0)
    if backwards.size:
        line = int(backwards[0]) + 3
        raise RecordingError(f"{name}: line {line}: time does not increase")
    return Recording(cell_names=cells, t=t - t[0], forces=data[:, 1:])
