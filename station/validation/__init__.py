"""Validation against real measured data: turn each data set into what the mat would record,
run the station's own analysis on it and score it against the truth the data carries.

`balance-station validate` prints the table; docs/validation.md explains each data set.
A compact subset ships with the repository (`tests/data/validation`, xz-compressed copies of
the original files); `--data DIR` or BALANCE_STATION_DATA names a folder holding the full sets.
"""
