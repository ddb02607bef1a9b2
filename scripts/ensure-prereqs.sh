#!/usr/bin/env bash
# Checks the machine for what the integration and end-to-end suites run for real, and installs
# what Debian packages can provide when it is missing (as root, e.g. in CI on a fresh machine):
#   PostgreSQL (initdb, pg_ctl)  rotation backends      -> postgresql
#   ip (iproute2)                pod network namespaces -> iproute2
#   Java 17                      the Pub/Sub emulator   -> openjdk-17-jre-headless
#   containerd, runc, CNI        the real node (e2e)    -> containerd runc containernetworking-plugins
#   busybox-static               the real node's images -> busybox-static (psql from postgresql-client)
#   gcloud + pubsub-emulator     Pub/Sub                 (Google's package: must be on the machine)
#   Go                           building the control plane (unless KUBEBUILDER_ASSETS is set) and,
#                                for e2e, the External Secrets Operator (unless ROTOR_ESO_BIN is set)
# Usage: scripts/ensure-prereqs.sh [suite...]   (unit needs nothing; `node`: only the real node's, for the demo)
set -uo pipefail
say() { printf '[prereqs] %s\n' "$*" >&2; }

need_pg=0 need_ip=0 need_java=0 need_gcloud=0 need_go=0 need_node=0
for s in "$@"; do
  case "$s" in
    integration) need_pg=1; need_ip=1; need_go=1 ;;
    e2e) need_pg=1; need_ip=1; need_java=1; need_gcloud=1; need_go=1; need_node=1 ;;
    node) need_ip=1; need_node=1 ;;
  esac
done

has_pg() { command -v initdb >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; }
missing=()
[[ $need_pg = 1 ]] && ! has_pg && missing+=(postgresql)
[[ $need_ip = 1 ]] && ! command -v ip >/dev/null 2>&1 && missing+=(iproute2)
[[ $need_java = 1 ]] && ! command -v java >/dev/null 2>&1 && missing+=(openjdk-17-jre-headless)
if [[ $need_node = 1 ]]; then
  [[ -x /usr/bin/containerd && -x /usr/bin/ctr ]] || missing+=(containerd)
  [[ -x /usr/sbin/runc ]] || missing+=(runc)
  [[ -x /usr/lib/cni/bridge && -x /usr/lib/cni/host-local && -x /usr/lib/cni/loopback ]] || missing+=(containernetworking-plugins)
  [[ -x /bin/busybox ]] && dpkg-query -W busybox-static >/dev/null 2>&1 || missing+=(busybox-static)
fi

if [[ ${#missing[@]} -gt 0 ]]; then
  if [[ $(id -u) = 0 ]] && command -v apt-get >/dev/null 2>&1; then
    say "installing ${missing[*]} from Debian"
    apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2 \
      || { say "could not install ${missing[*]}"; exit 1; }
  else
    say "missing: ${missing[*]} (install them, or run as root so this script can)"
    exit 1
  fi
fi

if [[ $need_gcloud = 1 && -z "${ROTOR_PUBSUB_EMULATOR:-}" ]]; then
  if ! command -v gcloud >/dev/null 2>&1; then
    say "the Google Cloud CLI (gcloud) with the Pub/Sub emulator component is required for the e2e suite (or set ROTOR_PUBSUB_EMULATOR to the emulator's launcher)"
    exit 1
  fi
  sdk_root=$(gcloud info --format='value(installation.sdk_root)' 2>/dev/null)
  if [[ ! -x "$sdk_root/platform/pubsub-emulator/bin/cloud-pubsub-emulator" ]]; then
    say "gcloud is installed but its Pub/Sub emulator component is not ($sdk_root/platform/pubsub-emulator): install the component, or set ROTOR_PUBSUB_EMULATOR"
    exit 1
  fi
fi
if [[ $need_go = 1 && -z "${KUBEBUILDER_ASSETS:-}" ]] && ! command -v go >/dev/null 2>&1; then
  say "Go is required to build the local control plane (or set KUBEBUILDER_ASSETS to prebuilt binaries)"
  exit 1
fi
exit 0
