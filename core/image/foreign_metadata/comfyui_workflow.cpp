#include "core/image/foreign_metadata/comfyui_workflow.h"

#include <QHash>
#include <QJsonArray>

#include <initializer_list>
#include <utility>

namespace latent::image {
namespace {

struct NodeWidgets {
  const char* type;
  std::initializer_list<const char*> names;  // in the order of widgets_values
};

// The widgets of the nodes the graph reader looks at, in the order of the nodes' INPUT_TYPES.
const NodeWidgets kWidgets[] = {
    {"KSampler", {"seed", "steps", "cfg", "sampler_name", "scheduler", "denoise"}},
    {"KSamplerAdvanced",
     {"add_noise", "noise_seed", "steps", "cfg", "sampler_name", "scheduler", "start_at_step", "end_at_step",
      "return_with_leftover_noise"}},
    {"CLIPTextEncode", {"text"}},
    {"CLIPTextEncodeSDXL", {"width", "height", "crop_w", "crop_h", "target_width", "target_height", "text_g", "text_l"}},
    {"EmptyLatentImage", {"width", "height", "batch_size"}},
    {"CheckpointLoaderSimple", {"ckpt_name"}},
    {"CheckpointLoader", {"config_name", "ckpt_name"}},
    {"UNETLoader", {"unet_name", "weight_dtype"}},
    {"LoraLoader", {"lora_name", "strength_model", "strength_clip"}},
    {"LoraLoaderModelOnly", {"lora_name", "strength_model"}},
    {"CLIPSetLastLayer", {"stop_at_clip_layer"}},
    {"VAELoader", {"vae_name"}},
    {"PrimitiveNode", {"value"}},
};

// The editor adds a "control after generate" choice after every seed widget; the API form
// has none.
bool is_seed_control(const QJsonValue& value) {
  const QString text = value.toString();
  return text == QStringLiteral("fixed") || text == QStringLiteral("increment") ||
         text == QStringLiteral("decrement") || text == QStringLiteral("randomize");
}

QJsonObject named_widgets(const QString& type, const QJsonArray& values) {
  QJsonObject inputs;
  for (const NodeWidgets& node : kWidgets) {
    if (type != QLatin1String(node.type)) continue;
    qsizetype at = 0;
    for (const char* name : node.names) {
      if (at >= values.size()) break;
      inputs.insert(QLatin1String(name), values.at(at++));
      const QLatin1String key(name);
      if ((key == QLatin1String("seed") || key == QLatin1String("noise_seed") || key == QLatin1String("value")) &&
          at < values.size() && is_seed_control(values.at(at)))
        ++at;
    }
  }
  return inputs;
}

struct Origin {
  QString node;
  int slot = 0;
};

}  // namespace

QJsonObject comfyui_workflow_to_graph(const QJsonObject& workflow) {
  QHash<QString, QJsonObject> nodes;  // by id
  for (const QJsonValue& value : workflow.value(QStringLiteral("nodes")).toArray()) {
    const QJsonObject node = value.toObject();
    const QJsonValue id = node.value(QStringLiteral("id"));
    if (id.isDouble() || id.isString()) nodes.insert(id.isString() ? id.toString() : QString::number(id.toInteger()), node);
  }
  QHash<qint64, Origin> links;  // link id -> the output it comes from
  for (const QJsonValue& value : workflow.value(QStringLiteral("links")).toArray()) {
    const QJsonArray link = value.toArray();
    if (link.size() < 3) continue;
    const QJsonValue from = link.at(1);
    links.insert(link.at(0).toInteger(), {from.isString() ? from.toString() : QString::number(from.toInteger()),
                                          link.at(2).toInt()});
  }
  // Where a link really starts: through reroutes, which pass their one input on.
  auto origin = [&](qint64 link) -> std::pair<bool, Origin> {
    for (int depth = 0; depth < 64 && links.contains(link); ++depth) {
      const Origin from = links.value(link);
      const QJsonObject node = nodes.value(from.node);
      if (node.value(QStringLiteral("type")).toString() != QStringLiteral("Reroute")) return {true, from};
      const QJsonArray inputs = node.value(QStringLiteral("inputs")).toArray();
      if (inputs.isEmpty()) break;
      link = inputs.at(0).toObject().value(QStringLiteral("link")).toInteger(-1);
    }
    return {false, {}};
  };

  QJsonObject graph;
  for (auto it = nodes.constBegin(); it != nodes.constEnd(); ++it) {
    const QJsonObject& node = it.value();
    const QString type = node.value(QStringLiteral("type")).toString();
    if (type == QStringLiteral("Reroute") || type == QStringLiteral("PrimitiveNode")) continue;
    QJsonObject inputs = named_widgets(type, node.value(QStringLiteral("widgets_values")).toArray());
    for (const QJsonValue& value : node.value(QStringLiteral("inputs")).toArray()) {
      const QJsonObject input = value.toObject();
      const QJsonValue link = input.value(QStringLiteral("link"));
      if (!link.isDouble()) continue;
      const auto [found, from] = origin(link.toInteger());
      if (!found) continue;
      const QJsonObject source = nodes.value(from.node);
      const QString name = input.value(QStringLiteral("widget")).toObject().value(QStringLiteral("name")).toString(
          input.value(QStringLiteral("name")).toString());
      if (source.value(QStringLiteral("type")).toString() == QStringLiteral("PrimitiveNode")) {
        // A primitive feeds a widget its value; the API form holds the value itself.
        const QJsonValue primitive = named_widgets(QStringLiteral("PrimitiveNode"),
                                                   source.value(QStringLiteral("widgets_values")).toArray())
                                         .value(QStringLiteral("value"));
        if (!primitive.isUndefined()) inputs.insert(name, primitive);
      } else {
        inputs.insert(name, QJsonArray{from.node, from.slot});
      }
    }
    graph.insert(it.key(), QJsonObject{{QStringLiteral("class_type"), type}, {QStringLiteral("inputs"), inputs}});
  }
  return graph;
}

}  // namespace latent::image
