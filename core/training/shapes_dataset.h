#pragma once

// The synthetic captioned dataset the starter model learns from: one filled shape in
// one colour on a plain background, drawn with OpenCV from a seeded description, with
// a caption such as "a small red circle on a blue background in the top left". Some
// colour–shape combinations are never drawn for training, to measure generalisation.

#include <opencv2/core.hpp>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace latent::training {

// Shapes the starter model is trained on; "heart" is drawn too but kept for LoRA lessons.
const std::vector<std::string>& starter_shapes();
const std::vector<std::string>& all_shapes();  // starter shapes + heart
const std::vector<std::string>& colour_names();
cv::Vec3b colour_rgb(const std::string& colour);  // throws latent::Error for an unknown name

// Colour–shape pairs held out of training.
struct ColourShape {
  std::string colour;
  std::string shape;
};
const std::vector<ColourShape>& held_out_combinations();
bool is_held_out(const std::string& colour, const std::string& shape);

// Where and how large.
enum class ShapeSize { Small, Large };
const std::vector<std::string>& position_names();  // "top left", ..., "center"

struct ShapeScene {
  std::string shape;
  std::string colour;
  std::string background;
  ShapeSize size = ShapeSize::Small;
  std::string position = "center";
  int jitter_x = 0, jitter_y = 0, jitter_radius = 0;  // pixels at 64×64, scaled with the side

  std::string caption() const;
};

// A random scene with the given shape and colour (background, size, position drawn).
ShapeScene random_scene(std::mt19937_64& rng, const std::string& shape, const std::string& colour);
// A random training scene: a starter shape in a colour, never a held-out combination
// (unless `shapes` says otherwise: every shape listed is drawn, in every colour that is
// not held out for it).
ShapeScene random_training_scene(std::mt19937_64& rng, const std::vector<std::string>& shapes);

// The scene drawn as an RGB image, side × side pixels (a multiple of 16, at least 32).
cv::Mat render_scene(const ShapeScene& scene, int side);

// The outline of a shape fitted to the box (x, y, w, h), as polygon points (the circle as
// a fine polygon), pointing up. Shared by the renderer and the classifier's templates.
std::vector<cv::Point2f> shape_outline(const std::string& shape, const cv::Rect2f& box);

// Writes `count` scenes of `shapes` (seeded) as NAME.png + NAME.txt caption pairs into
// `dir` (created), the layout train-lora reads, numbered after the pairs already there.
// Returns the image paths.
std::vector<std::string> export_scenes(const std::string& dir, const std::vector<std::string>& shapes,
                                       int count, int side, uint64_t seed);

}  // namespace latent::training
