#include "core/pipeline/image_request.h"

#include <cmath>

#include "core/image/image_prep.h"
#include "core/image/tensor_image.h"
#include "core/pipeline/request_validation.h"
#include "core/util/byte_format.h"
#include "core/util/error.h"
#include "core/util/system_memory.h"

namespace latent::pipeline {
namespace {

std::string size_text(cv::Size s) { return std::to_string(s.width) + "x" + std::to_string(s.height); }

image::Padding padding_of(const api::OutpaintSettings& outpaint) {
  return {outpaint.left, outpaint.top, outpaint.right, outpaint.bottom};
}

// The VAE encoder's full-resolution activations dominate; refuse sizes whose estimate
// alone exceeds the free memory rather than let the allocator fail half-way. The free memory
// is util::available_memory()'s, so a container's limit and LATENT_MEMORY_LIMIT_MB apply.
void check_memory(const ModelBundle& model, int width, int height) {
  if (!model.device.is_cpu()) return;
  const util::AvailableMemory available = util::available_memory();
  if (available.bytes < 0) return;  // unknown: let it try
  const auto estimate = static_cast<int64_t>(vae_encode_memory_estimate_bytes(model, width, height));
  if (estimate > available.bytes)
    throw Error("working at " + std::to_string(width) + "x" + std::to_string(height) + " needs about " +
                util::format_bytes(estimate) + " to encode the picture, but only " +
                util::format_bytes(available.bytes) + " of memory is available (" + available.source +
                "): choose a smaller width and height (inpainting only the masked area keeps large "
                "pictures at full size)");
}

}  // namespace

bool is_inpainting_model(const ModelBundle& model) {
  return model.unet->config.in_channels != model.vae->config().latent_channels;
}

ImageRequestOutput run_image_request(ModelBundle& model, const api::GenerationRequest& r,
                                     const StepObserver& observer, const std::atomic<bool>* cancel,
                                     const ControlParams& control) {
  validate_request(r);
  validate_image_request(r);
  const bool picture_given = api::has_init_image(r);
  if (!picture_given && !is_inpainting_model(model))
    throw Error("image to image needs a starting picture (the init image)");
  const image::ResizeMode resize_mode = image::parse_resize_mode(r.init.resize_mode);
  const int width = r.size.width;
  const int height = r.size.height;
  check_memory(model, width, height);

  ImageRequestOutput out;
  cv::Mat picture;
  if (!r.init.path.empty()) picture = image::load_image_rgb(r.init.path);
  else if (picture_given) picture = image::image_to_mat(*r.init.pixels);
  else picture = cv::Mat(height, width, CV_8UC3, cv::Scalar(127, 127, 127));  // masked out entirely anyway
  if (picture_given) out.init_image_hash = image::pixel_hash(picture);

  cv::Mat mask;
  if (!r.mask.path.empty()) mask = image::load_mask(r.mask.path);
  else if (r.mask.given()) mask = image::rgb_to_luma(image::image_to_mat(*r.mask.pixels));
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
  const image::Padding outpaint = padding_of(r.outpaint);
  if (!outpaint.empty()) {
    auto canvas = image::extend_canvas(picture, outpaint, mask);
    picture = canvas.image;
    mask = canvas.mask;
  }

  ImageToImageParams params = ImageToImageParams::from_request(r);
  params.control = control;
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

  const cv::Mat soft = image::blur_mask(mask, r.mask.blur);
  if (r.mask.only_masked) {
    const cv::Rect region = image::crop_region_for_mask(soft, r.mask.only_masked_padding, width, height);
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
