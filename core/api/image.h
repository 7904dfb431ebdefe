#pragma once

// A picture as the engine, the GUI and the image helpers exchange it.

#include <cstdint>
#include <vector>

namespace latent::api {

// An 8-bit RGB image, rows top to bottom, 3 bytes per pixel.
struct Image {
  int width = 0;
  int height = 0;
  std::vector<uint8_t> rgb;

  bool empty() const { return rgb.empty(); }
};

}  // namespace latent::api
