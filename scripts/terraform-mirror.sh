#!/usr/bin/env bash
# Builds (or reuses) everything `terraform validate` needs on a machine that cannot reach the
# Terraform registry: the hashicorp/google provider, compiled from its Go module through the Go
# module proxy into a Terraform filesystem mirror, and Terraform itself when the machine has none.
#
# Everything lands outside the repository, keyed by version, and is reused when present: only the
# first run on a machine pays for the provider build (the largest Go program in the Terraform
# ecosystem: tens of minutes and several GiB of RAM on 2 cores).
#
#   ROTOR_CACHE                         cache root (default: $XDG_CACHE_HOME/rotor or ~/.cache/rotor)
#   ROTOR_GOOGLE_PROVIDER_VERSION       provider version Terraform sees (default below)
#   ROTOR_GOOGLE_PROVIDER_MODULE        Go module version of that provider release (default below)
#   ROTOR_TERRAFORM_VERSION             Terraform to build when none is on PATH (default below)
#   ROTOR_GO_PARALLEL                   go build -p (default: 2, or 1 when under 12 GiB is free)
#
# Layout under $ROTOR_CACHE/terraform:
#   mirror/registry.terraform.io/hashicorp/google/VERSION/linux_amd64/terraform-provider-google_vVERSION
#   bin/terraform        the Terraform the tests should run (symlink: PATH's, or the one built here)
#   terraformrc          CLI config: provider_installation { filesystem_mirror {...} } with direct excluded
#
# Prints the CLI config's path as its LAST stdout line (scripts/test.mjs passes it to the tests as
# ROTOR_TF_CLI_CONFIG); progress goes to stderr.
set -euo pipefail

# The provider repository tags releases as v8.x.y without a /v8 module path, so the Go module proxy
# only serves its commits as v1 pseudo-versions: this one is the 8.0.0 release (CHANGELOG.md heads
# with "8.0.0 (August 26, 2026)"); its go.mod asks for go 1.26.0.
PROVIDER_VERSION="${ROTOR_GOOGLE_PROVIDER_VERSION:-8.0.0}"
PROVIDER_MODULE="${ROTOR_GOOGLE_PROVIDER_MODULE:-v1.20.1-0.20260828184646-f3721fb45fa3}"
TERRAFORM_VERSION="${ROTOR_TERRAFORM_VERSION:-v1.11.4}"
CACHE_ROOT="${ROTOR_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/rotor}"
TF_CACHE="$CACHE_ROOT/terraform"
MIRROR="$TF_CACHE/mirror"

goos="$(uname -s | tr '[:upper:]' '[:lower:]')"
case "$(uname -m)" in
  x86_64 | amd64) goarch=amd64 ;;
  aarch64 | arm64) goarch=arm64 ;;
  *) goarch="$(uname -m)" ;;
esac
PLATFORM="${goos}_${goarch}"
PROVIDER_DIR="$MIRROR/registry.terraform.io/hashicorp/google/$PROVIDER_VERSION/$PLATFORM"
PROVIDER_BIN="$PROVIDER_DIR/terraform-provider-google_v$PROVIDER_VERSION"
# The stamp records which module version produced the binary, so changing the pin rebuilds.
PROVIDER_STAMP="$TF_CACHE/stamps/google-$PROVIDER_VERSION-$PLATFORM"

say() { printf '[terraform-mirror] %s\n' "$*" >&2; }

# No version check-ins with HashiCorp from a machine that may be offline.
export CHECKPOINT_DISABLE=1

mkdir -p "$TF_CACHE/stamps" "$TF_CACHE/bin" "$TF_CACHE/logs"
# One build at a time per cache: concurrent test runs wait for the first instead of racing it.
exec 9>"$TF_CACHE/.lock"
if command -v flock >/dev/null; then
  flock 9
fi

go_parallel() {
  if [[ -n "${ROTOR_GO_PARALLEL:-}" ]]; then
    echo "$ROTOR_GO_PARALLEL"
    return
  fi
  # The provider's biggest packages need several GiB each to compile; two at once on a machine
  # that is also building Kubernetes can exhaust memory, so go sequential when memory is short.
  local avail_kb
  avail_kb="$(awk '/^MemAvailable:/ {print $2}' /proc/meminfo 2>/dev/null || echo 0)"
  if ((avail_kb > 12 * 1024 * 1024)); then echo 2; else echo 1; fi
}

# Runs `go install` of MODULE@VERSION into DEST with a heartbeat on stderr: the provider build is
# silent for tens of minutes otherwise. Full `go -v` output goes to a log file in the cache.
# With a 5th argument, builds TARGET inside that module directory instead of `module@version`.
go_build_logged() {
  local what="$1" target="$2" dest="$3" ldflags="$4" moddir="${5:-}"
  local log="$TF_CACHE/logs/$what.log"
  local tmp
  tmp="$(mktemp -d "$TF_CACHE/build.XXXXXX")"
  local p
  p="$(go_parallel)"
  say "building $what ($target) with go build -p=$p; log: $log"
  local started=$SECONDS
  # GOFLAGS from the environment (e.g. -buildvcs=false) still apply; -mod=mod is not needed because
  # `go install module@version` builds from the module's own go.mod and go.sum.
  (
    if [[ -n "$moddir" ]]; then
      cd "$moddir"
      CGO_ENABLED=0 GOFLAGS="${GOFLAGS:-} -p=$p" \
        go build -v -trimpath -ldflags "$ldflags" -o "$tmp/$(basename "$dest")" "$target"
    else
      cd "$tmp"
      GOBIN="$tmp" CGO_ENABLED=0 GOFLAGS="${GOFLAGS:-} -p=$p" \
        go install -v -trimpath -ldflags "$ldflags" "$target"
    fi
  ) >"$log" 2>&1 &
  local pid=$!
  while kill -0 "$pid" 2>/dev/null; do
    sleep 30
    if kill -0 "$pid" 2>/dev/null; then
      say "… $what: $((SECONDS - started))s, $(wc -l <"$log") packages compiled, last: $(tail -n 1 "$log")"
    fi
  done
  if ! wait "$pid"; then
    say "building $what failed after $((SECONDS - started))s; last lines of $log:"
    tail -n 30 "$log" >&2
    rm -rf "$tmp"
    return 1
  fi
  local built
  built="$(find "$tmp" -maxdepth 1 -type f -perm -u+x | head -n 1)"
  [[ -n "$built" ]] || { say "go install produced no binary for $what"; rm -rf "$tmp"; return 1; }
  mkdir -p "$(dirname "$dest")"
  # Move into place atomically so an interrupted build never leaves a half-written binary behind.
  mv "$built" "$dest.partial"
  mv "$dest.partial" "$dest"
  rm -rf "$tmp"
  say "built $what in $((SECONDS - started))s ($(du -h "$dest" | cut -f1))"
}

# Terraform cannot be built with `go install github.com/hashicorp/terraform@VERSION`: its go.mod
# replaces its nested modules (internal/backend/remote-state/*, internal/legacy) with local
# directories, and a module zip leaves nested modules out. So build it from a small wrapper module
# that requires terraform at VERSION and pins each nested module to the proxy's pseudo-version of
# the same commit (the one whose timestamp is the release's).
build_terraform() {
  local work="$TF_CACHE/build-terraform-$TERRAFORM_VERSION"
  local json gomod time stamp
  rm -rf "$work"
  mkdir -p "$work"
  say "resolving github.com/hashicorp/terraform@$TERRAFORM_VERSION"
  json="$(cd "$work" && go mod download -json "github.com/hashicorp/terraform@$TERRAFORM_VERSION")"
  gomod="$(sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",$/\1/p' <<<"$json")"
  time="$(sed -n 's/.*"Time": *"\([^"]*\)".*/\1/p' "$(sed -n 's/^[[:space:]]*"Info": "\(.*\)",$/\1/p' <<<"$json")")"
  [[ -n "$gomod" && -n "$time" ]] || { say "could not download github.com/hashicorp/terraform@$TERRAFORM_VERSION"; return 1; }
  stamp="$(date -u -d "$time" +%Y%m%d%H%M%S)"
  local proxy
  proxy="$(go env GOPROXY)"
  proxy="${proxy%%[,|]*}"
  [[ "$proxy" == "off" || "$proxy" == "direct" || -z "$proxy" ]] && proxy="https://proxy.golang.org"
  {
    echo "module rotor.local/terraformbuild"
    echo
    sed -n 's/^go \(.*\)/go \1/p' "$gomod" | head -n 1
    echo
    echo "require github.com/hashicorp/terraform $TERRAFORM_VERSION"
    echo
    local nested version
    for nested in $(sed -n 's#^replace \(github.com/hashicorp/terraform/[^ ]*\) => \./.*#\1#p' "$gomod"); do
      version="$(curl -fsSL "$proxy/$nested/@v/list" | grep -- "-$stamp-" | head -n 1 || true)"
      [[ -n "$version" ]] || { say "the module proxy has no version of $nested at $stamp"; return 1; }
      echo "replace $nested => $nested $version"
    done
  } >"$work/go.mod"
  cat >"$work/tools.go" <<'GO'
//go:build tools

package terraformbuild

import _ "github.com/hashicorp/terraform"
GO
  say "resolving Terraform's dependencies"
  (cd "$work" && GOFLAGS=-mod=mod go mod tidy -e) >"$TF_CACHE/logs/terraform-$TERRAFORM_VERSION-tidy.log" 2>&1 ||
    { tail -n 20 "$TF_CACHE/logs/terraform-$TERRAFORM_VERSION-tidy.log" >&2; return 1; }
  # version.dev=no: a release build (without it Terraform calls itself "X.Y.Z-dev").
  go_build_logged "terraform-$TERRAFORM_VERSION" "github.com/hashicorp/terraform" "$terraform_bin" \
    "-s -w -X github.com/hashicorp/terraform/version.dev=no" "$work"
  rm -rf "$work"
}

# --- Terraform ------------------------------------------------------------------------------------
terraform_bin=""
if command -v terraform >/dev/null; then
  terraform_bin="$(command -v terraform)"
  # TF_CLI_CONFIG_FILE may name a file that does not exist yet; `version` would warn about it.
  say "using $terraform_bin ($(TF_CLI_CONFIG_FILE=/dev/null "$terraform_bin" version 2>/dev/null | head -n 1))"
else
  terraform_bin="$TF_CACHE/terraform-$TERRAFORM_VERSION/terraform"
  if [[ -x "$terraform_bin" ]]; then
    say "reusing $terraform_bin"
  else
    command -v go >/dev/null || { say "no terraform on PATH and no Go to build it"; exit 1; }
    build_terraform
  fi
fi
ln -sfn "$terraform_bin" "$TF_CACHE/bin/terraform"

# --- hashicorp/google provider --------------------------------------------------------------------
if [[ -x "$PROVIDER_BIN" && "$(cat "$PROVIDER_STAMP" 2>/dev/null)" == "$PROVIDER_MODULE" ]]; then
  say "reusing hashicorp/google $PROVIDER_VERSION in $PROVIDER_DIR"
else
  command -v go >/dev/null || { say "Go is required to build the hashicorp/google provider"; exit 1; }
  say "building hashicorp/google $PROVIDER_VERSION from github.com/hashicorp/terraform-provider-google@$PROVIDER_MODULE"
  say "this is a very large build (tens of minutes on 2 cores); it is cached for every later run"
  # Only the provider binary may live in the version directory: Terraform treats it as the package.
  rm -rf "$PROVIDER_DIR"
  go_build_logged "google-provider-$PROVIDER_VERSION" \
    "github.com/hashicorp/terraform-provider-google@$PROVIDER_MODULE" "$PROVIDER_BIN" \
    "-s -w -X github.com/hashicorp/terraform-provider-google/version.ProviderVersion=$PROVIDER_VERSION"
  echo "$PROVIDER_MODULE" >"$PROVIDER_STAMP"
fi

# --- CLI config -----------------------------------------------------------------------------------
# `direct { exclude = [...] }` keeps Terraform from ever trying the unreachable registry for the
# google provider; any other provider would still be looked up directly (and fail loudly here).
CONFIG="$TF_CACHE/terraformrc"
cat >"$CONFIG.tmp" <<EOF
# Written by scripts/terraform-mirror.sh: hashicorp/google comes from the local mirror only.
provider_installation {
  filesystem_mirror {
    path    = "$MIRROR"
    include = ["registry.terraform.io/hashicorp/google"]
  }
  direct {
    exclude = ["registry.terraform.io/hashicorp/google"]
  }
}
EOF
mv "$CONFIG.tmp" "$CONFIG"
say "mirror ready: hashicorp/google $PROVIDER_VERSION ($PLATFORM); terraform: $TF_CACHE/bin/terraform"
echo "$CONFIG"
