#include "core/pipeline/control_image.h"

#include <opencv2/imgproc.hpp>

#include "core/image/image_prep.h"
#include "core/util/error.h"

namespace latent::pipeline {

torch::Tensor control_image_tensor(const cv::Mat& map, int width, int height) {
  if (map.empty()) throw Error("the control image is empty");
  const int channels = map.channels();
  if (channels != 1 && channels != 3)
    throw Error("the control image must have 1 or 3 channels, not " + std::to_string(channels));
  if (map.depth() == CV_32F) {
    cv::Mat rgb = map;
    if (channels == 1) cv::cvtColor(map, rgb, cv::COLOR_GRAY2RGB);
    const auto hwc = torch::from_blob(rgb.data, {rgb.rows, rgb.cols, 3}, torch::kFloat32).clone();
    auto nchw = hwc.permute({2, 0, 1}).unsqueeze(0).contiguous();
    if (rgb.rows != height || rgb.cols != width)
      nchw =
          torch::nn::functional::interpolate(nchw, torch::nn::functional::InterpolateFuncOptions()
                                                       .size(std::vector<int64_t>{height, width})
                                                       .mode(torch::kNearest));
    return nchw.contiguous();
  }
  if (map.depth() != CV_8U) throw Error("the control image must be 8-bit or a float map");
  const cv::Mat fitted = image::resize_lanczos(map, width, height);
  cv::Mat rgb = fitted;
  if (channels == 1) cv::cvtColor(fitted, rgb, cv::COLOR_GRAY2RGB);
  if (!rgb.isContinuous()) rgb = rgb.clone();
  const auto hwc = torch::from_blob(rgb.data, {height, width, 3}, torch::kUInt8).clone();
  return hwc.permute({2, 0, 1}).unsqueeze(0).to(torch::kFloat32).div(255.0).contiguous();
}

}  // namespace latent::pipeline
