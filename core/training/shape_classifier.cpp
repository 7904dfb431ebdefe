#include "core/training/shape_classifier.h"

#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>

#include "core/training/shapes_dataset.h"

namespace latent::training {
namespace {

// The median of each channel over the picture's outermost frame of pixels.
cv::Vec3b border_colour(const cv::Mat& rgb) {
  std::vector<uint8_t> channels[3];
  const auto add = [&](int y, int x) {
    const auto& p = rgb.at<cv::Vec3b>(y, x);
    for (int c = 0; c < 3; ++c) channels[c].push_back(p[c]);
  };
  for (int x = 0; x < rgb.cols; ++x) add(0, x), add(rgb.rows - 1, x);
  for (int y = 1; y + 1 < rgb.rows; ++y) add(y, 0), add(y, rgb.cols - 1);
  cv::Vec3b out;
  for (int c = 0; c < 3; ++c) {
    auto& v = channels[c];
    std::nth_element(v.begin(), v.begin() + v.size() / 2, v.end());
    out[c] = v[v.size() / 2];
  }
  return out;
}

// Pixels further than a fixed colour distance from the background.
cv::Mat foreground_mask(const cv::Mat& rgb, const cv::Vec3b& background) {
  cv::Mat diff;
  cv::absdiff(rgb, cv::Scalar(background[0], background[1], background[2]), diff);
  cv::Mat diff_f;
  diff.convertTo(diff_f, CV_32F);
  cv::Mat squared = diff_f.mul(diff_f);
  std::vector<cv::Mat> parts;
  cv::split(squared, parts);
  cv::Mat distance;
  cv::sqrt(parts[0] + parts[1] + parts[2], distance);
  // Half-way between the background and the shape's colour (its furthest pixels) puts
  // the edge where the drawing put it, whatever the contrast; at least a clear difference.
  double furthest = 0;
  cv::minMaxLoc(distance, nullptr, &furthest);
  const double threshold = std::max(40.0, 0.5 * furthest);
  cv::Mat mask = distance > threshold;  // CV_8U 0/255
  return mask;
}

}  // namespace

std::string name_colour(const cv::Vec3b& rgb) {
  cv::Mat pixel(1, 1, CV_8UC3, cv::Scalar(rgb[0], rgb[1], rgb[2])), hsv;
  cv::cvtColor(pixel, hsv, cv::COLOR_RGB2HSV_FULL);  // hue 0..255 for 0..360°
  const auto p = hsv.at<cv::Vec3b>(0, 0);
  const double hue = p[0] * 360.0 / 256.0, saturation = p[1], value = p[2];
  if (saturation < 70) return value >= 128 ? "white" : "black";
  if (value < 50) return "black";
  // Hues of the palette's chromatic colours; the nearest wins.
  static const std::pair<const char*, double> hues[] = {
      {"red", 0}, {"orange", 30}, {"yellow", 54}, {"green", 130}, {"blue", 226}, {"purple", 280}, {"red", 360}};
  const char* best = "red";
  double best_distance = 1e9;
  for (const auto& [name, h] : hues) {
    const double d = std::abs(hue - h);
    if (d < best_distance) best_distance = d, best = name;
  }
  return best;
}

ShapeGuess classify_shape(const cv::Mat& rgb, const std::vector<std::string>& candidates) {
  ShapeGuess guess;
  if (rgb.empty() || rgb.type() != CV_8UC3) return guess;
  const cv::Vec3b background = border_colour(rgb);
  cv::Mat mask = foreground_mask(rgb, background);

  cv::Mat labels, stats, centroids;
  const int count = cv::connectedComponentsWithStats(mask, labels, stats, centroids, 8);
  int best = 0, best_area = 0;
  for (int i = 1; i < count; ++i)
    if (stats.at<int>(i, cv::CC_STAT_AREA) > best_area) best_area = stats.at<int>(i, cv::CC_STAT_AREA), best = i;
  if (best == 0 || best_area < 12) return guess;
  const cv::Rect box(stats.at<int>(best, cv::CC_STAT_LEFT), stats.at<int>(best, cv::CC_STAT_TOP),
                     stats.at<int>(best, cv::CC_STAT_WIDTH), stats.at<int>(best, cv::CC_STAT_HEIGHT));
  const cv::Mat region = (labels == best);  // CV_8U 0/255

  // Templates drawn at 4× inside the region's box, compared at 4× too.
  constexpr int kSuper = 4;
  const cv::Size big(box.width * kSuper, box.height * kSuper);
  cv::Mat region_big;
  cv::resize(region(box), region_big, big, 0, 0, cv::INTER_NEAREST);
  // The region's pixels are whole pixels; the template's edge is placed half a pixel out
  // so that a shape's own pixels (more than half covered) fill it.
  const cv::Rect2f template_box(0, 0, static_cast<float>(big.width), static_cast<float>(big.height));
  const double region_area = cv::countNonZero(region_big);
  guess.overlap = -1;
  for (const auto& shape : candidates) {
    cv::Mat shape_mask = cv::Mat::zeros(big, CV_8U);
    std::vector<cv::Point> polygon;
    for (const auto& p : shape_outline(shape, template_box)) polygon.emplace_back(cvRound(p.x), cvRound(p.y));
    cv::fillPoly(shape_mask, std::vector<std::vector<cv::Point>>{polygon}, cv::Scalar(255));
    const double both = cv::countNonZero(shape_mask & region_big);
    const double either = region_area + cv::countNonZero(shape_mask) - both;
    const double iou = either > 0 ? both / either : 0;
    if (iou > guess.overlap) guess.overlap = iou, guess.shape = shape;
  }

  // The colour: the median of the region's inner pixels (edges mix with the background).
  cv::Mat inner;
  cv::erode(region, inner, cv::getStructuringElement(cv::MORPH_ELLIPSE, {3, 3}));
  if (cv::countNonZero(inner) < 4) inner = region;
  std::vector<uint8_t> channels[3];
  for (int y = 0; y < rgb.rows; ++y)
    for (int x = 0; x < rgb.cols; ++x)
      if (inner.at<uint8_t>(y, x)) {
        const auto& p = rgb.at<cv::Vec3b>(y, x);
        for (int c = 0; c < 3; ++c) channels[c].push_back(p[c]);
      }
  cv::Vec3b median;
  for (int c = 0; c < 3; ++c) {
    auto& v = channels[c];
    std::nth_element(v.begin(), v.begin() + v.size() / 2, v.end());
    median[c] = v[v.size() / 2];
  }
  guess.colour = name_colour(median);
  return guess;
}

}  // namespace latent::training
