#!/usr/bin/env bash
# Follows the operator quick start of docs/systemd.md on this machine, step by step, and checks
# the result. Run as root on Debian 12 (CI does, from scripts/test.sh under CI=true):
#
#   bash scripts/operator_quickstart.sh [DEB]     # default: builds one with scripts/package.sh
#
# Without systemd as PID 1 (a container, a CI runner) `systemctl enable --now` cannot start the
# service, so the daemon is started as the installed unit would start it: its ExecStart= line,
# as its User=, with its UMask=. If a receiver's port 9000 is busy, the endpoint is edited to a
# free port (the quick start's "edit the config" step). At the end the package is purged, and
# the audit-replay user removed if this script created it.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
[ "$(id -u)" -eq 0 ] || { echo "operator_quickstart: run as root" >&2; exit 2; }
if dpkg-query -W -f='${Status}' audit-replay 2>/dev/null | grep -q "install ok installed"; then
  echo "operator_quickstart: audit-replay is already installed here; not touching it" >&2
  exit 2
fi
work=$(mktemp -d)
chmod 0755 "$work"
user_existed=0
getent passwd audit-replay >/dev/null && user_existed=1
daemon_pid=""
sink_pid=""
cleanup() {
  [ -n "$daemon_pid" ] && kill "$daemon_pid" 2>/dev/null && wait "$daemon_pid" 2>/dev/null
  [ -n "$sink_pid" ] && kill "$sink_pid" 2>/dev/null && wait "$sink_pid" 2>/dev/null
  dpkg --purge audit-replay >/dev/null 2>&1 || true
  if [ "$user_existed" = 0 ] && getent passwd audit-replay >/dev/null; then
    deluser --quiet --system audit-replay >/dev/null 2>&1 || true
    delgroup --quiet --system audit-replay >/dev/null 2>&1 || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT
step() { echo "== $*"; }

deb=${1:-}
if [ -z "$deb" ]; then
  deb=$(bash "$root/scripts/package.sh" "$work/dist" | tail -n 1)
fi
cp "$deb" "$work/"
deb=$work/$(basename "$deb")

# sudo apt install ./audit-replay_<version>_amd64.deb (dpkg: no network in CI; the
# dependencies are installed by scripts/setup.sh)
step "install $(basename "$deb")"
dpkg -i "$deb" >/dev/null
id audit-replay
[ -f /etc/audit-replay/config.yaml ]

# sudoedit /etc/audit-replay/config.yaml: the example's endpoint is a local receiver on port
# 9000; another port if that one is taken.
port=9000
if (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null; then
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  sed -i "s#endpoint: http://127.0.0.1:9000/audit#endpoint: http://127.0.0.1:$port/audit#" \
    /etc/audit-replay/config.yaml
fi
step "receiver: audit-replay-sink --listen 127.0.0.1:$port"
audit-replay-sink --listen "127.0.0.1:$port" --quiet >"$work/sink.log" 2>&1 &
sink_pid=$!

# sudo systemctl enable --now audit-replayd
unit=/lib/systemd/system/audit-replayd.service
[ -f "$unit" ] || unit=/usr/lib/systemd/system/audit-replayd.service
if [ -d /run/systemd/system ]; then
  step "systemctl enable --now audit-replayd"
  systemctl enable --now audit-replayd
else
  exec_start=$(sed -n 's/^ExecStart=//p' "$unit")
  user=$(sed -n 's/^User=//p' "$unit")
  umask_value=$(sed -n 's/^UMask=//p' "$unit")
  step "no systemd as PID 1: starting '$exec_start' as $user (UMask=$umask_value)"
  # RuntimeDirectory= and StateDirectory= are created by the package's tmpfiles.d entry.
  [ -d /run/audit-replay ] || systemd-tmpfiles --create audit-replay.conf
  # shellcheck disable=SC2086  # ExecStart= is a command line
  (umask "$umask_value" && exec setpriv --reuid="$user" --regid="$user" --init-groups \
    $exec_start) >"$work/daemon.log" 2>&1 &
  daemon_pid=$!
fi

# The control socket answers once the daemon is ready.
for _ in $(seq 1 300); do
  audit-replayctl ping >/dev/null 2>&1 && break
  if [ -n "$daemon_pid" ] && ! kill -0 "$daemon_pid" 2>/dev/null; then break; fi
  sleep 0.1
done
audit-replayctl ping || { cat "$work/daemon.log" >&2; exit 1; }

# sudo adduser "$USER" audit-replay: this script is root, which may use the socket anyway.
step "generate, ingest, replay"
cd "$work"
audit-replay-gen --count 10000 --start "$(date -u -d '-50 min' +%FT%TZ)" \
  --end "$(date -u -d '-10 min' +%FT%TZ)" >events.ndjson
audit-replayctl ingest --region us events.ndjson
audit-replayctl replay --region us --since 1h --wait

# The receiver got every event.
received=$(curl -fsS "http://127.0.0.1:$port/stats" | python3 -c 'import json,sys; print(json.load(sys.stdin)["events"])')
echo "receiver: $received events"
if [ "$received" != 10000 ]; then
  echo "operator_quickstart: the receiver got $received of 10000 events" >&2
  cat "$work/daemon.log" >&2 || true
  exit 1
fi
# The daemon runs as the package's user and the store belongs to it.
if [ -n "$daemon_pid" ]; then
  [ "$(stat -c %U /var/lib/audit-replay/data)" = audit-replay ]
  [ "$(ps -o user= -p "$daemon_pid" | tr -d ' ')" = audit-replay ]
fi
echo "operator quick start: OK"
