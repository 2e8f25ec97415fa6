"""Flask app for the kiosk screen beside the mat.

Pages and JSON only; it never touches the hardware. Live data arrives from the acquisition
thread through the LiveHub, history from the SQLite store.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from flask import Flask, Response, jsonify, render_template, request
from werkzeug.exceptions import HTTPException

from station.core.config import StationConfig
from station.core.exercises import SPECS
from station.live import LiveHub
from station.store import list_sessions, open_database

from .addresses import public_url
from .members import session_member

KEEPALIVE_S = 10.0
STATUS_EVERY_S = 1.0


def create_app(
    config: StationConfig,
    hub: LiveHub,
    status: Callable[[], dict[str, Any]],
    db_path: str | Path,
    coach: Any = None,
) -> Flask:
    app = Flask(__name__)
    from .members import install  # sessions, CSRF, members, staff, history, export

    install(app, db_path, coach)
    app.config.update(
        PUBLIC_URL=public_url(config.web, config.web.port),  # the runner sets the real port
        SHARE_LINK_S=config.web.share_link_s,
    )
    mat = config.mat
    mat_json = {
        "name": mat.name,
        "length_m": mat.length_m,
        "width_m": mat.width_m,
        "cells": [{"name": c.name, "x_m": c.x_m, "y_m": c.y_m} for c in mat.cells],
    }

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):  # every error is JSON, never an HTML traceback
        return jsonify(error=exc.name, detail=exc.description), exc.code

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):
        app.logger.exception("unexpected error")
        return jsonify(error="Internal Server Error", detail="see the station log"), 500

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
        db = open_database(db_path)
        try:
            return jsonify(sessions=list_sessions(db))
        finally:
            db.close()

    @app.get("/api/kiosk")
    def api_kiosk():
        """The exercises on offer, the current choice and what the screen should show."""
        exercises = [
            {"key": spec.key, "title": spec.title, "instructions": list(spec.instructions)}
            for spec in SPECS.values()
        ]
        state = coach.state() if coach is not None else {}
        return jsonify(exercises=exercises, **state)

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
        if member is not None and session_member(coach) != member:
            return jsonify(error="Forbidden", detail="pick your name and enter your PIN"), 403
        try:
            coach.select(body["exercise"], member)
        except KeyError:
            return jsonify(error="Bad Request", detail=f"no exercise {body['exercise']!r}"), 400
        return jsonify(coach.state())

    @app.get("/api/stream")
    def api_stream():
        return Response(
            _event_stream(hub, status),
            mimetype="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )

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
