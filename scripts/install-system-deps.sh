#!/usr/bin/env bash
# Installs the Debian packages the test tiers use (real redis-server, lua for
# the Argo CD health check, shellcheck for the kind scripts, and for the kind
# tier a Docker engine unless one already answers, debootstrap for its local
# base image). Idempotent: does nothing when every tool is already present.
set -euo pipefail

# ---- browsers for the browser tier (npm run e2e:browser) ----
# Debian's chromium and firefox-esr, driven by puppeteer-core; nothing is
# downloaded by npm. Best effort: where they cannot be installed, the tier
# skips each missing browser with a message instead of failing CI.
browsers=()
command -v chromium >/dev/null 2>&1 || browsers+=(chromium)
command -v firefox-esr >/dev/null 2>&1 || command -v firefox >/dev/null 2>&1 || browsers+=(firefox-esr)
if [ ${#browsers[@]} -eq 0 ]; then
  echo "browsers: all present"
elif [ "$(id -u)" -ne 0 ]; then
  echo "browsers missing (${browsers[*]}); the browser tier will skip them (install: apt-get install ${browsers[*]})" >&2
else
  echo "browsers: installing ${browsers[*]}"
  if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${browsers[@]}" >/dev/null; }; then
    echo "browsers: could not install ${browsers[*]}; the browser tier will skip them" >&2
  fi
fi
# ---- end of browsers ----

need=()
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
command -v lua5.4 >/dev/null 2>&1 || need+=(lua5.4)
command -v shellcheck >/dev/null 2>&1 || need+=(shellcheck)
command -v debootstrap >/dev/null 2>&1 || need+=(debootstrap)
if ! command -v dockerd >/dev/null 2>&1 && ! docker info >/dev/null 2>&1; then need+=(docker.io); fi

if [ ${#need[@]} -eq 0 ]; then
  echo "system deps: all present"
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "system deps missing (${need[*]}); run as root or install them: apt-get install ${need[*]}" >&2
  exit 1
fi

echo "system deps: installing ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
