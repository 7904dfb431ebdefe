// latentstudio-cli grid: an X/Y/Z plot, every combination of up to three axes of settings
// drawn and assembled into one labelled grid PNG (core/pipeline/xyz_plan.h, core/image/grid_image.h).
#include <QCommandLineParser>
#include <QDir>
#include <QFileInfo>

#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "commands.h"
#include "picture_options.h"
#include "output_files.h"
#include "core/image/grid_image.h"
#include "core/image/png_metadata.h"
#include "core/image/result_metadata.h"
#include "core/pipeline/engine.h"
#include "core/pipeline/model_probe.h"
#include "core/pipeline/request_validation.h"
#include "core/pipeline/xyz_plan.h"
#include "core/util/error.h"
#include "core/util/threads.h"
#include "progress_bar.h"

using latent::Error;
namespace api = latent::api;
namespace pipeline = latent::pipeline;
namespace image = latent::image;

namespace {

const char* const kLetters[] = {"x", "y", "z"};

OptionList axisOptions() {
  QStringList names;
  for (const auto& info : pipeline::axis_types()) names << info.name;
  const QString types = names.join(", ");
  const QString values =
      "Comma-separated; \"quoted\" where a value holds a comma; numbers also as ranges: 1-5, "
      "1-10 (+2) (a step), 1-10 [5] (a count). Prompt S/R: the first value is the text that each "
      "value replaces.";
  OptionList options;
  for (const char* letter : kLetters) {
    const QString upper = QString(letter).toUpper();
    const QString role = upper == "X" ? "the columns" : upper == "Y" ? "the rows" : "the grids";
    options.append({QString(letter) + "-type",
                    "What " + role + " vary: " + types + " (or the web UI's names, \"CFG Scale\").", "TYPE"});
    options.append({QString(letter) + "-values", upper + " values. " + values, "VALUES"});
  }
  return options;
}

pipeline::AxisSpec readAxis(const QCommandLineParser& parser, const QString& letter) {
  pipeline::AxisSpec spec;
  const QString type = letter + "-type";
  const QString values = letter + "-values";
  if (parser.isSet(type)) spec.type = pipeline::parse_axis_type(parser.value(type).toStdString());
  spec.values = parser.value(values).toStdString();
  if (spec.type != pipeline::AxisType::nothing && spec.values.empty())
    throw Error("--" + values.toStdString() + " is required with --" + type.toStdString() + " " +
                parser.value(type).toStdString());
  if (spec.type == pipeline::AxisType::nothing && parser.isSet(values))
    throw Error("--" + values.toStdString() + " needs --" + type.toStdString());
  return spec;
}

// A checkpoint value: a model file or folder (here or beside --model) that opens as a model.
std::string checkpointPath(const std::string& value, const api::LoadOptions& base) {
  const std::string path = pipeline::find_checkpoint_near(value, base.model_path);
  if (path.empty()) return path;
  api::LoadOptions options = base;
  options.model_path = path;
  pipeline::probe_model(options);  // throws the loader's message for what is not a model
  return path;
}

}  // namespace

int runGrid(const QStringList& arguments) {
  const PictureOptions picture;
  QCommandLineParser parser;
  parser.setApplicationDescription(
      "Draw an X/Y/Z plot: a picture for every combination of the values of up to three axes "
      "(seed, steps, guidance, sampler, prompt search/replace, LoRA multiplier, checkpoint, strength, "
      "clip skip), assembled into one labelled grid.");
  parser.addHelpOption();
  parser.addOptions(
      picture.model.options() + OptionList{{"prompt", "What to draw.", "TEXT"}} +
      picture.negative.options() + axisOptions() + picture.steps.options() +
      picture.guidance.options() + picture.seed.options() + picture.size.options() +
      picture.sampler.options() + picture.stepCache.options() + picture.clipSkip.options() +
      picture.promptText.options() + picture.dtype.options() + picture.weights.options() +
      picture.device.options() + picture.threads.options() + picture.lora.options() +
      picture.embeddings.options() + picture.initImage.options() + picture.hires.options());
  parser.addOptions({
      {"out", "The grid PNG (default grid.png).", "FILE", "grid.png"},
      {"overwrite", "Replace existing output files."},
      {"keep-images", "Also save every picture, with its own parameters, in this folder as "
                      "x1-y1-z1.png, x2-y1-z1.png, ... (created when missing).", "DIR"},
      {"no-legend", "Leave out the axis titles."},
      {"grid-per-z", "One grid per Z value (NAME-1.png, NAME-2.png, ...) instead of all side by side."},
  });
  parser.process(arguments);
  if (!parser.positionalArguments().isEmpty())
    throw Error("unexpected argument '" + parser.positionalArguments().first().toStdString() + "'");

  api::GenerationRequest request;
  if (!parser.isSet("prompt")) throw Error("--prompt is required");
  request.prompt = parser.value("prompt").toStdString();
  request.negative_prompt = picture.negative.read(parser).value_or("");
  api::SamplingSettings& sampling = request.sampling;
  sampling.steps = picture.steps.read(parser);
  sampling.seed = picture.seed.read(parser);
  sampling.sampler = picture.sampler.read(parser);
  sampling.step_cache = picture.stepCache.read(parser);
  sampling.clip_skip = picture.clipSkip.read(parser);
  const SizeOptions::Size givenSize = picture.size.read(parser);
  request.size.width = givenSize.width;
  request.size.height = givenSize.height;
  request.loras.adapters = picture.lora.read(parser);
  request.embeddings_dir = picture.embeddings.read(parser);
  picture.promptText.read(parser,
                          request);  // styles first: Prompt S/R finds its text in the styled prompt
  picture.initImage.read(parser, request);
  picture.hires.read(parser, request.second_pass);
  // Previews cost time and nobody sees them here.
  request.preview.approximate = false;
  request.preview.vae_every = 0;

  const ModelChoice modelChoice = picture.model.read(parser);
  api::LoadOptions load = modelChoice.loadOptions();
  load.dtype = picture.dtype.read(parser);
  load.weights = picture.weights.read(parser);
  load.device = picture.device.read(parser);
  const pipeline::ModelDefaults defaults = pipeline::probe_model(load).defaults;
  if (request.size.width == 0) request.size.width = defaults.width;
  if (request.size.height == 0) request.size.height = defaults.height;
  sampling.guidance_scale = picture.guidance.read(parser).value_or(defaults.guidance_scale);

  const pipeline::AxisSpec x = readAxis(parser, "x");
  const pipeline::AxisSpec y = readAxis(parser, "y");
  const pipeline::AxisSpec z = readAxis(parser, "z");
  if (x.type == pipeline::AxisType::nothing && y.type == pipeline::AxisType::nothing &&
      z.type == pipeline::AxisType::nothing)
    throw Error("give at least one axis, e.g. --x-type steps --x-values 10,20,30");
  pipeline::XyzContext context;
  context.samplers = pipeline::sampler_names();
  context.find_checkpoint = [&load](const std::string& value) { return checkpointPath(value, load); };
  context.validate_request = pipeline::validate_request;
  const pipeline::XyzPlan plan = pipeline::make_xyz_plan(request, load.model_path, x, y, z, context);

  const bool perZ = parser.isSet("grid-per-z");
  const auto gridPaths = numberedOutputPaths(parser.value("out"), perZ ? plan.z.size() : 1);
  const bool overwrite = parser.isSet("overwrite");
  checkOutputPaths(gridPaths, overwrite);
  const QString keepDir = parser.value("keep-images");
  const auto keptPath = [&](const pipeline::XyzCell& cell) {
    return QDir(keepDir).filePath(QString("x%1-y%2-z%3.png").arg(cell.x + 1).arg(cell.y + 1).arg(cell.z + 1));
  };
  const std::vector<pipeline::XyzCell> cells = plan.cells_in_run_order();
  if (!keepDir.isEmpty()) {
    if (!QDir().mkpath(keepDir)) throw Error("cannot create the folder '" + keepDir.toStdString() + "'");
    std::vector<QString> kept;
    for (const pipeline::XyzCell& cell : cells) kept.push_back(keptPath(cell));
    checkOutputPaths(kept, overwrite);
  }
  latent::util::set_thread_count(picture.threads.read(parser));

  std::fprintf(stderr, "X/Y/Z plot: %d pictures, %d x %d%s, seed %llu\n", plan.cell_count(), plan.x.size(),
               plan.y.size(), plan.z.size() > 1 ? (" x " + std::to_string(plan.z.size())).c_str() : "",
               static_cast<unsigned long long>(sampling.seed));
  pipeline::Engine engine;
  std::vector<api::Image> pictures(static_cast<std::size_t>(plan.cell_count()));
  std::vector<image::TextChunks> metadata(pictures.size());
  int failures = 0;
  for (std::size_t n = 0; n < cells.size(); ++n) {
    const pipeline::XyzCell& cell = cells[n];
    api::LoadOptions cellLoad = load;
    cellLoad.model_path = cell.model_path;
    std::fprintf(stderr, "[%zu/%zu] %s\n", n + 1, cells.size(), plan.describe(cell).c_str());
    try {
      engine.load(cellLoad);  // kept while the checkpoint stays the same
      const api::GenerationResult result = engine.generate(cell.request, printProgress);
      finishProgress();
      for (const auto& warning : result.warnings) std::fprintf(stderr, "warning: %s\n", warning.c_str());
      const auto index = static_cast<std::size_t>(plan.grid_index(cell.x, cell.y, cell.z));
      pictures[index] = result.images.front();
      metadata[index] = image::result_metadata(result, 0, cellLoad);
      if (!keepDir.isEmpty()) {
        image::write_file_atomically(keptPath(cell).toStdString(), image::encode_png(pictures[index], metadata[index]));
        std::printf("%s\n", qPrintable(keptPath(cell)));
      }
    } catch (const Error& error) {
      // As the web UI does: the cell stays black and the plot goes on.
      finishProgress();
      std::fprintf(stderr, "error: %s: %s\n", plan.describe(cell).c_str(), error.what());
      ++failures;
    }
  }
  if (failures == plan.cell_count()) throw Error("no picture of the plot could be made");

  const bool legend = !parser.isSet("no-legend");
  const auto titles = [&](const pipeline::Axis& axis) { return legend ? plan.labels(axis) : std::vector<std::string>{}; };
  const std::vector<api::Image> grids =
      image::xyz_grids(pictures, titles(plan.x), titles(plan.y), titles(plan.z), plan.x.size(), plan.y.size(),
                       plan.z.size(), perZ ? image::ZLayout::separate : image::ZLayout::side_by_side);
  for (std::size_t g = 0; g < grids.size(); ++g) {
    // Each grid carries the metadata of its first picture, with the plot's fields.
    const image::TextChunks& first = metadata[static_cast<std::size_t>(plan.grid_index(0, 0, static_cast<int>(g)))];
    image::write_file_atomically(gridPaths[g].toStdString(),
                                 image::encode_png(grids[g], pipeline::xyz_grid_metadata(first, plan)));
    std::printf("%s\n", qPrintable(gridPaths[g]));
  }
  if (failures > 0) throw Error(std::to_string(failures) + " of " + std::to_string(plan.cell_count()) +
                                " pictures failed (black in the grid)");
  return 0;
}
