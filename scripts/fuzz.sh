#!/bin/sh
# Builds the libFuzzer targets with clang in build-fuzz/, replays every kept input (the seed
# corpora and the crashes found before, fuzz/regressions/), then fuzzes each target for
# SECONDS (default 30). New inputs that cover more go to build-fuzz/corpus/<target>; a crash
# stops the script with the input in build-fuzz/artifacts/<target>/: fix the bug, then copy
# the input to fuzz/regressions/<target>/ so it is replayed from then on.
#   scripts/fuzz.sh [SECONDS]
set -eu
cd "$(dirname "$0")/.."
SECONDS_EACH=${1:-30}
BUILD=${LATENT_FUZZ_BUILD_DIR:-build-fuzz}
TARGETS="fuzz_safetensors_header fuzz_png_metadata fuzz_prompt_parser fuzz_clip_tokenizer fuzz_webui_json fuzz_control_spec fuzz_webui_client fuzz_onednn_verbose fuzz_xyz_values fuzz_prompt_schedule fuzz_styles_csv fuzz_wildcards fuzz_image_metadata fuzz_foreign_json fuzz_gallery_cache"

cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_COMPILER=clang++ \
  -DLATENT_BUILD_FUZZERS=ON -DLATENT_BUILD_GUI=OFF >/dev/null
# shellcheck disable=SC2086
cmake --build "$BUILD" --target $TARGETS
ctest --test-dir "$BUILD" -R '^fuzz_.*_regressions$' --output-on-failure

for target in $TARGETS; do
  corpus="$BUILD/corpus/$target"
  artifacts="$BUILD/artifacts/$target"
  mkdir -p "$corpus" "$artifacts"
  echo "== $target: ${SECONDS_EACH} s"
  # -rss_limit_mb: a parser must not need gigabytes for any input; -timeout: nor seconds.
  "$BUILD/bin/$target" -max_total_time="$SECONDS_EACH" -rss_limit_mb=2048 -timeout=10 \
    -max_len=65536 -print_final_stats=1 -artifact_prefix="$artifacts/" \
    "$corpus" "fuzz/corpus/$target" 2>"$BUILD/$target.log" || {
    tail -n 60 "$BUILD/$target.log"
    echo "fuzz.sh: $target found a failure; the input is in $artifacts/" >&2
    exit 1
  }
  grep -E '^stat::number_of_executed_units|^stat::peak_rss_mb|^Done' "$BUILD/$target.log" || true
done
