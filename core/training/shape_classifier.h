#pragma once

// Tells which shape in which colour a picture of the shapes dataset shows, with OpenCV
// only: the background is the colour of the border, the shape is the largest region
// that differs from it; its outline is compared with each shape's template fitted to
// the region's bounding box (intersection over union), its colour is named by hue
// (by brightness when it is unsaturated). eval-shapes grades generated pictures with it.

#include <opencv2/core.hpp>

#include <string>
#include <vector>

namespace latent::training {

struct ShapeGuess {
  std::string shape;   // one of `candidates`, or "" when no region stands out
  std::string colour;  // a colour_names() entry, or ""
  double overlap = 0;  // intersection over union with the chosen template
};

// `rgb`: an 8-bit RGB picture. `candidates`: the shapes to choose from.
ShapeGuess classify_shape(const cv::Mat& rgb, const std::vector<std::string>& candidates);

// The palette name for a colour, by hue (white and black by brightness).
std::string name_colour(const cv::Vec3b& rgb);

}  // namespace latent::training
