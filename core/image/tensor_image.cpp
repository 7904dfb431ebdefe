#include "core/image/tensor_image.h"

#include <cstring>

#include "core/util/error.h"

namespace latent::image {

torch::Tensor decoded_to_unit_nhwc(const torch::Tensor& decoded) {
  if (!decoded.defined() || decoded.dim() != 4)
    throw Error("a decoded image must be [batch, channels, height, width]");
  const auto x = decoded.detach().to(torch::kCPU, torch::kFloat32);
  return (x / 2 + 0.5).clamp(0, 1).permute({0, 2, 3, 1}).contiguous();  // [B,H,W,3]
}

torch::Tensor decoded_to_uint8(const torch::Tensor& decoded) {
  // torch::round rounds half to even, as numpy's round does.
  return torch::round(decoded_to_unit_nhwc(decoded) * 255).to(torch::kUInt8);
}

std::vector<api::Image> uint8_to_images(const torch::Tensor& nhwc) {
  const auto t = nhwc.to(torch::kCPU).contiguous();
  std::vector<api::Image> out;
  for (int64_t b = 0; b < t.size(0); ++b) {
    api::Image image;
    image.height = static_cast<int>(t.size(1));
    image.width = static_cast<int>(t.size(2));
    const auto item = t[b];
    image.rgb.resize(static_cast<std::size_t>(item.numel()));
    std::memcpy(image.rgb.data(), item.data_ptr<uint8_t>(), image.rgb.size());
    out.push_back(std::move(image));
  }
  return out;
}

torch::Tensor images_to_tensor(const std::vector<api::Image>& images) {
  if (images.empty()) throw Error("no images to convert");
  std::vector<torch::Tensor> items;
  for (const auto& image : images) {
    if (image.width != images[0].width || image.height != images[0].height)
      throw Error("images of one batch must share a size");
    auto t = torch::from_blob(const_cast<uint8_t*>(image.rgb.data()), {image.height, image.width, 3},
                              torch::kUInt8);
    items.push_back(t.permute({2, 0, 1}).to(torch::kFloat32).div(127.5).sub(1.0));
  }
  return torch::stack(items);
}

}  // namespace latent::image
