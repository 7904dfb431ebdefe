// latentstudio-cli eval-shapes: how well a model draws the coloured shapes it is asked for.
#include <QCommandLineParser>

#include <cstdio>

#include "commands.h"
#include "option_values.h"
#include "core/pipeline/engine.h"
#include "core/training/shape_evaluation.h"
#include "core/training/shapes_dataset.h"
#include "core/util/error.h"
#include "core/util/starter_model.h"
#include "core/util/threads.h"

using latent::Error;
namespace training = latent::training;

namespace {

std::vector<std::string> listValue(const QCommandLineParser& parser, const QString& name) {
  std::vector<std::string> out;
  for (const QString& item : parser.value(name).split(',', Qt::SkipEmptyParts)) out.push_back(item.trimmed().toStdString());
  return out;
}

void printScore(const char* label, const training::GroupScore& s) {
  if (s.total == 0) return;
  std::printf("%-10s %5.1f%%  (%d/%d right; shape %d, colour %d)\n", label, 100.0 * s.accuracy(), s.correct, s.total,
              s.shape_correct, s.colour_correct);
}

}  // namespace

int runEvalShapes(const QStringList& arguments) {
  training::ShapeEvaluationOptions o;
  QCommandLineParser parser;
  parser.setApplicationDescription(
      "Draw pictures of coloured shapes from captions (seeded) and grade them with an OpenCV classifier: "
      "accuracy (shape and colour right) on colour-shape combinations seen in training and held out of it.");
  parser.addHelpOption();
  parser.addOptions({
      {"model", "Diffusers folder or checkpoint (default: the bundled starter model).", "PATH"},
      {"lora", "Apply this LoRA file (multiplier 1).", "FILE"},
      {"shapes", "Comma-separated shapes (default circle,square,triangle,star; heart is also known).", "LIST"},
      {"colours", "Comma-separated colours (default: all eight).", "LIST"},
      {"per-combination", QString("Pictures per colour-shape pair (default %1).").arg(o.per_combination), "N",
       QString::number(o.per_combination)},
      {"steps", QString("Denoising steps (default %1).").arg(o.steps), "N", QString::number(o.steps)},
      {"guidance", QString("Guidance scale (default %1).").arg(o.guidance_scale), "G", QString::number(o.guidance_scale)},
      {"sampler", "Sampler (default euler_a).", "NAME", "euler_a"},
      {"seed", "Seed of the captions and the noise (default 0).", "S", "0"},
      {"save", "Write every picture into this folder.", "DIR"},
      {"round-trip", "Grade the VAE's round trips of the dataset's own pictures instead of generations."},
      {"threads", "CPU threads (default: all cores).", "N"},
  });
  parser.process(arguments);
  latent::pipeline::LoadOptions load;
  load.model_path = parser.isSet("model") ? parser.value("model").toStdString() : latent::util::starter_model_dir();
  if (parser.isSet("lora")) o.loras.push_back({parser.value("lora").toStdString(), 1.0});
  if (parser.isSet("shapes")) o.shapes = listValue(parser, "shapes");
  if (parser.isSet("colours")) o.colours = listValue(parser, "colours");
  o.per_combination = intValue(parser, "per-combination");
  o.steps = intValue(parser, "steps");
  bool ok = false;
  o.guidance_scale = parser.value("guidance").toDouble(&ok);
  if (!ok) throw Error("--guidance needs a number");
  o.sampler = parser.value("sampler").toStdString();
  o.seed = parser.value("seed").toULongLong(&ok);
  if (!ok) throw Error("--seed needs a whole number");
  o.save_dir = parser.value("save").toStdString();
  o.round_trip = parser.isSet("round-trip");
  latent::util::set_thread_count(parser.isSet("threads") ? intValue(parser, "threads") : 0);

  latent::pipeline::Engine engine;
  std::fprintf(stderr, "loading %s ...\n", load.model_path.c_str());
  engine.load(load);
  const auto evaluation = training::evaluate_shapes(engine, o, [](int done, int total) {
    std::fprintf(stderr, "\r%d/%d pictures", done, total);
    if (done == total) std::fprintf(stderr, "\n");
  });
  const auto shapes = o.shapes.empty() ? training::starter_shapes() : o.shapes;
  for (const auto& shape : shapes) printScore(shape.c_str(), evaluation.score_of_shape(shape));
  printScore("seen", evaluation.score(training::ShapeGroup::Seen));
  printScore("held-out", evaluation.score(training::ShapeGroup::HeldOut));
  printScore("new shape", evaluation.score(training::ShapeGroup::New));
  return 0;
}
