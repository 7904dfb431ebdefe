// latentstudio-cli info: what a model path holds, without building the networks.
#include <QCommandLineParser>

#include <cstdio>
#include <map>
#include <string>

#include "commands.h"
#include "core/io/model_files.h"
#include "core/util/error.h"

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
  std::printf("  %-13s %6zu tensors  %12lld parameters (%.1f M)  %s\n", name, tensors.size(),
              static_cast<long long>(parameters), parameters / 1e6, dtypeText.c_str());
}

}  // namespace

int runInfo(const QStringList& arguments) {
  QCommandLineParser parser;
  parser.setApplicationDescription("Describe a Stable Diffusion model folder or checkpoint.");
  parser.addHelpOption();
  parser.addOptions({
      {"model", "Diffusers folder or single-file .safetensors checkpoint.", "PATH"},
      {"config-dir", "Configs for a single-file checkpoint (default: bundled SD 1.5).", "DIR"},
  });
  parser.process(arguments);
  if (!parser.isSet("model")) throw latent::Error("--model is required");

  const auto files = io::open_model(parser.value("model").toStdString(), parser.value("config-dir").toStdString());
  std::printf("model:    %s\n", files.source.c_str());
  std::printf("format:   %s\n", io::format_name(files.format));
  std::printf("configs:  %s\n", files.config_source.c_str());
  std::printf("tokenizer: %s\n", files.tokenizer_dir.c_str());
  std::printf("components:\n");
  printComponent("unet", files.unet);
  printComponent("vae", files.vae);
  printComponent("text_encoder", files.text_encoder);
  std::printf("files:\n");
  for (const auto& file : files.files) std::printf("  %s\n", file->path().c_str());
  for (const auto& warning : files.warnings) std::printf("warning: %s\n", warning.c_str());
  return 0;
}
