"""Storage faults on demand in a station process: a read-only card or I/O errors.

`faulty_io.c`, built here with the system's C compiler and loaded with LD_PRELOAD, fails the
file calls SQLite makes for files under one folder while a control file exists (see the C
source). Needs no root; tests that use it skip where there is no C compiler.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

SOURCE = Path(__file__).with_name("faulty_io.c")
FAULTS = ("erofs", "eio")  # a read-only file system, an I/O error


class CannotBuild(RuntimeError):
    pass


def build(out_dir: Path) -> Path:
    """The shared library, compiled into `out_dir`."""
    compiler = shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        raise CannotBuild("no C compiler to build the fault injector")
    library = out_dir / "faulty_io.so"
    done = subprocess.run(
        [compiler, "-shared", "-fPIC", "-O2", "-o", str(library), str(SOURCE), "-ldl"],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise CannotBuild(f"cannot build the fault injector: {done.stderr.strip()}")
    return library


class Faults:
    """Switches a fault on and off for every file under `folder` of a process started with
    `environment()`."""

    def __init__(self, library: Path, folder: Path, control: Path) -> None:
        self.library = library
        self.folder = folder
        self.control = control

    def environment(self) -> dict[str, str]:
        return {
            "LD_PRELOAD": str(self.library),
            "FAULTY_IO_UNDER": str(self.folder.resolve()) + "/",
            "FAULTY_IO_CONTROL": str(self.control),
        }

    def start(self, fault: str) -> None:
        assert fault in FAULTS
        self.control.with_name(f"{self.control.name}.{fault}").touch()

    def clear(self) -> None:
        for fault in FAULTS:
            self.control.with_name(f"{self.control.name}.{fault}").unlink(missing_ok=True)
