# Shared by the e2e/kind scripts (sourced, not run): versions, the cache
# layout, logging and the "build once, reuse by tag" helpers.
# shellcheck shell=bash

kind_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$kind_dir/../.." && pwd)"
# shellcheck source-path=SCRIPTDIR source=../toolchain/versions.env
source "$repo/e2e/toolchain/versions.env"
# shellcheck source-path=SCRIPTDIR source=versions.env
source "$kind_dir/versions.env"

# Everything built for this tier lives under one versioned directory next to
# the API-server tier's toolchain; images live in the Docker daemon, tagged
# with the same versions so a warm run finds them.
kind_cache="${VIEWPORT_KIND_CACHE:-$HOME/.cache/viewport-relay/kind-$KIND_VERSION-$K8S_VERSION}"
kind_bin="$kind_cache/bin"
# shellcheck disable=SC2034 # read by the scripts that source this file
image_prefix=viewport-e2e
mkdir -p "$kind_bin"

log() { printf '[e2e:kind] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# have_image TAG: true when the daemon already holds TAG.
have_image() { docker image inspect "$1" >/dev/null 2>&1; }

# go_build OUT DIR PACKAGE LDFLAGS: builds a static binary once per version
# (OUT names the version) into $kind_bin, from module DIR.
go_build() {
	local out="$1" dir="$2" pkg="$3" ldflags="$4"
	[[ -x "$kind_bin/$out" ]] && return
	command -v go >/dev/null || die "go is not on PATH; it is needed once to build $out"
	log "building $out from the Go module proxy"
	local start=$SECONDS
	(cd "$dir" && CGO_ENABLED=0 nice -n 10 go build -mod=mod -p=2 -trimpath -ldflags "$ldflags" -o "$kind_bin/$out.partial.$$" "$pkg")
	mv "$kind_bin/$out.partial.$$" "$kind_bin/$out"
	log "built $out in $((SECONDS - start))s"
}

# go_install OUT PACKAGE@VERSION: `go install` for modules without replace
# directives, once per version.
go_install() {
	local out="$1" target="$2"
	[[ -x "$kind_bin/$out" ]] && return
	command -v go >/dev/null || die "go is not on PATH; it is needed once to build $out"
	log "building $out ($target) from the Go module proxy"
	local start=$SECONDS tmp
	tmp="$(mktemp -d)"
	CGO_ENABLED=0 GOBIN="$tmp" nice -n 10 go install -p=2 -trimpath -ldflags "-s -w" "$target"
	local pkg="${target%@*}"
	mv "$tmp/${pkg##*/}" "$kind_bin/$out"
	rm -rf "$tmp"
	log "built $out in $((SECONDS - start))s"
}
