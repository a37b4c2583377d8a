#!/usr/bin/env bash
# Builds dist/polywire_codec.wasm (and the JS loader in dist/) reproducibly:
# Debian's rustc 1.63 + wasm32 std, crates vendored from Cargo.lock, no
# absolute path in the output, fixed codegen options. The same sources give
# the same bytes on every machine with the same Debian packages.
#
#   scripts/build-wasm.sh           build into dist/
#   scripts/build-wasm.sh --check   rebuild and fail if dist/ differs from git
set -euo pipefail

cd "$(dirname "$0")/.."
pkg="$(pwd)"
mode="build"
case "${1:-}" in
  "") ;;
  --check) mode="check" ;;
  *) echo "usage: $0 [--check]" >&2; exit 2 ;;
esac

# 1. Debian toolchain: rustc/cargo with the wasm32 std, lld (wasm-ld), clang
#    and llvm-ar for zstd's C sources.
missing=()
[ -x /usr/bin/rustc ] || missing+=(rustc)
[ -x /usr/bin/cargo ] || missing+=(cargo)
[ -d /usr/lib/rustlib/wasm32-unknown-unknown/lib ] || missing+=(libstd-rust-dev-wasm32)
command -v wasm-ld >/dev/null || missing+=(lld)
command -v clang >/dev/null || missing+=(clang)
command -v llvm-ar >/dev/null || missing+=(llvm)
if [ "${#missing[@]}" -gt 0 ]; then
  echo "build-wasm: installing ${missing[*]}" >&2
  if [ "$(id -u)" -eq 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
fi

# 2. Vendor the crates of Cargo.lock. Debian's cargo 1.65 cannot read the
#    crates.io index, so rustup's cargo (any recent one) fetches them; the
#    lock hash stamp makes this a no-op until Cargo.lock changes.
lock_hash="$(sha256sum Cargo.lock | cut -d' ' -f1)"
if [ ! -f vendor/.lock-sha256 ] || [ "$(cat vendor/.lock-sha256)" != "$lock_hash" ]; then
  vendor_cargo="${VENDOR_CARGO:-$HOME/.cargo/bin/cargo}"
  if [ ! -x "$vendor_cargo" ]; then
    echo "build-wasm: vendoring needs a cargo that reaches crates.io (rustup's); set VENDOR_CARGO" >&2
    exit 1
  fi
  rm -rf vendor
  "$vendor_cargo" vendor --locked vendor >/dev/null
  echo "$lock_hash" > vendor/.lock-sha256
fi

# 3. Build with Debian's toolchain, offline, with every machine-specific path
#    remapped and codegen pinned by the release profile in Cargo.toml.
#    bulk-memory turns memcpy/memset into single instructions and simd128
#    lets LLVM vectorise copies: measured +50% LZ4 and +10% zstd/snappy
#    throughput (bench/RESULTS.md); every runtime we test supports both.
#    wasm-opt -O3 (binaryen 108) made it slower, so it is not used.
export RUSTC=/usr/bin/rustc
export CARGO_TARGET_DIR="$pkg/target"
export RUSTFLAGS="--remap-path-prefix=$pkg=/polywire-codec -C debuginfo=0 -C target-feature=+bulk-memory,+simd128"
export CC_wasm32_unknown_unknown=clang
export AR_wasm32_unknown_unknown=llvm-ar
# FREESTANDING: libdeflate has no libc here; it allocates through Rust (gzip.rs).
export CFLAGS_wasm32_unknown_unknown="-ffile-prefix-map=$pkg=/polywire-codec -fno-ident -mbulk-memory -msimd128 -DFREESTANDING"
export SOURCE_DATE_EPOCH=0
/usr/bin/cargo build --release --target wasm32-unknown-unknown --offline --locked \
  --config 'source.crates-io.replace-with="vendored-sources"' \
  --config "source.vendored-sources.directory=\"$pkg/vendor\""

mkdir -p dist
install -m 644 target/wasm32-unknown-unknown/release/polywire_codec.wasm dist/polywire_codec.wasm

# 4. The JS loader and its types.
npx --no-install tsc -b tsconfig.json

if [ "$mode" = "check" ]; then
  if ! git diff --exit-code --stat -- dist/ || [ -n "$(git ls-files --others --exclude-standard -- dist/)" ]; then
    echo "build-wasm: dist/ differs from the committed build; run npm run build:wasm -w @polywire/wasm-codec and commit dist/" >&2
    exit 1
  fi
  echo "build-wasm: dist/ matches the committed build"
fi
