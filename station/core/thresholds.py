"""When the mat holds somebody: the station's force thresholds, in one place.

Every part of the station that asks "is somebody on the mat?" uses one of these, so the
live screen, the stored session and the report agree:

- `EMPTY_MAT_N` (20 N): below it the mat holds nobody and reads only its own noise. The
  centre of pressure is undefined there (cop.py), and the report measures the mat's noise
  on those frames (report.py).
- `ON_MAT_N` (100 N) and `OFF_MAT_N` (50 N): somebody is on the mat. A visit starts once
  the total force has stayed at or above `ON_MAT_N` for `[session] on_hold_s` and ends once
  it has stayed below `OFF_MAT_N` for `off_hold_s` (presence.py); the kiosk shows the weight
  and "On the mat" by the same rule (the station sends them, the kiosk computes nothing); the
  report's body weight is the median of the frames at or above `ON_MAT_N`. They are the
  defaults of `[session] on_threshold_n` and `off_threshold_n`; a config may move the live
  rule (presence and the kiosk), the report keeps these defaults so reports stay comparable.
- The step detector's own floor (`station/core/steps.py`, `StepConfig.min_load_n`, 40 N)
  sits between the two: a foot contact needs more than noise, less than a whole visit.
"""

from __future__ import annotations

EMPTY_MAT_N = 20.0
ON_MAT_N = 100.0
OFF_MAT_N = 50.0
