"""Flask app for the kiosk screen beside the mat.

Pages and JSON only; it never touches the hardware. Live data arrives from the acquisition
thread through the LiveHub, history from the SQLite store. Who may call which route is decided
in web/access.py; this module adds what every response needs: security headers, a cap on
request bodies, ids within SQLite's range, and error pages (HTML for people, JSON for /api/)
that never echo the request back.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from flask import Flask, Response, jsonify, render_template, request
from flask.json.provider import DefaultJSONProvider
from werkzeug.exceptions import HTTPException
from werkzeug.routing import IntegerConverter

from station.core.config import StationConfig
from station.core.exercises import SPECS
from station.live import LiveHub
from station.store import list_sessions, open_database

from .access import access_of, is_local
from .addresses import public_url
from .members import current_member

KEEPALIVE_S = 10.0
STATUS_EVERY_S = 1.0
MAX_BODY_BYTES = 64 * 1024  # the largest honest request (a staff form) is well under 1 kB
MAX_JSON_DEPTH = 32
SQLITE_MAX_ID = 2**63 - 1
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)


class RowIdConverter(IntegerConverter):
    """`<int:...>` limited to SQLite's integer range: a larger id is a 404, not an error."""

    def __init__(self, map: Any, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", SQLITE_MAX_ID)
        super().__init__(map, *args, **kwargs)


class GuardedJSONProvider(DefaultJSONProvider):
    """JSON bodies nested deeper than MAX_JSON_DEPTH are refused (400) before parsing."""

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        if json_depth(s) > MAX_JSON_DEPTH:
            raise ValueError("JSON nested too deeply")
        return super().loads(s, **kwargs)


def json_depth(s: str | bytes) -> int:
    """The deepest nesting of [ and { outside strings (bodies are at most 64 kB)."""
    text = s.decode("utf-8", "replace") if isinstance(s, bytes) else s
    depth = deepest = 0
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in "]}":
            depth -= 1
    return deepest


def brief(text: Any, limit: int = 80) -> str:
    """A value quoted in an error message: never the whole of what was sent."""
    text = str(text)
    return text if len(text) <= limit else text[:limit] + "…"


class ViewerSlots:
    """At most `limit` live viewers, each holding one server thread; one more is refused."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._sem = threading.BoundedSemaphore(limit)

    def take(self) -> Callable[[], None] | None:
        """A release function (safe to call twice), or None when every slot is taken."""
        if not self._sem.acquire(blocking=False):
            return None
        released = threading.Event()

        def release() -> None:
            if not released.is_set():
                released.set()
                self._sem.release()

        return release


def create_app(
    config: StationConfig,
    hub: LiveHub,
    status: Callable[[], dict[str, Any]],
    db_path: str | Path,
    coach: Any = None,
) -> Flask:
    app = Flask(__name__)
    app.url_map.converters["int"] = RowIdConverter  # before any route is added
    app.json = GuardedJSONProvider(app)
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    from .members import install  # sessions, CSRF, members, staff, history, export

    install(app, db_path, coach, network_access=config.web.network_access)
    access = access_of(app)
    viewers = ViewerSlots(config.web.max_viewers)
    app.config.update(
        PUBLIC_URL=public_url(config.web, config.web.port),  # the runner sets the real port
        SHARE_LINK_S=config.web.share_link_s,
        STALLED_CLIENT_S=config.web.stalled_client_s,  # read by web/server.py
    )
    mat = config.mat
    mat_json = {
        "name": mat.name,
        "length_m": mat.length_m,
        "width_m": mat.width_m,
        "cells": [{"name": c.name, "x_m": c.x_m, "y_m": c.y_m} for c in mat.cells],
    }

    @app.before_request
    def cap_body():
        # waitress also caps bodies (web/server.py); this covers a declared length early
        if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
            return error_response(413, "Request Entity Too Large", "at most 64 kB, please")
        return None

    @app.after_request
    def security_headers(response: Response) -> Response:
        response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"  # share tokens never leave
        response.headers["X-Frame-Options"] = "DENY"
        if request.endpoint != "static":
            response.headers["Cache-Control"] = "no-store"  # personal pages stay off disks
        return response

    def error_response(code: int, name: str, detail: str):
        if request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json":
            return jsonify(error=name, detail=detail), code
        local = is_local(request.remote_addr)  # a phone has no start page to go back to
        return render_template("error.html", code=code, name=name, detail=detail, local=local), code

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        return error_response(exc.code or 500, exc.name, brief(exc.description or exc.name, 200))

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):
        app.logger.exception("unexpected error")
        return error_response(500, "Internal Server Error", "see the station log")

    @app.get("/")
    def kiosk():
        return render_template("kiosk.html", mat=mat_json)

    @app.get("/api/mat")
    def api_mat():
        return jsonify(mat_json)

    @app.get("/api/status")
    def api_status():
        return jsonify({**status(), "viewers": hub.viewers})

    @app.get("/api/sessions")
    def api_sessions():
        """Recent sessions; who they were and their body weight only for staff."""
        db = open_database(db_path)
        try:
            sessions = list_sessions(db)
        finally:
            db.close()
        if not access.staff():
            private = ("member_id", "body_weight_n")
            sessions = [{k: v for k, v in s.items() if k not in private} for s in sessions]
        return jsonify(sessions=sessions)

    @app.get("/api/kiosk")
    def api_kiosk():
        """The exercises on offer, the current choice and what the screen should show."""
        exercises = [
            {"key": spec.key, "title": spec.title, "instructions": list(spec.instructions)}
            for spec in SPECS.values()
        ]
        state = coach.state() if coach is not None else {}
        return jsonify(exercises=exercises, **private_to(current_member(access, coach), state))

    @app.post("/api/kiosk/select")
    def api_kiosk_select():
        if coach is None:
            return jsonify(error="Not Found", detail="exercises are not enabled"), 404
        body = request.get_json(silent=True)
        if not isinstance(body, dict) or not isinstance(body.get("exercise"), str):
            return jsonify(error="Bad Request", detail='send {"exercise": KEY}'), 400
        member = body.get("member_id")
        if member is not None and (isinstance(member, bool) or not isinstance(member, int)):
            return jsonify(error="Bad Request", detail="member_id must be a number"), 400
        unlocked = current_member(access, coach)
        if member is not None and unlocked != member:
            return jsonify(error="Forbidden", detail="pick your name and enter your PIN"), 403
        try:
            coach.select(body["exercise"], member)
        except KeyError:
            return jsonify(
                error="Bad Request", detail=f"no exercise {brief(body['exercise'])!r}"
            ), 400
        return jsonify(private_to(unlocked, coach.state()))

    @app.get("/api/stream")
    def api_stream():
        release = viewers.take()
        if release is None:
            response = jsonify(
                error="Service Unavailable",
                detail=f"too many screens are showing the live view ({viewers.limit}); "
                "close one and try again",
            )
            response.status_code = 503
            response.headers["Retry-After"] = "10"
            return response
        response = Response(
            _event_stream(hub, status),
            mimetype="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )
        response.call_on_close(release)  # also when the viewer leaves before the first event
        return response

    return app


def _event_stream(hub: LiveHub, status: Callable[[], dict[str, Any]]) -> Iterator[str]:
    """SSE: batches of frames (every frame, as fast as they come), session and status events.

    Runs in one of waitress's threads per viewer; a viewer that stops reading only fills
    its own bounded queue.
    """

    sub = hub.subscribe()
    try:
        yield "retry: 1000\n\n"
        yield f"event: status\ndata: {json.dumps(status())}\n\n"
        last_status = time.monotonic()
        while not hub.closed:
            items = hub.wait(sub, timeout=KEEPALIVE_S)
            if not items:
                yield ": keepalive\n\n"
                continue
            frames: list[str] = []
            out: list[str] = []
            for kind, payload in items:
                if kind == "frame":
                    frames.append(payload)
                    continue
                if kind in PRIVATE_EVENTS:
                    payload = PRIVATE_EVENTS[kind](payload)
                if frames:
                    out.append(f"event: frames\ndata: [{','.join(frames)}]\n\n")
                    frames = []
                out.append(f"event: {kind}\ndata: {payload}\n\n")
            if frames:
                out.append(f"event: frames\ndata: [{','.join(frames)}]\n\n")
            now = time.monotonic()
            if now - last_status >= STATUS_EVERY_S:
                last_status = now
                out.append(
                    f"event: status\ndata: {json.dumps({**status(), 'dropped': sub.dropped})}\n\n"
                )
            yield "".join(out)
    finally:
        hub.unsubscribe(sub)


def private_to(unlocked: int | None, state: dict[str, Any]) -> dict[str, Any]:
    """The kiosk's state with the member's id (and their summary) only for whom unlocked them."""
    selection = dict(state["selection"]) if state.get("selection") else None  # None: no choice
    summary = state.get("summary")
    if selection and selection.get("member_id") is not None and selection["member_id"] != unlocked:
        selection["member_id"] = None
    if summary and summary.get("member_id") is not None and summary["member_id"] != unlocked:
        summary = None
    return {**state, "selection": selection, "summary": summary}


def _without(*keys: str) -> Callable[[str], str]:
    def strip(payload: str) -> str:
        data = json.loads(payload)
        for key in keys:
            data.pop(key, None)
        return json.dumps(data)

    return strip


# What the live stream never carries: who a summary belongs to, a visit's body weight.
PRIVATE_EVENTS = {
    "exercise_summary": _without("member_id"),
    "session": _without("body_weight_n"),
}
