"""Members, staff pages, history and export: who may see what.

Rules (all tested): a member's history and exports open only in the browser session where
they unlocked themselves (their PIN, if they have one), or through a private share link that
expires; staff (password) manage members; one member can never reach another's data by
changing an id in a URL; every POST carries a CSRF token; bad requests get a JSON 4xx.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import segno
import sqlite_utils
from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from werkzeug.security import check_password_hash

from station import store_members
from station.coach import NOISE_MARGINS
from station.core.exercises import SPECS
from station.core.recording import format_rows
from station.store import StoreError, open_database, session_frames, session_summary
from station.store_members import KEEP, Member

from . import exports
from .access import Access, client_address, staff_counters
from .exports import csv_response, export_marks, json_response, legend, readable
from .security import (
    MEMBER_IDLE_S,
    SHARE_TTL_S,
    AuthStore,
    Refused,
    check_staff_password,
    hash_pin,
    pin_counters,
    valid_pin,
)


def _json_error(code: int, error: str, detail: str, **extra: Any) -> Response:
    response = jsonify(error=error, detail=detail, **extra)
    response.status_code = code
    return response


def current_member(access: Access, coach: Any = None) -> int | None:
    """The member this browser unlocked with their PIN, while that still holds.

    The unlock is a stored sign-in (it ends after 2 idle minutes, on Lock or a PIN change), and
    it also ends at once when the kiosk returns to "Guest" (a visit ended, or nobody stepped on
    in time: the coach's lock epoch moved on).
    """
    member_id = access.member()
    if member_id is None:
        return None
    if coach is not None and session.get("member_epoch") != coach.lock_epoch:
        access.sign_out_member()
        return None
    return member_id


def local_time(when: float | str | None) -> str:
    """A time in words in the station's local time zone: "Mon 23 Nov, 14:05".

    `when`: seconds since the epoch, or a stored ISO 8601 time (a date alone stays a date).
    """
    if when is None or when == "":
        return ""
    if isinstance(when, str):
        found = exports.local_datetime(when)
        if found is None:
            try:
                return datetime.fromisoformat(when).strftime("%a %-d %b %Y")
            except ValueError:
                return when
        return found.strftime("%a %-d %b, %H:%M")
    return datetime.fromtimestamp(when, UTC).astimezone().strftime("%a %-d %b, %H:%M")


def members_blueprint(db_path: str | Path, access: Access, coach: Any = None) -> Blueprint:
    bp = Blueprint("members", __name__)
    store = access.store

    def db() -> sqlite_utils.Database:
        """One connection per request, closed when the request ends."""
        if "members_db" not in g:
            g.members_db = open_database(db_path)
        return g.members_db

    @bp.teardown_app_request
    def close_db(_exc: BaseException | None) -> None:
        database = g.pop("members_db", None)
        if database is not None:
            database.close()

    def member_or_404(database: sqlite_utils.Database, member_id: int) -> Member:
        member = store_members.get_member(database, member_id)
        if member is None:
            abort(404, description=f"no member {member_id}")
        return member

    def unlocked_member() -> int | None:
        return current_member(access, coach)

    def require_member(member_id: int) -> None:
        if unlocked_member() == member_id or access.staff():
            return
        abort(403, description="pick your name and enter your PIN first")

    def require_staff() -> None:
        if not access.staff():
            abort(403, description="staff only: log in on the staff page")

    # --- the kiosk's member picker --------------------------------------------------------
    @bp.get("/api/members")
    def list_members():
        members = [
            {"id": m.id, "name": m.name, "has_pin": m.has_pin}
            for m in store_members.list_members(db())
        ]
        return jsonify(members=members, unlocked=unlocked_member())

    def check_pin(member_id: int) -> tuple[Member, Any]:
        """The member, and an error response unless the request carries their PIN.

        Throttled per member and per client, counted before the (slow) check, stored.
        """
        member = member_or_404(db(), member_id)
        if member.has_pin:
            counters = pin_counters(member_id, client_address())
            attempt = store.reserve("pin", counters)  # counted before the (slow) check
            if isinstance(attempt, Refused):
                return member, (
                    jsonify(
                        error="Too Many Requests",
                        detail=attempt.message,
                        retry_after_s=round(attempt.wait_s),
                    ),
                    429,
                    {"Retry-After": str(round(attempt.wait_s))},
                )
            body = request.get_json(silent=True) or {}
            pin = body.get("pin") if isinstance(body, dict) else None
            if not isinstance(pin, str) or not check_password_hash(member.pin_hash, pin):
                left = store.attempts_left("pin", counters)
                return member, _json_error(403, "Forbidden", "wrong PIN", attempts_left=left)
            store.forgive(attempt, "pin:member+client", counters["member+client"][0])
        return member, None

    @bp.post("/api/members/<int:member_id>/unlock")
    def unlock(member_id: int):
        member, refused = check_pin(member_id)
        if refused is not None:
            return refused
        access.sign_in_member(member_id)
        session["member_epoch"] = coach.lock_epoch if coach is not None else 0
        return jsonify(member={"id": member_id, "name": member.name})

    @bp.post("/api/members/lock")
    def lock():
        """ "Guest" tapped: this browser's unlock ends (server-side), and any choice it made."""
        member_id = unlocked_member()
        access.sign_out_member()
        if member_id is not None:
            # any copied cookie ends too; links already sent to the member's phone stay theirs
            store.revoke_member(member_id, share_links=False)
        if coach is not None:
            coach.desk.clear()
        return jsonify(ok=True)

    @bp.post("/api/members/<int:member_id>/claim")
    def claim(member_id: int):
        """A guest's run saved to the history of the member whose PIN this is (2 minutes)."""
        if coach is None:
            abort(404, description="exercises are not enabled")
        member, refused = check_pin(member_id)
        if refused is not None:
            return refused
        from station.coach import ClaimError

        try:
            result = coach.claim(member_id)
        except ClaimError as exc:
            return _json_error(409, "Conflict", str(exc))
        return jsonify(saved={"member": member.name, "exercise": result["title"]})

    # --- a member's own data -----------------------------------------------------------------
    def runs_of(database: sqlite_utils.Database, member_id: int) -> list[dict[str, Any]]:
        """A member's runs, oldest first, as the history page and the exports show them."""
        out = []
        for run in store_members.member_runs(database, member_id):
            s = run.summary
            eo = (s.get("eyes_open") or {}).get("mean_velocity_m_per_s")
            out.append(
                {
                    "run_id": run.id,
                    "ended_at": run.ended_at,
                    "when": local_time(run.ended_at),
                    "exercise": run.exercise,
                    "title": exercise_title(run.exercise),
                    "paces": s.get("paces"),
                    # a walk's way (runs stored before it was kept were chosen backward walks)
                    "direction": s.get("direction", "backward") if s.get("paces") else None,
                    "step_length_m": s.get("step_length_m"),
                    "cadence_steps_per_min": s.get("cadence_steps_per_min"),
                    "speed_m_per_s": s.get("speed_m_per_s"),
                    "time_for_3_m_s": s.get("time_for_3_m_s"),
                    "romberg_mean_velocity": s.get("romberg_mean_velocity"),
                    "eyes_open_velocity_m_per_s": eo,
                    "session_ids": run.session_ids,
                    "quality": run.result.get("quality"),  # the data's mark, worst visit
                    "support": run.result.get("support"),  # a hand on the wall
                    **export_marks(run.result.get("quality"), run.result.get("support")),
                }
            )
        return out

    @bp.get("/api/members/<int:member_id>/runs")
    def api_runs(member_id: int):
        require_member(member_id)
        database = db()
        member = member_or_404(database, member_id)
        return jsonify(
            member={"id": member_id, "name": member.name}, runs=runs_of(database, member_id)
        )

    def export(member_id: int, fmt: str) -> Response:
        database = db()
        member = member_or_404(database, member_id)
        runs = runs_of(database, member_id)
        if fmt == "json":
            body = {
                "member": member.name,
                "runs": readable(runs, exports.RUN_COLUMNS),
                "legend": legend(exports.RUN_COLUMNS),
            }
            return json_response(body, f"balance-{member_id}.json")
        return csv_response(runs, exports.RUN_COLUMNS, f"balance-{member_id}.csv")

    @bp.get("/api/members/<int:member_id>/sessions.<fmt>")
    def api_sessions_export(member_id: int, fmt: str):
        """One row per session (each visit to the mat) of this member."""
        require_member(member_id)
        rows = store_members.member_sessions(db(), member_id)
        for row in rows:
            row["title"] = exercise_title(row["exercise"])
            row.update(export_marks(row.pop("quality"), row.pop("support")))
        if fmt == "json":
            columns = exports.SESSION_COLUMNS
            return jsonify(sessions=readable(rows, columns), legend=legend(columns))
        if fmt != "csv":
            abort(404, description="sessions as .csv or .json")
        return csv_response(rows, exports.SESSION_COLUMNS, f"sessions-{member_id}.csv")

    @bp.get("/api/members/<int:member_id>/export.<fmt>")
    def api_export(member_id: int, fmt: str):
        require_member(member_id)
        if fmt not in ("csv", "json"):
            abort(404, description="export as .csv or .json")
        return export(member_id, fmt)

    @bp.get("/api/members/<int:member_id>/sessions/<int:session_id>/recording.csv")
    def api_recording(member_id: int, session_id: int):
        require_member(member_id)
        database = db()
        if not store_members.is_members_session(database, member_id, session_id):
            abort(404, description=f"no session {session_id} of this member")
        try:
            names, t, forces = session_frames(database, session_id)
        except StoreError:  # e.g. a visit cut short before its first frame was stored
            abort(404, description=f"session {session_id} has no recorded frames")
        buf = io.StringIO()
        w = csv.writer(buf)
        w.writerow(["t", *names])
        w.writerows(format_rows(t - t[0], forces))
        return Response(
            buf.getvalue(),
            mimetype="text/csv",
            headers={"Content-Disposition": f'attachment; filename="session-{session_id}.csv"'},
        )

    @bp.get("/api/members/<int:member_id>/sessions/<int:session_id>/steps.<fmt>")
    def api_steps(member_id: int, session_id: int, fmt: str):
        """The foot contacts of one of the member's sessions (t, x, y, foot)."""
        require_member(member_id)
        database = db()
        summary = None
        if store_members.is_members_session(database, member_id, session_id):
            summary = session_summary(database, session_id)
        if summary is None:
            abort(404, description=f"no finished session {session_id} of this member")
        steps = summary.steps
        columns = exports.STEP_COLUMNS
        if fmt == "json":
            return jsonify(
                session_id=session_id, steps=readable(steps, columns), legend=legend(columns)
            )
        if fmt != "csv":
            abort(404, description="steps as .csv or .json")
        return csv_response(steps, columns, f"steps-{session_id}.csv")

    @bp.get("/history/<int:member_id>")
    def history(member_id: int):
        require_member(member_id)
        if coach is not None and unlocked_member() == member_id:
            coach.step_away(member_id)  # reading their history: the next visit is not theirs
        database = db()
        member = member_or_404(database, member_id)
        runs = runs_of(database, member_id)
        start, end = request.args.get("from", ""), request.args.get("to", "")
        if start:
            runs = [r for r in runs if (r["ended_at"] or "") >= start]
        if end:
            runs = [r for r in runs if (r["ended_at"] or "")[:10] <= end]
        return render_template(
            "history.html",
            member=member,
            runs=runs,
            share=None,
            period=(start, end),
            margins=NOISE_MARGINS,
            # on the kiosk (the member's own unlock), not on a staff laptop
            kiosk_return_s=round(MEMBER_IDLE_S) if unlocked_member() == member_id else None,
        )

    @bp.post("/api/members/<int:member_id>/share")
    def share(member_id: int):
        require_member(member_id)
        if coach is not None and unlocked_member() == member_id:
            coach.step_away(member_id)  # the QR is up: the next visit is not theirs
        ttl_s = float(current_app.config.get("SHARE_LINK_S", SHARE_TTL_S))
        token, expires = store.share(member_id, ttl_s)
        # from the station's public address, never the Host header (127.0.0.1 on the kiosk)
        base = current_app.config.get("PUBLIC_URL") or request.host_url.rstrip("/")
        url = base + url_for("members.shared", token=token)
        svg = segno.make(url, error="m").svg_inline(scale=5, dark="#101418", light="#ffffff")
        return jsonify(url=url, expires_in_s=round(ttl_s), until=local_time(expires), qr_svg=svg)

    def share_member(token: str) -> tuple[int, float]:
        found = store.shared_link(token)
        if found is None:
            abort(
                404,
                description="this link has expired or was never made: make a new one at the kiosk",
            )
        return found

    @bp.get("/share/<token>")
    def shared(token: str):
        member_id, expires = share_member(token)
        database = db()
        member = member_or_404(database, member_id)
        return render_template(
            "history.html",
            member=member,
            runs=runs_of(database, member_id),
            share=token,
            share_until=local_time(expires),
            period=("", ""),
            margins=NOISE_MARGINS,
        )

    @bp.get("/share/<token>/export.<fmt>")
    def shared_export(token: str, fmt: str):
        member_id, _ = share_member(token)
        if fmt not in ("csv", "json"):
            abort(404, description="export as .csv or .json")
        return export(member_id, fmt)

    # --- staff -------------------------------------------------------------------------------
    @bp.get("/staff")
    def staff_home():
        if not access.staff():
            return render_template("staff_login.html", error=None)
        return redirect(url_for("members.staff_members"))

    @bp.post("/staff/login")
    def staff_login():
        password = request.form.get("password", "")
        attempt = store.reserve("staff", staff_counters(client_address()))
        if isinstance(attempt, Refused):
            return (
                render_template("staff_login.html", error=attempt.message),
                429,
                {"Retry-After": str(round(attempt.wait_s))},
            )
        if not check_staff_password(db(), password):
            return render_template("staff_login.html", error="Wrong password."), 403
        store.forgive(attempt)
        access.sign_in_staff()
        return redirect(url_for("members.staff_members"))

    @bp.post("/staff/logout")
    def staff_logout():
        access.sign_out_staff()
        return redirect(url_for("members.staff_home"))

    @bp.get("/staff/members")
    def staff_members():
        require_staff()
        return render_template(
            "staff_members.html", members=store_members.list_members(db()), error=None
        )

    def clean_name(raw: str) -> str:
        name = " ".join(raw.split())
        if not 1 <= len(name) <= 60:
            abort(400, description="a name of 1 to 60 characters, please")
        return name

    def unique_name(raw: str, member_id: int | None = None) -> str:
        """The kiosk tells members apart by name alone: two of the same name cannot be."""
        name = clean_name(raw)
        if store_members.name_taken(db(), name, member_id):
            abort(
                409,
                description=f"there is already a member called {name}: "
                "add an initial or a word to tell them apart",
            )
        return name

    def clean_pin(raw: str) -> str | None:
        pin = raw.strip()
        if not pin:
            return None
        if not valid_pin(pin):
            abort(400, description="a PIN is 4 to 8 digits")
        return hash_pin(pin)

    @bp.post("/staff/members")
    def staff_add():
        require_staff()
        name = unique_name(request.form.get("name", ""))
        pin_hash = clean_pin(request.form.get("pin", ""))
        store_members.add_member(db(), name, pin_hash)
        return redirect(url_for("members.staff_members"))

    @bp.post("/staff/members/<int:member_id>")
    def staff_edit(member_id: int):
        require_staff()
        database = db()
        member_or_404(database, member_id)
        pin_hash: Any = KEEP
        if request.form.get("clear_pin"):
            pin_hash = None
        elif request.form.get("pin"):
            pin_hash = clean_pin(request.form["pin"])
        store_members.update_member(
            database, member_id, unique_name(request.form.get("name", ""), member_id), pin_hash
        )
        if pin_hash is not KEEP:
            store.revoke_member(member_id)  # unlocks and share links made with the old PIN end
        return redirect(url_for("members.staff_members"))

    return bp


def install(
    app: Any,
    db_path: str | Path,
    coach: Any = None,
    secret: Callable[[], str] | None = None,
    network_access: str = "share",
) -> None:
    """Sessions, CSRF protection, who-may-call-what and the member/staff routes."""
    from flask_wtf.csrf import CSRFProtect

    from .security import secret_key

    app.secret_key = secret() if secret else secret_key(db_path)
    app.config.update(
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
        WTF_CSRF_TIME_LIMIT=None,  # the kiosk page stays open for days
    )
    access = Access(AuthStore(db_path), network_access)
    access.install(app)  # before CSRF: the network is refused before anything else
    CSRFProtect(app)
    app.register_blueprint(members_blueprint(db_path, access, coach))


def exercise_title(key: str) -> str:
    """ "Backward walk, 10 paces", not its code name."""
    spec = SPECS.get(key)
    return spec.title if spec else key
