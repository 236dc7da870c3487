#!/usr/bin/env bash
# Prints the -ldflags for Kubernetes binaries built at K8S_VERSION (from
# versions.env): Kubernetes reads its version from ldflags; without them
# binaries report v0.0.0-master, which clients treat as a very old server.
# Used by build.sh and by the kind tier's node image (e2e/kind/node-image.sh).
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=versions.env
source "$(dirname "${BASH_SOURCE[0]}")/versions.env"
minor="${K8S_VERSION#v1.}"
minor="${minor%%.*}"
flags="-s -w"
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
	flags+=" -X $pkg.gitVersion=$K8S_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor -X $pkg.gitTreeState=clean"
done
echo "$flags"
