#!/usr/bin/env bash
# Builds the External Secrets Operator controller Rotor's e2e tests and benchmark run against,
# from the Go module github.com/external-secrets/external-secrets through the module proxy, with
# this machine's Go, and extracts the CRDs of the same module version next to it.
#
# Why v0.16.2 and not the newest version the proxy serves (v1.x): from v1 on, the root module's
# go.mod replaces its providers, generators, apis and runtime with nested modules (./providers/v1/…
# at v0.0.0), and nested modules are left out of a module's zip, so v1.x cannot be built from the
# proxy at all. v0.16.2 is the newest version that builds from it (with Go 1.26: yes).
#
# Only the GCP Secret Manager provider is compiled in: the controller registers its providers and
# generators through two import lists (pkg/provider/register, pkg/generator/register), and the build
# copy's lists are cut to the one provider Rotor's tests use (`gcpsm`), with no generators. The
# controllers, the reconcile loop and the GCP provider are ESO's own, unmodified; what is left out is
# only the other clouds' SDKs, which were most of the cold build (ESO v1 selects providers with
# build tags for the same reason). A store naming another provider fails as "no provider registered".
#
# The result lands in a cache directory outside the repository, keyed by version, and is reused
# when present, so only the first run on a machine pays for the build (~4-8 min on 2 cores).
#
#   ROTOR_CACHE        cache root (default: $XDG_CACHE_HOME/rotor or ~/.cache/rotor)
#   ROTOR_ESO_VERSION  github.com/external-secrets/external-secrets version (default below)
#   ROTOR_ESO_BIN      a prebuilt controller binary to use instead of building one (it must be
#                      ROTOR_ESO_VERSION: the CRDs still come from that module version)
#
# Prints, as its last stdout line, a directory holding `external-secrets` (the binary) and `crds/`
# (the module's config/crds/bases); progress goes to stderr.
set -euo pipefail

ESO_VERSION="${ROTOR_ESO_VERSION:-v0.16.2}"
CACHE_ROOT="${ROTOR_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/rotor}"
if [[ -n "${ROTOR_ESO_BIN:-}" ]]; then
  [[ -x "$ROTOR_ESO_BIN" ]] || { printf '[eso] ROTOR_ESO_BIN=%s is not an executable file\n' "$ROTOR_ESO_BIN" >&2; exit 1; }
  # Keyed by the binary too, so two prebuilt binaries never share a directory.
  OUT="$CACHE_ROOT/eso/prebuilt-${ESO_VERSION}-$(printf '%s' "$ROTOR_ESO_BIN" | sha256sum | cut -c1-12)"
else
  OUT="$CACHE_ROOT/eso/${ESO_VERSION}-gcpsm"
fi

say() { printf '[eso] %s\n' "$*" >&2; }
ready() { [[ -x "$OUT/external-secrets" && -f "$OUT/crds/external-secrets.io_externalsecrets.yaml" ]]; }

if ready; then
  say "reusing $OUT"
  echo "$OUT"
  exit 0
fi

command -v go >/dev/null || { say "Go is required to build the External Secrets Operator (or set ROTOR_ESO_BIN and have Go fetch its CRDs)"; exit 1; }
mkdir -p "$(dirname "$OUT")"
# One build at a time per cache directory: concurrent test runs wait instead of racing.
exec 9>"$OUT.lock"
flock 9
if ready; then
  say "reusing $OUT (built by a concurrent run)"
  echo "$OUT"
  exit 0
fi

# Rewrites the build copy's provider and generator import lists (see the header).
register_only_gcp_secret_manager() {
  local src_root="$1" list
  list="$src_root/pkg/provider/register/register.go"
  grep -q '"github.com/external-secrets/external-secrets/pkg/provider/gcp/secretmanager"' "$list" ||
    { say "unexpected $list: the GCP provider is not registered there"; exit 1; }
  printf '%s\n' 'package register' '' \
    'import _ "github.com/external-secrets/external-secrets/pkg/provider/gcp/secretmanager"' > "$list"
  list="$src_root/pkg/generator/register/register.go"
  [[ -f "$list" ]] && printf '%s\n' 'package register' > "$list"
  say "compiling in only the GCP Secret Manager provider (no other clouds' SDKs, no generators)"
}

start=$(date +%s)
say "downloading github.com/external-secrets/external-secrets@$ESO_VERSION"
src=$(cd "$(dirname "$OUT")" && GOFLAGS=-mod=mod go mod download -json "github.com/external-secrets/external-secrets@$ESO_VERSION" |
  sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
[[ -n "$src" && -f "$src/go.mod" ]] || { say "could not download github.com/external-secrets/external-secrets@$ESO_VERSION"; exit 1; }

STAGE="$OUT.partial"
rm -rf "$STAGE"
mkdir -p "$STAGE/crds"
cp "$src"/config/crds/bases/*.yaml "$STAGE/crds/"
rm -f "$STAGE/crds/kustomization.yaml"

if [[ -n "${ROTOR_ESO_BIN:-}" ]]; then
  ln -s "$(realpath "$ROTOR_ESO_BIN")" "$STAGE/external-secrets"
else
  # The module cache is read-only and -mod=mod may need to touch go.mod/go.sum: build a copy, as
  # the main module, so its own replace directive (a sprig fork) applies.
  WORK="$CACHE_ROOT/eso/build-${ESO_VERSION}"
  rm -rf "$WORK"
  cp -r "$src" "$WORK"
  chmod -R u+w "$WORK"
  register_only_gcp_secret_manager "$WORK"
  say "building the controller (the slow part: several minutes on 2 cores, ~220 MB binary)"
  (cd "$WORK" && GOFLAGS=-mod=mod CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$STAGE/external-secrets" .)
  rm -rf "$WORK"
fi

rm -rf "$OUT"
mv "$STAGE" "$OUT"
say "ready in $(($(date +%s) - start))s: $OUT"
echo "$OUT"
