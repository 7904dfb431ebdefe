#include "core/training/shape_evaluation.h"

#include <QDir>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <random>

#include "core/image/image_prep.h"
#include "core/training/shape_classifier.h"
#include "core/training/shapes_dataset.h"
#include "core/util/error.h"

namespace latent::training {

const char* group_name(ShapeGroup group) {
  switch (group) {
    case ShapeGroup::Seen: return "seen";
    case ShapeGroup::HeldOut: return "held-out";
    case ShapeGroup::New: return "new shape";
  }
  return "";
}

GroupScore ShapeEvaluation::score(ShapeGroup group) const {
  GroupScore s;
  for (const auto& sample : samples) {
    if (sample.group != group) continue;
    ++s.total;
    s.correct += sample.correct();
    s.shape_correct += sample.shape == sample.guessed_shape;
    s.colour_correct += sample.colour == sample.guessed_colour;
  }
  return s;
}

GroupScore ShapeEvaluation::score_of_shape(const std::string& shape) const {
  GroupScore s;
  for (const auto& sample : samples) {
    if (sample.shape != shape) continue;
    ++s.total;
    s.correct += sample.correct();
    s.shape_correct += sample.shape == sample.guessed_shape;
    s.colour_correct += sample.colour == sample.guessed_colour;
  }
  return s;
}

std::vector<ShapeSample> evaluation_plan(const ShapeEvaluationOptions& o) {
  const auto& starter = starter_shapes();
  const auto shapes = o.shapes.empty() ? starter : o.shapes;
  const auto colours = o.colours.empty() ? colour_names() : o.colours;
  if (o.per_combination < 1) throw Error("pictures per combination must be at least 1");
  std::mt19937_64 rng(o.seed);
  std::vector<ShapeSample> plan;
  for (const auto& shape : shapes) {
    (void)shape_outline(shape, cv::Rect2f(0, 0, 1, 1));  // throws for an unknown shape
    for (const auto& colour : colours) {
      for (int k = 0; k < o.per_combination; ++k) {
        ShapeSample s;
        s.shape = shape;
        s.colour = colour;
        s.scene = random_scene(rng, shape, colour);
        s.caption = s.scene.caption();
        const bool known = std::find(starter.begin(), starter.end(), shape) != starter.end();
        s.group = !known ? ShapeGroup::New : is_held_out(colour, shape) ? ShapeGroup::HeldOut : ShapeGroup::Seen;
        plan.push_back(s);
      }
    }
  }
  return plan;
}

ShapeEvaluation evaluate_shapes(pipeline::Engine& engine, const ShapeEvaluationOptions& o,
                                const std::function<void(int, int)>& on_sample, const std::atomic<bool>* cancel) {
  ShapeEvaluation out;
  out.samples = evaluation_plan(o);
  if (!o.save_dir.empty() && !QDir().mkpath(QString::fromStdString(o.save_dir)))
    throw Error("cannot create the folder '" + o.save_dir + "'");
  const int total = static_cast<int>(out.samples.size());
  for (int i = 0; i < total; ++i) {
    auto& sample = out.samples[i];
    api::GenerationRequest request;
    request.prompt = sample.caption;
    request.size.width = request.size.height = o.side;
    request.sampling.steps = o.steps;
    request.sampling.guidance_scale = o.guidance_scale;
    request.sampling.sampler = o.sampler;
    request.sampling.step_cache = o.step_cache;
    request.sampling.seed = o.seed * 100003 + i;
    request.loras.adapters = o.loras;
    request.preview.approximate = false;
    request.preview.vae_every = 0;
    if (o.round_trip) {
      request.init.pixels = std::make_shared<api::Image>(image::mat_to_image(render_scene(sample.scene, o.side)));
      request.init.strength = 0;
    }
    const auto result = engine.generate(request, {}, cancel);
    const auto& image = result.images.at(0);
    const cv::Mat rgb(image.height, image.width, CV_8UC3, const_cast<uint8_t*>(image.rgb.data()));
    const ShapeGuess guess = classify_shape(rgb, all_shapes());
    sample.guessed_shape = guess.shape;
    sample.guessed_colour = guess.colour;
    if (!o.save_dir.empty()) {
      cv::Mat bgr;
      cv::cvtColor(rgb, bgr, cv::COLOR_RGB2BGR);
      char name[96];
      std::snprintf(name, sizeof name, "%03d-%s-%s-%s.png", i, sample.colour.c_str(), sample.shape.c_str(),
                    sample.correct() ? "ok" : "wrong");
      cv::imwrite(o.save_dir + "/" + name, bgr);
    }
    if (on_sample) on_sample(i + 1, total);
  }
  return out;
}

}  // namespace latent::training
