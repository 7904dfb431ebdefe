#include "ui/image_conversion.h"

#include <cstring>

namespace latent::ui {

QImage toQImage(const api::Image& image) {
  if (image.width <= 0 || image.height <= 0 ||
      image.rgb.size() < static_cast<size_t>(image.width) * image.height * 3)
    return {};
  QImage out(image.width, image.height, QImage::Format_RGB888);
  const size_t rowBytes = static_cast<size_t>(image.width) * 3;
  for (int y = 0; y < image.height; ++y)
    std::memcpy(out.scanLine(y), image.rgb.data() + y * rowBytes, rowBytes);
  return out;
}

std::shared_ptr<const api::Image> toApiImage(const QImage& image) {
  auto out = std::make_shared<api::Image>();
  if (image.isNull()) return out;
  const QImage rgb = image.convertToFormat(QImage::Format_RGB888);
  out->width = rgb.width();
  out->height = rgb.height();
  const size_t rowBytes = static_cast<size_t>(rgb.width()) * 3;
  out->rgb.resize(rowBytes * rgb.height());
  // QImage rows are padded to 4 bytes; the engine's are packed.
  for (int y = 0; y < rgb.height(); ++y) std::memcpy(out->rgb.data() + y * rowBytes, rgb.constScanLine(y), rowBytes);
  return out;
}

}  // namespace latent::ui
