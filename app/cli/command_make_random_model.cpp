// latentstudio-cli make-random-model: a full-size model folder with random weights.
#include <QCommandLineParser>

#include <cstdio>

#include "commands.h"
#include "common_options.h"
#include "core/pipeline/random_model.h"
#include "core/pipeline/random_upscaler.h"
#include "core/util/error.h"

int runMakeRandomModel(const QStringList& arguments) {
  const StorageDtypeOption dtype;
  const SeedOption seed;
  QCommandLineParser parser;
  parser.setApplicationDescription(
      "Write a full-size Stable Diffusion diffusers folder with random weights, for measuring "
      "speed and memory without a download. One network is built at a time: sdxl needs about "
      "10 GB of memory and 7 GB of disk in fp16.");
  parser.addHelpOption();
  parser.addOptions({{"config",
                      "Architecture: sd15 (Stable Diffusion 1.5), sd21-768 (Stable Diffusion 2.1, "
                      "768-v), sdxl (the SDXL base) or "
                      "sdxl-refiner (default sd15); controlnet-sd15 (a ControlNet folder for "
                      "sd15); or an upscaler network written as one "
                      ".safetensors file at --out: rrdbnet-x4 (23 blocks, 64 features), rrdbnet-x2 "
                      "or srvgg-x4.",
                      "NAME", "sd15"}});
  parser.addOptions(dtype.options());
  parser.addOptions({{"out", "Folder to create.", "DIR"}});
  parser.addOptions(seed.options());
  parser.process(arguments);
  if (!parser.isSet("out")) throw latent::Error("--out is required");
  latent::pipeline::RandomModelOptions options;
  options.config = parser.value("config").toStdString();
  options.dtype = dtype.read(parser);
  options.out_dir = parser.value("out").toStdString();
  options.seed = seed.read(parser);
  std::fprintf(stderr, "writing a random %s model to %s ...\n", options.config.c_str(), options.out_dir.c_str());
  if (latent::pipeline::is_random_controlnet_config(options.config))
    latent::pipeline::write_random_controlnet(options);
  else if (latent::pipeline::is_random_upscaler_config(options.config))
    latent::pipeline::write_random_upscaler(options.config, options.out_dir, options.dtype, options.seed);
  else
    latent::pipeline::write_random_model(options);
  std::printf("%s\n", options.out_dir.c_str());
  return 0;
}
