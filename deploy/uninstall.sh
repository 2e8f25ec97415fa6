#!/usr/bin/env bash
# Remove Balance Station. The configuration and the data (every session) stay unless --purge.
#
#   sudo deploy/uninstall.sh              remove the program, services and kiosk autostart
#   sudo deploy/uninstall.sh --purge      also delete /etc/balance-station, /var/lib/balance-station
#                                         and the service user
#   deploy/uninstall.sh --root DIR        the same inside DIR (as install.sh --root)
set -euo pipefail

ROOT=""
PURGE=0
DESKTOP_USER=""
while [ $# -gt 0 ]; do
    case "$1" in
        --root) ROOT="${2:?--root needs a directory}"; shift 2 ;;
        --purge) PURGE=1; shift ;;
        --desktop-user) DESKTOP_USER="${2:?--desktop-user needs a name}"; shift 2 ;;
        -h|--help) sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "uninstall.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
done
SYSTEM=1
if [ -n "$ROOT" ]; then
    SYSTEM=0
    ROOT="$(cd "$ROOT" && pwd)"
elif [ "$(id -u)" -ne 0 ]; then
    echo "uninstall.sh: run it as root (sudo), or with --root DIR" >&2
    exit 2
fi

UNITS=(balance-station.service balance-station-backup.service balance-station-backup.timer)
if [ "$SYSTEM" -eq 1 ]; then
    systemctl disable --now --quiet balance-station-backup.timer balance-station.service || true
fi
for unit in "${UNITS[@]}"; do
    rm -f "$ROOT/etc/systemd/system/$unit"
done
[ "$SYSTEM" -eq 1 ] && systemctl daemon-reload
rm -rf "$ROOT/opt/balance-station"

# the kiosk autostart lines, for every desktop user that has them
if [ -n "$DESKTOP_USER" ]; then
    homes=("$ROOT/home/$DESKTOP_USER")
else
    homes=("$ROOT"/home/*)
fi
for home in "${homes[@]}"; do
    for file in "$home/.config/labwc/autostart" "$home/.config/wayfire.ini"; do
        if grep -qs "balance-station-kiosk" "$file"; then
            sed -i '/balance-station-kiosk/d; /^balance_station = /d' "$file"
        fi
    done
done

if [ "$PURGE" -eq 1 ]; then
    rm -rf "$ROOT/etc/balance-station" "$ROOT/var/lib/balance-station"
    if [ "$SYSTEM" -eq 1 ] && getent passwd balance-station >/dev/null; then
        userdel balance-station || true
    fi
    echo "balance-station uninstall: removed, configuration and data deleted"
else
    echo "balance-station uninstall: removed; kept /etc/balance-station and /var/lib/balance-station"
fi
