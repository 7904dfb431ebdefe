#pragma once

// Running an upscaler network over a picture in tiles so that a large picture stays within
// memory: each tile is computed with `pad` pixels of its neighbours as context and only its
// own centre is kept, so where the context covers the network's receptive radius the
// result equals the whole picture's, and elsewhere the tiles still meet without a seam one
// could see (Real-ESRGAN's tile/tile_pad method).

#include <opencv2/core.hpp>
#include <torch/torch.h>

#include <atomic>
#include <cstdint>
#include <functional>

#include "core/pipeline/upscaler_network.h"

namespace latent::pipeline {

struct TileOptions {
  // Input pixels per tile side (0 = the whole picture in one piece) and of context per side;
  // both rounded up to the network's size multiple. 192 + 2·24 input pixels keep a 4×
  // RRDBNet's (64 features) activations at a few hundred MB.
  int64_t tile = 192;
  int64_t pad = 24;
  std::function<void(int64_t done, int64_t total)> on_tile;  // after each tile, when set
};

// [B,3,H,W] float in [0,1] (any device) → [B,3,H·s,W·s] float32 on the CPU. `cancel` is
// checked between tiles (latent::Cancelled).
torch::Tensor upscale_tiled(const UpscalerNetwork& network, const torch::Tensor& image,
                            const TileOptions& options = {}, const std::atomic<bool>* cancel = nullptr);

// 8-bit RGB → 8-bit RGB `scale` times larger: one pass of the network.
cv::Mat upscale_picture(const UpscalerNetwork& network, const cv::Mat& rgb, const TileOptions& options = {},
                        const std::atomic<bool>* cancel = nullptr);

// 8-bit RGB → width × height as the web UI's upscalers reach a size: network passes until
// the picture covers it (at most three), then Lanczos to the exact size.
cv::Mat upscale_picture_to(const UpscalerNetwork& network, const cv::Mat& rgb, int width, int height,
                           const TileOptions& options = {}, const std::atomic<bool>* cancel = nullptr);

}  // namespace latent::pipeline
