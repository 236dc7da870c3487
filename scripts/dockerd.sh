#!/usr/bin/env bash
# Starts or stops a Docker daemon for the container tiers.
#   scripts/dockerd.sh start   a daemon that answers `docker info`: the machine's
#                              own if one runs, else dockerd started here (Debian's
#                              docker.io is installed first when root and missing)
#   scripts/dockerd.sh stop    stops the daemon this script started, by its pid
# The daemon started here keeps its images under the toolchain cache
# (VIEWPORT_DOCKER_ROOT, default ~/.cache/viewport-relay/docker), so locally
# built images survive between runs.
set -euo pipefail

root="${VIEWPORT_DOCKER_ROOT:-$HOME/.cache/viewport-relay/docker}"
pidfile="$root/dockerd.pid"
logfile="$root/dockerd.log"

log() { printf '[dockerd] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

answers() { docker info >/dev/null 2>&1; }

install_engine() {
	command -v dockerd >/dev/null && return
	if [[ "$(id -u)" -ne 0 ]] || ! command -v apt-get >/dev/null; then
		die "dockerd is not installed; install Docker (Debian: apt-get install docker.io)"
	fi
	log "installing Debian's docker.io"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends docker.io >/dev/null ||
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends docker.io >/dev/null; }
}

start() {
	if answers; then
		log "a Docker daemon already answers; using it"
		return
	fi
	install_engine
	command -v docker >/dev/null || die "the docker CLI is not on PATH"
	mkdir -p "$root/data"
	log "starting dockerd (data under $root/data, log $logfile)"
	# setsid: the daemon outlives this script and is not hit by the caller's Ctrl-C.
	setsid dockerd --data-root "$root/data" --pidfile "$pidfile" >"$logfile" 2>&1 </dev/null &
	local waited=0
	until answers; do
		((waited++ < 60)) || { tail -n 20 "$logfile" >&2; die "dockerd did not answer within 60 s"; }
		sleep 1
	done
	log "dockerd is up (pid $(cat "$pidfile"))"
}

stop() {
	[[ -f "$pidfile" ]] || { log "no dockerd started by this script"; return; }
	local pid
	pid="$(cat "$pidfile")"
	if kill -0 "$pid" 2>/dev/null; then
		kill -TERM "$pid"
		local waited=0
		while kill -0 "$pid" 2>/dev/null && ((waited++ < 30)); do sleep 1; done
		log "dockerd (pid $pid) stopped"
	fi
	rm -f "$pidfile"
}

case "${1:-}" in
start) start ;;
stop) stop ;;
*) die "usage: scripts/dockerd.sh start|stop" ;;
esac
