#include "core/pipeline/image_request.h"

#include <cmath>
#include <cstdio>

#include "core/image/image_prep.h"
#include "core/image/tensor_image.h"
#include "core/pipeline/request_validation.h"
#include "core/util/error.h"

namespace latent::pipeline {
namespace {

std::string size_text(cv::Size s) { return std::to_string(s.width) + "x" + std::to_string(s.height); }

std::string gigabytes(double bytes) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.1f GB", bytes / 1e9);
  return buffer;
}

image::Padding outpaint_of(const GenerationRequest& r) {
  return {r.outpaint_left, r.outpaint_top, r.outpaint_right, r.outpaint_bottom};
}

// The VAE encoder's full-resolution activations dominate; refuse sizes whose estimate
// alone exceeds the free memory rather than let the allocator fail half-way.
void check_memory(const ModelBundle& model, int width, int height) {
  if (!model.device.is_cpu()) return;
  const uint64_t free_bytes = image::available_memory_bytes();
  const double estimate = vae_encode_memory_estimate_bytes(model, width, height);
  if (free_bytes > 0 && estimate > static_cast<double>(free_bytes))
    throw Error("working at " + std::to_string(width) + "x" + std::to_string(height) + " needs about " +
                gigabytes(estimate) + " to encode the picture, but only " +
                gigabytes(static_cast<double>(free_bytes)) +
                " of memory are free: choose a smaller width and height (inpainting only the "
                "masked area keeps large pictures at full size)");
}

}  // namespace

bool is_inpainting_model(const ModelBundle& model) {
  return model.unet->config.in_channels != model.vae->config().latent_channels;
}

ImageRequestOutput run_image_request(ModelBundle& model, const GenerationRequest& r,
                                     const StepObserver& observer, const std::atomic<bool>* cancel) {
  validate_request(r);
  validate_image_request(r);
  const bool picture_given = has_init_image(r);
  if (!picture_given && !is_inpainting_model(model))
    throw Error("image to image needs a starting picture (the init image)");
  const image::ResizeMode resize_mode = image::parse_resize_mode(r.resize_mode);
  const int width = r.width;
  const int height = r.height;
  check_memory(model, width, height);

  ImageRequestOutput out;
  cv::Mat picture;
  if (!r.init_image.empty()) picture = image::load_image_rgb(r.init_image);
  else if (picture_given) picture = image::image_to_mat(*r.init_pixels);
  else picture = cv::Mat(height, width, CV_8UC3, cv::Scalar(127, 127, 127));  // masked out entirely anyway
  if (picture_given) out.init_image_hash = image::pixel_hash(picture);

  cv::Mat mask;
  if (!r.mask_image.empty()) mask = image::load_mask(r.mask_image);
  else if (has_mask(r)) mask = image::rgb_to_luma(image::image_to_mat(*r.mask_pixels));
  if (!mask.empty()) {
    out.mask_hash = image::pixel_hash(mask);
    if (mask.size() != picture.size()) {
      out.warnings.push_back("the mask is " + size_text(mask.size()) + " pixels but the picture is " +
                             size_text(picture.size()) + ": the mask was stretched to fit");
      mask = image::resize_lanczos(mask, picture.cols, picture.rows);
    }
    if (image::mask_is_empty(mask))
      throw Error("the mask is empty: no pixel of it is white (128 or more), so nothing would be "
                  "repainted. Paint the area to repaint in white, or leave the mask out for image to image.");
  }
  const image::Padding outpaint = outpaint_of(r);
  if (!outpaint.empty()) {
    auto canvas = image::extend_canvas(picture, outpaint, mask);
    picture = canvas.image;
    mask = canvas.mask;
  }

  ImageToImageParams params = ImageToImageParams::from_request(r);
  if (!picture_given) params.strength = 1.0;
  const auto images_of = [](const torch::Tensor& uint8) {
    std::vector<cv::Mat> mats;
    for (const auto& image : image::uint8_to_images(uint8)) mats.push_back(image::image_to_mat(image));
    return mats;
  };

  if (mask.empty()) {
    params.init_image = image::fit_image(picture, width, height, resize_mode);
    const auto result = image_to_image(model, params, observer, cancel);
    out.mode = result.mode;
    out.images = image::uint8_to_images(result.images);
    return out;
  }

  const cv::Mat soft = image::blur_mask(mask, r.mask_blur);
  if (r.inpaint_full_res) {
    const cv::Rect region = image::crop_region_for_mask(soft, r.inpaint_full_res_padding, width, height);
    params.init_image = image::resize_lanczos(picture(region), width, height);
    params.mask = image::resize_lanczos(soft(region), width, height);
    const auto result = image_to_image(model, params, observer, cancel);
    out.mode = result.mode;
    for (const auto& generated : images_of(result.images))
      out.images.push_back(image::mat_to_image(image::paste_back(picture, generated, region, soft)));
    return out;
  }
  const cv::Mat fitted = image::fit_image(picture, width, height, resize_mode);
  const cv::Mat fitted_soft = image::fit_mask(soft, width, height, resize_mode);
  params.init_image = fitted;
  params.mask = fitted_soft;
  const auto result = image_to_image(model, params, observer, cancel);
  out.mode = result.mode;
  for (const auto& generated : images_of(result.images))
    out.images.push_back(image::mat_to_image(image::paste_back(fitted, generated, {0, 0, width, height}, fitted_soft)));
  return out;
}

}  // namespace latent::pipeline
