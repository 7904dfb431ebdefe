// latentstudio-cli make-random-model: a full-size model folder with random weights.
#include <QCommandLineParser>

#include <cstdio>

#include "commands.h"
#include "core/pipeline/random_model.h"
#include "core/util/error.h"

int runMakeRandomModel(const QStringList& arguments) {
  QCommandLineParser parser;
  parser.setApplicationDescription(
      "Write a full-size Stable Diffusion diffusers folder with random weights, for measuring "
      "speed and memory without a download.");
  parser.addHelpOption();
  parser.addOptions({
      {"config", "Architecture: sd15 (default).", "NAME", "sd15"},
      {"dtype", "Storage precision: fp16 (default), bf16 or fp32.", "TYPE", "fp16"},
      {"out", "Folder to create.", "DIR"},
      {"seed", "Seed of the random weights (default 0).", "S", "0"},
  });
  parser.process(arguments);
  if (!parser.isSet("out")) throw latent::Error("--out is required");
  latent::pipeline::RandomModelOptions options;
  options.config = parser.value("config").toStdString();
  options.dtype = parser.value("dtype").toStdString();
  options.out_dir = parser.value("out").toStdString();
  bool ok = false;
  options.seed = parser.value("seed").toULongLong(&ok);
  if (!ok) throw latent::Error("--seed needs a whole number");
  std::fprintf(stderr, "writing a random %s model to %s ...\n", options.config.c_str(), options.out_dir.c_str());
  latent::pipeline::write_random_model(options);
  std::printf("%s\n", options.out_dir.c_str());
  return 0;
}
