"""`balance-station analyze`: steps, gait and sway of a recording CSV, as a table or JSON."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from station.core.config import ConfigError

from .common import UsageError, add_config, default_config_path


def add_parser(sub: Any) -> None:
    ana = sub.add_parser(
        "analyze",
        help="steps, gait and sway of a recording CSV",
        description="Analyse a recording (docs/design.md CSV format) with the same "
        "detector and metrics the live station uses.",
    )
    ana.add_argument("recording", metavar="REC.csv")
    add_config(ana)
    ana.add_argument("--json", action="store_true", help="print the report JSON")
    ana.add_argument(
        "--direction",
        choices=["backward", "forward", "none"],
        default="backward",
        help="the exercise's walking direction, used when the signal cannot tell "
        "(default backward; none: the signal alone)",
    )
    ana.add_argument(
        "--reference-weight-n",
        type=float,
        metavar="N",
        help="the member's reference weight for the hand on the wall, in newtons (a stored "
        "report's support.reference_weight_n; default: none, as for a guest)",
    )
    ana.set_defaults(func=cmd_analyze)


def cmd_analyze(args: argparse.Namespace) -> int:
    from station.analysis import analyse_file
    from station.core.config import load_analysis_config
    from station.core.recording import RecordingError

    config_path = Path(args.config) if args.config else default_config_path()
    weight = args.reference_weight_n
    if weight is not None and not 100.0 <= weight <= 5000.0:  # a person on the mat
        raise UsageError(f"--reference-weight-n: must be from 100 up to 5000 N, got {weight:g}")
    try:
        config = load_analysis_config(config_path)  # the mat, [support] and [quality]
        report = analyse_file(
            args.recording,
            config.mat,
            expected_direction=args.direction,
            support_config=config.support,
            quality_limits=config.quality,
            standing_weight_n=weight,
        )
    except (ConfigError, RecordingError) as exc:
        raise UsageError(str(exc)) from None
    if args.json:
        try:
            text = json.dumps(report, indent=1, allow_nan=False)
        except ValueError:
            raise UsageError(
                f"{args.recording}: its forces give numbers out of range (check the file)"
            ) from None
        print(text)
    else:
        print(format_report(report))
    return 0


def _fmt(value: Any, scale: float = 1.0, spec: str = ".2f", unit: str = "") -> str:
    if value is None:
        return "-"
    return f"{value * scale:{spec}}{unit}"


def format_report(r: dict[str, Any]) -> str:
    """The report as a short table a teacher can read."""
    g, s = r["gait"], r["sway"]
    lines = [
        f"Recording     {r['duration_s']:.1f} s at {r['sample_rate_hz']:.1f} frames/s, "
        f"body weight {r['body_weight_n']:.0f} N ({r['body_weight_n'] / 9.80665:.1f} kg)",
        f"Direction     {r['direction']}, {len(r['passes'])} pass(es)",
        "",
        "Walking",
        f"  steps                 {g['step_count']} foot contacts, "
        f"{g['walking_steps']} walking steps",
        f"  cadence               {_fmt(g['cadence_steps_per_min'], spec='.0f')} steps/min",
        f"  step length           {_fmt(g['step_length_m'], 100, '.1f', ' cm')}",
        f"  step width            {_fmt(g['step_width_m'], 100, '.1f', ' cm')}",
        f"  step time             {_fmt(g['step_time_s'], 1, '.2f', ' s')}",
        f"  speed                 {_fmt(g['speed_m_per_s'], 1, '.2f', ' m/s')}",
        f"  lateral sway          {_fmt(g['lateral_sway_m'], 100, '.1f', ' cm')}",
        f"  step time CV          {_fmt(g['step_time_cv'], 100, '.1f', ' %')}",
        f"  double support        {_fmt(g['double_support_share'], 100, '.0f', ' %')}",
        f"  heel roll             {_fmt(g['heel_roll_m'], 100, '.1f', ' cm')}",
        "",
        "Standing"
        + ("" if s["duration_s"] is None else f" ({s['duration_s']:.1f} s of quiet stance)"),
        f"  mean velocity         {_fmt(s['mean_velocity_m_per_s'], 100, '.2f', ' cm/s')}",
        f"  95 % ellipse area     {_fmt(s['ellipse95_area_m2'], 1e4, '.2f', ' cm2')}",
        f"  RMS ML / AP           {_fmt(s['rms_ml_m'], 1000, '.1f')} / "
        f"{_fmt(s['rms_ap_m'], 1000, '.1f', ' mm')}",
        f"  mean frequency        {_fmt(s['mean_frequency_hz'], 1, '.2f', ' Hz')}",
        "",
        f"Hand on the wall  {_support_line(r.get('support') or {})}",
        f"Data quality      {(r.get('quality') or {}).get('words', '-')}",
    ]
    if r["steps"]:
        lines += ["", "  t (s)     x (m)    y (m)  foot"]
        lines += [
            f"  {st['t_s']:7.3f} {st['x_m']:8.3f} {st['y_m']:8.3f}  {st['foot']}"
            for st in r["steps"]
        ]
    return "\n".join(lines)


def _support_line(support: dict[str, Any]) -> str:
    if support.get("supported") is None:
        return "unknown (no quiet stand to weigh the member)"
    if not support["supported"]:
        return "no"
    return (
        f"yes, {_fmt(support['time_share'], 100, '.0f', ' %')} of the time, "
        f"{_fmt(support['weight_share'], 100, '.0f', ' %')} of the weight"
    )
