#include "core/io/single_file_model.h"

#include <QDir>
#include <QFileInfo>
#include <algorithm>
#include <cctype>

#include "core/io/checkpoint_keys.h"
#include "core/io/checkpoint_layout.h"
#include "core/io/component_files.h"
#include "core/io/open_clip_keys.h"
#include "core/util/error.h"
#include "core/util/resources.h"

namespace latent::io {
namespace {

bool starts_with(const std::string& s, const std::string& prefix) {
  return s.size() >= prefix.size() && s.compare(0, prefix.size(), prefix) == 0;
}

// "an SDXL base", "a Stable Diffusion 1.x".
std::string with_article(ModelFamily family) {
  const std::string name = family_name(family);
  return (starts_with(name, "SDXL") ? "an " : "a ") + name;
}

TextEncoderFiles& encoder_named(ModelFiles& files, const std::string& name) {
  return *std::find_if(files.text_encoders.begin(), files.text_encoders.end(),
                       [&](const TextEncoderFiles& encoder) { return encoder.name == name; });
}

std::string summarize(const std::vector<std::string>& keys, std::size_t limit = 5) {
  std::string out;
  for (std::size_t i = 0; i < keys.size() && i < limit; ++i) out += (i ? ", " : "") + keys[i];
  if (keys.size() > limit) out += ", ...";
  return out;
}

// The bundled configs' name in messages.
std::string bundled_name(CheckpointLayout layout, const std::string& prediction) {
  if (layout == CheckpointLayout::sd1) return "Stable Diffusion 1.5";
  if (layout == CheckpointLayout::sd2)
    return prediction == "epsilon" ? "Stable Diffusion 2.x base (512, epsilon)"
                                   : "Stable Diffusion 2.1 (768, v-prediction)";
  return family_name(family_of(layout));
}

// Where the configs come from: the folder given, else the bundled ones of the layout.
QString config_folder(const std::string& config_dir, CheckpointLayout layout,
                      const std::string& prediction, ModelFiles& out) {
  if (config_dir.empty()) {
    const std::string bundled = util::resource_path(bundled_config_folder(layout, prediction));
    out.config_source = "the bundled " + bundled_name(layout, prediction) + " configs (" + bundled + ")";
    return QString::fromStdString(bundled);
  }
  if (!QFileInfo(QString::fromStdString(config_dir)).isDir())
    throw Error("config folder '" + config_dir + "' does not exist");
  out.config_source = config_dir;
  return QString::fromStdString(config_dir);
}

// A config folder may bring its own tokenizers (as diffusers' from_single_file does);
// else the bundled ones serve: OpenCLIP encoders (SD 2.x's, SDXL's second) are fed by
// tokenizer_2, which pads with "!" as theirs do.
std::string tokenizer_for(const QString& configs, const TextEncoderSlot& slot) {
  const std::string own = path_in(configs, tokenizer_name(slot.name));
  if (is_file(path_in(QString::fromStdString(own), "vocab.json"))) return own;
  return util::resource_path(slot.form == TextEncoderForm::open_clip ? "tokenizer_2" : "tokenizer");
}

bool has_encoder(CheckpointLayout layout, const std::string& name) {
  const auto& slots = text_encoder_slots(layout);
  return std::any_of(slots.begin(), slots.end(),
                     [&](const TextEncoderSlot& slot) { return slot.name == name; });
}

// The configs must describe the family the file's keys show. Checked from the UNet config
// and the first text encoder's before anything else is read, so that a config folder of
// another family is named as such rather than for a file it lacks.
void check_family(const std::string& path, CheckpointLayout layout, const QString& configs,
                  ModelFiles& out) {
  out.unet_config = read_json_object(path_in(configs, "unet/config.json"), "the UNet config");
  const QJsonObject first = has_encoder(layout, "text_encoder")
                                ? read_json_object(path_in(configs, "text_encoder/config.json"),
                                                   "the text_encoder config")
                                : QJsonObject();
  out.family = detect_family(out.unet_config, first);
  const ModelFamily expected = family_of(layout);
  if (out.family != expected)
    throw Error("'" + path + "' is " + with_article(expected) + " checkpoint (" +
                layout_evidence(layout) + "), but the configs from " + out.config_source +
                " describe " + with_article(out.family) + " model: give the config folder of " +
                with_article(expected) + " model, or none to use the bundled one");
}

// The configs of the other parts, the text encoders' tokenizers and the pipeline settings.
void read_configs(const QString& configs, CheckpointLayout layout, const std::string& prediction,
                  ModelFiles& out) {
  out.vae_config = read_json_object(path_in(configs, "vae/config.json"), "the VAE config");
  for (const TextEncoderSlot& slot : text_encoder_slots(layout)) {
    TextEncoderFiles encoder;
    encoder.name = slot.name;
    encoder.config = read_json_object(path_in(configs, slot.name + "/config.json"),
                                      "the " + slot.name + " config");
    encoder.tokenizer_dir = tokenizer_for(configs, slot);
    check_tokenizer_folder(encoder.tokenizer_dir);
    out.text_encoders.push_back(std::move(encoder));
  }
  out.scheduler_config =
      read_json_object(path_in(configs, "scheduler/scheduler_config.json"), "the scheduler config");
  // A config folder of bare configs has no model_index.json: the family's defaults apply.
  std::string index = path_in(configs, "model_index.json");
  if (!is_file(index))
    index = util::resource_path(bundled_config_folder(layout, prediction) + "/model_index.json");
  out.model_index = read_json_object(index, "the model index");
  const TextEncoderFiles* second = out.text_encoder("text_encoder_2");
  check_sdxl_configs(out.family, out.unet_config, second ? second->config : QJsonObject(),
                     out.model_index, out.config_source);
}

// SD 2 reads OpenCLIP's penultimate layer, so its diffusers text encoder has one layer
// fewer than the checkpoint keeps (23 of 24): the blocks from num_hidden_layers on are
// never run, and dropped as diffusers' converter drops them.
void drop_unused_open_clip_blocks(TensorMap& tensors, const std::string& prefix,
                                  const QJsonObject& config) {
  const int64_t layers = static_cast<int64_t>(config.value("num_hidden_layers").toDouble(12));
  const std::string blocks = prefix + "transformer.resblocks.";
  for (auto it = tensors.lower_bound(blocks); it != tensors.end() && starts_with(it->first, blocks);) {
    const std::string rest = it->first.substr(blocks.size());
    const std::size_t dot = rest.find('.');
    bool number = dot != std::string::npos && dot > 0 && dot < 6;
    for (std::size_t i = 0; number && i < dot; ++i) number = std::isdigit(static_cast<unsigned char>(rest[i]));
    if (number && std::stoll(rest.substr(0, dot)) >= layers)
      it = tensors.erase(it);
    else
      ++it;
  }
}

// Takes the OpenCLIP encoders' tensors out of `tensors`, converted.
void convert_open_clip_encoders(TensorMap& tensors, CheckpointLayout layout,
                                const std::string& path, ModelFiles& out) {
  for (const TextEncoderSlot& slot : text_encoder_slots(layout)) {
    if (slot.form != TextEncoderForm::open_clip) continue;
    TextEncoderFiles& encoder = encoder_named(out, slot.name);
    if (layout == CheckpointLayout::sd2) drop_unused_open_clip_blocks(tensors, slot.prefix, encoder.config);
    ConvertedOpenClip converted = convert_open_clip_text_encoder(
        tensors, slot.prefix, encoder.config, path, out.config_source);
    encoder.weights = std::move(converted.weights);
    out.unmatched_keys.insert(out.unmatched_keys.end(), converted.unmatched.begin(),
                              converted.unmatched.end());
    for (auto it = tensors.lower_bound(slot.prefix);
         it != tensors.end() && starts_with(it->first, slot.prefix);)
      it = tensors.erase(it);
  }
}

// An inpainting or other variant checkpoint needs its own configs.
void check_input_channels(const std::string& path, const ModelFiles& out) {
  const auto conv_in = out.unet.find("conv_in.weight");
  const double in_channels = out.unet_config.value("in_channels").toDouble(4);
  if (conv_in != out.unet.end() && conv_in->second.dim() == 4 &&
      conv_in->second.size(1) != static_cast<int64_t>(in_channels))
    throw Error("'" + path + "': its UNet takes " + std::to_string(conv_in->second.size(1)) +
                " input channels but the config from " + out.config_source + " says " +
                std::to_string(static_cast<int64_t>(in_channels)) +
                " (an inpainting or other variant model needs its own config folder)");
}

}  // namespace

ModelFiles open_single_file_model(const std::string& path, const std::string& config_dir,
                                  const std::string& prediction) {
  auto file = std::make_shared<const SafetensorsFile>(path);
  const CheckpointLayout layout = detect_checkpoint_layout(*file);

  ModelFiles out;
  out.format = ModelFormat::SingleFile;
  out.source = path;
  out.files.push_back(file);
  const QString configs = config_folder(config_dir, layout, prediction, out);
  check_family(path, layout, configs, out);
  read_configs(configs, layout, prediction, out);

  TensorMap tensors = read_tensors(*file);
  convert_open_clip_encoders(tensors, layout, path, out);
  const CheckpointKeyMap map(out.unet_config, out.vae_config, out.config_source, layout);
  ConvertedCheckpoint converted = convert_checkpoint(tensors, map, path);
  out.unet = std::move(converted.unet);
  out.vae = std::move(converted.vae);
  for (const TextEncoderSlot& slot : text_encoder_slots(layout))
    if (slot.form == TextEncoderForm::transformers)
      encoder_named(out, slot.name).weights = std::move(converted.text_encoder);

  const std::string layout_name = family_name(out.family);
  const auto refuse_empty = [&](const TensorMap& tensors, const std::string& what) {
    if (tensors.empty())
      throw Error("'" + path + "' has no " + what + " weights that fit the " + layout_name +
                  " layout of " + out.config_source);
  };
  refuse_empty(out.unet, "UNet (model.diffusion_model.*)");
  refuse_empty(out.vae, "VAE (first_stage_model.*)");
  for (const TextEncoderSlot& slot : text_encoder_slots(layout))
    refuse_empty(out.text_encoder(slot.name)->weights, slot.name + " (" + slot.prefix + "*)");
  check_input_channels(path, out);

  out.unmatched_keys.insert(out.unmatched_keys.end(), converted.unmatched.begin(),
                            converted.unmatched.end());
  std::sort(out.unmatched_keys.begin(), out.unmatched_keys.end());
  if (!out.unmatched_keys.empty())
    out.warnings.push_back(std::to_string(out.unmatched_keys.size()) + " tensors in '" + path +
                           "' match no weight of the " + layout_name +
                           " layout and were not loaded: " + summarize(out.unmatched_keys));
  return out;
}

}  // namespace latent::io
