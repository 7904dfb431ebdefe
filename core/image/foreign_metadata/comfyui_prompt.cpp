#include "core/image/foreign_metadata/comfyui_prompt.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QSet>
#include <QStringList>

#include <algorithm>
#include <cmath>

#include "core/image/foreign_metadata/comfyui_workflow.h"
#include "core/image/foreign_metadata/metadata_fields.h"

namespace latent::image {
namespace {

// Links followed from one node. Graphs are acyclic, but a file can say anything.
constexpr int kMaxDepth = 32;
// Conditioning nodes visited in all, and the length of a prompt put together from them: a
// file can combine one node with itself over and over (2^depth paths, each its text).
constexpr int kMaxConditioningVisits = 512;
constexpr std::size_t kMaxPromptBytes = 256 * 1024;

bool is_link(const QJsonValue& value) {
  if (!value.isArray()) return false;
  const QJsonArray a = value.toArray();
  return a.size() == 2 && (a[0].isString() || a[0].isDouble()) && a[1].isDouble();
}

QString type_of(const QJsonObject& node) { return node.value(QStringLiteral("class_type")).toString(); }
QJsonObject inputs_of(const QJsonObject& node) { return node.value(QStringLiteral("inputs")).toObject(); }
int slot_of(const QJsonValue& link) { return link.toArray()[1].toInt(); }

std::string join(const std::string& a, const std::string& b, const char* separator) {
  if (a.empty()) return b;
  if (b.empty()) return a;
  std::string joined = a + separator + b;
  if (joined.size() > kMaxPromptBytes) joined.resize(kMaxPromptBytes);
  return joined;
}

// A prompt as the encoder nodes give it: SDXL's encoder has one text per text encoder.
struct PromptText {
  std::string text;
  std::string text_2;  // OpenCLIP bigG's (ComfyUI's text_g) when it differs
};

class ComfyReader {
 public:
  ComfyReader(const QJsonObject& graph, ImageMetadata& meta) : m_graph(graph), m_meta(meta) {}

  void read() {
    const QStringList samplers = sampler_ids();
    if (samplers.isEmpty()) return;
    const QString first = first_pass(samplers);
    for (const QString& id : samplers)
      if (id != first) set_aside(node(id), "second sampler ");
    read_sampler(node(first));
    read_vae();
  }

 private:
  QJsonObject node(const QString& id) const { return m_graph.value(id).toObject(); }

  QJsonObject target(const QJsonValue& link) const {
    if (!is_link(link)) return {};
    const QJsonValue id = link.toArray()[0];
    return node(id.isString() ? id.toString() : QString::number(id.toInteger()));
  }

  // An input's value; through a link, the value the linked node holds (a primitive's
  // "value", its input of the same name, or its only value).
  QJsonValue scalar(const QJsonObject& at, const QString& name, int depth = 0) const {
    const QJsonValue value = inputs_of(at).value(name);
    if (!is_link(value)) return value;
    if (depth >= kMaxDepth) return {};
    const QJsonObject source = target(value);
    const QJsonObject in = inputs_of(source);
    if (in.contains(name)) return scalar(source, name, depth + 1);
    for (const char* key : {"value", "text", "string", "seed", "int", "float", "number"})
      if (in.contains(QLatin1String(key))) return scalar(source, QLatin1String(key), depth + 1);
    QJsonValue only;
    int count = 0;
    for (auto it = in.constBegin(); it != in.constEnd(); ++it)
      if (!is_link(it.value())) {
        only = it.value();
        ++count;
      }
    return count == 1 ? only : QJsonValue();
  }

  std::string text_input(const QJsonObject& at, const char* name) const {
    return foreign::json_text(scalar(at, QLatin1String(name)));
  }

  // Node ids in the order ComfyUI numbers them ("3" before "10"; group nodes "12:5" after "12").
  QStringList sampler_ids() const {
    QStringList ids;
    for (auto it = m_graph.constBegin(); it != m_graph.constEnd(); ++it) {
      const QJsonObject in = inputs_of(it.value().toObject());
      const bool guided = is_link(in.value(QStringLiteral("positive"))) && is_link(in.value(QStringLiteral("negative")));
      if (guided && (in.contains(QStringLiteral("steps")) || in.contains(QStringLiteral("sigmas")))) ids << it.key();
    }
    std::sort(ids.begin(), ids.end(), [](const QString& a, const QString& b) {
      const int na = a.section(':', 0, 0).toInt(), nb = b.section(':', 0, 0).toInt();
      return na != nb ? na < nb : a < b;
    });
    return ids;
  }

  // The sampler that starts from an empty latent (a later one refines its output: a hires
  // pass, a refiner); the first one when none does.
  QString first_pass(const QStringList& samplers) const {
    for (const QString& id : samplers) {
      QJsonObject latent = target(inputs_of(node(id)).value(QStringLiteral("latent_image")));
      for (int depth = 0; depth < kMaxDepth && !latent.isEmpty(); ++depth) {
        const QJsonObject in = inputs_of(latent);
        if (in.contains(QStringLiteral("width")) && in.contains(QStringLiteral("height")) &&
            !is_link(in.value(QStringLiteral("samples"))))
          return id;
        if (in.contains(QStringLiteral("positive"))) break;  // another sampler's output
        latent = target(in.value(QStringLiteral("samples")));
      }
    }
    return samplers.first();
  }

  // "name: value, ..." of a node's own values, and the file names of the loaders it links
  // to (a ControlNet's), for what is set aside.
  std::string summary(const QJsonObject& at) const {
    std::string text;
    const QJsonObject in = inputs_of(at);
    for (auto it = in.constBegin(); it != in.constEnd(); ++it) {
      std::string value = foreign::json_text(it.value());
      if (is_link(it.value())) {
        value.clear();
        const QJsonObject source = target(it.value());
        const QJsonObject loaded = inputs_of(source);
        const bool side_model = type_of(source).endsWith(QStringLiteral("Loader")) &&
                                !loaded.contains(QStringLiteral("ckpt_name")) && !loaded.contains(QStringLiteral("lora_name"));
        for (auto s = loaded.constBegin(); side_model && s != loaded.constEnd() && value.empty(); ++s)
          if (s.key().endsWith(QStringLiteral("_name")) && s.value().isString()) value = s.value().toString().toStdString();
      }
      if (!value.empty()) text += (text.empty() ? "" : ", ") + it.key().toStdString() + ": " + value;
    }
    return text;
  }

  // Sets a node aside once, under its class name (and `prefix`), with its own values.
  void set_aside(const QJsonObject& at, const std::string& prefix = "") {
    const std::string name = prefix + type_of(at).toStdString();
    const std::string values = summary(at);
    const QString key = QString::fromStdString(name + "\n" + values);
    if (m_set_aside.contains(key)) return;
    m_set_aside.insert(key);
    m_meta.unmapped.push_back(unmapped_item(name, values.empty() ? "(no values)" : values));
  }

  void read_sampler(const QJsonObject& sampler) {
    const QJsonObject in = inputs_of(sampler);
    QJsonValue steps = scalar(sampler, QStringLiteral("steps"));
    std::string sampler_name = text_input(sampler, "sampler_name");
    std::string scheduler = text_input(sampler, "scheduler");
    QJsonValue denoise = scalar(sampler, QStringLiteral("denoise"));
    // SamplerCustom: the sampler and the sigmas come from nodes of their own.
    if (const QJsonObject chosen = target(in.value(QStringLiteral("sampler"))); !chosen.isEmpty())
      sampler_name = text_input(chosen, "sampler_name");
    if (const QJsonObject sigmas = target(in.value(QStringLiteral("sigmas"))); !sigmas.isEmpty()) {
      steps = scalar(sigmas, QStringLiteral("steps"));
      denoise = scalar(sigmas, QStringLiteral("denoise"));
      scheduler = text_input(sigmas, "scheduler");
      if (scheduler.empty()) scheduler = type_of(sigmas).toLower().remove(QStringLiteral("scheduler")).toStdString();
    }
    foreign::set_field(m_meta, "Steps", foreign::json_text(steps));
    foreign::set_sampler(m_meta, sampler_from_comfyui(sampler_name, scheduler), "sampler_name", sampler_name, "scheduler");
    foreign::set_field(m_meta, "CFG scale", foreign::json_text(scalar(sampler, QStringLiteral("cfg"))));
    QJsonValue seed = scalar(sampler, QStringLiteral("seed"));
    if (seed.isUndefined()) seed = scalar(sampler, QStringLiteral("noise_seed"));
    foreign::set_field(m_meta, "Seed", foreign::json_text(seed));
    if (denoise.isDouble() && denoise.toDouble() != 1.0) m_meta.unmapped.push_back({"denoise", foreign::json_text(denoise)});
    // KSamplerAdvanced runs part of the schedule, possibly without adding noise.
    const int total = steps.toInt();
    const QJsonValue start = scalar(sampler, QStringLiteral("start_at_step"));
    const QJsonValue end = scalar(sampler, QStringLiteral("end_at_step"));
    if (start.toInt() > 0) m_meta.unmapped.push_back({"start_at_step", foreign::json_text(start)});
    if (end.isDouble() && end.toInt() < total) m_meta.unmapped.push_back({"end_at_step", foreign::json_text(end)});
    if (scalar(sampler, QStringLiteral("add_noise")).toString() == QStringLiteral("disable"))
      m_meta.unmapped.push_back({"add_noise", "disable"});

    QJsonValue clip;
    const PromptText positive = conditioning(in.value(QStringLiteral("positive")), 0, &clip);
    const PromptText negative = conditioning(in.value(QStringLiteral("negative")), 0, nullptr);
    m_meta.parameters.prompt = positive.text;
    m_meta.parameters.negative_prompt = negative.text;
    m_meta.prompt_2 = positive.text_2;
    m_meta.negative_prompt_2 = negative.text_2;
    read_model(in.value(QStringLiteral("model")));
    read_clip(clip);
    read_latent(in.value(QStringLiteral("latent_image")));
  }

  // The text behind a conditioning link; `clip` receives the first encoder's CLIP link.
  PromptText conditioning(const QJsonValue& link, int depth, QJsonValue* clip) {
    const QJsonObject at = target(link);
    if (at.isEmpty() || depth >= kMaxDepth || ++m_conditioning_visits > kMaxConditioningVisits) return {};
    const QString type = type_of(at);
    const QJsonObject in = inputs_of(at);
    auto follow = [&](const char* name) { return conditioning(in.value(QLatin1String(name)), depth + 1, clip); };
    // Where one side has a second text, the other's one text serves both encoders.
    auto combine = [](const PromptText& a, const PromptText& b, const char* separator) {
      if (a.text_2.empty() && b.text_2.empty()) return PromptText{join(a.text, b.text, separator), ""};
      return PromptText{join(a.text, b.text, separator),
                        join(a.text_2.empty() ? a.text : a.text_2, b.text_2.empty() ? b.text : b.text_2, separator)};
    };
    if (in.contains(QStringLiteral("text_g")) || in.contains(QStringLiteral("text_l"))) {  // CLIPTextEncodeSDXL
      if (clip != nullptr && !is_link(*clip)) *clip = in.value(QStringLiteral("clip"));
      const std::string g = text_input(at, "text_g");
      const std::string l = text_input(at, "text_l");
      if (l.empty() || l == g) return {g, ""};
      return {l, g};
    }
    if (type.startsWith(QStringLiteral("CLIPTextEncode")) || (!in.contains(QStringLiteral("conditioning")) &&
                                                             in.contains(QStringLiteral("text")))) {
      if (clip != nullptr && !is_link(*clip)) *clip = in.value(QStringLiteral("clip"));
      return {text_input(at, "text"), ""};
    }
    // The web UI's words for ComfyUI's combiners: "AND" adds the guidance of two prompts,
    // "BREAK" concatenates their encodings.
    if (type == QStringLiteral("ConditioningCombine")) return combine(follow("conditioning_1"), follow("conditioning_2"), " AND ");
    if (type == QStringLiteral("ConditioningConcat")) return combine(follow("conditioning_to"), follow("conditioning_from"), " BREAK ");
    if (type == QStringLiteral("ConditioningZeroOut")) return {};
    // Anything else between the encoder and the sampler (ControlNet, areas, masks, timestep
    // ranges, reroutes of custom node packs): followed, and set aside when it has values.
    const bool two_way = is_link(in.value(QStringLiteral("positive"))) && is_link(in.value(QStringLiteral("negative")));
    if (!summary(at).empty() || two_way) set_aside(at);
    if (two_way) return follow(slot_of(link) == 0 ? "positive" : "negative");
    for (const char* name : {"conditioning", "conditioning_to", "conditioning_1", "cond"})
      if (is_link(in.value(QLatin1String(name)))) return follow(name);
    for (auto it = in.constBegin(); it != in.constEnd(); ++it)  // a plain reroute: its one link
      if (is_link(it.value())) return conditioning(it.value(), depth + 1, clip);
    return {};
  }

  // From the sampler's model back to the checkpoint: LoRA loaders on the way.
  void read_model(QJsonValue link) {
    std::vector<api::LoraSpec> loras;
    for (int depth = 0; depth < kMaxDepth; ++depth) {
      const QJsonObject at = target(link);
      if (at.isEmpty()) break;
      const QJsonObject in = inputs_of(at);
      const std::string lora = text_input(at, "lora_name");
      if (!lora.empty()) {
        const double model_strength = scalar(at, QStringLiteral("strength_model")).toDouble(1.0);
        const QJsonValue clip_strength = scalar(at, QStringLiteral("strength_clip"));
        if (const auto spec = foreign::lora_spec(lora, model_strength)) loras.insert(loras.begin(), *spec);
        // One multiplier here for both networks: the text encoder's own is lost.
        if (clip_strength.isDouble() && clip_strength.toDouble() != model_strength)
          m_meta.unmapped.push_back({"strength_clip of " + foreign::model_stem(lora), foreign::json_text(clip_strength)});
      } else if (const std::string checkpoint = text_input(at, "ckpt_name"); !checkpoint.empty()) {
        foreign::set_field(m_meta, "Model", foreign::model_stem(checkpoint));
        break;
      } else if (const std::string unet = text_input(at, "unet_name"); !unet.empty()) {
        foreign::set_field(m_meta, "Model", foreign::model_stem(unet));
        break;
      } else if (!summary(at).empty()) {
        set_aside(at);  // a model patch (FreeU, sampling overrides, ...)
      }
      link = in.value(QStringLiteral("model"));
    }
    m_meta.loras.insert(m_meta.loras.end(), loras.begin(), loras.end());
  }

  // From the encoder's CLIP back to the checkpoint: "stop at layer -2" is clip skip 2.
  void read_clip(QJsonValue link) {
    for (int depth = 0; depth < kMaxDepth; ++depth) {
      const QJsonObject at = target(link);
      if (at.isEmpty()) return;
      const QJsonValue layer = scalar(at, QStringLiteral("stop_at_clip_layer"));
      if (layer.isDouble()) {
        const int skip = -layer.toInt();
        if (skip >= 1) foreign::set_field(m_meta, "Clip skip", std::to_string(skip));
        return;
      }
      link = inputs_of(at).value(QStringLiteral("clip"));
    }
  }

  void read_latent(QJsonValue link) {
    for (int depth = 0; depth < kMaxDepth; ++depth) {
      const QJsonObject at = target(link);
      if (at.isEmpty()) return;
      const QJsonObject in = inputs_of(at);
      if (in.contains(QStringLiteral("width")) && in.contains(QStringLiteral("height"))) {
        foreign::set_size(m_meta, scalar(at, QStringLiteral("width")), scalar(at, QStringLiteral("height")));
        const QJsonValue batch = scalar(at, QStringLiteral("batch_size"));
        if (batch.toInt(1) > 1) m_meta.unmapped.push_back({"batch_size", foreign::json_text(batch)});
        return;
      }
      if (is_link(in.value(QStringLiteral("pixels")))) {  // VAEEncode: image to image
        m_meta.unmapped.push_back({"starting picture", type_of(at).toStdString()});
        return;
      }
      link = in.value(QStringLiteral("samples"));
    }
  }

  void read_vae() {
    std::string vae;
    for (auto it = m_graph.constBegin(); it != m_graph.constEnd(); ++it) {
      const QJsonObject at = it.value().toObject();
      if (type_of(at) != QStringLiteral("VAELoader")) continue;
      const std::string name = foreign::model_stem(text_input(at, "vae_name"));
      if (!vae.empty() && vae != name) return;  // several: which decoded is not said here
      vae = name;
    }
    foreign::set_field(m_meta, "VAE", vae);
  }

  QJsonObject m_graph;
  ImageMetadata& m_meta;
  QSet<QString> m_set_aside;
  int m_conditioning_visits = 0;
};

}  // namespace

ImageMetadata read_comfyui_graph(const QJsonObject& graph, const std::string& location) {
  ImageMetadata meta;
  ComfyReader(graph, meta).read();
  if (meta.parameters.fields.empty() && meta.parameters.prompt.empty()) return {};
  meta.source = "ComfyUI";
  meta.location = location;
  foreign::order_fields(meta);
  return meta;
}

ImageMetadata read_comfyui_prompt(const std::string& prompt_json, const std::string& location) {
  const QJsonDocument doc = QJsonDocument::fromJson(QByteArray::fromStdString(prompt_json));
  if (!doc.isObject()) return {};
  return read_comfyui_graph(doc.object(), location);
}

}  // namespace latent::image
