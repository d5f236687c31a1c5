#!/usr/bin/env bash
# Deploy a SignalCraft release beside the running one, without dropping requests.
#
#   deploy/deploy.sh SOURCE_DIR            # a checkout or unpacked release tarball
#
# Layout under $SIGNALCRAFT_HOME (default /opt/signalcraft):
#   releases/<id>/     one folder per release (source + its own .venv + RELEASE file)
#   current -> releases/<id>   what gunicorn runs; its master is started from
#                      "$SIGNALCRAFT_HOME/current" with --pid "$PIDFILE"
#
# Steps: copy SOURCE_DIR into releases/<id>; build its venv (or link
# $SIGNALCRAFT_DEPLOY_VENV, e.g. for a loopback test); run the migrations (they must
# suit the running release too: add columns first, drop them a release later); point
# `current` at it; reload gunicorn: USR2 starts a new master on the new code beside the
# old one (both share the listening socket); once /readyz is answered by the new
# release the old master gets TERM (gunicorn's graceful stop: its workers stop
# accepting and finish the requests in flight; QUIT would be the quick stop). If the new
# master dies or never becomes ready, it is stopped, `current` points back and the old
# master, which never stopped serving, carries on: the deploy fails (exit 1).
# Older releases beyond $SIGNALCRAFT_KEEP_RELEASES (default 5) are removed.
set -euo pipefail

usage() { echo "usage: $0 SOURCE_DIR" >&2; exit 2; }
[ $# -eq 1 ] || usage
source_dir=$(cd "$1" && pwd)

home=${SIGNALCRAFT_HOME:-/opt/signalcraft}
pidfile=${PIDFILE:-/run/signalcraft/gunicorn.pid}
ready_url=${READY_URL:-http://127.0.0.1:8050/readyz}
ready_timeout=${READY_TIMEOUT:-60}
keep=${SIGNALCRAFT_KEEP_RELEASES:-5}
env_file=${SIGNALCRAFT_ENV_FILE:-/etc/signalcraft/env}

log() { printf '%s deploy: %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }

release_id=${RELEASE_ID:-$(date -u +%Y%m%dT%H%M%SZ)}
new="$home/releases/$release_id"
mkdir -p "$home/releases"
[ -e "$new" ] && { log "release $release_id exists already"; exit 1; }

log "installing $release_id into $new"
mkdir "$new"
tar -C "$source_dir" --exclude=./.venv --exclude=./.git --exclude=./instance -cf - . \
  | tar -C "$new" -xf -
echo "$release_id" > "$new/RELEASE"
if [ -n "${SIGNALCRAFT_DEPLOY_VENV:-}" ]; then
  ln -s "$SIGNALCRAFT_DEPLOY_VENV" "$new/.venv"
else
  python3 -m venv "$new/.venv"
  "$new/.venv/bin/pip" install -q -c "$new/constraints.txt" -r "$new/requirements.txt"
fi

if [ -r "$env_file" ]; then
  set -a
  # shellcheck disable=SC1090
  . "$env_file"
  set +a
fi

log "migrating the database"
(cd "$new" && .venv/bin/flask --app wsgi db-upgrade)

previous=""
[ -L "$home/current" ] && previous=$(readlink "$home/current")

point_current() {  # atomically: a new link renamed over the old one
  ln -sfn "$1" "$home/current.tmp"
  mv -T "$home/current.tmp" "$home/current"
}

# A process that has exited but is not reaped yet (a zombie: its parent, a supervisor or
# a test, has not waited for it) still answers kill -0; it is not running.
running() {
  local state
  # the state letter follows the last ")" of /proc/PID/stat (the name may hold spaces)
  state=$(sed -n 's/.*) \(.\).*/\1/p' "/proc/$1/stat" 2>/dev/null) || return 1
  [[ -n $state && $state != Z ]]
}
answering_release() {
  curl -fsS --max-time 2 "$ready_url" 2>/dev/null \
    | sed -n 's/.*"release": *"\([^"]*\)".*/\1/p'
}

point_current "$new"
if [ ! -s "$pidfile" ]; then
  log "no running gunicorn ($pidfile): start it from $home/current"
  exit 0
fi
old_pid=$(cat "$pidfile")
log "reloading gunicorn $old_pid (USR2: a new master beside the old one)"
kill -USR2 "$old_pid"

rollback() {
  log "ROLLBACK: $*"
  # A new master that wrote its pidfile late is stopped too.
  if [ -z "${new_pid:-}" ] && [ -s "$pidfile.2" ]; then new_pid=$(cat "$pidfile.2"); fi
  if [ -n "${new_pid:-}" ] && [ "$new_pid" != "$old_pid" ]; then
    kill -TERM "$new_pid" 2>/dev/null || true
  fi
  if [ -n "$previous" ]; then point_current "$previous"; else rm -f "$home/current"; fi
  rm -f "$pidfile.2"
  exit 1
}

new_pid=""
deadline=$((SECONDS + ready_timeout))
while [ $SECONDS -lt $deadline ]; do
  # The new master writes "$pidfile.2" and takes the plain name once the old one exits.
  if [ -s "$pidfile.2" ]; then
    new_pid=$(cat "$pidfile.2")
    running "$new_pid" || rollback "the new master $new_pid exited"
    [ "$(answering_release)" = "$release_id" ] && break
  fi
  sleep 0.5
done
if [ -z "$new_pid" ] || [ $SECONDS -ge $deadline ]; then
  rollback "release $release_id did not become ready within ${ready_timeout}s"
fi

log "release $release_id ready (master $new_pid); stopping the old master $old_pid"
# The plain pidfile names the new master before the old one exits: a supervisor that
# reads it when its main process exits (systemd's PIDFile=) follows the new master.
# gunicorn's old master removes the file only while it holds its own pid.
printf '%s\n' "$new_pid" > "$pidfile.tmp" && mv -f "$pidfile.tmp" "$pidfile"
# TERM, not QUIT: for gunicorn QUIT is the quick shutdown, whose workers exit from the
# signal handler at whatever point their loop is at, e.g. between accept() and handing
# the connection to a thread, which the client sees as a reset.
kill -TERM "$old_pid"
for _ in $(seq 1 120); do running "$old_pid" || break; sleep 0.5; done

# Readiness once more, now that only the new release answers.
for _ in 1 2 3; do
  [ "$(answering_release)" = "$release_id" ] || {
    log "release $release_id stopped answering /readyz after the switch"
    if [ -n "$previous" ]; then
      log "redeploying the previous release $(basename "$previous")"
      point_current "$previous"
      kill -USR2 "$new_pid"
    fi
    exit 1
  }
done

# Keep the newest releases (never the current one).
mapfile -t releases < <(find "$home/releases" -mindepth 1 -maxdepth 1 -type d | sort)
count=${#releases[@]}
for dir in "${releases[@]}"; do
  [ "$count" -le "$keep" ] && break
  [ "$dir" = "$new" ] || { rm -rf "$dir"; count=$((count - 1)); }
done
log "deployed $release_id"
echo "$new"
