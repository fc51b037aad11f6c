#!/bin/sh
# How the files under maps/static/vendor/ were produced. Run by a maintainer
# (needs npm and network) when bumping a version; users never run it: the
# copied files are committed, so a machine without npm still serves the map.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
npm init -y >/dev/null
npm install --no-audit --no-fund --ignore-scripts \
  leaflet@1.9.3 jquery@3.7.1 bootstrap@5.2.2 drmonty-leaflet-awesome-markers@2.0.2 \
  @fortawesome/fontawesome-free@6.2.0 bootstrap3@npm:bootstrap@3.4.1 leaflet.markercluster@1.5.3
nm=$work/node_modules
strip_map() { sed -e 's#/\*[#@] sourceMappingURL=[^*]*\*/##' -e 's#^//[#@] sourceMappingURL=.*$##' "$1"; }

d=$here/leaflet; rm -rf "$d"; mkdir -p "$d/images"
strip_map "$nm/leaflet/dist/leaflet.js" >"$d/leaflet.js"
cp "$nm/leaflet/dist/leaflet.css" "$d/"
cp "$nm/leaflet/dist/images/"*.png "$d/images/"
cp "$nm/leaflet/LICENSE" "$d/LICENSE"

d=$here/jquery; rm -rf "$d"; mkdir -p "$d"
strip_map "$nm/jquery/dist/jquery.min.js" >"$d/jquery.min.js"
cp "$nm/jquery/LICENSE.txt" "$d/LICENSE.txt"

d=$here/bootstrap; rm -rf "$d"; mkdir -p "$d"
strip_map "$nm/bootstrap/dist/js/bootstrap.bundle.min.js" >"$d/bootstrap.bundle.min.js"
strip_map "$nm/bootstrap/dist/css/bootstrap.min.css" >"$d/bootstrap.min.css"
cp "$nm/bootstrap/LICENSE" "$d/LICENSE"

d=$here/awesome-markers; rm -rf "$d"; mkdir -p "$d/images"
cp "$nm/drmonty-leaflet-awesome-markers/js/leaflet.awesome-markers.min.js" "$d/"
cp "$nm/drmonty-leaflet-awesome-markers/css/leaflet.awesome-markers.css" "$d/"
for f in markers-soft.png markers-soft@2x.png markers-shadow.png markers-shadow@2x.png; do
  cp "$nm/drmonty-leaflet-awesome-markers/css/images/$f" "$d/images/"
done

d=$here/fontawesome; rm -rf "$d"; mkdir -p "$d/css" "$d/webfonts"
# Only the woff2 fonts are shipped, so drop the ttf fallbacks from the rules.
sed -e 's#,url(\.\./webfonts/[a-z0-9-]*\.ttf) format("truetype")##g' \
  "$nm/@fortawesome/fontawesome-free/css/all.min.css" >"$d/css/all.min.css"
cp "$nm/@fortawesome/fontawesome-free/webfonts/"*.woff2 "$d/webfonts/"
cp "$nm/@fortawesome/fontawesome-free/LICENSE.txt" "$d/LICENSE.txt"

d=$here/glyphicons; rm -rf "$d"; mkdir -p "$d/css" "$d/fonts"
python3 "$here/extract_glyphicons.py" "$nm/bootstrap3/dist/css/bootstrap.css" >"$d/css/bootstrap-glyphicons.css"
cp "$nm/bootstrap3/dist/fonts/glyphicons-halflings-regular.woff2" \
   "$nm/bootstrap3/dist/fonts/glyphicons-halflings-regular.woff" "$d/fonts/"
cp "$nm/bootstrap3/LICENSE" "$d/LICENSE"

d=$here/markercluster; rm -rf "$d"; mkdir -p "$d"
strip_map "$nm/leaflet.markercluster/dist/leaflet.markercluster.js" >"$d/leaflet.markercluster.js"
cp "$nm/leaflet.markercluster/dist/MarkerCluster.css" \
   "$nm/leaflet.markercluster/dist/MarkerCluster.Default.css" "$d/"
cp "$nm/leaflet.markercluster/MIT-LICENCE.txt" "$d/MIT-LICENCE.txt"
echo "vendor assets refreshed in $here"
