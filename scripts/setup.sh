#!/usr/bin/env bash
# Installs every Debian 12 package audit-replay needs to build, test and run.
# Idempotent and quiet when everything is present. Run as root (or with sudo).
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config git
  libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev
  librocksdb-dev libyaml-cpp-dev libspdlog-dev libfmt-dev
  libgtest-dev libgmock-dev
  libssl-dev openssl libsodium-dev
  libsystemd-dev systemd
  libdeflate-dev zlib1g-dev
  librdkafka-dev
  # scripts/fuzz.sh: clang 14, its libFuzzer/ASan/UBSan runtimes (libclang_rt.fuzzer*.a are
  # in libclang-rt-14-dev), and llvm-symbolizer so that a finding's stack has names.
  clang libclang-rt-14-dev llvm clang-format
  util-linux procps curl
  # scripts/check_package.sh and the metrics e2e test: lintian checks the .deb, promtool
  # (Debian's prometheus package) checks a live /metrics page.
  lintian prometheus
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "setup: installing ${missing[*]}"
sudo_cmd=()
[ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "setup: done"
