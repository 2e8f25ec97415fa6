"""Makes tests/data/station-0.1.db with the code of release 0.1 (the schema before versions).

Not part of the test run. Run it with release 0.1 first on the path, e.g. from an exported
copy of commit af2e0d5:

    git archive af2e0d5 | tar -x -C OLD
    cd OLD && PYTHONPATH=. python PATH/TO/make_station_0_1.py OUT.db
    sqlite3 OUT.db 'pragma journal_mode = delete'   # one self-contained file
"""

import sys

from hardware.simulator.mat import SimulatedMat
from station.acquisition import Acquisition
from station.cli import default_config_path
from station.core.config import SimConfig, load_config
from station.live import LiveHub
from station.store import StoreWriter, open_database, save_calibration
from web.security import hash_pin, secret_key, set_staff_password

out = sys.argv[1]
config = load_config(default_config_path())
db = open_database(out)
with db.conn:
    for name, pin, day in (("Ada Lovelace", "1234", 1), ("Grace Hopper", None, 2)):
        db["members"].insert(
            {
                "name": name,
                "pin_hash": hash_pin(pin) if pin else None,
                "created_at": f"2026-11-0{day}T09:00:00.000+00:00",
            }
        )
set_staff_password(db, "correct horse")
secret_key(db)
cells = config.mat.cell_names
save_calibration(db, cells, [1.0, 2.0, 3.0, 4.0], [4000.0, 4001.0, 4002.0, 4003.0], {"ok": 1})
db.close()
source = SimulatedMat(config.mat, SimConfig(seed=5, scenario="backward"), 80.0)
writer = StoreWriter(out, flush_interval_s=0.2)
acq = Acquisition(config, source, writer, LiveHub(), realtime=False, max_frames=80 * 26)
writer.start()
acq.start()
acq.join(120)
run = {"steps": 10, "speed_m_per_s": 0.5}
writer.save_run({"member_id": 1, "exercise": "backward_walk", "session_keys": [1], "summary": run})
writer.stop()
writer.join(60)
db = open_database(out)
db.execute("vacuum")
print({t: db[t].count for t in db.table_names()})
