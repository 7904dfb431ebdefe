#include "core/image/foreign_metadata/webui_parameters.h"

#include <QRegularExpression>
#include <QString>
#include <QStringList>

#include "core/image/foreign_metadata/metadata_fields.h"

namespace latent::image {
namespace {

// Fields that describe rather than set (the hashes of the prompt's LoRAs and embeddings):
// they stay with the text, restoring them is restoring the prompt.
bool is_description(const std::string& key) { return key == "Lora hashes" || key == "TI hashes" || key == "Hashes"; }

bool starts_with(const std::string& text, const char* prefix) { return text.rfind(prefix, 0) == 0; }

std::string trimmed(const std::string& text) { return QString::fromStdString(text).trimmed().toStdString(); }

void set_source(const ParsedParameters& parsed, ImageMetadata& meta) {
  const std::string version = parsed.field("Version").value_or("");
  if (starts_with(version, "Latent Studio")) {
    meta.source = "Latent Studio";
    meta.version = trimmed(version.substr(13));
  } else if (starts_with(version, "Fooocus")) {
    meta.source = "Fooocus";
    meta.version = trimmed(version.substr(7));
  } else if (starts_with(version, "ComfyUI")) {  // ComfyUI's image saver nodes write this text too
    meta.source = "ComfyUI";
    meta.version = trimmed(version.substr(7));
  } else if (parsed.field("App").value_or("") == "SD.Next") {
    meta.source = "SD.Next";
    meta.version = version;
  } else if (QRegularExpression(QStringLiteral("^f\\d")).match(QString::fromStdString(version)).hasMatch()) {
    meta.source = "Stable Diffusion web UI Forge";  // its versions read "f2.0.1v1.10.1-..."
    meta.version = version;
  } else {
    meta.source = "AUTOMATIC1111 web UI";
    meta.version = version;
  }
}

// Fooocus's a1111 scheme names its LoRAs outside the prompt: "Lora weights: a: 0.5, b: 1".
void read_lora_weights(const std::string& text, ImageMetadata& meta) {
  for (const QString& entry : QString::fromStdString(text).split(QStringLiteral(", "))) {
    const qsizetype colon = entry.lastIndexOf(QStringLiteral(": "));
    bool ok = false;
    const double weight = colon > 0 ? entry.mid(colon + 2).toDouble(&ok) : 0.0;
    if (ok) foreign::add_lora(meta, entry.left(colon).trimmed().toStdString(), weight);
  }
}

// The sampler fields: a sampler we lack is set aside whole, a schedule we cannot follow alone.
void check_sampler(ImageMetadata& meta) {
  const auto sampler = meta.parameters.field("Sampler");
  if (!sampler) return;
  std::string schedule = meta.parameters.field("Schedule type").value_or("");
  const std::string ours = sampler_from_webui(*sampler, schedule);
  auto& fields = meta.parameters.fields;
  if (ours.empty()) {
    for (auto it = fields.begin(); it != fields.end();) {
      if (it->first == "Sampler" || it->first == "Schedule type") {
        meta.unmapped.push_back(*it);
        it = fields.erase(it);
      } else {
        ++it;
      }
    }
    return;
  }
  if (schedule.empty() && sampler->size() > 7 && sampler->compare(sampler->size() - 7, 7, " Karras") == 0)
    schedule = "Karras";  // the older spelling folds the schedule into the sampler
  if (schedule == "Automatic") schedule.clear();
  if (webui_sampler_name(ours).second != schedule) meta.unmapped.push_back({"Schedule type", schedule});
}

}  // namespace

ImageMetadata read_webui_parameters(const std::string& text, const std::string& location) {
  ImageMetadata meta;
  meta.location = location;
  meta.webui_text = QString::fromStdString(text).trimmed().toStdString();
  const ParsedParameters parsed = parse_parameters(text);
  set_source(parsed, meta);
  meta.parameters.prompt = parsed.prompt;
  meta.parameters.negative_prompt = parsed.negative_prompt;
  const bool webui = meta.source == "AUTOMATIC1111 web UI" || meta.source == "Stable Diffusion web UI Forge";
  for (const auto& [key, value] : parsed.fields) {
    if (key == "Version" || key == "App") continue;  // the source, above
    if (key == "VAE" && starts_with(value, "Default")) continue;  // Fooocus's name for the model's own
    if (is_restored_parameters_field(key) || is_description(key)) {
      meta.parameters.fields.push_back({key, value});
    } else if (key == "RNG" && value == "CPU") {
      meta.parameters.fields.push_back({key, value});  // our noise is always drawn on the CPU
    } else if (key == "Lora weights" && meta.source == "Fooocus") {
      read_lora_weights(value, meta);
    } else if (key == "Scheduler" && (value == "karras" || value == "normal")) {
      continue;  // Fooocus: already in the sampler's name ("DPM++ 2M Karras") or the default
    } else {
      meta.unmapped.push_back(unmapped_item(key, value));
    }
  }
  check_sampler(meta);
  // The web UI draws its noise on the GPU unless told otherwise: the same seed gives
  // another picture here (and in ComfyUI), however closely the rest is followed.
  if (webui && parsed.field("Seed") && !parsed.field("RNG")) meta.unmapped.push_back({"RNG", "GPU"});
  return meta;
}

}  // namespace latent::image
