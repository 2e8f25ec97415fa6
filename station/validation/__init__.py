"""Validation against real measured data: turn each data set into what the mat would record,
run the station's own analysis on it and score it against the truth the data carries.

`balance-station validate` prints the table; docs/validation.md explains each data set.
The data folder is not part of the repository: BALANCE_STATION_DATA names it, with
`../shared/data` (next to the repository) as the default.
"""
