// Wrapper module: pins the kwok release whose controller fakes Nodes and Pods.
module viewport.local/toolchain/kwok

go 1.24.0

require sigs.k8s.io/kwok v0.7.0
