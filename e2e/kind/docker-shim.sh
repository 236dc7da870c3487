#!/usr/bin/env bash
# Stands in for docker on kind's PATH where Docker cannot honour --privileged:
# the host's capability bounding set lacks one that --privileged asks for
# (runc: "unable to apply caps"). `run`/`create` get the same powers minus
# that capability; `exec` runs with the container's own. Everything else
# passes through to the real docker ($VIEWPORT_REAL_DOCKER).
set -euo pipefail
real="${VIEWPORT_REAL_DOCKER:?VIEWPORT_REAL_DOCKER must name the real docker CLI}"
missing="${VIEWPORT_MISSING_CAPS:-SYS_RESOURCE}"

privileged=(--cap-add ALL --security-opt systempaths=unconfined --device-cgroup-rule 'a *:* rwm')
for cap in $missing; do privileged+=(--cap-drop "$cap"); done
for dev in /dev/kmsg /dev/fuse; do [[ -e "$dev" ]] && privileged+=(--device "$dev"); done

args=()
for arg in "$@"; do
	if [[ "$arg" == --privileged ]]; then
		case "${1:-}" in
		run | create) args+=("${privileged[@]}") ;;
		esac
	else
		args+=("$arg")
	fi
done
exec "$real" "${args[@]}"
