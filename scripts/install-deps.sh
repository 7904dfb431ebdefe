#!/bin/sh
# Installs the Debian 12 packages Latent Studio builds and runs with, plus what CI checks
# with: clang and its runtime libraries for the fuzzers, appstream to validate the metadata.
set -eu
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
$SUDO apt-get update
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y \
  build-essential cmake ninja-build \
  libtorch-dev libopenblas0-openmp libdnnl-dev \
  qt6-base-dev \
  libcpp-httplib-dev \
  libopencv-dev zlib1g-dev \
  clang libclang-rt-14-dev \
  appstream
