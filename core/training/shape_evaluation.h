#pragma once

// Grades a model on the shapes dataset: draws one picture per caption (seeded), asks
// the shape classifier what it shows, and counts how often shape and colour are both
// right, separately for combinations seen in training, held-out combinations, and
// shapes the starter model was never taught (a LoRA's lesson).

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/api/generation_request.h"
#include "core/pipeline/engine.h"
#include "core/training/shapes_dataset.h"

namespace latent::training {

struct ShapeEvaluationOptions {
  std::vector<std::string> shapes;   // empty = the starter shapes
  std::vector<std::string> colours;  // empty = every colour
  int per_combination = 3;           // pictures per colour–shape pair
  int side = 64;
  int steps = 25;
  double guidance_scale = 7.5;
  std::string sampler = "euler_a";
  int step_cache = 1;  // api::SamplingSettings::step_cache
  uint64_t seed = 0;
  std::vector<api::LoraSpec> loras;
  std::string save_dir;  // when set, every picture is written there as PNG
  // Grade the VAE's round trips of the dataset's own pictures instead of generations:
  // the ceiling the autoencoder sets for any denoiser trained on its latents.
  bool round_trip = false;
};

enum class ShapeGroup { Seen, HeldOut, New };
const char* group_name(ShapeGroup group);

struct ShapeSample {
  std::string caption;
  ShapeScene scene;  // the picture the caption describes
  std::string shape, colour;
  ShapeGroup group = ShapeGroup::Seen;
  std::string guessed_shape, guessed_colour;
  bool correct() const { return shape == guessed_shape && colour == guessed_colour; }
};

struct GroupScore {
  int correct = 0, total = 0, shape_correct = 0, colour_correct = 0;
  double accuracy() const { return total ? static_cast<double>(correct) / total : 0; }
};

struct ShapeEvaluation {
  std::vector<ShapeSample> samples;
  GroupScore score(ShapeGroup group) const;
  GroupScore score_of_shape(const std::string& shape) const;
};

// The captions graded, in order (deterministic for the options' seed).
std::vector<ShapeSample> evaluation_plan(const ShapeEvaluationOptions& options);

// Runs the plan on a loaded engine. `on_sample` is told after each picture.
ShapeEvaluation evaluate_shapes(pipeline::Engine& engine, const ShapeEvaluationOptions& options,
                                const std::function<void(int done, int total)>& on_sample = {},
                                const std::atomic<bool>* cancel = nullptr);

}  // namespace latent::training
