#include "ui/image_conversion.h"

#include <cstring>

namespace latent::ui {

QImage toQImage(const pipeline::Image& image) {
  if (image.width <= 0 || image.height <= 0 ||
      image.rgb.size() < static_cast<size_t>(image.width) * image.height * 3)
    return {};
  QImage out(image.width, image.height, QImage::Format_RGB888);
  const size_t rowBytes = static_cast<size_t>(image.width) * 3;
  for (int y = 0; y < image.height; ++y)
    std::memcpy(out.scanLine(y), image.rgb.data() + y * rowBytes, rowBytes);
  return out;
}

}  // namespace latent::ui
