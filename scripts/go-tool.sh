#!/usr/bin/env bash
# Builds one pinned Go tool from the Go module proxy and prints its path:
#   promtool="$(bash scripts/go-tool.sh promtool)"      # or: actionlint
# Pins are in scripts/go-tools.env. Binaries are cached by version under
# ~/.cache/viewport-relay/ (VIEWPORT_GO_TOOLS moves it) and reused when they
# answer their version flag, so a warm call costs milliseconds; a cold build
# takes minutes on two cores.
# Go's default module and build caches are shared with e2e/toolchain.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source-path=SCRIPTDIR source=go-tools.env
source "$here/go-tools.env"

log() { printf '[go-tool] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

name="${1:-}"
case "$name" in
promtool)
	module="$PROMTOOL_MODULE" version="$PROMTOOL_VERSION" version_flag=--version
	ldflags="-X github.com/prometheus/common/version.Version=$PROMTOOL_RELEASE"
	# Without the service-discovery plugins (AWS, Azure, GCE, Kubernetes, ...):
	# rule checks and unit tests need none, and they are most of a cold build.
	tags=remove_all_sd
	;;
actionlint)
	module="$ACTIONLINT_MODULE" version="$ACTIONLINT_VERSION" version_flag=-version
	ldflags="-X github.com/rhysd/actionlint.version=$ACTIONLINT_VERSION"
	tags=""
	;;
*) die "usage: go-tool.sh promtool|actionlint" ;;
esac

dir="${VIEWPORT_GO_TOOLS:-$HOME/.cache/viewport-relay}/$name-$version"
bin="$dir/$name"
if [[ -x "$bin" ]] && "$bin" "$version_flag" >/dev/null 2>&1; then
	echo "$bin"
	exit 0
fi

command -v go >/dev/null || die "go is not on PATH; it is needed once to build $name $version"
mkdir -p "$dir"
log "$name: building $module@$version (go output follows)"
start=$SECONDS
# Into a temporary GOBIN, then renamed: a concurrent caller never runs a
# half-written binary. -p=2 and nice keep a cold build from starving the
# machine's tests.
tmp="$(mktemp -d "$dir/.build.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
CGO_ENABLED=0 GOBIN="$tmp" nice -n 10 go install -p=2 -trimpath -tags "$tags" -ldflags "-s -w $ldflags" "$module@$version" >&2
mv "$tmp/$name" "$bin"
"$bin" "$version_flag" >/dev/null 2>&1 || die "$name was built but '$name $version_flag' fails"
log "$name: built in $((SECONDS - start))s"
echo "$bin"
