// latentstudio-cli info: what a model path holds, and whether it loads.
#include <QCommandLineParser>

#include <cstdio>
#include <map>
#include <string>

#include "commands.h"
#include "common_options.h"
#include "model_load_check.h"
#include "core/io/model_files.h"
#include "core/util/threads.h"

namespace io = latent::io;

namespace {

void printComponent(const char* name, const io::TensorMap& tensors) {
  int64_t parameters = 0;
  std::map<std::string, int64_t> dtypes;
  for (const auto& [key, tensor] : tensors) {
    parameters += tensor.numel();
    dtypes[c10::toString(tensor.scalar_type())] += tensor.numel();
  }
  std::string dtypeText;
  for (const auto& [dtype, count] : dtypes)
    dtypeText += (dtypeText.empty() ? "" : ", ") + dtype;
  std::printf("  %-15s %6zu tensors  %12lld parameters (%.1f M)  %s\n", name, tensors.size(),
              static_cast<long long>(parameters), parameters / 1e6, dtypeText.c_str());
}

// The first few of `names`, as the loader lists them.
std::string someOf(const std::vector<std::string>& names) {
  constexpr std::size_t kShown = 5;
  std::string text;
  for (std::size_t i = 0; i < names.size() && i < kShown; ++i) text += (i ? ", " : "") + names[i];
  if (names.size() > kShown) text += ", ... (" + std::to_string(names.size()) + " in all)";
  return text;
}

}  // namespace

int runInfo(const QStringList& arguments) {
  const ModelOptions model{WithoutModel::required};
  const ThreadsOption threads;
  QCommandLineParser parser;
  parser.setApplicationDescription(
      "Describe a Stable Diffusion model folder or checkpoint: its format, family, components and "
      "files. The model is loaded (in bf16, on the CPU) to check it: one that would not load is "
      "refused with the message loading gives.");
  parser.addHelpOption();
  parser.addOptions(model.options() + threads.options());
  parser.process(arguments);
  const ModelChoice choice = model.read(parser);
  latent::util::set_thread_count(threads.read(parser));

  std::fprintf(stderr, "loading %s to check it ...\n", choice.path.c_str());
  const LoadCheck check = checkModelLoads(choice);
  const auto files = io::open_model(choice.path, choice.configDir);
  std::printf("model:    %s\n", files.source.c_str());
  std::printf("format:   %s\n", io::format_name(files.format));
  std::printf("family:   %s\n", io::family_name(check.family).c_str());
  // What the UNet predicts, as the scheduler config says (generate --prediction overrides it).
  std::printf("predicts: %s\n",
              files.scheduler_config.value("prediction_type").toString("epsilon").toUtf8().constData());
  std::printf("loads:    yes (configs read, every tensor present with the shape its network needs)\n");
  std::printf("configs:  %s\n", files.config_source.c_str());
  for (const auto& encoder : files.text_encoders)
    std::printf("tokenizer: %s\n", encoder.tokenizer_dir.c_str());
  std::printf("components:\n");
  printComponent("unet", files.unet);
  printComponent("vae", files.vae);
  for (const auto& encoder : files.text_encoders) printComponent(encoder.name.c_str(), encoder.weights);
  std::printf("files:\n");
  for (const auto& file : files.files) std::printf("  %s\n", file->path().c_str());
  for (const auto& warning : files.warnings) std::printf("warning: %s\n", warning.c_str());
  const auto unused = unusedTensors(check, files);
  if (!unused.empty())
    std::printf("warning: %zu tensors of the files belong to no network (loading skips them): %s\n",
                unused.size(), someOf(unused).c_str());
  return 0;
}
