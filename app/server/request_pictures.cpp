#include "request_pictures.h"

#include <QDir>
#include <QFile>
#include <QTemporaryDir>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include <cstring>
#include <string>
#include <vector>

#include "core/image/image_prep.h"
#include "core/util/error.h"

namespace latent::server {
namespace {

using api_server::FieldError;

// The file name suffix for the picture's format, from its first bytes; empty when it is
// none of the formats whose size can be read before decoding.
QString suffixFor(const std::vector<unsigned char>& b) {
  const auto starts = [&](const char* magic, std::size_t at = 0) {
    const std::size_t length = std::strlen(magic);
    return b.size() >= at + length && std::memcmp(b.data() + at, magic, length) == 0;
  };
  if (starts("\x89PNG")) return "png";
  if (b.size() >= 3 && b[0] == 0xFF && b[1] == 0xD8 && b[2] == 0xFF) return "jpg";
  if (starts("RIFF") && starts("WEBP", 8)) return "webp";
  if (starts("BM")) return "bmp";
  if (starts("GIF8")) return "gif";
  return {};
}

std::string writePicture(const QTemporaryDir& dir, const std::vector<unsigned char>& bytes, const QString& name,
                         const std::string& field, int maxSide) {
  const QString suffix = suffixFor(bytes);
  if (suffix.isEmpty()) throw FieldError(field, "not a PNG, JPEG, WebP, BMP or GIF picture");
  const QString path = dir.filePath(name + "." + suffix);
  QFile file(path);
  if (!file.open(QIODevice::WriteOnly) ||
      file.write(reinterpret_cast<const char*>(bytes.data()), static_cast<qint64>(bytes.size())) !=
          static_cast<qint64>(bytes.size()))
    throw Error("the server could not write a temporary picture: " + file.errorString().toStdString());
  file.close();
  const cv::Size size = image::probe_image_size(path.toStdString());
  if (size.width <= 0 || size.height <= 0) throw FieldError(field, "the picture's header is damaged");
  if (size.width > maxSide || size.height > maxSide)
    throw FieldError(field, "the picture is " + std::to_string(size.width) + "x" + std::to_string(size.height) +
                                " pixels; this server takes at most " + std::to_string(maxSide) + " per side");
  return path.toStdString();
}

}  // namespace

std::shared_ptr<const void> attachPictures(api_server::WebuiRequest& parsed, int maxSide) {
  auto dir = std::make_shared<QTemporaryDir>();
  if (!dir->isValid()) throw Error("the server could not make a temporary folder: " + dir->errorString().toStdString());
  api::GenerationRequest& request = parsed.request;
  request.init.path = writePicture(*dir, parsed.init_image, "init", "init_images[0]", maxSide);
  if (!parsed.mask.empty()) {
    request.mask.path = writePicture(*dir, parsed.mask, "mask", "mask", maxSide);
    if (parsed.invert_mask) {  // inpainting_mask_invert: repaint where the mask is black
      cv::Mat mask;
      try {
        mask = image::load_mask(request.mask.path);
      } catch (const Error& e) {
        throw FieldError("mask", e.what());
      }
      cv::bitwise_not(mask, mask);
      request.mask.path = dir->filePath("mask-inverted.png").toStdString();
      if (!cv::imwrite(request.mask.path, mask)) throw Error("the server could not write the inverted mask");
    }
  }
  if (!parsed.size_given && !request.mask.only_masked) {
    const cv::Size size = image::working_size_for(image::probe_image_size(request.init.path));
    request.size.width = size.width;
    request.size.height = size.height;
  }
  return dir;
}

}  // namespace latent::server
