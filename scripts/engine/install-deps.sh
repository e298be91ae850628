#!/usr/bin/env bash
# Installs the Debian packages the Docker test harness needs (test/support/engine), only those missing:
# the engine (docker.io), the OCI registry (docker-registry), a static shell for base images
# (busybox-static), the arm64 emulator (qemu-user-static), iproute2, Python's requests for the test
# that runs the Azure ML guide's sample client, and Chromium for the test that renders the profile report
# (test/integration/profile). Called by .ci/run.
set -euo pipefail

PACKAGES=(docker.io docker-registry busybox-static qemu-user-static iproute2 python3-requests chromium)

missing=()
for pkg in "${PACKAGES[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)
  if [[ "$status" != "installed" ]]; then
    missing+=("$pkg")
  fi
done

if [[ ${#missing[@]} -eq 0 ]]; then
  echo "install-deps: all present (${PACKAGES[*]})"
  exit 0
fi

if [[ $(id -u) -ne 0 ]]; then
  echo "install-deps: missing ${missing[*]} and not root; run: sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
if ! command -v apt-get >/dev/null; then
  echo "install-deps: missing ${missing[*]} and apt-get is not available on this machine" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
apt_opts=(-y -q --no-install-recommends -o DPkg::Lock::Timeout=300)
echo "install-deps: installing ${missing[*]}"
# A fresh machine may have empty package lists; update only when the first attempt fails.
if ! apt-get install "${apt_opts[@]}" "${missing[@]}"; then
  apt-get update -q -o DPkg::Lock::Timeout=300
  apt-get install "${apt_opts[@]}" "${missing[@]}"
fi
