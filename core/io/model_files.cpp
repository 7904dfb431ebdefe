#include "core/io/model_files.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonParseError>
#include <algorithm>
#include <set>

#include "core/io/checkpoint_keys.h"
#include "core/util/error.h"
#include "core/util/resources.h"

namespace latent::io {
namespace {

const char* const kConvertHint =
    "Convert it to .safetensors first with a tool you trust, for example diffusers' "
    "scripts/convert_original_stable_diffusion_to_diffusers.py --checkpoint_path <file> "
    "--dump_path <folder> --to_safetensors, or a ckpt-to-safetensors converter "
    "(torch.load(<file>, weights_only=True) then safetensors.torch.save_file).";

std::string join(const QString& dir, const char* name) {
  return QDir(dir).filePath(QString::fromLatin1(name)).toStdString();
}

bool starts_with(const std::string& s, const std::string& prefix) {
  return s.size() >= prefix.size() && s.compare(0, prefix.size(), prefix) == 0;
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

const char* const kResaveHint =
    "Re-save the model folder with safetensors weights, for example in Python with diffusers: "
    "StableDiffusionPipeline.from_pretrained(<folder>).save_pretrained(<new folder>, "
    "safe_serialization=True).";

[[noreturn]] void refuse_pickle(const std::string& path, const std::string& context = "",
                                const char* hint = kConvertHint) {
  throw Error(context + pickle_refusal(path, hint));
}

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

// The component's safetensors weights: the plain file, else the fp16 variant, else a
// sharded index. Pickle-only weights are refused.
std::vector<std::shared_ptr<const SafetensorsFile>> open_weights(const QString& dir,
                                                                 const std::string& stem,
                                                                 const std::string& component) {
  for (const char* variant : {"", ".fp16"}) {
    const std::string plain = join(dir, (stem + variant + ".safetensors").c_str());
    if (is_file(plain)) return {std::make_shared<const SafetensorsFile>(plain)};
  }
  for (const char* variant : {"", ".fp16"}) {
    const std::string index = join(dir, (stem + variant + ".safetensors.index.json").c_str());
    if (!is_file(index)) continue;
    const QJsonObject map =
        read_json_object(index, "the shard index").value("weight_map").toObject();
    std::set<std::string> shards;
    for (auto it = map.begin(); it != map.end(); ++it) {
      const QString shard = it.value().toString();
      if (shard.isEmpty() || shard.contains('/') || shard.contains('\\'))
        throw Error("'" + index + "': weight_map names an invalid shard file for '" +
                    it.key().toStdString() + "'");
      shards.insert(join(dir, shard.toUtf8().constData()));
    }
    if (shards.empty()) throw Error("'" + index + "' lists no shard files in its weight_map");
    std::vector<std::shared_ptr<const SafetensorsFile>> out;
    for (const auto& shard : shards) out.push_back(std::make_shared<const SafetensorsFile>(shard));
    return out;
  }
  const QStringList pickles =
      QDir(dir).entryList({"*.bin", "*.ckpt", "*.pt", "*.pth"}, QDir::Files, QDir::Name);
  if (!pickles.isEmpty())
    refuse_pickle(
        QDir(dir).filePath(pickles.front()).toStdString(),
        "the " + component + " of this diffusers folder has only pickle weights: ", kResaveHint);
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

struct Configs {
  QJsonObject unet, vae, text_encoder, scheduler;
};

Configs read_configs(const QString& dir) {
  Configs c;
  c.unet = read_json_object(join(dir, "unet/config.json"), "the UNet config");
  c.vae = read_json_object(join(dir, "vae/config.json"), "the VAE config");
  c.text_encoder =
      read_json_object(join(dir, "text_encoder/config.json"), "the text encoder config");
  c.scheduler =
      read_json_object(join(dir, "scheduler/scheduler_config.json"), "the scheduler config");
  return c;
}

void check_tokenizer(const std::string& dir) {
  const QString d = QString::fromStdString(dir);
  if (!QFileInfo(d).isDir() || !is_file(join(d, "vocab.json")) || !is_file(join(d, "merges.txt")))
    throw Error("tokenizer folder '" + dir + "' must hold vocab.json and merges.txt");
}

ModelFiles open_folder(const QString& dir) {
  const std::string name = dir.toStdString();
  if (!QFileInfo(QDir(dir).filePath("model_index.json")).isFile()) {
    std::string hint;
    const QStringList singles = QDir(dir).entryList({"*.safetensors"}, QDir::Files, QDir::Name);
    if (!singles.isEmpty())
      hint = " It holds '" + singles.front().toStdString() +
             "': to use a single-file checkpoint, open that file instead.";
    throw Error("'" + name +
                "' is not a diffusers model folder: it has no model_index.json. A model folder "
                "holds model_index.json, unet/, vae/ and text_encoder/ (each with config.json and "
                ".safetensors weights), tokenizer/ (vocab.json, merges.txt) and "
                "scheduler/scheduler_config.json." +
                hint);
  }
  const QJsonObject index = read_json_object(join(dir, "model_index.json"), "the model index");
  const QString pipeline = index.value("_class_name").toString();
  if (pipeline.contains("XL") || index.contains("text_encoder_2"))
    throw Error("'" + name + "' is a Stable Diffusion XL model folder (" + pipeline.toStdString() +
                "); Latent Studio runs Stable Diffusion 1.x models only");
  for (const char* component : {"unet", "vae", "text_encoder", "scheduler", "tokenizer"})
    if (!QFileInfo(QDir(dir).filePath(component)).isDir())
      throw Error("model folder '" + name + "' has no " + component +
                  "/ folder; a Stable Diffusion 1.x folder needs unet/, vae/, text_encoder/, "
                  "tokenizer/ and scheduler/");

  ModelFiles out;
  out.format = ModelFormat::DiffusersFolder;
  out.source = name;
  out.config_source = name;
  const Configs configs = read_configs(dir);
  out.unet_config = configs.unet;
  out.vae_config = configs.vae;
  out.text_encoder_config = configs.text_encoder;
  out.scheduler_config = configs.scheduler;
  out.tokenizer_dir = QDir(dir).filePath("tokenizer").toStdString();
  check_tokenizer(out.tokenizer_dir);

  const auto unet = open_weights(QDir(dir).filePath("unet"), "diffusion_pytorch_model", "unet");
  const auto vae = open_weights(QDir(dir).filePath("vae"), "diffusion_pytorch_model", "vae");
  const auto text = open_weights(QDir(dir).filePath("text_encoder"), "model", "text_encoder");
  out.unet = read_all(unet);
  out.vae = read_all(vae);
  out.text_encoder = read_all(text);
  rename_legacy_vae_keys(out.vae);
  drop_unused_text_encoder_keys(out.text_encoder);
  for (const auto* list : {&unet, &vae, &text})
    out.files.insert(out.files.end(), list->begin(), list->end());
  return out;
}

// Says what a .safetensors file is when it is not an SD 1.x checkpoint; empty when it is one.
std::string describe_foreign(const SafetensorsFile& file) {
  bool unet = false, sdxl = false, sd2 = false, lora = false, diffusers_unet = false,
       diffusers_vae = false, ldm_vae = false, clip = false;
  for (const auto& info : file.tensors()) {
    const std::string& k = info.name;
    unet |= starts_with(k, "model.diffusion_model.");
    sdxl |= starts_with(k, "conditioner.embedders.");
    sd2 |= starts_with(k, "cond_stage_model.model.");
    lora |= starts_with(k, "lora_") || k.find(".lora_") != std::string::npos ||
            k.find("lora_down") != std::string::npos || k.find(".lora.") != std::string::npos;
    diffusers_unet |= starts_with(k, "down_blocks.") || starts_with(k, "time_embedding.");
    diffusers_vae |= starts_with(k, "encoder.down_blocks.") || starts_with(k, "decoder.up_blocks.");
    ldm_vae |= starts_with(k, "encoder.down.") || starts_with(k, "decoder.up.");
    clip |= starts_with(k, "text_model.");
  }
  const std::string f = "'" + file.path() + "' ";
  const std::string only = "; Latent Studio runs Stable Diffusion 1.x models only";
  if (sdxl)
    return f + "is a Stable Diffusion XL checkpoint (it has conditioner.embedders.* tensors)" +
           only;
  if (sd2)
    return f +
           "is a Stable Diffusion 2.x checkpoint (its text encoder is OpenCLIP: "
           "cond_stage_model.model.* tensors)" +
           only;
  if (unet) return "";
  if (file.tensors().empty()) return f + "holds no tensors at all, so it is not a model checkpoint";
  if (lora)
    return f + "is a LoRA, not a model: open a Stable Diffusion 1.x model and add the LoRA to it";
  if (diffusers_vae || ldm_vae)
    return f + "holds only a VAE (autoencoder) and no UNet: it is not a full model checkpoint";
  if (diffusers_unet)
    return f +
           "holds diffusers UNet weights only (down_blocks.*): open the whole diffusers "
           "model folder instead of this file";
  if (clip) return f + "holds only a CLIP text encoder: it is not a full model checkpoint";
  const auto& t = file.tensors();
  std::string examples;
  for (std::size_t i = 0; i < t.size() && i < 3; ++i) examples += (i ? "', '" : "") + t[i].name;
  return f +
         "is not a Stable Diffusion 1.x checkpoint: it has no model.diffusion_model.* (UNet) "
         "tensors; its " +
         std::to_string(t.size()) + " tensors are named like '" + examples + "'";
}

std::string summarize(const std::vector<std::string>& keys, std::size_t limit = 5) {
  std::string out;
  for (std::size_t i = 0; i < keys.size() && i < limit; ++i) out += (i ? ", " : "") + keys[i];
  if (keys.size() > limit) out += ", ...";
  return out;
}

ModelFiles open_single_file(const std::string& path, const std::string& config_dir) {
  auto file = std::make_shared<const SafetensorsFile>(path);
  const std::string foreign = describe_foreign(*file);
  if (!foreign.empty()) throw Error(foreign);

  ModelFiles out;
  out.format = ModelFormat::SingleFile;
  out.source = path;
  out.files.push_back(file);
  QString configs_dir = QString::fromStdString(config_dir);
  if (configs_dir.isEmpty()) {
    configs_dir = QString::fromStdString(util::resource_path("sd15"));
    out.config_source =
        "the bundled Stable Diffusion 1.5 configs (" + configs_dir.toStdString() + ")";
  } else {
    if (!QFileInfo(configs_dir).isDir())
      throw Error("config folder '" + config_dir + "' does not exist");
    out.config_source = config_dir;
  }
  const Configs configs = read_configs(configs_dir);
  out.unet_config = configs.unet;
  out.vae_config = configs.vae;
  out.text_encoder_config = configs.text_encoder;
  out.scheduler_config = configs.scheduler;
  // A config folder may bring its own tokenizer (as diffusers' from_single_file does).
  const QString own_tokenizer = QDir(configs_dir).filePath("tokenizer");
  out.tokenizer_dir = QFileInfo(QDir(own_tokenizer).filePath("vocab.json")).isFile()
                          ? own_tokenizer.toStdString()
                          : util::resource_path("tokenizer");
  check_tokenizer(out.tokenizer_dir);

  const CheckpointKeyMap map(out.unet_config, out.vae_config, out.config_source);
  ConvertedCheckpoint converted = convert_checkpoint(read_tensors(*file), map, path);
  const std::pair<const TensorMap*, const char*> parts[] = {
      {&converted.unet, "UNet (model.diffusion_model.*)"},
      {&converted.vae, "VAE (first_stage_model.*)"},
      {&converted.text_encoder, "text encoder (cond_stage_model.transformer.*)"}};
  for (const auto& [tensors, what] : parts)
    if (tensors->empty())
      throw Error("'" + path + "' has no " + what +
                  " weights that fit the Stable Diffusion 1.x layout of " + out.config_source);

  // An inpainting or other variant checkpoint needs its own configs.
  const auto conv_in = converted.unet.find("conv_in.weight");
  const double in_channels = out.unet_config.value("in_channels").toDouble(4);
  if (conv_in != converted.unet.end() && conv_in->second.dim() == 4 &&
      conv_in->second.size(1) != static_cast<int64_t>(in_channels))
    throw Error("'" + path + "': its UNet takes " + std::to_string(conv_in->second.size(1)) +
                " input channels but the config from " + out.config_source + " says " +
                std::to_string(static_cast<int64_t>(in_channels)) +
                " (an inpainting or other variant model needs its own config folder)");

  out.unet = std::move(converted.unet);
  out.vae = std::move(converted.vae);
  out.text_encoder = std::move(converted.text_encoder);
  out.unmatched_keys = std::move(converted.unmatched);
  if (!out.unmatched_keys.empty())
    out.warnings.push_back(std::to_string(out.unmatched_keys.size()) + " tensors in '" + path +
                           "' match no Stable Diffusion 1.x weight and were not loaded: " +
                           summarize(out.unmatched_keys));
  return out;
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

ModelFiles open_model(const std::string& path, const std::string& config_dir) {
  if (path.empty()) throw Error("no model path was given");
  const QString qpath = QString::fromStdString(path);
  const QFileInfo info(qpath);
  if (!info.exists()) throw Error("model path '" + path + "' does not exist");
  if (info.isDir()) return open_folder(qpath);
  if (info.fileName() == "model_index.json") return open_folder(info.absolutePath());
  // A pickle-named file that really holds safetensors is safe to read.
  const Head head = sniff(path);
  if (head == Head::Pickle || (head != Head::Safetensors && has_pickle_extension(qpath)))
    refuse_pickle(path);
  return open_single_file(path, config_dir);
}

}  // namespace latent::io
