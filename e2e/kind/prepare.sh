#!/usr/bin/env bash
# Everything `npm run e2e:kind` needs before it creates a cluster, printed as
# KEY=VALUE lines for run.sh:
#   KIND_PATH       a directory to put first on PATH: kind (and a docker shim
#                   where the host cannot run --privileged containers)
#   KIND_CONFIG     the cluster config to use
#   KIND_NODE_IMAGE the node image (empty: kind's published default)
#   NODE_IMAGE, RUNTIME_IMAGE   the Dockerfiles' base images (empty: theirs)
#   LOAD_IMAGES     other images to load into the cluster (space-separated)
#   DOCKERD_STARTED 1 when this script started the Docker daemon
# E2E_KIND_IMAGES chooses where images come from: "published" (a registry is
# reachable), "local" (built here from package registries only) or "auto"
# (the default: published when Docker Hub answers within 5 s).
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

dockerd_started=0
if ! docker info >/dev/null 2>&1; then
	bash "$repo/scripts/dockerd.sh" start
	dockerd_started=1
fi

mode="${E2E_KIND_IMAGES:-auto}"
if [[ "$mode" == auto ]]; then
	# Docker Hub's API answers 401 to anonymous requests when it is reachable.
	status="$(curl -s -m 5 -o /dev/null -w '%{http_code}' https://registry-1.docker.io/v2/ || true)"
	if [[ "$status" == 401 || "$status" == 200 ]]; then mode=published; else mode=local; fi
fi
[[ "$mode" == local || "$mode" == published ]] || die "E2E_KIND_IMAGES must be local, published or auto (got $mode)"
log "images: $mode"

# kind itself: the one on PATH at the pinned version, else built from the Go proxy.
path_dir="$kind_bin/path"
mkdir -p "$path_dir"
if [[ "$(kind version 2>/dev/null || true)" == "kind $KIND_VERSION "* ]]; then
	ln -sfn "$(command -v kind)" "$path_dir/kind"
else
	go_install "kind-$KIND_VERSION" "sigs.k8s.io/kind@$KIND_VERSION"
	ln -sfn "$kind_bin/kind-$KIND_VERSION" "$path_dir/kind"
fi

# Bit 24 of the bounding set is CAP_SYS_RESOURCE, which --privileged asks for.
capbnd="$(sed -n 's/^CapBnd:\s*//p' /proc/self/status)"
rm -f "$path_dir/docker"
if (((0x$capbnd >> 24 & 1) == 0)); then
	log "the host cannot grant CAP_SYS_RESOURCE: kind's nodes start without --privileged"
	cat >"$path_dir/docker" <<-SHIM
		#!/usr/bin/env bash
		VIEWPORT_REAL_DOCKER="$(command -v docker)" exec bash "$kind_dir/docker-shim.sh" "\$@"
	SHIM
	chmod +x "$path_dir/docker"
fi

kind_config="$kind_dir/kind.yaml" node_image="" node_base="" runtime_base="" load_images=""
if [[ "$mode" == local ]]; then
	base="$(bash "$kind_dir/base-images.sh")"
	debian_image="$(sed -n 's/^DEBIAN_IMAGE=//p' <<<"$base")"
	runtime_base="$(sed -n 's/^RUNTIME_IMAGE=//p' <<<"$base")"
	node_base="$(sed -n 's/^NODE_IMAGE=//p' <<<"$base")"
	load_images="$(sed -n 's/^LOAD_IMAGES=//p' <<<"$base")"
	node_image="$(DEBIAN_IMAGE="$debian_image" bash "$kind_dir/node-image.sh" | tail -n 1)"
	kind_config="$kind_dir/kind-local.yaml"
fi

printf '%s=%s\n' KIND_PATH "$path_dir" KIND_CONFIG "$kind_config" KIND_NODE_IMAGE "$node_image" \
	NODE_IMAGE "$node_base" RUNTIME_IMAGE "$runtime_base" LOAD_IMAGES "$load_images" \
	DOCKERD_STARTED "$dockerd_started"
