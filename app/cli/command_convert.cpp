// latentstudio-cli convert: a model written again in another form (8-bit weights).
#include <QCommandLineParser>

#include <cstdio>

#include "commands.h"
#include "common_options.h"
#include "core/pipeline/model_convert.h"
#include "core/util/error.h"

using latent::Error;

int runConvert(const QStringList& arguments) {
  const ModelOptions model{WithoutModel::required};
  const WeightsOption weights{"int8"};
  QCommandLineParser parser;
  parser.setApplicationDescription(
      "Write a model as a diffusers folder whose UNet and text encoders hold their linear and "
      "convolution weights in 8 bits, so that later loads take them as they are. Each such layer "
      "is stored as <module>.weight (I8, the layer's shape) and <module>.weight_scale (F32, one "
      "scale per output channel: weight = value x scale); the VAE, the other tensors, the configs, "
      "the tokenizers and the scheduler are copied as they are.");
  parser.addHelpOption();
  parser.addOptions(model.options() + weights.options());
  parser.addOptions({
      {"out", "The folder to write (a new one, or an empty one).", "DIR"},
  });
  parser.process(arguments);
  if (!parser.positionalArguments().isEmpty())
    throw Error("unexpected argument '" + parser.positionalArguments().first().toStdString() + "'");
  if (!parser.isSet("out")) throw Error("--out is required: the folder to write");

  latent::pipeline::ConvertOptions options;
  const ModelChoice choice = model.read(parser);
  options.model_path = choice.path;
  options.config_dir = choice.configDir;
  options.weights = weights.read(parser);
  if (options.weights != "int8") throw Error("convert writes --weights int8 only");
  options.out_dir = parser.value("out").toStdString();
  latent::pipeline::convert_model(options, [](const std::string& part) {
    std::fprintf(stderr, "convert: %s\n", part.c_str());
  });
  std::printf("%s\n", options.out_dir.c_str());
  return 0;
}
