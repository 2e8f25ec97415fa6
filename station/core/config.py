"""Station configuration: a TOML file read into typed, validated dataclasses.

The `[mat]` tables are the contract of docs/design.md (a file holding only them is a valid config
for `analyze`); `[source]`, `[web]`, `[storage]` and `[session]` configure the running station
and all have defaults. `[support]` (hand on the wall) and `[quality]` (the quality mark) hold
the thresholds of measurements the station and `analyze` share, so one file gives both the
same report. Every error names the offending key in one line, so a studio owner
editing the file over SSH sees exactly what to fix.
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .quality import QualityLimits
from .support import SupportConfig
from .thresholds import OFF_MAT_N, ON_MAT_N

SOURCE_KINDS = ("sim", "replay", "hx711", "emulated", "pico", "emulated-pico")
HX711_READERS = ("shared-clock", "adafruit")
SIM_SCENARIOS = (
    "studio",
    "backward",
    "forward",
    "stand",
    "awkward",
    "romberg",
    "warrior",
    "head_turns",
    "wall",  # a hand on the wall during walks (docs/validation.md)
    # the step detector's hard cases (docs/validation.md)
    "stand_shifts",
    "shuffle",
    "turn_spot",
    "turn_end",
    "start_stop",
)


class ConfigError(ValueError):
    """A config problem, worded for the person editing the file."""


@dataclass(frozen=True)
class Cell:
    name: str
    x_m: float
    y_m: float


@dataclass(frozen=True)
class MatConfig:
    name: str
    length_m: float
    width_m: float
    cells: tuple[Cell, ...]

    @property
    def cell_names(self) -> list[str]:
        return [c.name for c in self.cells]


@dataclass(frozen=True)
class SimConfig:
    """The simulated member and the mat electronics behind `--source sim`."""

    seed: int = 1
    body_mass_kg: float = 70.0
    scenario: str = "studio"
    step_length_m: float = 0.32
    step_width_m: float = 0.16
    cadence_steps_per_min: float = 90.0
    double_support_s: float = 0.18
    hand_on_wall_share: float = 0.0
    start_delay_s: float = 0.0  # empty mat before the first visit (time to choose on the kiosk)
    # studio scenario: the empty mat between two visits, the time a person has to choose
    pause_between_visits_s: float = 25.0


@dataclass(frozen=True)
class HX711Config:
    """Wiring of the HX711 boards (BCM GPIO numbers), one data line per cell in cell order."""

    reader: str = "shared-clock"  # one clock line for all chips (recommended), or "adafruit"
    clock_gpio: int = 5
    data_gpios: list[int] = field(default_factory=lambda: [6, 13, 19, 26])
    clock_gpios: list[int] = field(default_factory=list)  # "adafruit": one clock per chip
    gain: int = 128


@dataclass(frozen=True)
class PicoConfig:
    """The Pico co-processor on USB (hardware/pico/README.md)."""

    port: str = ""  # empty: found by its USB ids; or e.g. "/dev/serial/by-id/usb-...-if02"


@dataclass(frozen=True)
class SourceConfig:
    kind: str = "sim"
    rate_hz: float = 80.0
    recording: str = ""
    sim: SimConfig = field(default_factory=SimConfig)
    hx711: HX711Config = field(default_factory=HX711Config)
    pico: PicoConfig = field(default_factory=PicoConfig)


@dataclass(frozen=True)
class PanelConfig:
    """The GPIO panel beside the mat: a start/stop button, a status LED, a buzzer."""

    enabled: bool = False
    button_gpio: int = 16
    led_gpio: int = 20
    buzzer_gpio: int = 21
    hold_s: float = 3.0
    beep_on_step: bool = True


@dataclass(frozen=True)
class WebConfig:
    host: str = "0.0.0.0"  # the studio network reaches the share pages; web/access.py guards
    port: int = 8080
    threads: int = 12  # for pages and the API; live viewers have max_viewers threads on top
    max_viewers: int = 8  # live-view screens at once; one more gets "too many screens"
    stalled_client_s: float = 15.0  # a client that takes no byte of its reply this long is dropped
    network_access: str = "share"  # "share": only share links; "staff": all, behind the password
    public_url: str = ""  # what phones open (share links, QR); empty: http://HOSTNAME.local:PORT
    selection_s: float = 60.0  # a kiosk choice (member, exercise) waits this long for a visit
    share_link_s: float = 900.0  # a "Send to my phone" link works this long


@dataclass(frozen=True)
class StorageConfig:
    path: str = "balance-station.db"
    flush_interval_s: float = 0.5
    backup_dir: str = ""  # empty: a "backups" folder beside the database
    backup_keep: int = 7
    backup_other_device: bool = False  # refuse a backup folder on the database's own device
    queue_limit_s: float = 60.0  # frames kept while the disk refuses writes; then dropped


@dataclass(frozen=True)
class SessionConfig:
    """When someone counts as on the mat: hysteresis keeps one session per visit."""

    on_threshold_n: float = ON_MAT_N  # see station/core/thresholds.py
    off_threshold_n: float = OFF_MAT_N
    on_hold_s: float = 0.25
    off_hold_s: float = 1.5
    preroll_s: float = 1.0
    max_visit_s: float = 600.0  # a longer visit ends, flagged (a bag left on the mat?)


@dataclass(frozen=True)
class StationConfig:
    mat: MatConfig
    source: SourceConfig = field(default_factory=SourceConfig)
    web: WebConfig = field(default_factory=WebConfig)
    storage: StorageConfig = field(default_factory=StorageConfig)
    session: SessionConfig = field(default_factory=SessionConfig)
    panel: PanelConfig = field(default_factory=PanelConfig)
    support: SupportConfig = field(default_factory=SupportConfig)
    quality: QualityLimits = field(default_factory=QualityLimits)


@dataclass(frozen=True)
class AnalysisConfig:
    """What `analyze` reads of a config file: the mat and the measurements' thresholds."""

    mat: MatConfig
    support: SupportConfig = field(default_factory=SupportConfig)
    quality: QualityLimits = field(default_factory=QualityLimits)


# --- reading ---------------------------------------------------------------------------


def _number(table: dict[str, Any], key: str, where: str, *, positive: bool = False) -> float:
    if key not in table:
        raise ConfigError(f"{where}.{key}: missing (a number is required)")
    value = table[key]
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ConfigError(f"{where}.{key}: must be a finite number, got {value!r}")
    if positive and value <= 0:
        raise ConfigError(f"{where}.{key}: must be greater than 0, got {value!r}")
    return float(value)


def _text(table: dict[str, Any], key: str, where: str) -> str:
    if key not in table:
        raise ConfigError(f"{where}.{key}: missing (a text value is required)")
    value = table[key]
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{where}.{key}: must be non-empty text, got {value!r}")
    return value


def _table(parent: dict[str, Any], key: str, where: str, required: bool) -> dict[str, Any]:
    if key not in parent:
        if required:
            raise ConfigError(f"{where}{key}: missing table [{where}{key}]")
        return {}
    value = parent[key]
    if not isinstance(value, dict):
        raise ConfigError(f"{where}{key}: must be a table, got {type(value).__name__}")
    return value


def _check_unknown(table: dict[str, Any], known: set[str], where: str) -> None:
    for key in table:
        if key not in known:
            raise ConfigError(f"{where}.{key}: unknown key (known: {', '.join(sorted(known))})")


def parse_mat(raw: dict[str, Any]) -> MatConfig:
    if "mat" not in raw:  # the one table with no default: no two mats are built alike
        raise ConfigError(
            "mat: missing table [mat] (every config needs its mat's size and cells; the other "
            "tables fall back to the defaults: start from a copy of station/default_config.toml, "
            "on a Pi of station.toml.dist)"
        )
    mat = _table(raw, "mat", "", required=True)
    _check_unknown(mat, {"name", "length_m", "width_m", "cells"}, "mat")
    name = _text(mat, "name", "mat")
    length = _number(mat, "length_m", "mat", positive=True)
    width = _number(mat, "width_m", "mat", positive=True)
    raw_cells = mat.get("cells")
    if raw_cells is None:
        raise ConfigError("mat.cells: missing ([[mat.cells]] tables, at least 3)")
    if not isinstance(raw_cells, list) or not all(isinstance(c, dict) for c in raw_cells):
        raise ConfigError("mat.cells: must be an array of [[mat.cells]] tables")
    if len(raw_cells) < 3:
        raise ConfigError(f"mat.cells: at least 3 cells are needed, got {len(raw_cells)}")
    cells = []
    for i, rc in enumerate(raw_cells):
        where = f"mat.cells[{i}]"
        _check_unknown(rc, {"name", "x_m", "y_m"}, where)
        cell = Cell(_text(rc, "name", where), _number(rc, "x_m", where), _number(rc, "y_m", where))
        if cell.name == "t":
            raise ConfigError(f"{where}.name: 't' is reserved for the time column")
        if abs(cell.x_m) > length / 2 + 1e-9 or abs(cell.y_m) > width / 2 + 1e-9:
            raise ConfigError(f"{where}: ({cell.x_m}, {cell.y_m}) m lies outside the mat")
        cells.append(cell)
    names = [c.name for c in cells]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ConfigError(f"mat.cells.name: duplicate cell name {duplicates[0]!r}")
    # Collinear cells cannot resolve a moment about their common line: CoP would be undefined.
    xs = [c.x_m for c in cells]
    ys = [c.y_m for c in cells]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    sxx = sum((x - mx) ** 2 for x in xs)
    syy = sum((y - my) ** 2 for y in ys)
    sxy = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True))
    if sxx * syy - sxy * sxy < 1e-9 * max(sxx + syy, 1e-12) ** 2:
        raise ConfigError("mat.cells: cells lie on one line; the CoP needs cells spread in 2-D")
    return MatConfig(name=name, length_m=length, width_m=width, cells=tuple(cells))


def _fill(cls: type, table: dict[str, Any], where: str, **nested: Any) -> Any:
    """Build a defaults-carrying dataclass from a table, type-checking each given key."""
    defaults = cls()
    known = {f for f in asdict(defaults)}
    _check_unknown(table, known, where)
    values: dict[str, Any] = {}
    for key in known:
        if key in nested:
            values[key] = nested[key]
            continue
        if key not in table:
            continue
        default = getattr(defaults, key)
        value = table[key]
        if isinstance(default, bool):
            ok = isinstance(value, bool)
        elif isinstance(default, int):
            ok = isinstance(value, int) and not isinstance(value, bool)
        elif isinstance(default, list):
            ok = isinstance(value, list) and all(
                isinstance(v, int) and not isinstance(v, bool) for v in value
            )
        elif isinstance(default, float):
            ok = isinstance(value, int | float) and not isinstance(value, bool)
            ok = ok and math.isfinite(value)
            value = float(value) if ok else value
        else:
            ok = isinstance(value, type(default))
        if not ok:
            wanted = (
                type(default)
                .__name__.replace("str", "text")
                .replace("float", "number")
                .replace("list", "a list of whole numbers")
            )
            raise ConfigError(f"{where}.{key}: must be {wanted}, got {value!r}")
        values[key] = value
    return cls(**values)


# (key, lowest, highest, whether the lowest itself is allowed): every threshold in range
_SUPPORT_RANGES = (
    ("window_s", 0.25, 30.0, True),
    ("margin_share", 0.0, 0.9, False),
    ("min_s", 0.0, 600.0, True),
    ("min_load_share", 0.0, 1.0, False),
    ("quiet_s", 0.25, 30.0, True),
    ("quiet_sd_share", 0.0, 0.5, False),
    ("history_visits", 1, 100, True),
    ("history_days", 0.0, 3650.0, False),
)
_QUALITY_RANGES = (
    ("noise_n", 0.0, 1000.0, False),
    ("missing_share", 0.0, 1.0, True),
    ("flat_s", 0.0, 600.0, False),
    ("drift_pct", 0.0, 100.0, False),
    ("calibration_age_days", 0.0, 36500.0, False),
    ("off_mat_share", 0.0, 1.0, True),
    ("off_mat_margin_m", 0.0, 1.0, True),
)


def _in_ranges(values: Any, where: str, ranges: tuple) -> None:
    for key, low, high, low_ok in ranges:
        value = getattr(values, key)
        if value < low or value > high or (value == low and not low_ok):
            above = f"from {low:g}" if low_ok else f"above {low:g}"
            raise ConfigError(f"{where}.{key}: must be {above} up to {high:g}, got {value!r}")


def parse_measurement(raw: dict[str, Any]) -> tuple[SupportConfig, QualityLimits]:
    """The `[support]` and `[quality]` tables: thresholds the station and `analyze` share."""
    support = _fill(SupportConfig, _table(raw, "support", "", required=False), "support")
    quality = _fill(QualityLimits, _table(raw, "quality", "", required=False), "quality")
    _in_ranges(support, "support", _SUPPORT_RANGES)
    _in_ranges(quality, "quality", _QUALITY_RANGES)
    return support, quality


def parse_analysis(raw: dict[str, Any]) -> AnalysisConfig:
    """`[mat]`, `[support]` and `[quality]` of a file; any other table is the station's."""
    mat = parse_mat(raw)
    support, quality = parse_measurement(raw)
    return AnalysisConfig(mat=mat, support=support, quality=quality)


def parse_config(raw: dict[str, Any]) -> StationConfig:
    _check_unknown(
        raw, {"mat", "source", "web", "storage", "session", "panel", "support", "quality"}, "config"
    )
    mat = parse_mat(raw)
    support, quality = parse_measurement(raw)
    src = _table(raw, "source", "", required=False)
    sim = _fill(SimConfig, _table(src, "sim", "source.", required=False), "source.sim")
    hx = _fill(HX711Config, _table(src, "hx711", "source.", required=False), "source.hx711")
    pico = _fill(PicoConfig, _table(src, "pico", "source.", required=False), "source.pico")
    source = _fill(SourceConfig, src, "source", sim=sim, hx711=hx, pico=pico)
    panel = _fill(PanelConfig, _table(raw, "panel", "", required=False), "panel")
    web = _fill(WebConfig, _table(raw, "web", "", required=False), "web")
    storage = _fill(StorageConfig, _table(raw, "storage", "", required=False), "storage")
    session = _fill(SessionConfig, _table(raw, "session", "", required=False), "session")
    if source.kind not in SOURCE_KINDS:
        raise ConfigError(
            f"source.kind: must be one of {', '.join(SOURCE_KINDS)}, got {source.kind!r}"
        )
    if hx.reader not in HX711_READERS:
        raise ConfigError(f"source.hx711.reader: must be one of {', '.join(HX711_READERS)}")
    if hx.gain not in (128, 64, 32):
        raise ConfigError(f"source.hx711.gain: must be 128, 64 or 32, got {hx.gain}")
    if source.kind == "hx711" and len(hx.data_gpios) != len(mat.cells):
        raise ConfigError(
            f"source.hx711.data_gpios: one per cell ({len(mat.cells)}), got {len(hx.data_gpios)}"
        )
    if source.kind == "hx711" and hx.reader == "adafruit" and len(hx.clock_gpios) != len(mat.cells):
        raise ConfigError("source.hx711.clock_gpios: the adafruit reader needs one per cell")
    if panel.hold_s <= 0:
        raise ConfigError("panel.hold_s: must be greater than 0")
    if not 1.0 <= source.rate_hz <= 1000.0:
        raise ConfigError(f"source.rate_hz: must be between 1 and 1000, got {source.rate_hz}")
    if sim.scenario not in SIM_SCENARIOS:
        raise ConfigError(
            f"source.sim.scenario: must be one of {', '.join(SIM_SCENARIOS)}, got {sim.scenario!r}"
        )
    for key in ("body_mass_kg", "step_length_m", "cadence_steps_per_min", "double_support_s"):
        if getattr(sim, key) <= 0:
            raise ConfigError(f"source.sim.{key}: must be greater than 0")
    if not 0.0 <= sim.hand_on_wall_share < 0.9:
        raise ConfigError("source.sim.hand_on_wall_share: must be from 0 up to 0.9")
    if not 0 <= web.port <= 65535:
        raise ConfigError(f"web.port: must be 0-65535, got {web.port}")
    if web.public_url and not web.public_url.startswith(("http://", "https://")):
        raise ConfigError(
            f"web.public_url: must start with http:// or https://, got {web.public_url!r}"
        )
    for key in ("selection_s", "share_link_s"):
        if getattr(web, key) <= 0:
            raise ConfigError(f"web.{key}: must be greater than 0")
    if sim.pause_between_visits_s < 0:
        raise ConfigError("source.sim.pause_between_visits_s: must be 0 or more")
    if web.threads < 2:
        raise ConfigError("web.threads: must be at least 2")
    if not 1 <= web.max_viewers <= 64:
        raise ConfigError(f"web.max_viewers: must be 1-64, got {web.max_viewers}")
    if not 1.0 <= web.stalled_client_s <= 600.0:
        raise ConfigError(f"web.stalled_client_s: must be 1-600, got {web.stalled_client_s}")
    if web.network_access not in ("share", "staff"):
        raise ConfigError(
            f'web.network_access: must be "share" or "staff", got {web.network_access!r}'
        )
    if storage.backup_keep < 1:
        raise ConfigError("storage.backup_keep: must be at least 1")
    for where, table, key in (
        ("storage", storage, "flush_interval_s"),
        ("storage", storage, "queue_limit_s"),
        ("session", session, "max_visit_s"),
    ):
        if getattr(table, key) <= 0:
            raise ConfigError(f"{where}.{key}: must be greater than 0, got {getattr(table, key)}")
    if session.off_threshold_n > session.on_threshold_n:
        raise ConfigError("session.off_threshold_n: must not exceed session.on_threshold_n")
    return StationConfig(
        mat=mat,
        source=source,
        web=web,
        storage=storage,
        session=session,
        panel=panel,
        support=support,
        quality=quality,
    )


def load_config(path: str | Path) -> StationConfig:
    """Read and validate a config file; every failure is a ConfigError naming file and key."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read config file ({exc})") from None
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from None
    try:
        return parse_config(raw)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None


def load_mat_config(path: str | Path) -> MatConfig:
    """Only the `[mat]` tables."""
    return _load_part(path, parse_mat)


def load_analysis_config(path: str | Path) -> AnalysisConfig:
    """`[mat]`, `[support]` and `[quality]`, for `analyze`: the station's other tables are
    not read, so a file with only the mat (docs/design.md) will do."""
    return _load_part(path, parse_analysis)


def _load_part(path: str | Path, parse: Any) -> Any:
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found") from None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read config ({exc})") from None
    try:
        return parse(raw)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None


def config_to_dict(config: StationConfig) -> dict[str, Any]:
    """The TOML-ready form of a config (the inverse of parse_config)."""
    data = asdict(config)
    data["mat"]["cells"] = [dict(c) for c in data["mat"]["cells"]]
    return data
