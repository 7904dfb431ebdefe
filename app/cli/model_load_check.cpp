#include "model_load_check.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QJsonDocument>
#include <QJsonObject>

#include <optional>
#include <set>

#include "core/pipeline/model_bundle.h"
#include "core/util/error.h"

namespace io = latent::io;
namespace pipeline = latent::pipeline;

namespace {

// Why the real loader and not a lighter look at the files: the loader's checks are the
// files opened for the model's family, the configs read by the networks' from_json
// readers, the tokenizers read, every tensor present with its network's shape, and the
// files unchanged meanwhile, each with its own message; a copy of them here would drift
// from the loader the first time one of them changes. The price is one read of every
// weight and the networks held once in bf16, half of fp32's memory and what generating in
// bf16 needs anyway: a full-size SD 1.5 (make-random-model) took 5 s and 2.2 GB peak
// resident on the 2-core build machine; SDXL's 3.5 billion parameters would take about 7 GB.
// Neither precision nor device changes what is checked, so these are fixed.
constexpr const char* kCheckDtype = "bf16";
constexpr const char* kCheckDevice = "cpu";

std::optional<QJsonObject> readJsonObject(const QString& path) {
  QFile file(path);
  if (!file.open(QIODevice::ReadOnly)) return std::nullopt;
  const QJsonDocument document = QJsonDocument::fromJson(file.readAll());
  if (!document.isObject()) return std::nullopt;
  return document.object();
}

// The family a model's configs describe, for the refusal of a model that does not load:
// the loader may give up before it reads them (a model_index.json that does not match
// them, say). Read where the loader reads the configs: the model folder, or --config-dir
// for a single file. A single file without --config-dir is read with bundled configs that
// the loader picks by its keys, so no family is named then.
std::optional<io::ModelFamily> familyFromConfigs(const ModelChoice& model) {
  const QFileInfo info(QString::fromStdString(model.path));
  QString configDir;
  if (info.isDir()) configDir = info.filePath();
  else if (info.fileName() == "model_index.json") configDir = info.absolutePath();
  else configDir = QString::fromStdString(model.configDir);
  if (configDir.isEmpty()) return std::nullopt;
  const auto unet = readJsonObject(QDir(configDir).filePath("unet/config.json"));
  if (!unet) return std::nullopt;
  // No first text encoder is what an SDXL refiner looks like.
  const auto textEncoder = readJsonObject(QDir(configDir).filePath("text_encoder/config.json"));
  return io::detect_family(*unet, textEncoder.value_or(QJsonObject()));
}

std::set<std::string> tensorNames(const torch::nn::Module& module) {
  std::set<std::string> names;
  for (const auto& item : module.named_parameters(true)) names.insert(item.key());
  for (const auto& item : module.named_buffers(true)) names.insert(item.key());
  return names;
}

void addUnused(const LoadCheck& check, const std::string& network, const io::TensorMap& tensors,
               std::vector<std::string>& out) {
  const auto known = check.networkTensors.find(network);
  for (const auto& item : tensors)
    if (known == check.networkTensors.end() || !known->second.count(item.first))
      out.push_back(network + ": " + item.first);
}

}  // namespace

LoadCheck checkModelLoads(const ModelChoice& model) {
  latent::api::LoadOptions options = model.loadOptions();
  options.dtype = kCheckDtype;
  options.device = kCheckDevice;
  std::unique_ptr<pipeline::ModelBundle> bundle;
  try {
    bundle = pipeline::load_model_bundle(options);
  } catch (const latent::Error& error) {
    const auto family = familyFromConfigs(model);
    const std::string subject = family ? "this " + io::family_name(*family) + " model" : "the model";
    throw latent::Error(subject + " will not load: " + error.what());
  }

  LoadCheck check;
  check.family = bundle->family;
  check.networkTensors["unet"] = tensorNames(*bundle->unet);
  check.networkTensors["vae"] = tensorNames(*bundle->vae);
  for (const auto& encoder : bundle->text_encoders)
    check.networkTensors[encoder.name] = tensorNames(*encoder.model);
  return check;  // and the weights are freed
}

std::vector<std::string> unusedTensors(const LoadCheck& check, const io::ModelFiles& files) {
  std::vector<std::string> unused;
  addUnused(check, "unet", files.unet, unused);
  addUnused(check, "vae", files.vae, unused);
  for (const auto& encoder : files.text_encoders) addUnused(check, encoder.name, encoder.weights, unused);
  return unused;
}
