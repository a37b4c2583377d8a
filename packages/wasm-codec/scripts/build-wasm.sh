#!/usr/bin/env bash
# Builds dist/polywire_codec.wasm (and the JS loader in dist/) reproducibly:
# Debian bookworm-security's Rust 1.96 (rustc-web, cargo-web), with the wasm32
# std compiled from Debian's std sources (rust-web-src) by -Zbuild-std, since
# Debian ships no wasm32 std for it; linked by lld-22's wasm-ld (rustc 1.96
# emits LLVM 22 objects); crates vendored from Cargo.lock; no absolute path in
# the output; codegen pinned. The same sources give the same bytes on every
# machine with the Debian packages at the versions pinned (name=version) in
# scripts/debian-packages.txt, which this script checks first.
#
#   scripts/build-wasm.sh           build into dist/
#   scripts/build-wasm.sh --check   rebuild and fail if dist/ differs from git
set -euo pipefail

cd "$(dirname "$0")/.."
# The physical path: through a symlink the remaps below would miss it.
pkg="$(pwd -P)"
mode="build"
case "${1:-}" in
  "") ;;
  --check) mode="check" ;;
  *) echo "usage: $0 [--check]" >&2; exit 2 ;;
esac

# 1. Toolchain. Every pinned package of scripts/debian-packages.txt decides
#    the output bytes (compiler, std sources, linker, C compiler), so each
#    must be installed at exactly its pinned version.
packages_file="$pkg/../../scripts/debian-packages.txt"
wanted=()
wrong=()
while read -r line; do
  case "$line" in
    *=*) ;;
    *) continue ;;
  esac
  name="${line%%=*}"
  version="${line#*=}"
  wanted+=("$line")
  status="$(dpkg-query -W -f='${Status}|${Version}' "$name" 2>/dev/null || true)"
  if [ "$status" != "install ok installed|$version" ]; then
    have="not installed"
    case "$status" in "install ok installed|"*) have="${status#*|}" ;; esac
    wrong+=("$name: want $version, have $have")
  fi
done < <(grep -v -e '^#' -e '^$' "$packages_file")
if [ "${#wrong[@]}" -gt 0 ]; then
  printf 'build-wasm: %s\n' "${wrong[@]}" >&2
  echo "build-wasm: install the pinned toolchain (it replaces Debian's rustc/cargo 1.63):" >&2
  echo "  sudo apt-get install --no-install-recommends ${wanted[*]}" >&2
  echo "build-wasm: if Debian has updated one of them, update its pin in scripts/debian-packages.txt, rebuild and commit dist/" >&2
  exit 1
fi

RUSTC=/usr/bin/rustc
CARGO=/usr/bin/cargo
WASM_LD=/usr/lib/llvm-22/bin/wasm-ld
# Debian's clang/llvm 14 compile and archive the C sources of zstd and libdeflate.
CC_WASM=/usr/lib/llvm-14/bin/clang
AR_WASM=/usr/lib/llvm-14/bin/llvm-ar
rustc_version="$("$RUSTC" --version | cut -d' ' -f2)"
# Debian's rustc has the sysroot /usr; rust-web-src links its std sources
# from there, and -Zbuild-std must compile the std of this very compiler.
sysroot="$("$RUSTC" --print sysroot)"
stdsrc="$sysroot/lib/rustlib/src/rust"
stdsrc_real="$(readlink -f "$stdsrc")"
if [ ! -f "$stdsrc/library/std/Cargo.toml" ] || [ "$(basename "$stdsrc_real")" != "rustc-$rustc_version" ]; then
  echo "build-wasm: $stdsrc ($stdsrc_real) is not the std source of rustc $rustc_version (rust-web-src)" >&2
  exit 1
fi

# 2. Vendor the crates of Cargo.lock (cargo 1.96 reads the crates.io index:
#    the only step that needs the network, a no-op until a lock changes), then
#    std's own dependencies from Debian's library/vendor: -Zbuild-std resolves
#    them through the same offline source. A crate vendor/ already holds at
#    the same version is the same crate (both locks pin crates.io checksums).
stamp="$( (cat Cargo.lock "$stdsrc/library/Cargo.lock"; echo "$rustc_version") | sha256sum | cut -d' ' -f1)"
if [ ! -f vendor/.lock-sha256 ] || [ "$(cat vendor/.lock-sha256)" != "$stamp" ]; then
  rm -rf vendor
  "$CARGO" vendor --locked vendor >/dev/null
  for dir in "$stdsrc"/library/vendor/*/; do
    dir="${dir%/}"
    name="$(sed -n 's/^name = "\(.*\)"/\1/p' "$dir/Cargo.toml" | head -1)"
    version="$(sed -n 's/^version = "\(.*\)"/\1/p' "$dir/Cargo.toml" | head -1)"
    have=no
    for v in vendor/"$name" vendor/"$name"-*; do
      if [ -f "$v/Cargo.toml" ] && grep -q "^version = \"$version\"" "$v/Cargo.toml"; then have=yes; fi
    done
    [ "$have" = yes ] || cp -r "$dir" "vendor/std-$(basename "$dir")"
  done
  echo "$stamp" > vendor/.lock-sha256
fi

# 3. Build offline, with every machine-specific path remapped (the package,
#    and std's sources to /rustc/src) and codegen pinned by the release
#    profile in Cargo.toml. RUSTC_BOOTSTRAP=1 lets the stable compiler take
#    -Zbuild-std; it changes nothing else in this dependency graph on wasm32.
#    bulk-memory turns memcpy/memset into single instructions and simd128
#    lets LLVM vectorise copies: measured +50% LZ4 and +10% zstd/snappy
#    throughput (bench/RESULTS.md); every runtime we test supports both.
#    wasm-opt -O3 (binaryen 108) made it slower, so it is not used.
export RUSTC
export RUSTC_BOOTSTRAP=1
export CARGO_TARGET_DIR="$pkg/target"
export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_LINKER="$WASM_LD"
export RUSTFLAGS="--remap-path-prefix=$pkg=/polywire-codec --remap-path-prefix=$stdsrc=/rustc/src --remap-path-prefix=$stdsrc_real=/rustc/src -C debuginfo=0 -C target-feature=+bulk-memory,+simd128"
export CC_wasm32_unknown_unknown="$CC_WASM"
export AR_wasm32_unknown_unknown="$AR_WASM"
# FREESTANDING: libdeflate has no libc here; it allocates through Rust (gzip.rs).
export CFLAGS_wasm32_unknown_unknown="-ffile-prefix-map=$pkg=/polywire-codec -fno-ident -mbulk-memory -msimd128 -DFREESTANDING"
export SOURCE_DATE_EPOCH=0
"$CARGO" build --release --target wasm32-unknown-unknown --offline --locked \
  -Zbuild-std=std,panic_abort \
  --config 'source.crates-io.replace-with="vendored-sources"' \
  --config "source.vendored-sources.directory=\"$pkg/vendor\""

out="$pkg/target/wasm32-unknown-unknown/release/polywire_codec.wasm"
# No path of this machine may be left in the module: it would make the bytes
# depend on where the build ran.
for path in "$pkg" "$stdsrc_real" "$sysroot/lib/rustlib" "$HOME"; do
  if grep -qaF "$path" "$out"; then
    echo "build-wasm: $out contains the path $path" >&2
    exit 1
  fi
done
mkdir -p dist
install -m 644 "$out" dist/polywire_codec.wasm
echo "build-wasm: rustc $rustc_version, $(stat -c %s "$out") bytes, sha256 $(sha256sum "$out" | cut -d' ' -f1)"

# 4. The JS loader and its types.
npx --no-install tsc -b tsconfig.json

if [ "$mode" = "check" ]; then
  if ! git diff --exit-code --stat -- dist/ || [ -n "$(git ls-files --others --exclude-standard -- dist/)" ]; then
    echo "build-wasm: dist/ differs from the committed build; run npm run build:wasm -w @polywire/wasm-codec and commit dist/" >&2
    exit 1
  fi
  echo "build-wasm: dist/ matches the committed build"
fi
