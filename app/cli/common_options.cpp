#include "common_options.h"

#include <QDir>
#include <QFileInfo>
#include <QRandomGenerator>

#include "core/pipeline/model_bundle.h"
#include "core/pipeline/weight_loading.h"
#include "core/schedulers/scheduler.h"
#include "core/training/shapes_dataset.h"
#include "core/util/error.h"
#include "core/util/starter_model.h"
#include "option_values.h"

using latent::Error;

namespace {

// The help of an option whose default a command chooses: a fixed sentence and this
// clause, so that the option reads the same in every command but for the value.
QString withDefault(const QString& sentence, const QString& value) {
  return sentence + " (default " + value + ").";
}

// The defaults of options a command takes from the loaded model (Engine::model_defaults).
const QString kModelSize = "the model's: 512 for SD 1.5, 1024 for SDXL";
const QString kModelGuidance = "the model's: 5 for SDXL, 7.5 for the others";

QString joined(const std::vector<std::string>& names, const QString& separator) {
  QStringList list;
  for (const auto& name : names) list << QString::fromStdString(name);
  return list.join(separator);
}

}  // namespace

OptionList ModelOptions::options() const {
  QString whenAbsent;
  switch (without) {
    case WithoutModel::required: whenAbsent = "required"; break;
    case WithoutModel::starterModel: whenAbsent = "default: the bundled starter model, 64x64"; break;
    case WithoutModel::bundledTokenizer: whenAbsent = "default: the bundled SD 1.5 tokenizer"; break;
  }
  OptionList list{{"model", "Diffusers folder or single-file .safetensors checkpoint (" + whenAbsent + ").",
                   "PATH"}};
  if (configDir)
    list.append({"config-dir",
                 "Configs (a diffusers folder) for a single-file checkpoint (default: the bundled "
                 "configs of the family its weights show).",
                 "DIR"});
  return list;
}

ModelChoice ModelOptions::read(const QCommandLineParser& parser) const {
  ModelChoice choice;
  if (configDir) choice.configDir = parser.value("config-dir").toStdString();
  if (parser.isSet("model")) {
    choice.path = parser.value("model").toStdString();
    return choice;
  }
  switch (without) {
    case WithoutModel::required:
      throw Error("--model is required: a diffusers folder or a .safetensors checkpoint");
    case WithoutModel::starterModel:
      if (!latent::util::starter_model_available())
        throw Error("--model is required: a diffusers folder or a .safetensors checkpoint "
                    "(the bundled starter model is missing)");
      choice.path = latent::util::starter_model_dir();
      choice.starter = true;
      break;
    case WithoutModel::bundledTokenizer:
      break;
  }
  return choice;
}

latent::api::LoadOptions ModelChoice::loadOptions() const {
  latent::api::LoadOptions load;
  load.model_path = path;
  load.config_dir = configDir;
  return load;
}

OptionList ComputeDtypeOption::options() const {
  return {{"dtype",
           withDefault("Compute precision: fp32, bf16, fp16 (cuda only), or auto: bf16 where "
                       "the CPU computes it natively, else fp32, and fp16 on cuda",
                       QString::fromStdString(defaultValue)),
           "TYPE", QString::fromStdString(defaultValue)}};
}

std::string ComputeDtypeOption::read(const QCommandLineParser& parser) const {
  const std::string name = parser.value("dtype").toStdString();
  latent::pipeline::parse_dtype(name);  // the loader's check and message, before any work
  return name;
}

OptionList WeightsOption::options() const {
  return {{"weights",
           withDefault("How the UNet's and text encoders' linear and convolution weights are held: "
                       "full (in the compute precision), int8 (8 bits with a scale per output "
                       "channel, computed in the compute precision: half the memory of bf16), or "
                       "auto: int8 for a model written by convert --weights int8, else full",
                       QString::fromStdString(defaultValue)),
           "FORM", QString::fromStdString(defaultValue)}};
}

std::string WeightsOption::read(const QCommandLineParser& parser) const {
  const std::string name = parser.value("weights").toStdString();
  latent::pipeline::check_weights_name(name);  // the loader's check and message, before any work
  return name;
}

OptionList StorageDtypeOption::options() const {
  return {{"dtype", withDefault("Precision of the written weights: fp16, bf16 or fp32", "fp16"),
           "TYPE", "fp16"}};
}

std::string StorageDtypeOption::read(const QCommandLineParser& parser) const {
  const std::string name = parser.value("dtype").toStdString();
  if (name != "fp16" && name != "bf16" && name != "fp32")
    throw Error("unknown precision '" + name + "': use fp32, fp16 or bf16");
  return name;
}

OptionList DeviceOption::options() const {
  return {{"device", withDefault("Compute device: cpu or cuda", "cpu"), "DEVICE", "cpu"}};
}

std::string DeviceOption::read(const QCommandLineParser& parser) const {
  const std::string name = parser.value("device").toStdString();
  latent::pipeline::parse_device(name);  // the loader's check and message, before any work
  return name;
}

OptionList ThreadsOption::options() const {
  // 0 is what latent::util::set_thread_count takes for "one per physical core".
  return {{"threads", "CPU threads (default: one per physical core).", "N", "0"}};
}

int ThreadsOption::read(const QCommandLineParser& parser) const {
  // The range (0 to 1024) is checked where the count is set, by latent::util::set_thread_count.
  return intValue(parser, "threads");
}

OptionList SeedOption::options() const {
  const QString sentence = "Seed: the same seed and settings give the same result";
  if (without == WithoutSeed::random) return {{"seed", sentence + " (default: random, printed).", "S"}};
  return {{"seed", withDefault(sentence, "0"), "S", "0"}};
}

uint64_t SeedOption::read(const QCommandLineParser& parser) const {
  if (!parser.isSet("seed") && without == WithoutSeed::random)
    return QRandomGenerator::global()->generate64() >> 1;
  bool ok = false;
  const uint64_t seed = parser.value("seed").toULongLong(&ok);
  if (!ok)
    throw Error("--seed needs a whole number from 0 to 18446744073709551615, not '" +
                parser.value("seed").toStdString() + "'");
  return seed;
}

OptionList SizeOptions::options() const {
  if (!defaultValue)
    return {{"width", withDefault("Width in pixels, a multiple of 8", kModelSize), "W"},
            {"height", withDefault("Height in pixels, a multiple of 8", kModelSize), "H"}};
  const QString value = QString::number(*defaultValue);
  return {{"width", withDefault("Width in pixels, a multiple of 8", value), "W", value},
          {"height", withDefault("Height in pixels, a multiple of 8", value), "H", value}};
}

SizeOptions::Size SizeOptions::read(const QCommandLineParser& parser) const {
  // Multiples of 8 are checked with the rest of the request (or the benchmark's options).
  Size size;
  if (parser.isSet("width") || defaultValue) size.width = intValue(parser, "width");
  if (parser.isSet("height") || defaultValue) size.height = intValue(parser, "height");
  return size;
}

OptionList StepsOption::options() const {
  const QString value = QString::number(defaultValue);
  return {{"steps", withDefault("Denoising steps", value), "N", value}};
}

int StepsOption::read(const QCommandLineParser& parser) const { return intValue(parser, "steps"); }

OptionList SamplerOption::options() const {
  const QString value = QString::fromStdString(defaultValue);
  const QString names = joined(latent::schedulers::scheduler_names(), ", ");
  // "scheduler" is diffusers' word for the same thing; generate has always taken both.
  return {{QStringList{"sampler", "scheduler"}, withDefault("Sampler: " + names, value), "NAME", value}};
}

std::string SamplerOption::read(const QCommandLineParser& parser) const {
  const std::string name = parser.value("sampler").toStdString();
  latent::schedulers::make_scheduler(name);  // the engine's check and message, before any work
  return name;
}

OptionList GuidanceOption::options() const {
  const QString sentence = "Classifier-free guidance scale; 1 or less turns it off";
  if (!defaultValue) return {{"guidance", withDefault(sentence, kModelGuidance), "G"}};
  const QString value = QString::number(*defaultValue);
  return {{"guidance", withDefault(sentence, value), "G", value}};
}

std::optional<double> GuidanceOption::read(const QCommandLineParser& parser) const {
  if (!parser.isSet("guidance") && !defaultValue) return std::nullopt;
  return doubleValue(parser, "guidance");
}

OptionList StepCacheOption::options() const {
  return {{"step-cache", "Faster, approximate: only every Nth step runs the whole UNet, the steps "
                         "between reuse its deep features (DeepCache); the first and last step run "
                         "in full. 3 is about twice as fast (default 1, off).",
           "N", "1"}};
}

int StepCacheOption::read(const QCommandLineParser& parser) const {
  const int interval = intValue(parser, "step-cache");
  if (interval < 1) throw Error("--step-cache " + std::to_string(interval) + ": use 1 (off) or more");
  return interval;
}

OptionList ClipSkipOption::options() const {
  return {{"clip-skip", "Text encoder layer the prompt is read from, counted from the end as the web UI "
                        "counts it: 1 = the last layer, 2 = the one before it (default 1).",
           "N", "1"}};
}

int ClipSkipOption::read(const QCommandLineParser& parser) const { return intValue(parser, "clip-skip"); }

OptionList NegativePromptOption::options() const {
  return {{"negative", "Negative prompt: what to steer away from (default: empty).", "TEXT"}};
}

std::optional<std::string> NegativePromptOption::read(const QCommandLineParser& parser) const {
  if (!parser.isSet("negative")) return std::nullopt;
  return parser.value("negative").toStdString();
}

OptionList EmbeddingsOption::options() const {
  return {{"embeddings", "Folder of textual-inversion embeddings (.safetensors) the prompts may name.",
           "DIR"}};
}

std::string EmbeddingsOption::read(const QCommandLineParser& parser) const {
  if (!parser.isSet("embeddings")) return {};
  const std::string dir = parser.value("embeddings").toStdString();
  if (!QDir(parser.value("embeddings")).exists())
    throw Error("the embeddings folder '" + dir + "' does not exist");
  return dir;
}

OptionList LoraOption::options() const {
  return {{"lora",
           "Apply a LoRA file, scaled by MULTIPLIER (default 1, negative allowed); repeat for "
           "several.",
           "FILE[:MULTIPLIER]"}};
}

std::vector<latent::api::LoraSpec> LoraOption::read(const QCommandLineParser& parser) const {
  std::vector<latent::api::LoraSpec> specs;
  for (const QString& value : parser.values("lora")) {
    latent::api::LoraSpec spec;
    spec.path = value.toStdString();
    // A colon followed by something that is not a number is part of the name.
    const qsizetype colon = value.lastIndexOf(':');
    if (colon > 0) {
      bool ok = false;
      const double multiplier = value.mid(colon + 1).toDouble(&ok);
      if (ok) {
        spec.path = value.left(colon).toStdString();
        spec.multiplier = multiplier;
      }
    }
    if (!QFileInfo(QString::fromStdString(spec.path)).isFile())
      throw Error("--lora: the LoRA file '" + spec.path + "' does not exist");
    specs.push_back(spec);
  }
  return specs;
}

OptionList ShapesOption::options() const {
  const QString value = joined(defaultValue, ",");
  return {{"shapes",
           withDefault("Comma-separated shapes: " + joined(latent::training::all_shapes(), ", "),
                       value),
           "LIST", value}};
}

std::vector<std::string> ShapesOption::read(const QCommandLineParser& parser) const {
  return commaList(parser, "shapes");
}
