#!/usr/bin/env bash
# Builds .gpu/ (ignored; carried to the GPU machine): the self-contained training-set
# bundle and an xz of this machine's node binary. See README.md.
#   bash models/training/gpu/build.sh      (needs: npm run build; esbuild in /tmp/esb)
set -euo pipefail
cd "$(dirname "$0")/../../.."
ESBUILD=${ESBUILD:-/tmp/esb/node_modules/.bin/esbuild}
if [ ! -x "$ESBUILD" ]; then
  mkdir -p /tmp/esb && (cd /tmp/esb && npm init -y >/dev/null && npm install --no-save esbuild@0.28.2 >/dev/null)
fi
npm run build >/dev/null
mkdir -p .gpu
grep -qx '/.gpu/' .git/info/exclude 2>/dev/null || echo '/.gpu/' >> .git/info/exclude
# dcmjs-codecs (WASM) is imported by src/dicom/transcode.ts but only initialised when a
# compressed syntax is transcoded; training-set never does, so the bundle carries only its
# small JS loader and never touches the WASM. version.js reads ../package.json from the
# bundle's folder, so the bundle must sit one level below the repository root (.gpu/).
"$ESBUILD" models/training/gpu/training-set-entry.mjs --bundle --platform=node --format=esm --target=node20 \
  --log-level=warning --outfile=.gpu/training-set.mjs
NODE_BIN=${NODE_BIN:-$(command -v node)}
# node without its symbol table (-13 MB), xz -9e: ~21.9 MB. Needs glibc >= 2.28 and a
# libstdc++ on the GPU machine (torch needs one too). Takes ~1 minute; skipped when current.
if [ ! -f .gpu/node.xz ] || [ "$NODE_BIN" -nt .gpu/node.xz ] || [ "${REBUILD_NODE:-0}" = 1 ]; then
  strip -o /tmp/node.stripped "$NODE_BIN"
  /tmp/node.stripped -e 'process.exit(0)'
  xz -T2 -9e -c /tmp/node.stripped > .gpu/node.xz.tmp && mv .gpu/node.xz.tmp .gpu/node.xz
  rm -f /tmp/node.stripped
fi
ls -l .gpu
