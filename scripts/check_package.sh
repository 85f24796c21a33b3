#!/usr/bin/env bash
# The package check CI runs (scripts/test.sh with CI=true): builds the .deb with
# scripts/package.sh, runs lintian on it, unpacks it and verifies the installed units with
# their installed paths.
#
#   bash scripts/check_package.sh [OUTDIR]      # default OUTDIR: build-package/
#
# lintian must report no error and no warning other than those listed (and explained) in
# docs/systemd.md, "Package checks"; they are kept in scripts/lintian-accepted.txt.
# AUDIT_PACKAGE_BUILD_DIR (see scripts/package.sh) reuses a build directory between runs;
# AUDIT_PACKAGE_DEB=FILE checks that .deb instead of building one.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
outdir=${1:-$root/build-package}
mkdir -p "$outdir"
started=$(date +%s)

if [ -n "${AUDIT_PACKAGE_DEB:-}" ]; then
  deb=$AUDIT_PACKAGE_DEB  # check this .deb instead of building one
else
  rm -f "$outdir"/audit-replay_*.deb
  deb=$(bash "$root/scripts/package.sh" "$outdir" | tail -n 1)
fi
built=$(date +%s)
echo "package: $deb ($((built - started)) s)"

# lintian: errors and warnings fail the check unless accepted, and so does any hardening tag;
# other info and pedantic tags are shown.
accepted=$(awk '!/^#/ && NF {print $1}' "$root/scripts/lintian-accepted.txt")
report=$(lintian --tag-display-limit 0 --display-info "$deb" 2>&1 | grep -v "^running with root privileges" || true)
[ -n "$report" ] && echo "$report"
unexpected=()
while IFS= read -r line; do
  case $line in
    I:*hardening-no-*)
      # The package is built hardened (scripts/package.sh): fortify, RELRO, BIND_NOW.
      unexpected+=("$line")
      ;;
    E:* | W:*)
      tag=$(echo "$line" | awk '{print $3}')
      if ! grep -qxF "$tag" <<<"$accepted"; then unexpected+=("$line"); fi
      ;;
  esac
done <<<"$report"
if [ ${#unexpected[@]} -gt 0 ]; then
  echo "lintian: errors, warnings not accepted in scripts/lintian-accepted.txt, or binaries" \
    "not hardened:" >&2
  printf '  %s\n' "${unexpected[@]}" >&2
  exit 1
fi
echo "lintian: no errors, no unaccepted warnings"

# The installed units, with the paths the package installs: the unpacked tree is the root
# systemd-analyze resolves ExecStart= and every other path in. The host's own units (the
# targets the service orders itself after) and kill(1) (ExecReload=) are added to the tree,
# without replacing anything the package ships, as they would be on an installed system.
tree=$(mktemp -d)
trap 'rm -rf "$tree"' EXIT
dpkg-deb -x "$deb" "$tree"
unit_dir=$tree/usr/lib/systemd/system
[ -d "$unit_dir" ] || unit_dir=$tree/lib/systemd/system
exec_start=$(sed -n 's/^ExecStart=\([^ ]*\).*/\1/p' "$unit_dir/audit-replayd.service")
config=$(sed -n 's/^ExecStart=.*--config \([^ ]*\).*/\1/p' "$unit_dir/audit-replayd.service")
if [ "$exec_start" != /usr/bin/audit-replayd ] || [ ! -x "$tree$exec_start" ]; then
  echo "unit: ExecStart names $exec_start, which the package does not install" >&2
  exit 1
fi
if [ "$config" != /etc/audit-replay/config.yaml ] || [ ! -f "$tree$config" ]; then
  echo "unit: --config names $config, which the package does not install" >&2
  exit 1
fi
[ -e "$tree/bin" ] || ln -s usr/bin "$tree/bin"
[ -e "$tree/lib" ] || ln -s usr/lib "$tree/lib"
host_units=/usr/lib/systemd/system
[ -d "$host_units" ] || host_units=/lib/systemd/system
cp -an "$host_units"/. "$tree/usr/lib/systemd/system/"
mkdir -p "$tree/usr/bin"
cp -n "$(type -P kill)" "$tree/usr/bin/kill"
verify_out=$(cd "$tree/usr/lib/systemd/system" && systemd-analyze verify --root="$tree" \
  --man=no audit-replayd.service audit-replayd.socket 2>&1) || {
  echo "$verify_out" >&2
  exit 1
}
if [ -n "$verify_out" ]; then
  echo "systemd-analyze verify:" >&2
  echo "$verify_out" >&2
  exit 1
fi
unit_dir=$tree/usr/lib/systemd/system
# The man pages the units name are in the package too (Documentation=).
verify_out=$(cd "$unit_dir" && systemd-analyze verify --root="$tree" --man=no \
  audit-replayd.service audit-replayd.socket 2>&1) || {
  echo "$verify_out" >&2
  exit 1
}
if [ -n "$verify_out" ]; then
  echo "systemd-analyze verify:" >&2
  echo "$verify_out" >&2
  exit 1
fi
# shellcheck disable=SC2013  # Documentation= is a space-separated list
for page in $(sed -n 's/^Documentation=//p' "$unit_dir/audit-replayd.service"); do
  name=${page#man:}
  section=${name##*(}
  section=${section%)}
  [ -f "$tree/usr/share/man/man$section/${name%(*}.$section.gz" ] || {
    echo "unit: Documentation=$page is not in the package" >&2
    exit 1
  }
done
echo "units: verified with the installed paths ($exec_start, $config)"
echo "package check: $(($(date +%s) - started)) s"
