#include "core/io/component_files.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QJsonDocument>
#include <QJsonParseError>
#include <set>

#include "core/io/model_files.h"
#include "core/util/error.h"

namespace latent::io {
namespace {

const char* const kResaveHint =
    "Re-save the model folder with safetensors weights, for example in Python with diffusers: "
    "DiffusionPipeline.from_pretrained(<folder>).save_pretrained(<new folder>, "
    "safe_serialization=True).";

// The shards a `*.safetensors.index.json` names in its weight_map.
std::vector<std::shared_ptr<const SafetensorsFile>> open_shards(const QString& dir,
                                                                const std::string& index) {
  const QJsonObject map = read_json_object(index, "the shard index").value("weight_map").toObject();
  std::set<std::string> shards;
  for (auto it = map.begin(); it != map.end(); ++it) {
    const QString shard = it.value().toString();
    if (shard.isEmpty() || shard.contains('/') || shard.contains('\\'))
      throw Error("'" + index + "': weight_map names an invalid shard file for '" +
                  it.key().toStdString() + "'");
    shards.insert(path_in(dir, shard.toStdString()));
  }
  if (shards.empty()) throw Error("'" + index + "' lists no shard files in its weight_map");
  std::vector<std::shared_ptr<const SafetensorsFile>> out;
  for (const auto& shard : shards) out.push_back(std::make_shared<const SafetensorsFile>(shard));
  return out;
}

}  // namespace

std::string path_in(const QString& dir, const std::string& name) {
  return QDir(dir).filePath(QString::fromStdString(name)).toStdString();
}

bool is_file(const std::string& path) { return QFileInfo(QString::fromStdString(path)).isFile(); }

QJsonObject read_json_object(const std::string& path, const std::string& what) {
  QFile file(QString::fromStdString(path));
  if (!file.exists()) throw Error("'" + path + "' is missing: " + what + " must be there");
  if (!file.open(QIODevice::ReadOnly))
    throw Error("cannot read '" + path + "': " + file.errorString().toStdString());
  QJsonParseError error{};
  const QJsonDocument doc = QJsonDocument::fromJson(file.readAll(), &error);
  if (error.error != QJsonParseError::NoError)
    throw Error("'" + path + "' is not valid JSON (" + error.errorString().toStdString() +
                " at byte " + std::to_string(error.offset) + ")");
  if (!doc.isObject()) throw Error("'" + path + "' does not hold a JSON object");
  return doc.object();
}

std::vector<std::shared_ptr<const SafetensorsFile>> open_component_weights(
    const QString& dir, const std::string& stem, const std::string& component) {
  for (const char* variant : {"", ".fp16"}) {
    const std::string plain = path_in(dir, stem + variant + ".safetensors");
    if (is_file(plain)) return {std::make_shared<const SafetensorsFile>(plain)};
  }
  for (const char* variant : {"", ".fp16"}) {
    const std::string index = path_in(dir, stem + variant + ".safetensors.index.json");
    if (is_file(index)) return open_shards(dir, index);
  }
  const QStringList pickles =
      QDir(dir).entryList({"*.bin", "*.ckpt", "*.pt", "*.pth"}, QDir::Files, QDir::Name);
  if (!pickles.isEmpty())
    throw Error("the " + component + " of this diffusers folder has only pickle weights: " +
                pickle_refusal(QDir(dir).filePath(pickles.front()).toStdString(), kResaveHint));
  throw Error("'" + dir.toStdString() + "' holds no weights: expected " + stem +
              ".safetensors (or " + stem + ".fp16.safetensors)");
}

TensorMap read_all(const std::vector<std::shared_ptr<const SafetensorsFile>>& files) {
  TensorMap out;
  for (const auto& file : files)
    for (const auto& info : file->tensors())
      if (!out.emplace(info.name, file->tensor(info.name)).second)
        throw Error("'" + file->path() + "': tensor '" + info.name +
                    "' appears in more than one shard");
  return out;
}

bool is_tokenizer_folder(const std::string& dir) {
  const QString d = QString::fromStdString(dir);
  return QFileInfo(d).isDir() && is_file(path_in(d, "vocab.json")) &&
         is_file(path_in(d, "merges.txt"));
}

void check_tokenizer_folder(const std::string& dir) {
  if (!is_tokenizer_folder(dir))
    throw Error("tokenizer folder '" + dir + "' must hold vocab.json and merges.txt");
}

}  // namespace latent::io
