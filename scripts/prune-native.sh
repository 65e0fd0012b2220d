#!/usr/bin/env bash
# Leaves of better-sqlite3 only what it loads at run time (lib/ and build/Release/better_sqlite3.node):
# node-gyp's objects and makefiles, the bundled SQLite sources and the C++ sources go (≈ 25 MB).
# The Dockerfile's build stage runs it after `npm prune --omit=dev`; scripts/check-image.sh too.
#   scripts/prune-native.sh [NODE_MODULES_DIR]
set -euo pipefail
dir="${1:-node_modules}/better-sqlite3"
[[ -f "$dir/build/Release/better_sqlite3.node" ]] || { echo "prune-native: no $dir/build/Release/better_sqlite3.node (not built?)" >&2; exit 1; }
find "$dir/build" -mindepth 1 -maxdepth 1 ! -name Release -exec rm -rf {} +
find "$dir/build/Release" -mindepth 1 -maxdepth 1 ! -name better_sqlite3.node -exec rm -rf {} +
rm -rf "$dir/deps" "$dir/src" "$dir/binding.gyp"
echo "prune-native: $(du -sh "$dir" | cut -f1) left in $dir"
