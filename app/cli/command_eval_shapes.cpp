// latentstudio-cli eval-shapes: how well a model draws the coloured shapes it is asked for.
#include <QCommandLineParser>

#include <cstdio>

#include "commands.h"
#include "common_options.h"
#include "option_values.h"
#include "core/pipeline/engine.h"
#include "core/training/shape_evaluation.h"
#include "core/training/shapes_dataset.h"
#include "core/util/threads.h"

namespace training = latent::training;

namespace {

void printScore(const char* label, const training::GroupScore& s) {
  if (s.total == 0) return;
  std::printf("%-10s %5.1f%%  (%d/%d right; shape %d, colour %d)\n", label, 100.0 * s.accuracy(), s.correct, s.total,
              s.shape_correct, s.colour_correct);
}

}  // namespace

int runEvalShapes(const QStringList& arguments) {
  training::ShapeEvaluationOptions o;
  const ModelOptions model{WithoutModel::starterModel};
  const LoraOption lora;
  const ShapesOption shapes{training::starter_shapes()};
  const StepsOption steps{o.steps};
  const GuidanceOption guidance{o.guidance_scale};
  const SamplerOption sampler{o.sampler};
  const StepCacheOption stepCache;
  const SeedOption seed;
  const ThreadsOption threads;
  const ComputeDtypeOption dtype{"fp32"};
  const WeightsOption weights;
  QCommandLineParser parser;
  parser.setApplicationDescription(
      "Draw pictures of coloured shapes from captions (seeded) and grade them with an OpenCV classifier: "
      "accuracy (shape and colour right) on colour-shape combinations seen in training and held out of it.");
  parser.addHelpOption();
  parser.addOptions(model.options() + lora.options() + shapes.options());
  parser.addOptions({
      {"colours", "Comma-separated colours (default: all eight).", "LIST"},
      {"per-combination", QString("Pictures per colour-shape pair (default %1).").arg(o.per_combination), "N",
       QString::number(o.per_combination)},
  });
  parser.addOptions(steps.options() + guidance.options() + sampler.options() + stepCache.options() +
                    seed.options());
  parser.addOptions({
      {"save", "Write every picture into this folder.", "DIR"},
      {"round-trip", "Grade the VAE's round trips of the dataset's own pictures instead of generations."},
  });
  parser.addOptions(threads.options() + dtype.options() + weights.options());
  parser.process(arguments);
  latent::api::LoadOptions load = model.read(parser).loadOptions();
  load.dtype = dtype.read(parser);
  load.weights = weights.read(parser);
  o.loras = lora.read(parser);
  o.shapes = shapes.read(parser);
  o.colours = commaList(parser, "colours");
  o.per_combination = intValue(parser, "per-combination");
  o.steps = steps.read(parser);
  o.guidance_scale = *guidance.read(parser);
  o.sampler = sampler.read(parser);
  o.step_cache = stepCache.read(parser);
  o.seed = seed.read(parser);
  o.save_dir = parser.value("save").toStdString();
  o.round_trip = parser.isSet("round-trip");
  latent::util::set_thread_count(threads.read(parser));

  latent::pipeline::Engine engine;
  std::fprintf(stderr, "loading %s ...\n", load.model_path.c_str());
  engine.load(load);
  const auto evaluation = training::evaluate_shapes(engine, o, [](int done, int total) {
    std::fprintf(stderr, "\r%d/%d pictures", done, total);
    if (done == total) std::fprintf(stderr, "\n");
  });
  const auto drawnShapes = o.shapes.empty() ? training::starter_shapes() : o.shapes;
  for (const auto& shape : drawnShapes) printScore(shape.c_str(), evaluation.score_of_shape(shape));
  printScore("seen", evaluation.score(training::ShapeGroup::Seen));
  printScore("held-out", evaluation.score(training::ShapeGroup::HeldOut));
  printScore("new shape", evaluation.score(training::ShapeGroup::New));
  return 0;
}
