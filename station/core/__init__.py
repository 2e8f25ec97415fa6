"""The measurement core: CoP, calibration maths, session logic and recordings.

Only the standard library and numpy may be imported here (a test enforces it), so every
piece runs on plain arrays, offline, exactly as it runs live on the station.
"""

GRAVITY_M_PER_S2 = 9.80665
