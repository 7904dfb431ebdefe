#include "core/pipeline/image_request_validation.h"

#include <opencv2/imgcodecs.hpp>

#include <QFileInfo>

#include <string>

#include "core/image/image_prep.h"
#include "core/pipeline/request_validation.h"
#include "core/util/error.h"

namespace latent::pipeline {
namespace {

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

void validate_image_request(const api::GenerationRequest& r) {
  // Checked first, so that a negative side is named as such, with or without a picture.
  for (const int side : {r.outpaint.left, r.outpaint.top, r.outpaint.right, r.outpaint.bottom})
    if (side < 0 || side > kMaxSide)
      throw Error("outpainting by " + std::to_string(side) + " pixels is out of range: use 0 to " +
                  std::to_string(kMaxSide));
  if (!api::has_init_image(r)) {
    if (r.mask.given()) throw Error("a mask needs a starting picture to paint into (the init image)");
    if (r.outpaint.any()) throw Error("outpainting needs a starting picture (the init image)");
    return;
  }
  check_strength(r.init.strength);
  (void)image::parse_resize_mode(r.init.resize_mode);
  if (r.mask.blur < 0 || r.mask.blur > 512)
    throw Error("mask blur " + std::to_string(r.mask.blur) + " is out of range: use 0 to 512 pixels");
  if (r.mask.only_masked_padding < 0 || r.mask.only_masked_padding > kMaxSide)
    throw Error("the padding around the masked area " + std::to_string(r.mask.only_masked_padding) +
                " is out of range: use 0 to " + std::to_string(kMaxSide) + " pixels");
  if (!r.init.path.empty()) check_picture_file(r.init.path, "init image", "picture");
  if (!r.mask.path.empty()) check_picture_file(r.mask.path, "mask", "mask");
}

}  // namespace latent::pipeline
