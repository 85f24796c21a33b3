#!/usr/bin/env bash
# Builds the Debian package from a clean build directory and writes it to OUTDIR:
#
#   bash scripts/package.sh OUTDIR        # -> OUTDIR/audit-replay_<version>_<arch>.deb
#
# The build is the packaged one: RelWithDebInfo, hardened (fortify, stack protector, RELRO,
# BIND_NOW; AUDIT_HARDENING), warnings as errors, without tests or benchmarks; cpack strips
# the binaries and installs them under /usr and /etc, whatever prefix a build was configured
# with. The build directory is a fresh temporary one, removed afterwards, unless
# AUDIT_PACKAGE_BUILD_DIR names one to use (and keep), so that CI can build once and package
# again incrementally. ccache is used when it is installed.
set -euo pipefail

if [ $# -ne 1 ]; then
  echo "usage: $0 OUTDIR" >&2
  exit 2
fi
root=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$1"
outdir=$(cd "$1" && pwd)

if [ -n "${AUDIT_PACKAGE_BUILD_DIR:-}" ]; then
  build=$AUDIT_PACKAGE_BUILD_DIR
  mkdir -p "$build"
else
  build=$(mktemp -d "${TMPDIR:-/tmp}/audit-replay-package.XXXXXX")
  trap 'rm -rf "$build"' EXIT
fi

launcher=()
if command -v ccache >/dev/null 2>&1; then
  launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
fi
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_INSTALL_PREFIX=/usr -DAUDIT_HARDENING=ON -DAUDIT_WERROR=ON \
  -DAUDIT_BUILD_TESTS=OFF -DAUDIT_BUILD_BENCH=OFF "${launcher[@]}" >/dev/null
cmake --build "$build" -j"${AUDIT_PACKAGE_JOBS:-$(nproc)}"
(cd "$build" && cpack -G DEB -B "$build/package" >/dev/null)

debs=("$build"/package/audit-replay_*.deb)
if [ ${#debs[@]} -ne 1 ] || [ ! -f "${debs[0]}" ]; then
  echo "package: expected one .deb in $build/package" >&2
  exit 1
fi
cp "${debs[0]}" "$outdir/"
echo "$outdir/$(basename "${debs[0]}")"
