#!/usr/bin/env bash
# Runs every cargo-fuzz target of the codec for a bounded time each:
#   scripts/fuzz.sh <seconds-per-target> [target...]
# Needs rustup's nightly toolchain (cargo-fuzz is installed if missing).
# A crash stops the run with the reproducer in fuzz/artifacts/<target>/;
# fix it and keep the input as a regression test in src/ (see batch.rs tests).
set -euo pipefail

cd "$(dirname "$0")/.."
seconds="${1:?usage: $0 <seconds-per-target> [target...]}"
shift
cargo_bin="${CARGO:-$HOME/.cargo/bin/cargo}"
if ! "$cargo_bin" fuzz --version >/dev/null 2>&1; then
  "$cargo_bin" install cargo-fuzz --locked --version 0.13.2
fi
targets=("$@")
if [ "${#targets[@]}" -eq 0 ]; then
  targets=(frame_parser batch_decoder decompress_gzip decompress_snappy decompress_lz4 decompress_zstd)
fi
for target in "${targets[@]}"; do
  mkdir -p "fuzz/corpus/$target"
  echo "fuzz: $target for ${seconds}s"
  log="fuzz/corpus/$target.log"
  status=0
  "$cargo_bin" +nightly fuzz run --fuzz-dir fuzz "$target" "fuzz/corpus/$target" -- \
    -max_total_time="$seconds" -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 >"$log" 2>&1 || status=$?
  grep -E "^(stat::number_of_executed_units|SUMMARY)|panicked" "$log" || true
  if [ "$status" -ne 0 ]; then
    tail -40 "$log" >&2
    echo "fuzz: $target FAILED; reproducer in fuzz/artifacts/$target/" >&2
    exit 1
  fi
done
echo "fuzz: all ${#targets[@]} targets ran ${seconds}s without a crash"
