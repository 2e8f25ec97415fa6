"""Everything physical: frame sources (simulated mat, replayed recordings) and their pacing.

Every source yields `station.core.frames.RawFrame` and carries the `Calibration` that turns
its values into newtons.
"""
