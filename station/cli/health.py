"""`balance-station health`: what the running station says about itself."""

from __future__ import annotations

import argparse
import json
import urllib.parse
from typing import Any

from .common import UsageError, add_config, station_config


def add_parser(sub: Any) -> None:
    hea = sub.add_parser(
        "health",
        help="read rate, timing jitter and faults of the running station",
        description="Ask the running station (on this machine's kiosk port) how it is: "
        "frames per second, timing jitter, dropped frames, faulty cells, rejected glitches, "
        "and storage (queue depth, last commit, last error, frames dropped). "
        "Exit code 1 while a cell is faulty or storage is failing.",
    )
    add_config(hea)
    hea.add_argument("--url", help="the station's address (default: http://127.0.0.1:PORT)")
    hea.add_argument("--json", action="store_true", help="the raw status JSON")
    hea.set_defaults(func=cmd_health)


def station_url(given: str) -> str:
    """The station's address as typed: `127.0.0.1:8080` means http://127.0.0.1:8080."""
    url = given.strip().rstrip("/")
    if "://" not in url:
        url = f"http://{url}"
    try:
        parts: urllib.parse.SplitResult | None = urllib.parse.urlsplit(url)
        parts.port  # noqa: B018 (urlsplit checks the port only when asked)
    except ValueError:  # a bad port, or an unclosed [IPv6 address
        parts = None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(f"--url {given!r}: give the station's address, e.g. http://127.0.0.1:8080")
    return url


def cmd_health(args: argparse.Namespace) -> int:
    """What the running station says about itself: rate, jitter, faults, glitches."""
    import urllib.error
    import urllib.request

    config = station_config(args)
    url = station_url(args.url) if args.url else f"http://127.0.0.1:{config.web.port}"
    try:
        with urllib.request.urlopen(f"{url}/api/status", timeout=5) as response:
            status = json.loads(response.read())
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise UsageError(f"no station answers at {url} ({exc})") from None
    if args.json:
        print(json.dumps(status, indent=1))
        return 0
    health = status.get("health", {})
    print(
        f"station     {status['state']} (source {status['source']}), "
        f"{status['frames']} frames, {status['frame_rate_hz']:.0f} frames/s"
    )
    if status.get("error"):
        print(f"problem     {status['error']}")
    if status.get("warning"):
        print(f"warning     {status['warning']}")
    if health:
        print(
            f"timing      {health['frame_rate_hz']:.1f} frames/s over 5 s, "
            f"jitter {health['jitter_ms']:.2f} ms"
        )
        print(
            f"frames      {health['frames_dropped']} dropped (slow clock pulse), "
            f"{health['read_timeouts']} read timeouts, "
            f"{health['rezero_adjustments']} re-zero steps"
        )
        glitches = ", ".join(f"{k} {v}" for k, v in health["glitches_rejected"].items())
        print(f"glitches    rejected per cell: {glitches}")
        faulty = health["faulty_cells"]
        print(f"cells       {'faulty: ' + ', '.join(faulty) if faulty else 'all answering'}")
        for fault in health.get("faults", []):
            print(f"  check     {fault['cause']}")
        if "realtime" in health:
            from hardware.realtime import RealtimeReport

            print(f"reader      {RealtimeReport.from_dict(health['realtime']).summary()}")
        calibration = health.get("calibration") or {}
        if calibration:
            flag = "NEEDS RECALIBRATING: " if calibration["needs_recalibration"] else ""
            print(f"calibration {flag}{calibration['advice']}")
    if health.get("pico"):
        _print_pico_health(health["pico"])
    store = status.get("store")
    if store:
        print(
            f"storage     {store['state']}: {store['queued_frames']} frames queued "
            f"(limit {store['queue_limit_frames']}), {store['frames_dropped']} dropped, "
            f"last commit {store['last_commit_at'] or 'none yet'}"
        )
        if store["last_error"]:
            print(f"            last error {store['last_error']} at {store['last_error_at']}")
    print(f"viewers     {status.get('viewers', 0)} kiosk screen(s) connected")
    failing = store is not None and store["state"] == "failing"
    return 1 if status["state"] == "fault" or failing else 0


def _print_pico_health(pico: dict[str, Any]) -> None:
    """The Pico's USB link: where, what firmware, how its clock and frames fare."""
    print(f"pico        {pico['state']} on {pico['port']}, {pico['firmware'] or 'no hello yet'}")
    if pico["problem"]:
        print(f"pico fault  {pico['problem']}")
    rtt = pico["round_trip_ms"]
    print(
        f"pico link   {pico['frames_lost']} frames lost, {pico['corrupt']} corrupt, "
        f"{pico['reconnects']} reconnects, {pico['pico_restarts']} Pico restarts, clock "
        f"{pico['clock_drift_ppm']:+.1f} ppm, round trip "
        + (f"{rtt:.2f} ms" if rtt is not None else "not measured yet")
    )
