#!/usr/bin/env bash
# Builds the Secrets Store CSI stack Rotor's real-node e2e tests run as host processes:
#   secrets-store-csi-driver               sigs.k8s.io/secrets-store-csi-driver (the real driver)
#   secrets-store-csi-driver-provider-gcp  github.com/GoogleCloudPlatform/secrets-store-csi-driver-provider-gcp
#   csi-registrar                          infra/local/csi-registrar (stand-in for node-driver-registrar)
# and copies the driver module's own CRDs (SecretProviderClass, SecretProviderClassPodStatus).
#
# Two pieces the module proxy refuses are replaced by small modules in this repository:
#   monis.app/mlog (403 from the proxy; the driver imports six of its names): infra/local/mlog-shim,
#     wired in with a `replace` in a copy of the driver's go.mod, so the driver builds unmodified;
#   node-driver-registrar (refused): infra/local/csi-registrar, the kubelet's plugin registration.
# The driver's and the provider's exact versions must be asked for: the proxy refuses their version
# lists (and refuses provider v1.8.0 and v1.9.0).
#
# The three builds run one after the other with the same Go build cache, so packages they share
# (gRPC, protobuf, klog, ...) compile once. The result lands in a cache directory outside the
# repository, keyed by the versions and by the stand-ins' sources, and is reused when present
# (cold: ~11 min on 2 cores). Each build's time is written to build-times.txt in it.
#
#   ROTOR_CACHE                cache root (default: $XDG_CACHE_HOME/rotor or ~/.cache/rotor)
#   ROTOR_CSI_DRIVER_VERSION   sigs.k8s.io/secrets-store-csi-driver version (default below)
#   ROTOR_CSI_PROVIDER_VERSION github.com/GoogleCloudPlatform/secrets-store-csi-driver-provider-gcp version
#
# Prints, as its last stdout line, the directory holding the three binaries and `crds/`; progress
# goes to stderr.
set -euo pipefail

DRIVER_MODULE=sigs.k8s.io/secrets-store-csi-driver
PROVIDER_MODULE=github.com/GoogleCloudPlatform/secrets-store-csi-driver-provider-gcp
DRIVER_VERSION="${ROTOR_CSI_DRIVER_VERSION:-v1.5.4}"
PROVIDER_VERSION="${ROTOR_CSI_PROVIDER_VERSION:-v1.7.0}"
CACHE_ROOT="${ROTOR_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/rotor}"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
SHIM="$HERE/mlog-shim"
REGISTRAR="$HERE/csi-registrar"
# A change to either stand-in gives a new directory instead of a stale binary.
STANDINS=$(cat "$SHIM"/go.mod "$SHIM"/*.go "$REGISTRAR"/go.mod "$REGISTRAR"/go.sum "$REGISTRAR"/*.go | sha256sum | cut -c1-12)
OUT="$CACHE_ROOT/csi/driver-${DRIVER_VERSION}_provider-${PROVIDER_VERSION}_standins-${STANDINS}"

say() { printf '[csi] %s\n' "$*" >&2; }
ready() {
  [[ -x "$OUT/secrets-store-csi-driver" && -x "$OUT/secrets-store-csi-driver-provider-gcp" && -x "$OUT/csi-registrar" &&
    -f "$OUT/crds/secrets-store.csi.x-k8s.io_secretproviderclasses.yaml" &&
    -f "$OUT/crds/secrets-store.csi.x-k8s.io_secretproviderclasspodstatuses.yaml" ]]
}

if ready; then
  say "reusing $OUT"
  echo "$OUT"
  exit 0
fi

command -v go >/dev/null || { say "Go is required to build the Secrets Store CSI driver and its GCP provider"; exit 1; }
mkdir -p "$CACHE_ROOT/csi"
# One build at a time per cache directory: concurrent test runs wait instead of racing.
exec 9>"$OUT.lock"
flock 9
if ready; then
  say "reusing $OUT (built by a concurrent run)"
  echo "$OUT"
  exit 0
fi

# Prints the module's directory in the module cache (downloading it first).
download() {
  local dir
  dir=$(cd "$CACHE_ROOT/csi" && GOFLAGS=-mod=mod go mod download -json "$1@$2" |
    sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
  [[ -n "$dir" && -f "$dir/go.mod" ]] || { say "could not download $1@$2"; exit 1; }
  echo "$dir"
}

# Builds package $3 of a writable copy of module dir $1 into $STAGE/$2 and records the time.
# The copy is the main module, so its own replace directives apply; $4 (optional) runs in it first.
build() {
  local src="$1" name="$2" pkg="$3" prepare="${4:-}" work="$CACHE_ROOT/csi/build-$2" t0
  t0=$(date +%s)
  rm -rf "$work"
  cp -r "$src" "$work"
  chmod -R u+w "$work"
  [[ -z "$prepare" ]] || (cd "$work" && "$prepare")
  (cd "$work" && GOFLAGS=-mod=mod CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$STAGE/$name" "$pkg")
  rm -rf "$work"
  printf '%s %ss\n' "$name" "$(($(date +%s) - t0))" >>"$STAGE/build-times.txt"
  say "$name built in $(($(date +%s) - t0))s"
}

# In the driver's copy: monis.app/mlog comes from the shim, copied next to it.
use_mlog_shim() {
  cp -r "$SHIM" ./rotor-mlog-shim
  go mod edit -replace monis.app/mlog=./rotor-mlog-shim
}

start=$(date +%s)
STAGE="$OUT.partial"
rm -rf "$STAGE"
mkdir -p "$STAGE/crds"

say "downloading $DRIVER_MODULE@$DRIVER_VERSION and $PROVIDER_MODULE@$PROVIDER_VERSION"
driver_src=$(download "$DRIVER_MODULE" "$DRIVER_VERSION")
provider_src=$(download "$PROVIDER_MODULE" "$PROVIDER_VERSION")
cp "$driver_src"/config/crd/bases/secrets-store.csi.x-k8s.io_*.yaml "$STAGE/crds/"

say "building the registration stand-in (infra/local/csi-registrar)"
build "$REGISTRAR" csi-registrar .
say "building the driver $DRIVER_VERSION with the mlog stand-in (several minutes on 2 cores)"
build "$driver_src" secrets-store-csi-driver ./cmd/secrets-store-csi-driver use_mlog_shim
say "building the GCP provider $PROVIDER_VERSION (several minutes on 2 cores)"
build "$provider_src" secrets-store-csi-driver-provider-gcp .

rm -rf "$OUT"
mv "$STAGE" "$OUT"
say "ready in $(($(date +%s) - start))s: $OUT"
echo "$OUT"
