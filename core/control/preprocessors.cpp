// After sd-webui-controlnet's annotators (scripts/preprocessor/, annotator/): canny, binary
// ("threshold" / scribble), soft edges, lineart-style and inverted pictures, tile resample,
// and diffusers' make_inpaint_condition for the inpaint model.
#include "core/control/preprocessors.h"

#include <algorithm>
#include <cmath>
#include <opencv2/imgproc.hpp>

#include "core/util/error.h"

namespace latent::control {
namespace {

std::string names_list() {
  std::string names;
  for (const auto& p : preprocessors()) names += (names.empty() ? "" : ", ") + p.name;
  return names;
}

double value_or_default(double given, const std::string& label, double fallback, double low,
                        double high, const std::string& name) {
  if (given < 0 || label.empty()) return fallback;
  if (!(given >= low && given <= high))
    throw Error("the " + name + " preprocessor's " + label + " " + std::to_string(given) +
                " is out of range: use " + std::to_string(low) + " to " + std::to_string(high));
  return given;
}

cv::Mat grey_of(const cv::Mat& rgb) {
  cv::Mat grey;
  cv::cvtColor(rgb, grey, cv::COLOR_RGB2GRAY);
  return grey;
}

cv::Mat rgb_of(const cv::Mat& grey) {
  cv::Mat rgb;
  cv::cvtColor(grey, rgb, cv::COLOR_GRAY2RGB);
  return rgb;
}

// Scribbles and drawings: dark strokes on light paper become white lines on black; a
// threshold of 0 picks Otsu's.
cv::Mat scribble_map(const cv::Mat& rgb, double threshold) {
  cv::Mat bin;
  if (threshold <= 0)
    cv::threshold(grey_of(rgb), bin, 0, 255, cv::THRESH_BINARY_INV | cv::THRESH_OTSU);
  else
    cv::threshold(grey_of(rgb), bin, threshold, 255, cv::THRESH_BINARY_INV);
  return rgb_of(bin);
}

// Soft edges: the gradient magnitude of the blurred picture, stretched to 0..255 and
// blurred again, so that the ControlNet sees soft, thick boundaries.
cv::Mat softedge_map(const cv::Mat& rgb, double sigma) {
  cv::Mat grey, blurred, dx, dy, magnitude;
  grey_of(rgb).convertTo(grey, CV_32F, 1.0 / 255.0);
  cv::GaussianBlur(grey, blurred, cv::Size(0, 0), sigma);
  cv::Sobel(blurred, dx, CV_32F, 1, 0, 3);
  cv::Sobel(blurred, dy, CV_32F, 0, 1, 3);
  cv::magnitude(dx, dy, magnitude);
  double peak = 0;
  cv::minMaxLoc(magnitude, nullptr, &peak);
  if (peak > 0) magnitude /= peak;
  cv::GaussianBlur(magnitude, magnitude, cv::Size(0, 0), std::max(0.5, sigma / 2));
  cv::Mat out;
  magnitude.convertTo(out, CV_8U, 255.0);
  return rgb_of(out);
}

// Lineart-like: how much darker each pixel is than its neighbourhood (the lines of a
// drawing or the dark contours of a photo), as white lines on black.
cv::Mat lineart_map(const cv::Mat& rgb, double radius, double gain) {
  cv::Mat grey, surround, lines;
  grey_of(rgb).convertTo(grey, CV_32F);
  cv::GaussianBlur(grey, surround, cv::Size(0, 0), radius);
  cv::max(surround - grey, 0.0, lines);
  cv::Mat out;
  lines.convertTo(out, CV_8U, gain);
  return rgb_of(out);
}

// Tile: the picture downscaled by `rate` and scaled back (its detail gone, its colours and
// layout kept), then blurred by `sigma`.
cv::Mat tile_map(const cv::Mat& rgb, double rate, double sigma) {
  const int w = std::max(1, static_cast<int>(std::lround(rgb.cols / rate)));
  const int h = std::max(1, static_cast<int>(std::lround(rgb.rows / rate)));
  cv::Mat small, out;
  cv::resize(rgb, small, cv::Size(w, h), 0, 0, cv::INTER_AREA);
  cv::resize(small, out, rgb.size(), 0, 0, cv::INTER_CUBIC);
  if (sigma > 0) cv::GaussianBlur(out, out, cv::Size(0, 0), sigma);
  return out;
}

// diffusers' make_inpaint_condition: x/255, and −1 where the mask (x/255) is above 0.5.
cv::Mat inpaint_map(const cv::Mat& rgb, const cv::Mat& mask) {
  if (mask.empty())
    throw Error("the inpaint preprocessor needs a mask (white = the area to repaint)");
  if (mask.size() != rgb.size() || mask.type() != CV_8UC1)
    throw Error("the inpaint preprocessor's mask must be one 8-bit channel of the picture's size");
  // float32 division, as numpy's astype(float32) / 255 (a multiply by 1/255 rounds differently).
  cv::Mat out(rgb.size(), CV_32FC3);
  for (int y = 0; y < out.rows; ++y) {
    for (int x = 0; x < out.cols; ++x) {
      const cv::Vec3b& pixel = rgb.at<cv::Vec3b>(y, x);
      const bool masked = mask.at<uint8_t>(y, x) / 255.0f > 0.5f;
      for (int c = 0; c < 3; ++c) out.at<cv::Vec3f>(y, x)[c] = masked ? -1.0f : pixel[c] / 255.0f;
    }
  }
  return out;
}

}  // namespace

const std::vector<PreprocessorInfo>& preprocessors() {
  static const std::vector<PreprocessorInfo> list = {
      {"none", "the picture is the control map", "", 0, 0, 0, "", 0, 0, 0},
      {"canny", "Canny edges, white on black", "Low threshold", 100, 1, 255, "High threshold", 200,
       1, 255},
      {"scribble", "dark strokes as white lines (threshold; 0 = Otsu)", "Threshold", 127, 0, 255,
       "", 0, 0, 0},
      {"softedge", "soft, blurred gradient edges", "Blur", 2, 0.5, 16, "", 0, 0, 0},
      {"lineart", "dark lines as white lines on black", "Radius", 3, 0.5, 32, "Gain", 4, 0.1, 32},
      {"invert", "the picture inverted (black lines on white become white on black)", "", 0, 0, 0,
       "", 0, 0, 0},
      {"tile", "downscaled and blurred picture", "Down sampling rate", 4, 1, 32, "Blur", 1, 0, 16},
      {"inpaint", "the picture with the masked area at -1 (needs a mask)", "", 0, 0, 0, "", 0, 0,
       0},
  };
  return list;
}

const PreprocessorInfo& preprocessor_info(const std::string& name) {
  for (const auto& p : preprocessors())
    if (p.name == name) return p;
  if (name == "threshold") return preprocessor_info("scribble");
  throw Error("unknown preprocessor \"" + name + "\": use one of " + names_list());
}

cv::Mat canny_map(const cv::Mat& rgb, double low, double high) {
  cv::Mat edges;
  cv::Canny(rgb, edges, low, high, 3, false);
  return rgb_of(edges);
}

cv::Mat preprocess(const cv::Mat& rgb, const PreprocessSettings& settings, const cv::Mat& mask) {
  const PreprocessorInfo& info = preprocessor_info(settings.name);
  if (rgb.empty() || rgb.type() != CV_8UC3) throw Error("the control picture must be 8-bit RGB");
  const double a =
      value_or_default(settings.a, info.a_label, info.a_default, info.a_min, info.a_max, info.name);
  const double b =
      value_or_default(settings.b, info.b_label, info.b_default, info.b_min, info.b_max, info.name);
  if (info.name == "canny") return canny_map(rgb, a, b);
  if (info.name == "scribble") return scribble_map(rgb, a);
  if (info.name == "softedge") return softedge_map(rgb, a);
  if (info.name == "lineart") return lineart_map(rgb, a, b);
  if (info.name == "invert") return cv::Scalar::all(255) - rgb;
  if (info.name == "tile") return tile_map(rgb, a, b);
  if (info.name == "inpaint") return inpaint_map(rgb, mask);
  return rgb.clone();
}

cv::Mat map_preview(const cv::Mat& map) {
  if (map.depth() == CV_8U) return map;
  cv::Mat clipped, out;
  cv::max(map, 0.0, clipped);
  clipped.convertTo(out, CV_8U, 255.0);
  return out;
}

}  // namespace latent::control
