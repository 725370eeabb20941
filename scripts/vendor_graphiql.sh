#!/usr/bin/env bash
# Refresh GraphiQL's files in server/static/graphiql/ from the npm registry, at the pinned
# versions below, with their licences. The server never fetches anything: these files are
# package data of the wheel. Run from anywhere; needs npm and tar.
set -euo pipefail

PACKAGES=(
    "react@18.2.0"
    "react-dom@18.2.0"
    "graphiql@3.8.3"
    "@graphiql/plugin-explorer@1.0.2"
)

root=$(cd "$(dirname "$0")/.." && pwd)
out="$root/server/static/graphiql"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

rm -rf "$out"
mkdir -p "$out/licenses"
cd "$work"
for spec in "${PACKAGES[@]}"; do
    tarball=$(npm pack --silent "$spec" | tail -n 1)
    name=${spec%@*}
    dir="$work/${name//\//_}"
    mkdir -p "$dir"
    tar xzf "$tarball" -C "$dir"
    pkg="$dir/package"
    licence_name=${name#@}
    licence_name=${licence_name//\//-}
    if [ -f "$pkg/LICENSE" ]; then
        cp "$pkg/LICENSE" "$out/licenses/$licence_name.txt"
    else
        # Some packages ship no licence file; their package.json names the licence.
        python3 - "$pkg/package.json" > "$out/licenses/$licence_name.txt" <<'PY'
import json, sys

meta = json.load(open(sys.argv[1]))
repository = meta.get("repository")
source = meta.get("homepage") or (repository.get("url") if isinstance(repository, dict) else repository)
print(f"{meta['name']} {meta['version']}: {meta['license']} licence")
print(f"(the package ships no licence file; its package.json names the licence; {source})")
PY
    fi
    case "$name" in
        react) cp "$pkg/umd/react.production.min.js" "$out/" ;;
        react-dom) cp "$pkg/umd/react-dom.production.min.js" "$out/" ;;
        graphiql) cp "$pkg/graphiql.min.js" "$pkg/graphiql.min.css" "$out/" ;;
        @graphiql/plugin-explorer)
            cp "$pkg/dist/index.umd.js" "$out/plugin-explorer.umd.js"
            cp "$pkg/dist/style.css" "$out/plugin-explorer.css"
            ;;
    esac
done
printf '%s\n' "${PACKAGES[@]}" > "$out/VERSIONS"
echo "GraphiQL files written to server/static/graphiql/:"
ls -1 "$out"
