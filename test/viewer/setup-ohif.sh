#!/usr/bin/env bash
# Fetches the OHIF viewer (v3, prebuilt: @ohif/app's dist/) for test/viewer/ohif.test.ts, without
# installing @ohif/app's ~40 runtime dependencies: `npm pack` downloads the one tarball through
# npm's own client and cache, its sha512 is checked against the value pinned here, and only
# dist/ is unpacked into node_modules/.cache/jointscore-ohif/<version>/dist (gitignored; `npm ci`
# wipes it, so run this after `npm ci`). Idempotent: does nothing when that folder is complete.
#
#   bash test/viewer/setup-ohif.sh            # prints the dist folder on its last line
#   JOINTSCORE_OHIF_DIR=/some/dist            # the test uses that folder instead (no fetch)
#
# To move to another version: `npm view @ohif/app@<v> dist.integrity`, set both values below,
# rerun the viewer test and check that the page still makes no request outside its origin.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

OHIF_VERSION=3.13.2
OHIF_INTEGRITY='sha512-WZdxmpmG7rqFgW9ZJLcbgr3XCtLi1KDNPoMaeY5PPe6j4G4fjEjjkycZM6C6Zk2F87BKxFfpq+jd5xXZB9E8EA=='

cache="$PWD/node_modules/.cache/jointscore-ohif"
target="$cache/$OHIF_VERSION"
if [ -f "$target/.complete" ] && [ -f "$target/dist/index.html" ]; then
  echo "$target/dist"
  exit 0
fi

mkdir -p "$cache"
work=$(mktemp -d "$cache/fetch.XXXXXX")
trap 'rm -rf "$work"' EXIT

echo "setup-ohif: npm pack @ohif/app@$OHIF_VERSION (about 50 MB)" >&2
(cd "$work" && npm pack --silent "@ohif/app@$OHIF_VERSION" >/dev/null)
tgz="$work/ohif-app-$OHIF_VERSION.tgz"
[ -f "$tgz" ] || { echo "setup-ohif: npm pack made no $tgz" >&2; exit 1; }

# Subresource-integrity form, as npm's registry metadata and package-lock.json write it.
actual="sha512-$(openssl dgst -sha512 -binary "$tgz" | base64 -w0)"
if [ "$actual" != "$OHIF_INTEGRITY" ]; then
  echo "setup-ohif: integrity mismatch for @ohif/app@$OHIF_VERSION: expected $OHIF_INTEGRITY, got $actual" >&2
  exit 1
fi

mkdir -p "$work/x"
# The ONNX runtime (ort/, 136 MB) and the microscopy viewer are for modes the test does not use.
tar -xzf "$tgz" -C "$work/x" --strip-components=1 --exclude='package/dist/ort' --exclude='*.map' package/dist
[ -f "$work/x/dist/index.html" ] || { echo "setup-ohif: no dist/index.html in the tarball" >&2; exit 1; }
rm -rf "$target"
mkdir -p "$target"
mv "$work/x/dist" "$target/dist"
echo "$OHIF_VERSION $OHIF_INTEGRITY" >"$target/.complete"
echo "$target/dist"
