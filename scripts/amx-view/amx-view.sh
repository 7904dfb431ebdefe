#!/bin/sh
# Runs a command as oneDNN would see it on an Intel processor with AMX, on any x86-64
# processor whose CPUID can fault (`cpuid_fault` in /proc/cpuinfo), AMD's included.
# oneDNN chooses its kernels as it would there; the AMX kernels are counted, not run.
#
#   scripts/amx-view/amx-view.sh build/bin/latentstudio-cli bench --model DIR --dtype bf16 \
#       --steps 1 --repeats 1 --no-peak --kernels
#
# What to read from it: which kernels oneDNN picks for every primitive (`--kernels`, or
# DNNL_VERBOSE=2's "create" lines), and, from the times, how long everything that is not an
# AMX kernel takes. Needs gcc, patchelf and libdnnl-dev.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
work=${AMX_VIEW_DIR:-${TMPDIR:-/tmp}/amx-view}
mkdir -p "$work"
grep -qw cpuid_fault /proc/cpuinfo || { echo "amx-view: no cpuid_fault on this processor" >&2; exit 2; }
if [ ! -f "$work/amx_view.so" ] || [ "$here/amx_view.c" -nt "$work/amx_view.so" ]; then
  gcc -O3 -Wall -shared -fPIC -o "$work/amx_view.so" "$here/amx_view.c" -ldl -lpthread
fi
# A copy of oneDNN that depends on the view, so that the view starts before oneDNN does.
dnnl=$(ldconfig -p | awk '/libdnnl\.so\.[0-9]+ .*x86-64/ {print $NF; exit}')
[ -n "$dnnl" ] || { echo "amx-view: libdnnl not found" >&2; exit 2; }
name=$(basename "$dnnl")
if [ ! -f "$work/$name" ] || [ "$dnnl" -nt "$work/$name" ]; then
  cp -L "$dnnl" "$work/$name"
  patchelf --add-needed "$work/amx_view.so" "$work/$name"
fi
LD_LIBRARY_PATH="$work${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" LD_PRELOAD="$work/amx_view.so" exec "$@"
