#!/bin/bash
# Install Saraban on this Debian machine as a systemd service: the hub, or one office.
#
#   sudo make install ROLE=hub
#   sudo make install ROLE=node NAME=chiangmai
#
# What goes where (each overridable by the variable of the same name):
#   PREFIX=/opt/saraban              a virtualenv holding Saraban and its dependencies
#   STATE_DIR=/var/lib/saraban       instance folders, NAME's at STATE_DIR/NAME (0700)
#   CONF_DIR=/etc/saraban            NAME.env: the instance, address and log level (0640)
#   UNIT_DIR=/etc/systemd/system     saraban-hub.service, saraban-node@.service
#   BIN_DIR=/usr/local/sbin          saraban-as: the saraban command for one instance
#   SARABAN_USER=saraban             the system user the services run as
# HOST and PORT: where the service listens (hub 127.0.0.1:8700, behind a TLS proxy; an
# office 0.0.0.0:8800, for the clerks' PCs). LOG_LEVEL=info. PYTHON=python3 (3.11+).
#
# DESTDIR=/some/folder stages every file under that folder instead of /, and then, like
# SYSTEM=no, creates no user, changes no owner and leaves systemd alone; VENV=no skips the
# virtualenv (a virtualenv cannot be staged: its scripts name their own path).
# Running it again upgrades Saraban and the units and keeps the instance and its .env.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ROLE=${ROLE:-}
NAME=${NAME:-}
DESTDIR=${DESTDIR:-}
PREFIX=${PREFIX:-/opt/saraban}
STATE_DIR=${STATE_DIR:-/var/lib/saraban}
CONF_DIR=${CONF_DIR:-/etc/saraban}
UNIT_DIR=${UNIT_DIR:-/etc/systemd/system}
BIN_DIR=${BIN_DIR:-/usr/local/sbin}
SARABAN_USER=${SARABAN_USER:-saraban}
LOG_LEVEL=${LOG_LEVEL:-info}
PYTHON=${PYTHON:-python3}
if [ -n "$DESTDIR" ]; then
    VENV=${VENV:-no}
    SYSTEM=no
else
    VENV=${VENV:-yes}
    SYSTEM=${SYSTEM:-$([ "$(id -u)" = 0 ] && echo yes || echo no)}
fi

say() { printf '%s\n' "$*"; }
fail() {
    printf 'install: %s\n' "$*" >&2
    exit 1
}

case "$ROLE" in
    hub)
        [ -z "$NAME" ] || [ "$NAME" = hub ] || fail "ROLE=hub takes no NAME (its instance is hub)"
        NAME=hub
        HOST=${HOST:-127.0.0.1}
        PORT=${PORT:-8700}
        ;;
    node)
        [[ "$NAME" =~ ^[a-z0-9][a-z0-9-]{0,40}$ ]] ||
            fail "ROLE=node needs NAME=<office>, a-z 0-9 and - (e.g. NAME=chiangmai), not '$NAME'"
        [ "$NAME" != hub ] || fail "NAME=hub is the hub's instance; choose another office name"
        HOST=${HOST:-0.0.0.0}
        PORT=${PORT:-8800}
        ;;
    *) fail "say what to install: ROLE=hub, or ROLE=node NAME=<office>" ;;
esac
[[ "$PORT" =~ ^[0-9]+$ ]] || fail "PORT must be a number, not '$PORT'"
case "$LOG_LEVEL" in debug | info | warning | error) ;; *) fail "LOG_LEVEL: debug, info, warning or error" ;; esac
for dir in PREFIX STATE_DIR CONF_DIR UNIT_DIR BIN_DIR; do
    [[ "${!dir}" == /* ]] || fail "$dir must be an absolute path, not '${!dir}'"
done
[ "$SYSTEM" = no ] || [ "$(id -u)" = 0 ] || fail "run as root (sudo make install ...), or with SYSTEM=no"

INSTANCE="$STATE_DIR/$NAME"
ENV_FILE="$CONF_DIR/$NAME.env"
if [ "$ROLE" = hub ]; then UNIT=saraban-hub.service; SERVICE=saraban-hub; else
    UNIT=saraban-node@.service; SERVICE="saraban-node@$NAME"; fi

# -- the virtualenv ----------------------------------------------------------------------
if [ "$VENV" = yes ]; then
    "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null ||
        fail "$PYTHON is not Python 3.11 or newer (Debian 12: apt-get install python3)"
    "$PYTHON" -c 'import ensurepip, venv' 2>/dev/null ||
        fail "$PYTHON cannot make a virtualenv: apt-get install python3-venv"
    if [ ! -x "$DESTDIR$PREFIX/bin/python" ]; then
        say "creating the virtualenv $PREFIX"
        "$PYTHON" -m venv "$DESTDIR$PREFIX"
    fi
    say "installing Saraban from $REPO into $PREFIX"
    "$DESTDIR$PREFIX/bin/python" -m pip install --quiet --upgrade pip
    "$DESTDIR$PREFIX/bin/python" -m pip install --quiet "$REPO"
fi

# -- the user and the folders ------------------------------------------------------------
if [ "$SYSTEM" = yes ] && ! getent passwd "$SARABAN_USER" >/dev/null; then
    say "creating the system user $SARABAN_USER"
    if command -v adduser >/dev/null && adduser --help 2>&1 | grep -q -- --system; then
        adduser --quiet --system --group --home "$STATE_DIR" --no-create-home \
            --shell /usr/sbin/nologin "$SARABAN_USER"
    else
        useradd --system --user-group --home-dir "$STATE_DIR" --no-create-home \
            --shell /usr/sbin/nologin "$SARABAN_USER"
    fi
fi
owned() { # owned MODE PATH [OWNER:GROUP]: a folder with that mode (and owner, for real)
    install -d -m "$1" "$DESTDIR$2"
    chmod "$1" "$DESTDIR$2"
    if [ "$SYSTEM" = yes ] && [ -n "${3:-}" ]; then chown "$3" "$DESTDIR$2"; fi
}
owned 0755 "$STATE_DIR"
owned 0700 "$INSTANCE" "$SARABAN_USER:$SARABAN_USER"
owned 0750 "$CONF_DIR" "root:$SARABAN_USER"

if [ -e "$DESTDIR$ENV_FILE" ]; then
    say "keeping $ENV_FILE"
else
    say "writing $ENV_FILE"
    umask 027
    if [ "$ROLE" = hub ]; then
        cat >"$DESTDIR$ENV_FILE" <<ENV
# The Saraban hub, read by $UNIT and by saraban-as hub.
SARABAN_HUB_INSTANCE="$INSTANCE"
# Where the hub listens. Offices reach it over HTTPS through a TLS proxy (nginx) in
# front of this address; set SARABAN_HUB_SECURE_COOKIES=true then. 0.0.0.0: every address.
SARABAN_HUB_HOST="$HOST"
SARABAN_HUB_PORT="$PORT"
LOG_LEVEL="$LOG_LEVEL"
# Any setting of the README's hub table, e.g. SARABAN_HUB_HOLIDAYS="2026-12-05,2026-12-10"
ENV
    else
        cat >"$DESTDIR$ENV_FILE" <<ENV
# The Saraban node of office '$NAME', read by saraban-node@$NAME and by saraban-as $NAME.
SARABAN_NODE_INSTANCE="$INSTANCE"
# Where the clerks' pages listen (0.0.0.0: every address of this machine, for the office
# network; 127.0.0.1 behind a TLS proxy, with SARABAN_NODE_SECURE_COOKIES=true).
NODE_HOST="$HOST"
NODE_PORT="$PORT"
LOG_LEVEL="$LOG_LEVEL"
# Any setting of the README's node table, e.g. SARABAN_NODE_ISSUER="จังหวัดเชียงใหม่"
ENV
    fi
    umask 022
    chmod 0640 "$DESTDIR$ENV_FILE"
    if [ "$SYSTEM" = yes ]; then chown "root:$SARABAN_USER" "$DESTDIR$ENV_FILE"; fi
fi

# -- the units and the command -----------------------------------------------------------
render() { # render TEMPLATE TARGET MODE
    install -d -m 0755 "$(dirname "$DESTDIR$2")"
    sed -e "s|@PREFIX@|$PREFIX|g" -e "s|@STATE_DIR@|$STATE_DIR|g" \
        -e "s|@CONF_DIR@|$CONF_DIR|g" -e "s|@USER@|$SARABAN_USER|g" "$1" >"$DESTDIR$2.tmp"
    chmod "$3" "$DESTDIR$2.tmp"
    mv "$DESTDIR$2.tmp" "$DESTDIR$2"
    say "wrote $2"
}
render "$REPO/deploy/systemd/$UNIT" "$UNIT_DIR/$UNIT" 0644
render "$REPO/deploy/saraban-as" "$BIN_DIR/saraban-as" 0755

if [ "$SYSTEM" != yes ]; then
    say "staged $ROLE '$NAME' (no user, owners or systemd changed)"
    exit 0
fi

# -- the service -------------------------------------------------------------------------
if [ -d /run/systemd/system ]; then systemctl daemon-reload; else
    say "systemd is not running here: the unit is written but not started"; fi
as_saraban() { runuser -u "$SARABAN_USER" -- "$PREFIX/bin/saraban" "$@"; }
if [ "$ROLE" = hub ]; then
    if [ ! -e "$INSTANCE/hub.sqlite" ]; then
        as_saraban hub init --instance "$INSTANCE"
        say "next: make the first operator: sudo saraban-as hub hub adduser NAME --name \"ชื่อ สกุล\""
    fi
    if [ -d /run/systemd/system ]; then systemctl enable --now "$SERVICE"; fi
    say "check it: sudo saraban-as hub hub doctor"
else
    if [ -d /run/systemd/system ]; then systemctl enable "$SERVICE"; fi
    if [ -e "$INSTANCE/keys/sign.key" ]; then
        if [ -d /run/systemd/system ]; then systemctl restart "$SERVICE"; fi
    else
        say "next: enroll the office with the token from the hub's operator:"
        say "  sudo saraban-as $NAME node init --hub https://HUB --office 'ชม 0017' --token -"
        say "  sudo systemctl start $SERVICE"
        say "  sudo saraban-as $NAME node adduser admin --name \"ชื่อ สกุล\" --role admin"
    fi
    say "check it: sudo saraban-as $NAME node doctor"
fi
say "logs: journalctl -u $SERVICE"
