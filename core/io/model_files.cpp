#include "core/io/model_files.h"

#include <QFile>
#include <QFileInfo>
#include <algorithm>

#include "core/io/model_folder.h"
#include "core/io/single_file_model.h"
#include "core/util/error.h"

namespace latent::io {
namespace {

const char* const kConvertHint =
    "Convert it to .safetensors first with a tool you trust, for example diffusers' "
    "scripts/convert_original_stable_diffusion_to_diffusers.py --checkpoint_path <file> "
    "--dump_path <folder> --to_safetensors, or a ckpt-to-safetensors converter "
    "(torch.load(<file>, weights_only=True) then safetensors.torch.save_file).";

bool has_pickle_extension(const QString& path) {
  const QString suffix = QFileInfo(path).suffix().toLower();
  return suffix == "ckpt" || suffix == "bin" || suffix == "pt" || suffix == "pth" ||
         suffix == "pkl" || suffix == "pickle";
}

enum class Head { Safetensors, Pickle, Other };

// Looks at the first bytes only: a plausible safetensors header, a zip archive
// (torch.save since 1.6) or a raw pickle stream (protocol 2 to 5).
Head sniff(const std::string& path) {
  QFile file(QString::fromStdString(path));
  if (!file.open(QIODevice::ReadOnly)) return Head::Other;
  const QByteArray head = file.read(9);
  const auto size = static_cast<uint64_t>(file.size());
  const auto byte = [&](int i) { return static_cast<unsigned char>(head[i]); };
  if (head.size() == 9) {
    uint64_t length = 0;
    for (int i = 7; i >= 0; --i) length = (length << 8) | byte(i);
    if (length <= kMaxHeaderBytes && length <= size - 8 && head[8] == '{') return Head::Safetensors;
  }
  if (head.startsWith(QByteArray("PK\x03\x04", 4))) return Head::Pickle;
  if (head.size() >= 2 && byte(0) == 0x80 && byte(1) >= 2 && byte(1) <= 5) return Head::Pickle;
  return Head::Other;
}

}  // namespace

const char* format_name(ModelFormat format) {
  switch (format) {
    case ModelFormat::DiffusersFolder:
      return "diffusers folder";
    case ModelFormat::SingleFile:
      return "single-file checkpoint";
  }
  return "?";
}

const TextEncoderFiles* ModelFiles::text_encoder(const std::string& name) const {
  for (const auto& encoder : text_encoders)
    if (encoder.name == name) return &encoder;
  return nullptr;
}

bool ModelFiles::unchanged_on_disk() const {
  return std::all_of(files.begin(), files.end(),
                     [](const auto& file) { return file->unchanged_on_disk(); });
}

void ModelFiles::check_unchanged_on_disk() const {
  for (const auto& file : files)
    if (!file->unchanged_on_disk())
      throw Error("the model file '" + file->path() +
                  "' changed on disk while it was being read (its size or modification time "
                  "differs from when it was opened); load the model again once it is written");
}

std::string pickle_refusal(const std::string& path, const std::string& hint) {
  return "'" + path +
         "' is a PyTorch pickle file. Latent Studio never opens pickles, because loading "
         "one can run arbitrary code hidden in it. " +
         hint;
}

bool is_pickle_file(const std::string& path) {
  const Head head = sniff(path);
  return head == Head::Pickle ||
         (head != Head::Safetensors && has_pickle_extension(QString::fromStdString(path)));
}

namespace {

ModelFiles open_files(const std::string& path, const std::string& config_dir,
                      const std::string& prediction) {
  if (path.empty()) throw Error("no model path was given");
  const QString qpath = QString::fromStdString(path);
  const QFileInfo info(qpath);
  if (!info.exists()) throw Error("model path '" + path + "' does not exist");
  if (info.isDir()) return open_model_folder(qpath);
  if (info.fileName() == "model_index.json") return open_model_folder(info.absolutePath());
  // A pickle-named file that really holds safetensors is safe to read.
  if (is_pickle_file(path)) throw Error(pickle_refusal(path, kConvertHint));
  return open_single_file_model(path, config_dir, prediction);
}

}  // namespace

ModelFiles open_model(const std::string& path, const std::string& config_dir,
                      const std::string& prediction) {
  if (!prediction.empty() && prediction != "epsilon" && prediction != "v_prediction")
    throw Error("prediction type \"" + prediction + "\" is not one of epsilon, v_prediction");
  ModelFiles files = open_files(path, config_dir, prediction);
  if (!prediction.empty())
    files.scheduler_config.insert(QStringLiteral("prediction_type"), QString::fromStdString(prediction));
  return files;
}

}  // namespace latent::io
