#!/usr/bin/env bash
# Builds Stakater Reloader, the peer `npm run bench -- --peers reloader` measures Rotor against,
# from the Go module github.com/stakater/Reloader through the module proxy, with this machine's Go.
#
# How: a scratch module that requires github.com/stakater/Reloader at ROTOR_RELOADER_VERSION and
# copies that version's own `replace` block (replace directives apply only in the main module, so
# building it as a dependency needs them restated), then `go build github.com/stakater/Reloader`.
#
# One replacement of our own: Reloader pins github.com/openshift/api at a pseudo-version the proxy
# refuses to serve. We replace it with github.com/openshift/api v3.9.0+incompatible, which the proxy
# serves and which has the same apps/v1 package. Reloader uses that module only for OpenShift
# DeploymentConfig support (--is-openshift / auto-detected on OpenShift clusters), which the bench's
# plain Kubernetes control plane never enables: Deployments, DaemonSets, StatefulSets, CronJobs,
# Jobs and Argo Rollouts are unaffected. Do not use a binary built this way on OpenShift.
#
# The result lands in a cache directory outside the repository, keyed by version, and is reused
# when present, so only the first run on a machine pays for the build (~9 min on 2 idle cores, 35 min
# on a loaded one; a ~50 MB stripped binary).
#
#   ROTOR_CACHE              cache root (default: $XDG_CACHE_HOME/rotor or ~/.cache/rotor)
#   ROTOR_RELOADER_VERSION   github.com/stakater/Reloader version (default below)
#   ROTOR_RELOADER_BIN       a prebuilt Reloader binary to use instead of building one
#
# Prints, as its last stdout line, a directory holding `reloader` (the binary); progress goes to
# stderr.
set -euo pipefail

RELOADER_VERSION="${ROTOR_RELOADER_VERSION:-v1.4.22}"
OPENSHIFT_API_REPLACEMENT="github.com/openshift/api v3.9.0+incompatible"
CACHE_ROOT="${ROTOR_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/rotor}"
if [[ -n "${ROTOR_RELOADER_BIN:-}" ]]; then
  [[ -x "$ROTOR_RELOADER_BIN" ]] || { printf '[reloader] ROTOR_RELOADER_BIN=%s is not an executable file\n' "$ROTOR_RELOADER_BIN" >&2; exit 1; }
  # Keyed by the binary, so two prebuilt binaries never share a directory.
  OUT="$CACHE_ROOT/reloader/prebuilt-$(printf '%s' "$ROTOR_RELOADER_BIN" | sha256sum | cut -c1-12)"
else
  OUT="$CACHE_ROOT/reloader/${RELOADER_VERSION}"
fi

say() { printf '[reloader] %s\n' "$*" >&2; }
ready() { [[ -x "$OUT/reloader" ]]; }

if ready; then
  say "reusing $OUT"
  echo "$OUT"
  exit 0
fi

mkdir -p "$(dirname "$OUT")"
# One build at a time per cache directory: concurrent runs wait instead of racing.
exec 9>"$OUT.lock"
flock 9
if ready; then
  say "reusing $OUT (built by a concurrent run)"
  echo "$OUT"
  exit 0
fi

STAGE="$OUT.partial"
rm -rf "$STAGE"
mkdir -p "$STAGE"

if [[ -n "${ROTOR_RELOADER_BIN:-}" ]]; then
  ln -s "$(realpath "$ROTOR_RELOADER_BIN")" "$STAGE/reloader"
else
  command -v go >/dev/null || { say "Go is required to build Stakater Reloader (or set ROTOR_RELOADER_BIN)"; exit 1; }
  start=$(date +%s)
  WORK="$CACHE_ROOT/reloader/build-${RELOADER_VERSION}"
  rm -rf "$WORK"
  mkdir -p "$WORK"
  say "downloading github.com/stakater/Reloader@$RELOADER_VERSION"
  src=$(cd "$WORK" && GOFLAGS=-mod=mod go mod download -json "github.com/stakater/Reloader@$RELOADER_VERSION" |
    sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
  [[ -n "$src" && -f "$src/go.mod" ]] || { say "could not download github.com/stakater/Reloader@$RELOADER_VERSION"; exit 1; }
  go_version=$(sed -n 's/^go \([0-9.]*\)$/\1/p' "$src/go.mod")
  {
    printf 'module rotor.local/reloader-build\n\ngo %s\n\n' "${go_version:-1.26}"
    printf 'require github.com/stakater/Reloader %s\n\n' "$RELOADER_VERSION"
    # Reloader's own replace block (one `replace (` … `)` block or single `replace` lines).
    sed -n '/^replace (/,/^)/p; /^replace [^(]/p' "$src/go.mod"
    printf '\n// The pinned pseudo-version is not served by the proxy; only DeploymentConfig support uses it.\n'
    printf 'replace github.com/openshift/api => %s\n' "$OPENSHIFT_API_REPLACEMENT"
  } >"$WORK/go.mod"
  # A build-tagged import keeps the requirement through `go mod tidy` (the tools.go pattern).
  printf '//go:build tools\n\npackage tools\n\nimport _ "github.com/stakater/Reloader"\n' >"$WORK/tools.go"
  say "resolving dependencies (go mod tidy)"
  (cd "$WORK" && GOFLAGS=-mod=mod go mod tidy)
  say "building the controller (the slow part: ~9 min on 2 idle cores, 35 min on a loaded one; ~50 MB binary)"
  (cd "$WORK" && GOFLAGS=-mod=mod CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$STAGE/reloader" github.com/stakater/Reloader)
  rm -rf "$WORK"
  say "built in $(($(date +%s) - start))s"
fi

rm -rf "$OUT"
mv "$STAGE" "$OUT"
say "ready: $OUT"
echo "$OUT"
