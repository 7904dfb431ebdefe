#include "core/pipeline/tiled_upscale.h"

#include <algorithm>
#include <cstring>

#include "core/image/image_prep.h"
#include "core/util/cancellation.h"
#include "core/util/error.h"

namespace latent::pipeline {
namespace {

int64_t round_up(int64_t value, int64_t multiple) { return (value + multiple - 1) / multiple * multiple; }

}  // namespace

torch::Tensor upscale_tiled(const UpscalerNetwork& network, const torch::Tensor& image, const TileOptions& options,
                            const std::atomic<bool>* cancel) {
  torch::InferenceMode inference_mode;
  if (image.dim() != 4 || image.size(1) != 3) throw Error("an upscaler takes [B,3,H,W] pictures");
  const int64_t m = network.size_multiple;
  const int64_t s = network.scale;
  const int64_t height = image.size(2);
  const int64_t width = image.size(3);
  // A ×2 or ×1 RRDBNet needs whole unshuffle cells: the edge is repeated out to them and
  // the extra output cut off again.
  const int64_t padded_h = round_up(height, m);
  const int64_t padded_w = round_up(width, m);
  torch::Tensor input = image.to(torch::kFloat32);
  if (padded_h != height || padded_w != width)
    input = torch::nn::functional::pad(
        input, torch::nn::functional::PadFuncOptions({0, padded_w - width, 0, padded_h - height}).mode(torch::kReplicate));
  const int64_t tile = options.tile > 0 ? round_up(options.tile, m) : std::max(padded_h, padded_w);
  const int64_t pad = round_up(std::max<int64_t>(options.pad, 0), m);

  auto out = torch::empty({image.size(0), 3, padded_h * s, padded_w * s}, torch::kFloat32);
  const int64_t tiles = ((padded_h + tile - 1) / tile) * ((padded_w + tile - 1) / tile);
  int64_t done = 0;
  for (int64_t y0 = 0; y0 < padded_h; y0 += tile) {
    for (int64_t x0 = 0; x0 < padded_w; x0 += tile) {
      throw_if_cancelled(cancel);
      const int64_t y1 = std::min(y0 + tile, padded_h);
      const int64_t x1 = std::min(x0 + tile, padded_w);
      const int64_t py0 = std::max<int64_t>(y0 - pad, 0);
      const int64_t px0 = std::max<int64_t>(x0 - pad, 0);
      const int64_t py1 = std::min(y1 + pad, padded_h);
      const int64_t px1 = std::min(x1 + pad, padded_w);
      const auto region = input.slice(2, py0, py1).slice(3, px0, px1).to(network.device, network.dtype);
      const auto result = network.forward(region).to(torch::kCPU, torch::kFloat32);
      out.slice(2, y0 * s, y1 * s)
          .slice(3, x0 * s, x1 * s)
          .copy_(result.slice(2, (y0 - py0) * s, (y1 - py0) * s).slice(3, (x0 - px0) * s, (x1 - px0) * s));
      if (options.on_tile) options.on_tile(++done, tiles);
    }
  }
  return out.slice(2, 0, height * s).slice(3, 0, width * s);
}

cv::Mat upscale_picture(const UpscalerNetwork& network, const cv::Mat& rgb, const TileOptions& options,
                        const std::atomic<bool>* cancel) {
  if (rgb.empty() || rgb.type() != CV_8UC3) throw Error("the picture to upscale must be 8-bit RGB");
  const cv::Mat contiguous = rgb.isContinuous() ? rgb : rgb.clone();
  const auto hwc = torch::from_blob(contiguous.data, {rgb.rows, rgb.cols, 3}, torch::kUInt8);
  const auto input = hwc.permute({2, 0, 1}).unsqueeze(0).to(torch::kFloat32).div(255.0);
  // As Real-ESRGAN writes its output: clamped to [0, 1], ×255, rounded.
  const auto upscaled = upscale_tiled(network, input, options, cancel);
  const auto pixels = upscaled[0].clamp(0, 1).mul(255.0).round().to(torch::kUInt8).permute({1, 2, 0}).contiguous();
  cv::Mat out(static_cast<int>(pixels.size(0)), static_cast<int>(pixels.size(1)), CV_8UC3);
  std::memcpy(out.data, pixels.data_ptr(), static_cast<size_t>(pixels.numel()));
  return out;
}

cv::Mat upscale_picture_to(const UpscalerNetwork& network, const cv::Mat& rgb, int width, int height,
                           const TileOptions& options, const std::atomic<bool>* cancel) {
  cv::Mat picture = rgb;
  // modules/upscaler.py Upscaler.upscale: at most three passes, each only while short.
  for (int pass = 0; pass < 3 && (picture.cols < width || picture.rows < height); ++pass) {
    if (network.scale == 1) break;
    picture = upscale_picture(network, picture, options, cancel);
  }
  return image::resize_lanczos(picture, width, height);
}

}  // namespace latent::pipeline
