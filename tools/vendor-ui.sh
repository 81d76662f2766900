#!/usr/bin/env bash
# Re-vendor the web UI's third-party scripts and styles from the npm registry.
#
# The UI loads nothing from the network at run time: every asset is a file of this package,
# fetched here at a pinned version (npm verifies each tarball against the registry's integrity
# hash), copied with its licence, and listed in lineage/ui/static/vendor/manifest.json with its
# sha256 (a test checks the files still match). To upgrade, change a version below and re-run.
set -euo pipefail
cd "$(dirname "$0")/.."
dest=lineage/ui/static/vendor

# package@version | licence | files to copy (path in the package -> path under vendor/)
packages=(
  "cytoscape@3.35.0|MIT|dist/cytoscape.min.js:cytoscape/cytoscape.min.js"
  "cytoscape-dagre@4.0.1|MIT|dist/cytoscape-dagre.min.js:cytoscape-dagre/cytoscape-dagre.min.js"
  "@dagrejs/dagre@3.1.3|MIT|"
  "@dagrejs/graphlib@4.0.6|MIT|"
  "react@18.3.1|MIT|umd/react.production.min.js:react/react.production.min.js"
  "react-dom@18.3.1|MIT|umd/react-dom.production.min.js:react-dom/react-dom.production.min.js"
  "graphiql@3.8.3|MIT|graphiql.min.js:graphiql/graphiql.min.js graphiql.min.css:graphiql/graphiql.min.css"
)

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
rm -rf "$dest" && mkdir -p "$dest"
manifest="$work/manifest.tsv"
: >"$manifest"
for entry in "${packages[@]}"; do
  IFS='|' read -r spec licence files <<<"$entry"
  name=${spec%@*}
  version=${spec##*@}
  dir="$dest/${name#@}"
  mkdir -p "$dir" "$work/$name"
  (cd "$work/$name" && npm pack --silent "$spec" >/dev/null && tar xzf ./*.tgz)
  integrity=$(npm view "$spec" dist.integrity)
  pkg="$work/$name/package"
  cp "$pkg/LICENSE" "$dir/LICENSE" 2>/dev/null || cp "$pkg"/LICEN[CS]E* "$dir/LICENSE"
  for pair in $files; do
    src=${pair%%:*}
    out=${pair#*:}
    mkdir -p "$(dirname "$dest/$out")"
    cp "$pkg/$src" "$dest/$out"
    sed -i -e 's~//# sourceMappingURL=[^ ]*$~~' -e 's~/\*# sourceMappingURL=[^*]*\*/~~' "$dest/$out"
    printf '%s\t%s\t%s\t%s\t%s\n' "$out" "$name" "$version" "$licence" "$(sha256sum "$dest/$out" | cut -d' ' -f1)" >>"$manifest"
  done
  printf '%s\t%s\t%s\t%s\t%s\n' "${name#@}/LICENSE" "$name" "$version" "$licence" "$integrity" >>"$work/licences.tsv"
done

python3 - "$manifest" "$work/licences.tsv" "$dest/manifest.json" <<'PY'
import json, sys
files, licences, out = sys.argv[1:]
data = {"source": "npm registry, fetched by tools/vendor-ui.sh", "packages": {}, "files": {}}
for line in open(licences):
    path, name, version, licence, integrity = line.rstrip("\n").split("\t")
    data["packages"][name] = {"version": version, "licence": licence, "licence_file": path, "integrity": integrity}
for line in open(files):
    path, name, version, licence, sha = line.rstrip("\n").split("\t")
    data["files"][path] = {"package": name, "version": version, "sha256": sha}
json.dump(data, open(out, "w"), indent=2, sort_keys=True)
open(out, "a").write("\n")
PY
echo "vendored into $dest (see manifest.json)"
