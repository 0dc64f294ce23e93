#!/usr/bin/env bash
# bench/scale/http_reads.ts on Node or Bun, for this tree and any other
# checkouts given (same node_modules): under Node each tree's modules are
# bundled by esbuild first (Node runs no TypeScript), as `npm run build` does.
#
#     RUNTIME=node bench/scale/http_reads.sh [size=100000] [rounds=9] [tree...]
set -euo pipefail
cd "$(dirname "$0")/../.."
size=${1:-100000}; rounds=${2:-9}; shift $(( $# < 2 ? $# : 2 ))
trees=("$PWD" "$@")
if [ "${RUNTIME:-node}" = bun ]; then exec node_modules/.bin/bun bench/scale/http_reads.ts "$size" "$rounds" "${trees[@]}"; fi
# Inside node_modules, so the bundles' bare imports resolve to this tree's packages.
tmp=$(mktemp -d "$PWD/node_modules/.consulate-http-reads.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
bundles=()
for i in "${!trees[@]}"; do
  t=$(cd "${trees[$i]}" && pwd)
  printf 'export * from "%s/src/http/mod.ts";\nexport * from "%s/src/server/mod.ts";\nexport * from "%s/src/log/mod.ts";\nexport * from "%s/src/rpc/mod.ts";\nexport { MessageType } from "%s/src/state/mod.ts";\n' "$t" "$t" "$t" "$t" "$t" > "$tmp/mods$i.ts"
  node_modules/.bin/esbuild "$tmp/mods$i.ts" --bundle --platform=node --format=esm --target=node20 --log-level=error --packages=external --outfile="$tmp/mods$i.mjs"
  bundles+=("$tmp/mods$i.mjs")
done
node_modules/.bin/esbuild bench/scale/http_reads.ts --bundle --platform=node --format=esm --target=node20 --log-level=error --external:'*.mjs' --outfile="$tmp/driver.mjs"
node ${NODE_FLAGS:-} "$tmp/driver.mjs" "$size" "$rounds" "${bundles[@]}"
