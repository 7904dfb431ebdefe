#include "core/training/shapes_dataset.h"

#include <QDir>
#include <QFileInfo>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>
#include <fstream>

#include "core/util/error.h"

namespace latent::training {
namespace {

struct NamedColour {
  const char* name;
  cv::Vec3b rgb;
};

const std::vector<NamedColour>& palette() {
  static const std::vector<NamedColour> colours = {
      {"red", {220, 40, 40}},     {"green", {40, 170, 60}},   {"blue", {40, 80, 220}},
      {"yellow", {240, 220, 40}}, {"orange", {245, 140, 30}}, {"purple", {140, 60, 180}},
      {"white", {245, 245, 245}}, {"black", {20, 20, 20}}};
  return colours;
}

// Backgrounds far enough from the shape's colour that the shape stands out (this rules
// out the near pairs red–orange, yellow–orange and blue–purple, whose small shapes blur
// into the background once encoded).
bool contrasts(const cv::Vec3b& a, const cv::Vec3b& b) {
  double d2 = 0;
  for (int c = 0; c < 3; ++c) d2 += (double(a[c]) - b[c]) * (double(a[c]) - b[c]);
  return std::sqrt(d2) >= 120.0;
}

template <typename T>
const T& pick(std::mt19937_64& rng, const std::vector<T>& items) {
  return items[std::uniform_int_distribution<size_t>(0, items.size() - 1)(rng)];
}

int uniform(std::mt19937_64& rng, int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); }

// Polygon points normalised so that their bounding box is exactly `box`.
std::vector<cv::Point2f> fit_to_box(const std::vector<cv::Point2f>& points, const cv::Rect2f& box) {
  float x0 = points[0].x, x1 = x0, y0 = points[0].y, y1 = y0;
  for (const auto& p : points) {
    x0 = std::min(x0, p.x), x1 = std::max(x1, p.x);
    y0 = std::min(y0, p.y), y1 = std::max(y1, p.y);
  }
  std::vector<cv::Point2f> out;
  out.reserve(points.size());
  for (const auto& p : points)
    out.emplace_back(box.x + (p.x - x0) / (x1 - x0) * box.width, box.y + (p.y - y0) / (y1 - y0) * box.height);
  return out;
}

// Scene centre in 64×64 pixels.
cv::Point2f position_centre(const std::string& position) {
  if (position == "top left") return {18, 18};
  if (position == "top right") return {46, 18};
  if (position == "bottom left") return {18, 46};
  if (position == "bottom right") return {46, 46};
  return {32, 32};
}

}  // namespace

const std::vector<std::string>& starter_shapes() {
  static const std::vector<std::string> shapes = {"circle", "square", "triangle", "star"};
  return shapes;
}

const std::vector<std::string>& all_shapes() {
  static const std::vector<std::string> shapes = {"circle", "square", "triangle", "star", "heart"};
  return shapes;
}

const std::vector<std::string>& colour_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> out;
    for (const auto& c : palette()) out.push_back(c.name);
    return out;
  }();
  return names;
}

cv::Vec3b colour_rgb(const std::string& colour) {
  for (const auto& c : palette())
    if (colour == c.name) return c.rgb;
  throw Error("unknown colour '" + colour + "'");
}

const std::vector<ColourShape>& held_out_combinations() {
  static const std::vector<ColourShape> held = {{"red", "star"},     {"green", "triangle"},
                                                {"blue", "square"},  {"yellow", "circle"},
                                                {"purple", "triangle"}, {"white", "star"}};
  return held;
}

bool is_held_out(const std::string& colour, const std::string& shape) {
  for (const auto& h : held_out_combinations())
    if (h.colour == colour && h.shape == shape) return true;
  return false;
}

const std::vector<std::string>& position_names() {
  static const std::vector<std::string> names = {"top left", "top right", "bottom left", "bottom right",
                                                 "center"};
  return names;
}

std::string ShapeScene::caption() const {
  return std::string("a ") + (size == ShapeSize::Small ? "small " : "large ") + colour + " " + shape + " on a " +
         background + " background in the " + position;
}

ShapeScene random_scene(std::mt19937_64& rng, const std::string& shape, const std::string& colour) {
  ShapeScene scene;
  scene.shape = shape;
  scene.colour = colour;
  std::vector<std::string> backgrounds;
  for (const auto& c : palette())
    if (contrasts(c.rgb, colour_rgb(colour))) backgrounds.push_back(c.name);
  scene.background = pick(rng, backgrounds);
  scene.size = uniform(rng, 0, 2) == 0 ? ShapeSize::Large : ShapeSize::Small;
  if (scene.size == ShapeSize::Small) {
    scene.position = pick(rng, position_names());
    scene.jitter_x = uniform(rng, -3, 3);
    scene.jitter_y = uniform(rng, -3, 3);
    scene.jitter_radius = uniform(rng, -1, 1);
  } else {
    scene.position = "center";
    scene.jitter_x = uniform(rng, -2, 2);
    scene.jitter_y = uniform(rng, -2, 2);
    scene.jitter_radius = uniform(rng, -2, 2);
  }
  return scene;
}

ShapeScene random_training_scene(std::mt19937_64& rng, const std::vector<std::string>& shapes) {
  while (true) {
    const std::string& shape = pick(rng, shapes);
    const std::string& colour = pick(rng, colour_names());
    if (!is_held_out(colour, shape)) return random_scene(rng, shape, colour);
  }
}

std::vector<cv::Point2f> shape_outline(const std::string& shape, const cv::Rect2f& box) {
  constexpr double kPi = 3.14159265358979323846;
  std::vector<cv::Point2f> points;
  if (shape == "circle") {
    for (int i = 0; i < 96; ++i) points.emplace_back(std::cos(2 * kPi * i / 96), std::sin(2 * kPi * i / 96));
  } else if (shape == "square") {
    points = {{0, 0}, {1, 0}, {1, 1}, {0, 1}};
  } else if (shape == "triangle") {
    points = {{0.5f, 0}, {1, 1}, {0, 1}};
  } else if (shape == "star") {
    for (int i = 0; i < 10; ++i) {
      const double angle = -kPi / 2 + i * kPi / 5, radius = i % 2 == 0 ? 1.0 : 0.45;
      points.emplace_back(radius * std::cos(angle), radius * std::sin(angle));
    }
  } else if (shape == "heart") {
    for (int i = 0; i < 96; ++i) {
      const double t = 2 * kPi * i / 96;
      const double x = 16 * std::pow(std::sin(t), 3);
      const double y = 13 * std::cos(t) - 5 * std::cos(2 * t) - 2 * std::cos(3 * t) - std::cos(4 * t);
      points.emplace_back(x, -y);  // image rows grow downwards
    }
  } else {
    throw Error("unknown shape '" + shape + "'");
  }
  return fit_to_box(points, box);
}

cv::Mat render_scene(const ShapeScene& scene, int side) {
  if (side < 32 || side % 16 != 0) throw Error("scene side " + std::to_string(side) + " must be a multiple of 16, at least 32");
  // Drawn 4× larger and averaged down: smooth edges without OpenCV's anti-aliasing rules.
  constexpr int kSuper = 4;
  const float scale = static_cast<float>(side) / 64.0f * kSuper;
  const cv::Vec3b bg = colour_rgb(scene.background), fg = colour_rgb(scene.colour);
  cv::Mat big(side * kSuper, side * kSuper, CV_8UC3, cv::Scalar(bg[0], bg[1], bg[2]));
  const cv::Point2f centre = position_centre(scene.position) + cv::Point2f(scene.jitter_x, scene.jitter_y);
  // Small shapes are a third of the picture across: at 4 pixels per latent a star's
  // points survive the autoencoder.
  const float radius = (scene.size == ShapeSize::Small ? 11.0f : 19.0f) + scene.jitter_radius;
  const cv::Rect2f box((centre.x - radius) * scale, (centre.y - radius) * scale, 2 * radius * scale, 2 * radius * scale);
  std::vector<cv::Point> polygon;
  for (const auto& p : shape_outline(scene.shape, box)) polygon.emplace_back(cvRound(p.x), cvRound(p.y));
  cv::fillPoly(big, std::vector<std::vector<cv::Point>>{polygon}, cv::Scalar(fg[0], fg[1], fg[2]));
  cv::Mat out;
  cv::resize(big, out, cv::Size(side, side), 0, 0, cv::INTER_AREA);
  return out;
}

std::vector<std::string> export_scenes(const std::string& dir, const std::vector<std::string>& shapes, int count,
                                       int side, uint64_t seed) {
  if (count < 1) throw Error("the number of images must be at least 1");
  if (!QDir().mkpath(QString::fromStdString(dir))) throw Error("cannot create the folder '" + dir + "'");
  std::mt19937_64 rng(seed);
  std::vector<std::string> paths;
  // Numbered after the pictures already there, so that several runs can fill one folder
  // (say, a new shape and some old ones to keep them in mind).
  int number = 0;
  for (int i = 0; i < count; ++i) {
    const ShapeScene scene = random_training_scene(rng, shapes);
    const cv::Mat rgb = render_scene(scene, side);
    cv::Mat bgr;
    cv::cvtColor(rgb, bgr, cv::COLOR_RGB2BGR);
    std::string base;
    do {
      char name[32];
      std::snprintf(name, sizeof name, "%04d", number++);
      base = dir + "/" + name;
    } while (QFileInfo::exists(QString::fromStdString(base + ".png")) ||
             QFileInfo::exists(QString::fromStdString(base + ".txt")));
    if (!cv::imwrite(base + ".png", bgr)) throw Error("cannot write '" + base + ".png'");
    std::ofstream caption(base + ".txt");
    caption << scene.caption() << "\n";
    if (!caption) throw Error("cannot write '" + base + ".txt'");
    paths.push_back(base + ".png");
  }
  return paths;
}

}  // namespace latent::training
