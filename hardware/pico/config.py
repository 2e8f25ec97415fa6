"""Balance Station Pico: which pins the HX711 boards are wired to (edit to match yours).

Pin names are the Pico's GPn labels. The station learns the cell count from the Pico
itself; the order of DATA_PINS is the order of [[mat.cells]] in the station's config.
"""

# "pio": the project's PIO program clocks every chip on ONE shared clock line and reads all
# data lines on the same edges (recommended: every cell sampled at the same instant).
# "adafruit": the adafruit_hx711 driver, one clock line per chip (CLOCK_PINS), read in turn.
READER = "pio"

CLOCK_PIN = "GP2"  # "pio": the shared PD_SCK line
DATA_PINS = ("GP3", "GP4", "GP5", "GP6")  # DOUT of each chip; "pio" needs consecutive pins
CLOCK_PINS = ()  # "adafruit" only: one PD_SCK per chip, in the order of DATA_PINS

GAIN = 128  # 128 or 64 (channel A), 32 (channel B)
READ_TIMEOUT_MS = 250  # a chip silent this long (20 conversions at 80 SPS) is reported stuck
WATCHDOG_S = 2.0  # the Pico restarts itself if its loop stops for this long
