"""balance-station: a smart yoga mat for movement studios.

`station.core` is the pure measurement core (standard library and numpy only);
the other modules of this package compose it with the hardware, the store and the kiosk.
"""

__version__ = "0.1.0"
