#!/bin/bash
# The CUDA check, for a machine with an NVIDIA GPU whose Python has a CUDA build of PyTorch:
# builds the engine, the command-line tool and the pipeline tests against that PyTorch's
# LibTorch (no GUI), runs the golden tests on the GPU in fp32 and in fp16 and bf16, and
# benchmarks a full-size random SD 1.5 model. $OUT receives summary.txt, the benchmarks'
# JSON files and logs.tar.gz (every log, the bench reports and a picture made on the GPU).
#
# Such a machine has neither Qt nor OpenCV's C++ libraries, so DEPS (default .devdeps)
# brings them: DEPS/debs/*.deb, Debian 12's Qt 6 Core and Test packages with their
# libraries, unpacked into a private folder; DEPS/opencv.tar.xz, OpenCV 4.6's core, imgproc
# and imgcodecs (PNG only) built from Debian's source. scripts/device/README.md says how
# to make both.
set -u
cd "$(dirname "$0")/../.."
DEPS=${DEPS:-.devdeps}
OUT=${OUT:-/tmp/cuda-check-out}
BUILD=${BUILD:-build-cuda}
LOGS=/tmp/cuda-check-logs
mkdir -p "$OUT" "$LOGS"
log() { echo "== $(date +%T) $*" | tee -a "$OUT/summary.txt"; }
trap 'tar -C "$LOGS" -czf "$OUT/logs.tar.gz" .' EXIT

log "machine"
nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm --format=csv | tee -a "$OUT/summary.txt"
python3 -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda)' | tee -a "$OUT/summary.txt"

log "unpacking Qt and OpenCV"
root=/tmp/latent-deps
mkdir -p "$root/extra-lib"
for f in "$DEPS"/debs/*.deb; do dpkg -x "$f" "$root"; done
mkdir -p "$root/opencv" && tar -C "$root/opencv" -xf "$DEPS/opencv.tar.xz"
# Only the libraries the machine lacks join the search path: the system's own newer zlib,
# glib or zstd must stay in front of the build tools.
debian_lib=$root/usr/lib/x86_64-linux-gnu
for lib in "$debian_lib"/lib{Qt6Core,Qt6Test,icu,double-conversion,pcre2-16,b2,png16}*.so* \
           "$root"/lib/x86_64-linux-gnu/lib{z,glib-2.0,zstd,gomp}*.so* "$debian_lib"/lib{z,glib-2.0,zstd,gomp}*.so*; do
  [ -e "$lib" ] || continue
  name=$(basename "$lib")
  case $name in libz.so*|libglib-2.0.so*|libzstd.so*|libgomp.so*)
    ldconfig -p | grep -q "^[[:space:]]$name " && continue ;;
  esac
  ln -sf "$lib" "$root/extra-lib/$name"
done
export LD_LIBRARY_PATH=$root/extra-lib:$root/opencv/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}

torch_root=$(python3 -c 'import os, torch; print(os.path.dirname(torch.__file__))')
torch_cmake=${TORCH_DIR:-$torch_root/share/cmake/Torch}  # TORCH_DIR: another LibTorch
nvcc=$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)
common=(-G Ninja -DCMAKE_BUILD_TYPE=Release -DLATENT_BUILD_GUI=OFF -DCMAKE_POLICY_VERSION_MINIMUM=3.5
        "-DCMAKE_PREFIX_PATH=$root/usr;$root/opencv"
        -DCMAKE_CUDA_COMPILER="$nvcc" -DCUDAToolkit_ROOT="$(dirname "$(dirname "$nvcc")")"
        -DCMAKE_CUDA_ARCHITECTURES=90)
# zlib's header from the package where the machine has none; its library is always there.
if [ ! -e /usr/include/zlib.h ]; then
  common+=(-DZLIB_INCLUDE_DIR="$root/usr/include"
           -DZLIB_LIBRARY="$(ldconfig -p | awk '/libz.so.1 .*x86-64/ {print $NF; exit}')")
fi
export TORCH_CUDA_ARCH_LIST=9.0
log "configuring with $torch_cmake"
if ! cmake -S . -B "$BUILD" "${common[@]}" -DTorch_DIR="$torch_cmake" \
     >"$LOGS/configure.log" 2>&1; then
  tail -25 "$LOGS/configure.log"
  log "configuring with scripts/device/torch-shim instead"
  rm -rf "$BUILD"
  cmake -S . -B "$BUILD" "${common[@]}" -DTorch_DIR="$PWD/scripts/device/torch-shim" \
    -DTORCH_ROOT="$torch_root" >"$LOGS/configure.log" 2>&1 || { tail -40 "$LOGS/configure.log"; exit 1; }
fi
grep -i "LATENT_WITH_CUDA\|torch" "$LOGS/configure.log" | tail -5

tests=(tst_text_to_image tst_bf16_path tst_prompt_encoder tst_lora tst_attention)
log "building latentstudio-cli ${tests[*]}"
if ! cmake --build "$BUILD" -j "$(nproc)" --target latentstudio-cli "${tests[@]}" >"$LOGS/build.log" 2>&1; then
  grep -B2 -A12 "error" "$LOGS/build.log" | head -80
  exit 1
fi
cli=$BUILD/bin/latentstudio-cli
$cli --version | tee -a "$OUT/summary.txt"

run_test() {  # name, "VAR=value ..." (the environment), then the test's own arguments
  local name=$1 environment=$2; shift 2
  local logfile=$LOGS/$name-$(echo "$environment" | sed 's/[A-Z_]*=//g; s/ /-/g').log
  log "$name $environment"
  env $environment timeout 150 "$BUILD/bin/$name" "$@" >"$logfile" 2>&1
  local rc=$?
  grep -E "^Totals|^FAIL|largest mean" "$logfile" | tail -8 | tee -a "$OUT/summary.txt"
  [ $rc -eq 0 ] || log "$name exited with $rc"
}
# The single-file checkpoints stay behind to keep the copy small: their rows test reading
# the file format, which the CPU suite covers; the model folders are what runs on the GPU.
folder_rows=()
for id in $(grep -o '"id": *"e2e_[^"]*"' tests/data/golden/index.json | sed 's/.*"\(e2e_[^"]*\)"/\1/'); do
  folder_rows+=("matchesDiffusers:$id folder")
done
run_test tst_attention "LATENT_TEST_DEVICE=cuda"
run_test tst_text_to_image "LATENT_TEST_DEVICE=cuda" "${folder_rows[@]}" observerSeesEveryStep \
  cancelStopsWithinAStep rejectsBadParameters
run_test tst_text_to_image "LATENT_TEST_DEVICE=cpu" "${folder_rows[@]}"  # this LibTorch on the CPU
run_test tst_prompt_encoder "LATENT_TEST_DEVICE=cuda"
run_test tst_lora "LATENT_TEST_DEVICE=cuda"
run_test tst_bf16_path "LATENT_TEST_DEVICE=cuda LATENT_TEST_REDUCED_DTYPE=fp16"
run_test tst_bf16_path "LATENT_TEST_DEVICE=cuda LATENT_TEST_REDUCED_DTYPE=bf16"

log "writing a full-size random SD 1.5 model (fp16)"
$cli make-random-model --config sd15 --dtype fp16 --out /tmp/sd15 >"$LOGS/make-model.log" 2>&1 || tail "$LOGS/make-model.log"

bench() {  # name, then bench options
  local name=$1; shift
  log "bench $name: $*"
  timeout 240 $cli bench --model /tmp/sd15 --device cuda --json "$OUT/bench-$name.json" "$@" \
    >"$LOGS/bench-$name.txt" 2>&1 || log "bench $name failed: $(tail -3 "$LOGS/bench-$name.txt")"
  python3 - "$OUT/bench-$name.json" <<'PY' | tee -a "$OUT/summary.txt"
import json, sys
d = json.load(open(sys.argv[1]))
med = lambda k: d[k]["median_s"]
print(f"  load {med('load'):.3f} s, text {med('text_encode')*1e3:.1f} ms, UNet step {med('unet_step')*1e3:.1f} ms"
      f" ({d['unet_step_gflops']/1e3:.1f} TFLOP/s, {d['unet_step_fraction_of_peak']:.1%} of"
      f" {d['peak']['peak_gflops']/1e3:.0f}), VAE {med('vae_decode')*1e3:.1f} ms,"
      f" generation {med('generation'):.3f} s, GPU peak {d['memory']['gpu_peak_generation_bytes']/2**30:.2f} GiB,"
      f" RSS peak {d['memory']['peak_rss_bytes']/2**30:.2f} GiB")
PY
}
bench fp16-512 --dtype fp16 --steps 25 --repeats 10
LATENT_CHANNELS_LAST=1 bench fp16-512-channels-last --dtype fp16 --steps 25 --repeats 10 --no-peak
bench bf16-512 --dtype bf16 --steps 25 --repeats 10
bench fp32-512 --dtype fp32 --steps 25 --repeats 5
bench fp16-1024 --dtype fp16 --width 1024 --height 1024 --steps 25 --repeats 5 --no-peak

log "one picture on the GPU"
$cli generate --model /tmp/sd15 --device cuda --dtype fp16 --steps 20 --seed 1 \
  --prompt "a photograph of an astronaut riding a horse" --out "$LOGS/random-model.png" \
  >"$LOGS/generate.log" 2>&1 || tail -5 "$LOGS/generate.log"
log "done"
