#!/usr/bin/env bash
# Builds the release package a server owner installs: dist/17mov_Phone-<version>.zip and its
# SHA-256 (dist/17mov_Phone-<version>.zip.sha256, checkable with `sha256sum -c`).
#
# The version is Cargo.toml's package version, the one both cores report (the start line and
# `darkchat version` print it); it is also written into the packaged fxmanifest.lua.
#
# Inside, under one top folder 17mov_Phone/: fxmanifest.lua, lua/, js/, bin/darkchat.wasm (the
# core on stock FXServer), bin/darkchat.so (the native module, Linux), node_modules/ (what
# js/mysql.js requires at runtime: mysql2 and its dependencies, `npm ci --omit=dev` from
# package-lock.json; FXServer's `require` looks in <resource>/node_modules), INSTALL.txt and
# CHANGELOG.md. Not inside: data/, tests, target/, migrations/ (the cores embed them at build
# time: src/store/migrations.rs and src/mysql/schema.rs include_str! every file).
#
# Reproducible as far as the inputs are: entries sorted, every timestamp the last commit's
# (or SOURCE_DATE_EPOCH), fixed permissions, written by python3's zipfile (no zip needed).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

version=$(python3 - <<'PY'
import re, sys
text = open("Cargo.toml", encoding="utf-8").read()
package = re.search(r"^\[package\]\s*$(.*?)(?=^\[|\Z)", text, re.M | re.S)
found = package and re.search(r'^version\s*=\s*"([^"]+)"\s*$', package.group(1), re.M)
if not found:
    sys.exit("package: no version in the [package] table of Cargo.toml")
print(found.group(1))
PY
)

bash scripts/build.sh >&2
bash scripts/build-wasm.sh >&2

stage=$(mktemp -d /tmp/darkchat-package-XXXXXX)
trap 'rm -rf "$stage"' EXIT
top=$stage/17mov_Phone
mkdir -p "$top/bin"
cp -r lua js "$top/"
cp bin/darkchat.wasm bin/darkchat.so "$top/bin/"
cp CHANGELOG.md "$top/"
sed "s/@VERSION@/$version/g" packaging/INSTALL.txt >"$top/INSTALL.txt"
# fxmanifest.lua with Cargo.toml's version (FXServer shows it as the resource's version).
python3 - "$version" fxmanifest.lua "$top/fxmanifest.lua" <<'PY'
import re, sys
version, source, target = sys.argv[1:]
text = open(source, encoding="utf-8").read()
text, n = re.subn(r"^version '[^']*'$", f"version '{version}'", text, flags=re.M)
if n != 1:
    sys.exit("package: fxmanifest.lua has no single `version '...'` line")
open(target, "w", encoding="utf-8").write(text)
PY
# The JS host's runtime dependencies, exactly as locked; the lock files are not shipped.
cp package.json package-lock.json "$stage/"
(cd "$stage" && npm ci --omit=dev --ignore-scripts --no-audit --no-fund --prefer-offline >/dev/null)
mv "$stage/node_modules" "$top/node_modules"
rm -f "$stage/package.json" "$stage/package-lock.json" "$top/node_modules/.package-lock.json"

# Nothing a server must not get (a database, a test's or an editor's leftovers in lua/ or js/;
# node_modules/ is npm's, as locked).
unexpected=$(find "$top" -path "$top/node_modules" -prune -o \( -name data -o -name '*.db' -o -name '*.db-*' \
  -o -name '*.lock' -o -name '*.test.js' -o -name target -o -name '*~' \) -print)
if [ -n "$unexpected" ]; then
  echo "package: unexpected files in the package:" >&2
  echo "$unexpected" >&2
  exit 1
fi

mkdir -p dist
zip_path=dist/17mov_Phone-$version.zip
epoch=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || echo 315532800)}
python3 - "$stage" "$root/$zip_path.new" "$epoch" <<'PY'
import os, sys, time, zipfile
stage, target, epoch = sys.argv[1], sys.argv[2], int(sys.argv[3])
stamp = time.gmtime(max(epoch, 315532800))[:6]  # zip times start in 1980
entries = []
for folder, dirs, files in os.walk(stage):
    for name in dirs + files:
        path = os.path.join(folder, name)
        if os.path.islink(path):
            sys.exit(f"package: symbolic link in the package: {path}")
        entries.append(path)
with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
    for path in sorted(entries, key=lambda p: os.path.relpath(p, stage)):
        name = os.path.relpath(path, stage).replace(os.sep, "/")
        if os.path.isdir(path):
            info = zipfile.ZipInfo(name + "/", stamp)
            info.external_attr = (0o40755 << 16) | 0x10
            z.writestr(info, b"")
            continue
        info = zipfile.ZipInfo(name, stamp)
        info.external_attr = (0o100755 if os.access(path, os.X_OK) else 0o100644) << 16
        info.compress_type = zipfile.ZIP_DEFLATED
        with open(path, "rb") as f:
            z.writestr(info, f.read(), compresslevel=9)
PY
mv -f "$zip_path.new" "$zip_path"
(cd dist && sha256sum "$(basename "$zip_path")" >"$(basename "$zip_path").sha256")
count=$(python3 -c 'import sys, zipfile; print(sum(1 for i in zipfile.ZipFile(sys.argv[1]).infolist() if not i.is_dir()))' "$zip_path")
echo "packaged $zip_path ($(stat -c %s "$zip_path") bytes, $count files, version $version)"
