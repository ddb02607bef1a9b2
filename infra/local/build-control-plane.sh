#!/usr/bin/env bash
# Builds the local control plane Rotor's tests, demo and benchmark run against:
# kube-apiserver, kube-controller-manager, kube-scheduler and kubelet (the real node) from the Go
# module k8s.io/kubernetes, in one module so they share one Go build cache,
# and etcd from go.etcd.io/etcd/server/v3, with this machine's Go through the module proxy.
#
# The binaries land in a cache directory outside the repository, keyed by version, and are
# reused when present, so only the first run on a machine pays for the build (~10-20 min on 2 cores).
#
#   ROTOR_CACHE        cache root (default: $XDG_CACHE_HOME/rotor or ~/.cache/rotor)
#   ROTOR_KUBE_VERSION k8s.io/kubernetes version (default below)
#   ROTOR_ETCD_VERSION go.etcd.io/etcd/server/v3 version (default below)
#
# Prints the directory holding the three binaries as its last stdout line; progress goes to stderr.
set -euo pipefail

KUBE_VERSION="${ROTOR_KUBE_VERSION:-v1.37.2}"
ETCD_VERSION="${ROTOR_ETCD_VERSION:-v3.6.16}"
CACHE_ROOT="${ROTOR_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/rotor}"
OUT="$CACHE_ROOT/control-plane/kube-${KUBE_VERSION}_etcd-${ETCD_VERSION}"

say() { printf '[control-plane] %s\n' "$*" >&2; }

KUBE_BINARIES=(kube-apiserver kube-controller-manager kube-scheduler kubelet)
kube_ready() { local b; for b in "${KUBE_BINARIES[@]}"; do [[ -x "$OUT/$b" ]] || return 1; done; }
if kube_ready && [[ -x "$OUT/etcd" ]]; then
  say "reusing $OUT"
  echo "$OUT"
  exit 0
fi

command -v go >/dev/null || { say "Go is required to build the control plane (or set KUBEBUILDER_ASSETS)"; exit 1; }
mkdir -p "$OUT"
# One build at a time per cache directory: concurrent test runs wait instead of racing.
exec 9>"$OUT.lock"
flock 9
if kube_ready && [[ -x "$OUT/etcd" ]]; then
  say "reusing $OUT (built by a concurrent run)"
  echo "$OUT"
  exit 0
fi

WORK="$CACHE_ROOT/control-plane/build-${KUBE_VERSION}_etcd-${ETCD_VERSION}"
mkdir -p "$WORK/kube" "$WORK/etcd"
export GOFLAGS="${GOFLAGS:--mod=mod}"
export CGO_ENABLED=0

build_kube() {
  cd "$WORK/kube"
  say "resolving k8s.io/kubernetes@$KUBE_VERSION"
  local gomod
  gomod=$(go mod download -json "k8s.io/kubernetes@$KUBE_VERSION" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",$/\1/p')
  [[ -n "$gomod" ]] || { say "could not download k8s.io/kubernetes@$KUBE_VERSION"; exit 1; }
  # k8s.io/kubernetes points its staging modules at ./staging; outside its repository they
  # must be pinned to the matching published v0.x.y tags.
  local staging_version="v0.${KUBE_VERSION#v1.}"
  {
    echo "module rotor.local/controlplane"
    echo
    sed -n 's/^go \(.*\)/go \1/p' "$gomod" | head -1
    echo
    echo "require k8s.io/kubernetes $KUBE_VERSION"
    echo
    echo "replace ("
    sed -n 's#^[[:space:]]*\(k8s.io/[a-z0-9-]*\) => ./staging/src/.*#\t\1 => \1 '"$staging_version"'#p' "$gomod"
    echo ")"
  } > go.mod
  cat > tools.go <<'GO'
//go:build tools

package controlplane

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
	_ "k8s.io/kubernetes/cmd/kubelet"
)
GO
  say "resolving dependencies of ${KUBE_BINARIES[*]}"
  go mod tidy -e >&2 2>"$WORK/kube/tidy.log" || { cat "$WORK/kube/tidy.log" >&2; exit 1; }
  local b
  for b in "${KUBE_BINARIES[@]}"; do
    [[ -x "$OUT/$b" ]] && continue
    # kube-apiserver first is the slow part; the others reuse most of its build cache.
    say "building $b ($(date +%H:%M:%S); kube-apiserver takes several minutes on 2 cores)"
    go build -trimpath -ldflags "-s -w -X k8s.io/component-base/version.gitVersion=$KUBE_VERSION" \
      -o "$OUT/$b" "k8s.io/kubernetes/cmd/$b"
  done
}

build_etcd() {
  cd "$WORK/etcd"
  say "building etcd $ETCD_VERSION"
  cat > go.mod <<GOMOD
module rotor.local/etcd

go 1.24
GOMOD
  cat > tools.go <<'GO'
//go:build tools

package etcd

import _ "go.etcd.io/etcd/server/v3"
GO
  go get "go.etcd.io/etcd/server/v3@$ETCD_VERSION" >&2
  go mod tidy -e >&2 2>"$WORK/etcd/tidy.log" || { cat "$WORK/etcd/tidy.log" >&2; exit 1; }
  # go.etcd.io/etcd/server/v3 is itself a main package (etcdmain) at its module root.
  go build -trimpath -ldflags "-s -w" -o "$OUT/etcd" go.etcd.io/etcd/server/v3
}

start=$(date +%s)
[[ -x "$OUT/etcd" ]] || build_etcd
kube_ready || build_kube
say "built in $(( $(date +%s) - start ))s into $OUT"
echo "$OUT"
