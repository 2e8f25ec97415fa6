"""Runs once at power-up, before code.py: open the second USB serial port for the frames.

The first port (the "console") stays for the REPL and error messages; the station reads
frames from the second ("data") one, so a message printed by CircuitPython never lands in
the middle of a frame.
"""

import usb_cdc

usb_cdc.enable(console=True, data=True)
