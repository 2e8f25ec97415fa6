"""Recording CSV (docs/design.md): header `t` then one column per cell, forces in newtons.

Reading validates everything a hand-edited or truncated file can get wrong and raises
RecordingError with one line a person can act on.
"""

from __future__ import annotations

import csv
import io
import math
from array import array
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

MAX_VALUE = 1e7  # seconds or newtons: far beyond any mat; larger numbers overflow the maths


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
    """Read a recording row by row: memory grows with the numbers (8 bytes each), not the text."""
    path = Path(path)
    try:
        with open(path, encoding="utf-8", newline="") as fh:
            return _parse(fh, str(path), expected_cells)
    except FileNotFoundError:
        raise RecordingError(f"{path}: recording not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise RecordingError(f"{path}: cannot read recording ({exc})") from None


def parse_recording(
    text: str, name: str = "recording", expected_cells: Sequence[str] | None = None
) -> Recording:
    return _parse(io.StringIO(text), name, expected_cells)


def _parse(lines: Iterable[str], name: str, expected_cells: Sequence[str] | None) -> Recording:
    chunks = list(_chunks(lines, name, expected_cells, 1 << 16))
    return Recording(
        cell_names=chunks[0][0],
        t=np.concatenate([t for _, t, _ in chunks]),
        forces=np.concatenate([f for _, _, f in chunks]),
    )


def recording_chunks(
    path: str | Path, expected_cells: Sequence[str] | None = None, chunk_frames: int = 8192
) -> Iterator[tuple[tuple[str, ...], np.ndarray, np.ndarray]]:
    """(cell names, t, forces) of up to `chunk_frames` frames at a time; t from 0 at the first.

    For files too long to hold: memory stays that of one chunk. Raises RecordingError as
    `read_recording` does, at the chunk where the problem is.
    """
    path = Path(path)
    try:
        with open(path, encoding="utf-8", newline="") as fh:
            yield from _chunks(fh, str(path), expected_cells, chunk_frames)
    except FileNotFoundError:
        raise RecordingError(f"{path}: recording not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise RecordingError(f"{path}: cannot read recording ({exc})") from None


def _chunks(
    lines: Iterable[str], name: str, expected_cells: Sequence[str] | None, chunk_frames: int
) -> Iterator[tuple[tuple[str, ...], np.ndarray, np.ndarray]]:
    rows = (r for r in csv.reader(lines) if any(field.strip() for field in r))
    header = [h.strip() for h in next(rows, [])]
    if not header:
        raise RecordingError(f"{name}: empty file (expected a header 't,<cell>,...')")
    if header[0] != "t" or len(header) < 2:
        raise RecordingError(f"{name}: header must start with 't' then one column per cell")
    cells = tuple(header[1:])
    if expected_cells is not None and list(cells) != list(expected_cells):
        raise RecordingError(
            f"{name}: columns {', '.join(cells)} do not match the config's cells "
            f"{', '.join(expected_cells)}"
        )
    values = array("d")  # row after row, compact
    previous_t = -math.inf
    t0: float | None = None
    line = 1
    for line, row in enumerate(rows, start=2):
        if len(row) != len(header):
            raise RecordingError(
                f"{name}: line {line} has {len(row)} values, expected {len(header)}"
            )
        for j, field in enumerate(row):
            try:
                value = float(field)
            except ValueError:
                raise RecordingError(
                    f"{name}: line {line}, column {header[j]}: not a number ({field.strip()!r})"
                ) from None
            if not math.isfinite(value) or abs(value) > MAX_VALUE:
                raise RecordingError(
                    f"{name}: line {line}, column {header[j]}: {field.strip()} is not a finite "
                    "number within 1e7"
                )
            values.append(value)
        t = values[-len(header)]
        if t <= previous_t:
            raise RecordingError(f"{name}: line {line}: time does not increase")
        previous_t = t
        if t0 is None:
            t0 = t
        if len(values) >= chunk_frames * len(header):
            yield cells, *_split(values, len(header), t0)
            values = array("d")
    if line == 1:
        raise RecordingError(f"{name}: no samples after the header")
    if values:
        yield cells, *_split(values, len(header), t0)


def _split(values: array, width: int, t0: float | None) -> tuple[np.ndarray, np.ndarray]:
    data = np.frombuffer(values, dtype=float).reshape(-1, width)
    return data[:, 0] - t0, data[:, 1:].copy()
