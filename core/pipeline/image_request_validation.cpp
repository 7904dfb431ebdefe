#include "core/pipeline/image_request_validation.h"

#include <opencv2/imgcodecs.hpp>

#include <QFileInfo>

#include <cmath>
#include <cstdio>
#include <string>

#include "core/image/image_prep.h"
#include "core/pipeline/request_validation.h"
#include "core/util/error.h"

namespace latent::pipeline {
namespace {

// "0.75", "1.5", "nan": the value as the user wrote it, not std::to_string's six decimals.
std::string strength_text(double strength) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%g", strength);
  return buffer;
}

void check_picture_file(const std::string& path, const char* option, const char* what) {
  const QFileInfo info(QString::fromStdString(path));
  if (!info.exists()) throw Error(std::string(option) + ": the " + what + " '" + path + "' does not exist");
  if (!info.isFile()) throw Error(std::string(option) + ": '" + path + "' is not a file");
  bool known = false;
  try {
    known = cv::haveImageReader(path);
  } catch (const cv::Exception&) {
    known = false;
  }
  if (!known)
    throw Error(std::string(option) + ": the " + what + " '" + path +
                "' is not an image OpenCV can read (PNG, JPEG, WebP, BMP, TIFF, ...)");
}

}  // namespace

bool has_mask(const GenerationRequest& r) {
  return !r.mask_image.empty() || (r.mask_pixels && !r.mask_pixels->empty());
}

void validate_image_request(const GenerationRequest& r) {
  const bool outpaint = r.outpaint_left || r.outpaint_top || r.outpaint_right || r.outpaint_bottom;
  if (!has_init_image(r)) {
    if (has_mask(r)) throw Error("a mask needs a starting picture to paint into (the init image)");
    if (outpaint) throw Error("outpainting needs a starting picture (the init image)");
    return;
  }
  if (!std::isfinite(r.strength) || r.strength < 0 || r.strength > 1)
    throw Error("strength " + strength_text(r.strength) + " is out of range: use 0 to 1");
  (void)image::parse_resize_mode(r.resize_mode);
  if (r.mask_blur < 0 || r.mask_blur > 512)
    throw Error("mask blur " + std::to_string(r.mask_blur) + " is out of range: use 0 to 512 pixels");
  if (r.inpaint_full_res_padding < 0 || r.inpaint_full_res_padding > kMaxSide)
    throw Error("the padding around the masked area " + std::to_string(r.inpaint_full_res_padding) +
                " is out of range: use 0 to " + std::to_string(kMaxSide) + " pixels");
  for (const int side : {r.outpaint_left, r.outpaint_top, r.outpaint_right, r.outpaint_bottom})
    if (side < 0 || side > kMaxSide)
      throw Error("outpainting by " + std::to_string(side) + " pixels is out of range: use 0 to " +
                  std::to_string(kMaxSide));
  if (!r.init_image.empty()) check_picture_file(r.init_image, "init image", "picture");
  if (!r.mask_image.empty()) check_picture_file(r.mask_image, "mask", "mask");
}

}  // namespace latent::pipeline
