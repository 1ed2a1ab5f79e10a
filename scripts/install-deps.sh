#!/usr/bin/env bash
# Installs the Debian packages Cove's build and tests need (idempotent).
# - build-essential, python3: node-gyp builds node-pty; static glibc for the envd helpers
# - busybox-static: the glibc-free root filesystem in the envd bundle test
# - procps, vim: full-screen programs in the PTY tests; util-linux: unshare/chroot
# - debootstrap: the base template; crun, runc, tini: container sandboxes
# - iproute2, nftables: sandbox netns, veths and firewall; e2fsprogs, mount: per-sandbox disks (mkfs.ext4, losetup)
# - jq: the README's curl example
set -euo pipefail
packages=(build-essential python3 busybox-static procps util-linux passwd vim debootstrap crun runc tini iproute2 nftables e2fsprogs mount jq)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "install-deps: need root to install: ${missing[*]}" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$node_major" -lt 20 ]; then
  echo "install-deps: Node.js >= 20 is required (found: $(node -v 2>/dev/null || echo none))" >&2
  exit 1
fi
