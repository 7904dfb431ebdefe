// latentstudio-cli train-lora: LoRA fine-tuning on a folder of captioned pictures.
#include <QCommandLineParser>

#include <cstdio>

#include "commands.h"
#include "common_options.h"
#include "option_values.h"
#include "core/training/lora_training.h"
#include "core/util/error.h"
#include "core/util/threads.h"
#include "training_progress.h"

using latent::Error;

int runTrainLora(const QStringList& arguments) {
  latent::training::LoraTrainingOptions o;
  const ModelOptions model{WithoutModel::required, /*configDir=*/false};  // training takes a path alone
  const SeedOption seed;
  const DeviceOption device;
  const ThreadsOption threads;
  QCommandLineParser parser;
  parser.setApplicationDescription(
      "Fine-tune a model with LoRA on a folder of pictures with .txt captions (NAME.png + NAME.txt); "
      "writes a kohya-layout .safetensors file that generate --lora and other programs read.");
  parser.addHelpOption();
  parser.addOptions(model.options());
  parser.addOptions({
      {"data", "Folder of pictures and captions.", "DIR"},
      {"out", "LoRA file to write (.safetensors).", "FILE"},
      {"rank", QString("Rank of the adapters (default %1).").arg(o.rank), "R", QString::number(o.rank)},
      {"alpha", "Alpha (default: the rank, a scale of 1).", "A"},
      {"steps", QString("Optimisation steps (default %1).").arg(o.steps), "N", QString::number(o.steps)},
      {"batch", QString("Pictures per step (default %1).").arg(o.batch), "N", QString::number(o.batch)},
      {"lr", QString("Learning rate (default %1).").arg(o.learning_rate), "X", QString::number(o.learning_rate)},
      {"text-encoder", "Also adapt the text encoder's attention projections."},
      {"cross-attention-only", "Adapt only the UNet's cross-attention: teaches new words while other prompts change least."},
  });
  parser.addOptions(seed.options() + device.options() + threads.options());
  parser.process(arguments);
  o.model_path = model.read(parser).path;
  for (const char* required : {"data", "out"})
    if (!parser.isSet(required)) throw Error(std::string("--") + required + " is required");
  o.data_dir = parser.value("data").toStdString();
  o.out_path = parser.value("out").toStdString();
  o.rank = intValue(parser, "rank");
  if (parser.isSet("alpha")) o.alpha = doubleValue(parser, "alpha");
  o.steps = intValue(parser, "steps");
  o.batch = intValue(parser, "batch");
  o.learning_rate = doubleValue(parser, "lr");
  o.train_text_encoder = parser.isSet("text-encoder");
  o.cross_attention_only = parser.isSet("cross-attention-only");
  o.seed = seed.read(parser);
  o.device = device.read(parser);
  latent::util::set_thread_count(threads.read(parser));

  std::fprintf(stderr, "training a rank-%d LoRA on %s for %d steps\n", o.rank, o.data_dir.c_str(), o.steps);
  const auto result = latent::training::train_lora(o, printTrainingProgress);
  std::fprintf(stderr, "%d pictures, %d layers adapted, loss %.4f -> %.4f, %.1f s\n", result.pictures, result.modules,
               result.first_loss, result.last_loss, result.seconds);
  std::printf("%s\n", o.out_path.c_str());
  return 0;
}
