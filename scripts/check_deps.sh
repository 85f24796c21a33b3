#!/usr/bin/env bash
# The dependency graph of the libraries, checked on the includes (docs/architecture.md):
# each folder may include only the folders listed for it, and no folder includes another
# folder's detail/ headers. Exits 1 and names every include that breaks the graph.
# Usage: scripts/check_deps.sh [SOURCE_ROOT]   (ctest runs it as the test include_graph)
set -euo pipefail
cd "${1:-$(dirname "$0")/..}"

# Folder -> the folders it may include. Dependencies point one way: daemon -> api -> jobs ->
# the libraries, common at the bottom; store and kafka both implement source and know
# nothing of each other.
declare -A allowed=(
  [common]=""
  [config]="common"
  [source]="common"
  [protocol]=""
  [store]="source common"
  [kafka]="source config common"
  [signing]="common"
  [webhook]="signing common"
  [sink]="common"
  [systemd]=""
  [ctl]="protocol signing source config common"
  [jobs]="protocol webhook signing store kafka source config common"
  [api]="jobs protocol config common"
  [daemon]="api jobs protocol webhook signing store kafka source config common"
)

status=0
for folder in "${!allowed[@]}"; do
  [ -d "$folder" ] || continue
  while IFS=: read -r file line include; do
    target=${include#*\"}
    target=${target%%/*}
    [ "$target" = "$folder" ] && continue
    [ -n "${allowed[$target]+known}" ] || continue  # not a project folder
    if [[ " ${allowed[$folder]} " != *" $target "* ]]; then
      echo "$file:$line: $folder may not depend on $target: $include"
      status=1
    fi
  done < <(grep -rnoE '#include "[a-z_]+/[^"]+"' "$folder" --include='*.cc' --include='*.hpp' || true)
done

# Another folder's detail/ is private to it (its own tests under tests/FOLDER may use it).
while IFS=: read -r file line include; do
  owner=${include#*\"}
  owner=${owner%%/*}
  top=${file%%/*}
  [ "$top" = "$owner" ] && continue
  if [ "$top" = "tests" ]; then
    rest=${file#tests/}
    [ "${rest%%/*}" = "$owner" ] && continue
  fi
  echo "$file:$line: includes another folder's detail/ header: $include"
  status=1
done < <(grep -rnoE '#include "[a-z_]+/detail/[^"]+"' . --include='*.cc' --include='*.hpp' \
           --exclude-dir='build*' --exclude-dir='.git' | sed 's|^\./||' || true)

[ "$status" -eq 0 ] && echo "include graph: every folder includes only what it may"
exit "$status"
