#!/usr/bin/env bash
# Builds a kind node image for Kubernetes $K8S_VERSION from package registries
# only and prints its tag: Debian's systemd, containerd, runc and CNI plugins;
# kubelet, kubeadm and kube-proxy built from the Go module proxy through the
# API-server tier's wrapper module (which also provides kube-apiserver,
# kube-controller-manager, kube-scheduler, etcd and kubectl); crictl, CoreDNS
# and a pause binary built from the Go proxy too. Reused while its tag (the
# versions and a hash of the files it is made of) is in the daemon.
#   DEBIAN_IMAGE  the Debian base (from base-images.sh)
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
: "${DEBIAN_IMAGE:?DEBIAN_IMAGE must name the Debian base image (e2e/kind/base-images.sh)}"

files_hash="$(cd "$kind_dir" && cat node-image.sh versions.env "$repo/e2e/toolchain/k8s-ldflags.sh" node/Dockerfile images/pause/main.go \
	"$repo/e2e/toolchain/versions.env" && find node/files -type f | sort | xargs cat)"
files_hash="$(sha256sum <<<"$files_hash" | cut -c1-12)"
node_image="$image_prefix/kind-node:$K8S_VERSION-$files_hash"
if have_image "$node_image"; then
	echo "$node_image"
	exit 0
fi

k8s_ldflags="$(bash "$repo/e2e/toolchain/k8s-ldflags.sh")"

build_binaries() {
	# The API-server tier's binaries; its build script runs only if one is missing.
	toolchain="${VIEWPORT_K8S_TOOLCHAIN:-$HOME/.cache/viewport-relay/k8s-$K8S_VERSION-$ETCD_VERSION-$KWOK_VERSION}/bin"
	local name
	for name in etcd kube-apiserver kube-controller-manager kube-scheduler; do
		[[ -x "$toolchain/$name" ]] || toolchain="$(bash "$repo/e2e/toolchain/build.sh" | tail -n 1)"
	done
	kubectl_bin="$(bash "$repo/packaging/tools.sh")/kubectl"
	for name in kubelet kubeadm kube-proxy; do
		go_build "$name-$K8S_VERSION" "$repo/e2e/toolchain/kubernetes" "k8s.io/kubernetes/cmd/$name" "$k8s_ldflags"
	done
	go_install "crictl-$CRICTL_VERSION" "sigs.k8s.io/cri-tools/cmd/crictl@$CRICTL_VERSION"
	go_install "coredns-$COREDNS_VERSION" "github.com/coredns/coredns@$COREDNS_VERSION"
	go_build pause "$kind_dir/images/pause" . "-s -w"
}

# component_image TAG BINARY [BASE]: one static binary on PATH, as its entry point.
component_image() {
	local tag="$1" binary="$2" base="${3:-scratch}" ctx name
	name="$(basename "$binary")"
	name="${name%-v*}"
	ctx="$(mktemp -d)"
	cp "$binary" "$ctx/$name"
	docker build -q -t "$tag" -f - "$ctx" >/dev/null <<-DOCKERFILE
		FROM $base
		ENV PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin
		COPY $name /usr/local/bin/$name
		ENTRYPOINT ["/usr/local/bin/$name"]
	DOCKERFILE
	rm -rf "$ctx"
}

build_component_images() {
	local r=registry.k8s.io name
	for name in kube-apiserver kube-controller-manager kube-scheduler; do
		component_image "$r/$name:$K8S_VERSION" "$toolchain/$name"
	done
	# kube-proxy programs iptables and conntrack: it needs their binaries.
	local proxy_base="$image_prefix/kube-proxy-base:$DEBIAN_SUITE"
	have_image "$proxy_base" || docker build -q -t "$proxy_base" - >/dev/null <<-DOCKERFILE
		FROM $DEBIAN_IMAGE
		RUN apt-get update -qq && apt-get install -y -qq --no-install-recommends iptables conntrack >/dev/null \
		 && rm -rf /var/lib/apt/lists/*
	DOCKERFILE
	component_image "$r/kube-proxy:$K8S_VERSION" "$kind_bin/kube-proxy-$K8S_VERSION" "$proxy_base"
	# The tag kubeadm asks for; the binary is the API-server tier's pinned etcd.
	component_image "$r/etcd:$ETCD_IMAGE_TAG" "$toolchain/etcd"
	component_image "$r/coredns/coredns:$COREDNS_IMAGE_TAG" "$kind_bin/coredns-$COREDNS_VERSION"
	component_image "$r/pause:$PAUSE_IMAGE_TAG" "$kind_bin/pause"
	component_images=("$r/kube-apiserver:$K8S_VERSION" "$r/kube-controller-manager:$K8S_VERSION"
		"$r/kube-scheduler:$K8S_VERSION" "$r/kube-proxy:$K8S_VERSION" "$r/etcd:$ETCD_IMAGE_TAG"
		"$r/coredns/coredns:$COREDNS_IMAGE_TAG" "$r/pause:$PAUSE_IMAGE_TAG")
}

build_node_image() {
	local ctx kind_module
	ctx="$(mktemp -d)"
	kind_module="$(cd "$kind_dir/images/pause" && go mod download -json "sigs.k8s.io/kind@$KIND_VERSION" | jq -r .Dir)"
	[[ -d "$kind_module/images/base/files" ]] || die "sigs.k8s.io/kind@$KIND_VERSION has no images/base/files"
	cp -r "$kind_module/images/base/files" "$ctx/kind-files"
	chmod -R u+w "$ctx/kind-files"
	cp -r "$kind_dir/node/files" "$ctx/node-files"
	mkdir "$ctx/bin"
	cp "$kind_bin/kubelet-$K8S_VERSION" "$ctx/bin/kubelet"
	cp "$kind_bin/kubeadm-$K8S_VERSION" "$ctx/bin/kubeadm"
	cp "$kind_bin/crictl-$CRICTL_VERSION" "$ctx/bin/crictl"
	cp -L "$kubectl_bin" "$ctx/bin/kubectl"
	docker save -o "$ctx/images.tar" "${component_images[@]}"
	log "building the node image $node_image"
	docker build -q -f "$kind_dir/node/Dockerfile" --build-arg "DEBIAN_IMAGE=$DEBIAN_IMAGE" \
		--build-arg "K8S_VERSION=$K8S_VERSION" -t "$node_image" "$ctx" >/dev/null
	rm -rf "$ctx"
}

build_binaries
build_component_images
build_node_image
echo "$node_image"
