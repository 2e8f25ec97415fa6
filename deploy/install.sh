#!/usr/bin/env bash
# Install or upgrade Balance Station on a Raspberry Pi (Raspberry Pi OS Bookworm, 64-bit).
#
#   sudo deploy/install.sh                      install, or upgrade in place (safe to re-run)
#   sudo deploy/install.sh --no-kiosk           the station only, no full-screen browser
#   deploy/install.sh --root DIR                everything into DIR instead of /, touching no
#                                               users and no services (to try it off the Pi)
#
# Lays out: /opt/balance-station (virtual environment, kiosk launcher), /etc/balance-station
# (config, kept on upgrade), /var/lib/balance-station (database and backups, never removed
# here), systemd units for the station and its nightly backup, and a kiosk autostart for the
# desktop user on labwc (current images) and wayfire (older Bookworm images).
set -euo pipefail

usage() {
    sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'
    echo "Options: --root DIR, --source DIR, --desktop-user NAME, --no-kiosk, --keep-backups N"
}

ROOT=""
SOURCE="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DESKTOP_USER=""
KIOSK=1
KEEP_BACKUPS=7
while [ $# -gt 0 ]; do
    case "$1" in
        --root) ROOT="${2:?--root needs a directory}"; shift 2 ;;
        --source) SOURCE="${2:?--source needs a directory}"; shift 2 ;;
        --desktop-user) DESKTOP_USER="${2:?--desktop-user needs a name}"; shift 2 ;;
        --no-kiosk) KIOSK=0; shift ;;
        --keep-backups) KEEP_BACKUPS="${2:?--keep-backups needs a number}"; shift 2 ;;
        -h|--help) usage; exit 0 ;;
        *) echo "install.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
done
case "$KEEP_BACKUPS" in
    ''|*[!0-9]*) echo "install.sh: --keep-backups must be a whole number" >&2; exit 2 ;;
esac

SYSTEM=1 # manage users, packages and services: only on the real system
if [ -n "$ROOT" ]; then
    SYSTEM=0
    mkdir -p "$ROOT"
    ROOT="$(cd "$ROOT" && pwd)"
elif [ "$(id -u)" -ne 0 ]; then
    echo "install.sh: run it as root (sudo), or with --root DIR to try it elsewhere" >&2
    exit 2
fi
if [ ! -f "$SOURCE/pyproject.toml" ] || [ ! -d "$SOURCE/station" ]; then
    echo "install.sh: $SOURCE is not a Balance Station source tree" >&2
    exit 2
fi

APP="$ROOT/opt/balance-station"
VENV="$APP/venv"
ETC="$ROOT/etc/balance-station"
DATA="$ROOT/var/lib/balance-station"
UNITS="$ROOT/etc/systemd/system"
SERVICE_USER="balance-station"
changed=()

say() { echo "balance-station install: $*"; }

# Copy a file into place only when its content differs, so a second run changes nothing.
put() { # put SOURCE_FILE DEST MODE
    local src="$1" dest="$2" mode="$3"
    if [ -f "$dest" ] && cmp -s "$src" "$dest"; then
        return 0
    fi
    install -D -m "$mode" "$src" "$dest"
    changed+=("$dest")
}

# --- packages and the service user (real system only) -----------------------------------
if [ "$SYSTEM" -eq 1 ]; then
    need=()
    dpkg -s python3-venv >/dev/null 2>&1 || need+=(python3-venv)
    if [ "$KIOSK" -eq 1 ] && ! command -v chromium-browser >/dev/null 2>&1 \
        && ! command -v chromium >/dev/null 2>&1; then
        need+=(chromium-browser)
    fi
    if [ "${#need[@]}" -gt 0 ]; then
        say "installing ${need[*]}"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}"
    fi
    if ! getent passwd "$SERVICE_USER" >/dev/null; then
        useradd --system --home-dir /var/lib/balance-station --shell /usr/sbin/nologin \
            --user-group "$SERVICE_USER"
        changed+=("user $SERVICE_USER")
    fi
    if getent group gpio >/dev/null && ! id -nG "$SERVICE_USER" | grep -qw gpio; then
        usermod -a -G gpio "$SERVICE_USER"
        changed+=("user $SERVICE_USER in group gpio")
    fi
    # the Pico co-processor's USB serial port
    if getent group dialout >/dev/null && ! id -nG "$SERVICE_USER" | grep -qw dialout; then
        usermod -a -G dialout "$SERVICE_USER"
        changed+=("user $SERVICE_USER in group dialout")
    fi
fi

# --- folders -------------------------------------------------------------------------------
install -d -m 0755 "$APP" "$APP/bin" "$ETC" "$UNITS"
install -d -m 0750 "$DATA" "$DATA/backups"
if [ "$SYSTEM" -eq 1 ]; then
    chown "$SERVICE_USER:$SERVICE_USER" "$DATA" "$DATA/backups"
fi

# --- the program: a virtual environment, reinstalled only when the source changed --------
if [ ! -x "$VENV/bin/python" ]; then
    say "creating the virtual environment in ${VENV#"$ROOT"}"
    # system site packages: Raspberry Pi OS ships the GPIO libraries (lgpio) as Debian packages
    python3 -m venv --system-site-packages "$VENV"
    changed+=("$VENV")
fi
source_hash="$(cd "$SOURCE" && find pyproject.toml README.md station hardware web -type f \
    ! -path '*/__pycache__/*' ! -name '*.pyc' -print0 | sort -z | xargs -0 sha256sum | sha256sum | cut -d' ' -f1)"
if [ "$(cat "$APP/.source-hash" 2>/dev/null || true)" != "$source_hash" ]; then
    say "installing the station into the virtual environment"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --no-warn-script-location \
        --upgrade "${SOURCE}[pi]"
    echo "$source_hash" >"$APP/.source-hash"
    changed+=("$VENV (station $source_hash)")
fi
put "$SOURCE/README.md" "$APP/README.md" 0644

# --- configuration: written once, never overwritten (the .dist copy shows the new default) -
dist="$(mktemp)"
sed -e 's|^path = "balance-station.db"|path = "/var/lib/balance-station/station.db"|' \
    -e "s|^backup_keep = [0-9]*|backup_keep = $KEEP_BACKUPS|" \
    "$SOURCE/station/default_config.toml" >"$dist"
put "$dist" "$ETC/station.toml.dist" 0644
rm -f "$dist"
if [ ! -f "$ETC/station.toml" ]; then
    install -m 0644 "$ETC/station.toml.dist" "$ETC/station.toml"
    changed+=("$ETC/station.toml")
fi

# --- services ------------------------------------------------------------------------------
for unit in balance-station.service balance-station-backup.service balance-station-backup.timer; do
    put "$SOURCE/deploy/systemd/$unit" "$UNITS/$unit" 0644
done

# --- kiosk: full-screen Chromium at login on the desktop -------------------------------------
put "$SOURCE/deploy/kiosk/balance-station-kiosk" "$APP/bin/balance-station-kiosk" 0755
if [ "$KIOSK" -eq 1 ]; then
    if [ -z "$DESKTOP_USER" ]; then
        if [ -n "${SUDO_USER:-}" ] && [ "$SUDO_USER" != root ]; then
            DESKTOP_USER="$SUDO_USER"
        elif [ "$SYSTEM" -eq 1 ]; then
            DESKTOP_USER="$(getent passwd 1000 | cut -d: -f1 || true)"
        else
            DESKTOP_USER="pi"
        fi
    fi
    if [ -z "$DESKTOP_USER" ]; then
        say "no desktop user found: kiosk autostart skipped (use --desktop-user NAME)"
    else
        if [ "$SYSTEM" -eq 1 ]; then
            HOME_DIR="$(getent passwd "$DESKTOP_USER" | cut -d: -f6)"
        else
            HOME_DIR="$ROOT/home/$DESKTOP_USER"
        fi
        launcher="/opt/balance-station/bin/balance-station-kiosk"
        # labwc (Raspberry Pi OS since late 2024): one command per line
        labwc="$HOME_DIR/.config/labwc/autostart"
        if ! grep -qs "balance-station-kiosk" "$labwc"; then
            mkdir -p "$(dirname "$labwc")"
            echo "$launcher &" >>"$labwc"
            changed+=("$labwc")
        fi
        # wayfire (earlier Bookworm images): an [autostart] section
        wayfire="$HOME_DIR/.config/wayfire.ini"
        if ! grep -qs "balance-station-kiosk" "$wayfire"; then
            mkdir -p "$(dirname "$wayfire")"
            if grep -qs '^\[autostart\]' "$wayfire"; then
                sed -i "/^\[autostart\]/a balance_station = $launcher" "$wayfire"
            else
                printf '\n[autostart]\nbalance_station = %s\n' "$launcher" >>"$wayfire"
            fi
            changed+=("$wayfire")
        fi
        if [ "$SYSTEM" -eq 1 ]; then
            chown -R "$DESKTOP_USER:" "$HOME_DIR/.config/labwc" "$wayfire"
            # screen blanking off (raspi-config: 1 = disable blanking)
            if command -v raspi-config >/dev/null 2>&1; then
                raspi-config nonint do_blanking 1 || say "could not turn screen blanking off"
            fi
        fi
    fi
fi

if [ "$SYSTEM" -eq 1 ]; then
    systemctl daemon-reload
    systemctl enable --quiet balance-station.service balance-station-backup.timer
    if [ "${#changed[@]}" -gt 0 ]; then
        systemctl restart balance-station.service
    else
        systemctl start balance-station.service
    fi
    systemctl start balance-station-backup.timer
fi

if [ "${#changed[@]}" -eq 0 ]; then
    say "already up to date, nothing changed"
else
    say "changed:"
    printf '  %s\n' "${changed[@]}"
fi
say "kiosk: http://127.0.0.1:8080/  config: /etc/balance-station/station.toml  data: /var/lib/balance-station"
