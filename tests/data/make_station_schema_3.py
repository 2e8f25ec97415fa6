"""Makes tests/data/station-schema-3.db with the release that wrote schema 3 (before schema 4).

Not part of the test run. Schema 3 is the last schema whose web and calibration-check tables
were created by the code that used them rather than by a migration. Run it with that release
first on the path, e.g. from an exported copy of commit 0e5e52d:

    git archive 0e5e52d | tar -x -C OLD
    cd OLD && PYTHONPATH=. python PATH/TO/make_station_schema_3.py OUT.db
    sqlite3 OUT.db 'pragma journal_mode = delete'   # one self-contained file

What it holds, all written by that release's own code: two members (one with a PIN), the
staff password, a calibration and a check of it, two recorded visits of a member walking
backwards (one complete with its report, one left 'recording' by a crash), an exercise run,
a staff sign-in, a share link and a wrong PIN counted by the throttle.
"""

import sys

from hardware.simulator.mat import SimulatedMat
from station.acquisition import Acquisition
from station.calibration_checks import save_check
from station.cli import default_config_path
from station.core.config import SimConfig, load_config
from station.live import LiveHub
from station.store import StoreWriter, open_database, save_calibration
from web.security import AuthStore, hash_pin, pin_counters, set_staff_password

out = sys.argv[1]
config = load_config(default_config_path())
db = open_database(out)
with db.conn:
    for name, pin, day in (("Ada Lovelace", "1234", 1), ("Grace Hopper", None, 2)):
        db["members"].insert(
            {
                "name": name,
                "pin_hash": hash_pin(pin) if pin else None,
                "created_at": f"2026-11-0{day}T09:00:00Z",
            }
        )
set_staff_password(db, "correct horse")
cells = config.mat.cell_names
cal_id = save_calibration(db, cells, [1.0, 2.0, 3.0, 4.0], [4000.0, 4001.0, 4002.0, 4003.0], {})
check = {"needs_recalibration": False, "advice": "ok", "gain_drift_pct": {c: 0.1 for c in cells}}
save_check(db, cal_id, check)
db.close()

auth = AuthStore(out)
auth.start("staff")
auth.share(1, ttl_s=10 * 365 * 86400.0)  # still live whenever the test runs
auth.reserve("pin", pin_counters(1, "127.0.0.1"))

source = SimulatedMat(config.mat, SimConfig(seed=7, scenario="backward"), 80.0)
writer = StoreWriter(out, flush_interval_s=0.2)
acq = Acquisition(config, source, writer, LiveHub(), realtime=False, max_frames=80 * 26)
writer.start()
acq.start()
acq.join(120)
run = {"steps": 10, "speed_m_per_s": 0.5}
result = {"member_id": None, "exercise": "backward_walk", "session_keys": [1], "summary": run}
writer.save_run({**result, "run_key": 1})
writer.claim_run(1, [1], 1)  # the guest's run saved to Ada's history
writer.stop()
writer.join(60)
db = open_database(out)
with db.conn:  # a visit a crash left open: its frames are kept, it has no report
    open_id = db.execute(
        "insert into sessions (member_id, started_at, status, source, exercise, mat_json, "
        "calibration_json, frame_count, frames_lost) select member_id, started_at, 'recording', "
        "source, exercise, mat_json, calibration_json, 0, 0 from sessions where id = 1"
    ).lastrowid
    db.execute(
        "insert into frames_tail select ?, first_seq, frame_count, t0_s, dt_100us, forces_cn "
        "from frames where session_id = 1 order by first_seq limit 1",
        [open_id],
    )
db.execute("vacuum")
print({t: db[t].count for t in db.table_names()})
