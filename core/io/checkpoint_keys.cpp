#include "core/io/checkpoint_keys.h"

#include <QJsonArray>
#include <algorithm>
#include <cmath>
#include <utility>

#include "core/util/error.h"

namespace latent::io {
namespace {

// Where CLIP text encoders with transformers names sit: SD 1.x's, and SDXL's first.
const char* const kClipPrefixes[] = {"cond_stage_model.transformer.",
                                     "conditioner.embedders.0.transformer."};

bool starts_with(const std::string& s, const std::string& prefix) {
  return s.size() >= prefix.size() && s.compare(0, prefix.size(), prefix) == 0;
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string cat(const std::string& a, int64_t i) { return a + "." + std::to_string(i); }

[[noreturn]] void bad_config(const std::string& source, const char* key, const std::string& what) {
  throw Error(source + ": \"" + key + "\" " + what);
}

int64_t config_int(const QJsonObject& json, const char* key, int64_t fallback,
                   const std::string& source) {
  const QJsonValue v = json.value(QLatin1String(key));
  if (v.isUndefined() || v.isNull()) return fallback;
  if (!v.isDouble() || std::floor(v.toDouble()) != v.toDouble() || v.toDouble() < 0 ||
      v.toDouble() > 1e6)
    bad_config(source, key, "must be a non-negative integer");
  return static_cast<int64_t>(v.toDouble());
}

bool config_bool(const QJsonObject& json, const char* key, bool fallback,
                 const std::string& source) {
  const QJsonValue v = json.value(QLatin1String(key));
  if (v.isUndefined() || v.isNull()) return fallback;
  if (!v.isBool()) bad_config(source, key, "must be true or false");
  return v.toBool();
}

std::vector<std::string> config_strings(const QJsonObject& json, const char* key,
                                        std::vector<std::string> fallback,
                                        const std::string& source) {
  const QJsonValue v = json.value(QLatin1String(key));
  if (v.isUndefined() || v.isNull()) return fallback;
  if (!v.isArray()) bad_config(source, key, "must be a list of names");
  std::vector<std::string> out;
  for (const QJsonValue& item : v.toArray()) {
    if (!item.isString()) bad_config(source, key, "must be a list of names");
    out.push_back(item.toString().toStdString());
  }
  return out;
}

std::size_t config_list_size(const QJsonObject& json, const char* key, std::size_t fallback,
                             const std::string& source) {
  const QJsonValue v = json.value(QLatin1String(key));
  if (v.isUndefined() || v.isNull()) return fallback;
  if (!v.isArray() || v.toArray().isEmpty()) bad_config(source, key, "must be a non-empty list");
  return static_cast<std::size_t>(v.toArray().size());
}

// layers_per_block is one number for every level, or one per level.
std::vector<int64_t> layers_per_block(const QJsonObject& json, std::size_t levels,
                                      const std::string& source) {
  const QJsonValue v = json.value(QLatin1String("layers_per_block"));
  if (v.isArray()) {
    std::vector<int64_t> out;
    for (const QJsonValue& item : v.toArray()) {
      if (!item.isDouble() || std::floor(item.toDouble()) != item.toDouble() ||
          item.toDouble() < 1 || item.toDouble() > 1000)
        bad_config(source, "layers_per_block", "must hold positive integers");
      out.push_back(static_cast<int64_t>(item.toDouble()));
    }
    if (out.size() != levels)
      bad_config(source, "layers_per_block",
                 "must have one entry per block (" + std::to_string(levels) + ")");
    return out;
  }
  const int64_t n = config_int(json, "layers_per_block", 2, source);
  if (n < 1) bad_config(source, "layers_per_block", "must be at least 1");
  return std::vector<int64_t>(levels, n);
}

// The renames inside one module, by whole leading segments of the remaining key.
struct InnerRename {
  const char* ldm;
  const char* diffusers;
};

constexpr InnerRename kUNetResnet[] = {
    {"in_layers.0", "norm1"},  {"in_layers.2", "conv1"},  {"emb_layers.1", "time_emb_proj"},
    {"out_layers.0", "norm2"}, {"out_layers.3", "conv2"}, {"skip_connection", "conv_shortcut"},
};
constexpr InnerRename kVaeResnet[] = {
    {"norm1", "norm1"},
    {"conv1", "conv1"},
    {"norm2", "norm2"},
    {"conv2", "conv2"},
    {"nin_shortcut", "conv_shortcut"},
};
constexpr InnerRename kVaeAttention[] = {
    {"norm", "group_norm"}, {"q", "to_q"}, {"k", "to_k"}, {"v", "to_v"}, {"proj_out", "to_out.0"},
};

template <std::size_t N>
std::optional<std::string> rename_inner(const InnerRename (&table)[N], const std::string& rest) {
  for (const auto& r : table) {
    const std::string from = std::string(r.ldm) + ".";
    if (starts_with(rest, from)) return std::string(r.diffusers) + "." + rest.substr(from.size());
  }
  return std::nullopt;
}

// Keys that ldm training code saves beside the weights.
const char* const kScheduleBuffers[] = {
    "betas",
    "alphas_cumprod",
    "alphas_cumprod_prev",
    "sqrt_alphas_cumprod",
    "sqrt_one_minus_alphas_cumprod",
    "log_one_minus_alphas_cumprod",
    "sqrt_recip_alphas_cumprod",
    "sqrt_recipm1_alphas_cumprod",
    "posterior_variance",
    "posterior_log_variance_clipped",
    "posterior_mean_coef1",
    "posterior_mean_coef2",
    "logvar",
    "lvlb_weights",
};

}  // namespace

const char* component_name(Component component) {
  switch (component) {
    case Component::UNet:
      return "unet";
    case Component::Vae:
      return "vae";
    case Component::TextEncoder:
      return "text_encoder";
  }
  return "?";
}

CheckpointKeyMap::CheckpointKeyMap(const QJsonObject& unet_config, const QJsonObject& vae_config,
                                   const std::string& config_source, CheckpointLayout layout) {
  build_unet(unet_config, config_source + " (unet)");
  build_vae(vae_config, config_source + " (vae)");
  build_text_encoder(layout);
}

void CheckpointKeyMap::add(const std::string& ldm_module, Component component,
                           const std::string& target, Inner inner) {
  rules_[ldm_module] = Rule{component, target, inner};
}

void CheckpointKeyMap::build_unet(const QJsonObject& config, const std::string& source) {
  const std::string p = "model.diffusion_model";
  const auto down_types = config_strings(
      config, "down_block_types",
      {"CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"},
      source);
  const auto up_types = config_strings(
      config, "up_block_types",
      {"UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"}, source);
  const std::size_t levels = config_list_size(config, "block_out_channels", 4, source);
  if (down_types.size() != levels || up_types.size() != levels)
    throw Error(source +
                ": block_out_channels, down_block_types and up_block_types must have "
                "the same length");
  for (const auto& t : down_types)
    if (t != "CrossAttnDownBlock2D" && t != "DownBlock2D")
      throw Error(source + ": down block type '" + t +
                  "' is not a Stable Diffusion 1.x or SDXL block");
  for (const auto& t : up_types)
    if (t != "CrossAttnUpBlock2D" && t != "UpBlock2D")
      throw Error(source + ": up block type '" + t +
                  "' is not a Stable Diffusion 1.x or SDXL block");
  const QJsonValue mid = config.value("mid_block_type");
  if (!mid.isUndefined() && !mid.isNull() && mid.toString() != "UNetMidBlock2DCrossAttn")
    throw Error(source + ": mid block type '" + mid.toString().toStdString() +
                "' is not a Stable Diffusion 1.x or SDXL block");
  const std::vector<int64_t> layers = layers_per_block(config, levels, source);
  const auto n = static_cast<int64_t>(levels);

  add(p + ".time_embed.0", Component::UNet, "time_embedding.linear_1");
  add(p + ".time_embed.2", Component::UNet, "time_embedding.linear_2");
  add(p + ".input_blocks.0.0", Component::UNet, "conv_in");
  add(p + ".out.0", Component::UNet, "conv_norm_out");
  add(p + ".out.2", Component::UNet, "conv_out");
  // SDXL's added embedding of the pooled text and the size ids: Linear, SiLU, Linear.
  if (config.value("addition_embed_type").toString() == "text_time") {
    add(p + ".label_emb.0.0", Component::UNet, "add_embedding.linear_1");
    add(p + ".label_emb.0.2", Component::UNet, "add_embedding.linear_2");
  }

  // input_blocks: after conv_in, each level's resnet(+transformer) layers, then its downsampler.
  int64_t index = 1;
  for (int64_t i = 0; i < n; ++i) {
    const bool attention = down_types[i] == "CrossAttnDownBlock2D";
    const std::string block = cat("down_blocks", i);
    for (int64_t j = 0; j < layers[i]; ++j, ++index) {
      const std::string ldm = cat(p + ".input_blocks", index);
      add(ldm + ".0", Component::UNet, cat(block + ".resnets", j), Inner::UNetResnet);
      if (attention) add(ldm + ".1", Component::UNet, cat(block + ".attentions", j));
    }
    if (i < n - 1) {
      add(cat(p + ".input_blocks", index) + ".0.op", Component::UNet,
          block + ".downsamplers.0.conv");
      ++index;
    }
  }

  add(p + ".middle_block.0", Component::UNet, "mid_block.resnets.0", Inner::UNetResnet);
  add(p + ".middle_block.1", Component::UNet, "mid_block.attentions.0");
  add(p + ".middle_block.2", Component::UNet, "mid_block.resnets.1", Inner::UNetResnet);

  // output_blocks: each level has one layer more than its down twin; the last layer
  // carries the upsampler after the resnet (and the transformer, when there is one).
  index = 0;
  for (int64_t i = 0; i < n; ++i) {
    const bool attention = up_types[i] == "CrossAttnUpBlock2D";
    const std::string block = cat("up_blocks", i);
    const int64_t count = layers[n - 1 - i] + 1;
    for (int64_t j = 0; j < count; ++j, ++index) {
      const std::string ldm = cat(p + ".output_blocks", index);
      add(ldm + ".0", Component::UNet, cat(block + ".resnets", j), Inner::UNetResnet);
      if (attention) add(ldm + ".1", Component::UNet, cat(block + ".attentions", j));
      if (j == count - 1 && i < n - 1)
        add(ldm + (attention ? ".2" : ".1") + ".conv", Component::UNet,
            block + ".upsamplers.0.conv");
    }
  }
}

void CheckpointKeyMap::build_vae(const QJsonObject& config, const std::string& source) {
  const std::string p = "first_stage_model";
  const std::size_t levels = config_list_size(config, "block_out_channels", 4, source);
  const std::vector<int64_t> layers = layers_per_block(config, levels, source);
  const auto n = static_cast<int64_t>(levels);
  const bool mid_attention = config_bool(config, "mid_block_add_attention", true, source);

  for (const char* part : {"encoder", "decoder"}) {
    const std::string ldm = p + "." + part;
    const std::string diff = part;
    add(ldm + ".conv_in", Component::Vae, diff + ".conv_in");
    add(ldm + ".conv_out", Component::Vae, diff + ".conv_out");
    add(ldm + ".norm_out", Component::Vae, diff + ".conv_norm_out");
    add(ldm + ".mid.block_1", Component::Vae, diff + ".mid_block.resnets.0", Inner::VaeResnet);
    add(ldm + ".mid.block_2", Component::Vae, diff + ".mid_block.resnets.1", Inner::VaeResnet);
    if (mid_attention)
      add(ldm + ".mid.attn_1", Component::Vae, diff + ".mid_block.attentions.0",
          Inner::VaeAttention);
  }
  for (int64_t i = 0; i < n; ++i) {
    const std::string ldm = cat(p + ".encoder.down", i);
    const std::string diff = cat("encoder.down_blocks", i);
    for (int64_t j = 0; j < layers[i]; ++j)
      add(cat(ldm + ".block", j), Component::Vae, cat(diff + ".resnets", j), Inner::VaeResnet);
    if (i < n - 1) add(ldm + ".downsample.conv", Component::Vae, diff + ".downsamplers.0.conv");
  }
  // The ldm decoder numbers its levels from the lowest resolution up.
  for (int64_t i = 0; i < n; ++i) {
    const std::string ldm = cat(p + ".decoder.up", n - 1 - i);
    const std::string diff = cat("decoder.up_blocks", i);
    for (int64_t j = 0; j < layers[n - 1 - i] + 1; ++j)
      add(cat(ldm + ".block", j), Component::Vae, cat(diff + ".resnets", j), Inner::VaeResnet);
    if (i < n - 1) add(ldm + ".upsample.conv", Component::Vae, diff + ".upsamplers.0.conv");
  }
  if (config_bool(config, "use_quant_conv", true, source))
    add(p + ".quant_conv", Component::Vae, "quant_conv");
  if (config_bool(config, "use_post_quant_conv", true, source))
    add(p + ".post_quant_conv", Component::Vae, "post_quant_conv");
}

void CheckpointKeyMap::build_text_encoder(CheckpointLayout layout) {
  for (const TextEncoderSlot& slot : text_encoder_slots(layout)) {
    if (slot.form != TextEncoderForm::transformers) continue;
    const std::string p = slot.prefix.substr(0, slot.prefix.size() - 1);  // without the dot
    add(p + ".text_model", Component::TextEncoder, "text_model");
    // SD 1.x checkpoints saved with transformers before 4.x lack the text_model level.
    if (layout == CheckpointLayout::sd1)
      for (const char* part : {"embeddings", "encoder", "final_layer_norm"})
        add(p + "." + part, Component::TextEncoder, std::string("text_model.") + part);
  }
}

std::optional<KeyTarget> CheckpointKeyMap::translate(const std::string& key) const {
  // The longest module path that prefixes the key, one segment at a time.
  std::string::size_type cut = key.rfind('.');
  while (cut != std::string::npos && cut > 0) {
    const auto found = rules_.find(key.substr(0, cut));
    if (found != rules_.end()) {
      const Rule& rule = found->second;
      const std::string rest = key.substr(cut + 1);
      std::optional<std::string> inner;
      switch (rule.inner) {
        case Inner::Same:
          inner = rest;
          break;
        case Inner::UNetResnet:
          inner = rename_inner(kUNetResnet, rest);
          break;
        case Inner::VaeResnet:
          inner = rename_inner(kVaeResnet, rest);
          break;
        case Inner::VaeAttention:
          inner = rename_inner(kVaeAttention, rest);
          break;
      }
      if (!inner) return std::nullopt;
      KeyTarget target;
      target.component = rule.component;
      target.name = rule.target + "." + *inner;
      target.conv_to_linear = rule.inner == Inner::VaeAttention && rest != "norm.weight" &&
                              rest != "norm.bias" && ends_with(rest, ".weight");
      return target;
    }
    cut = key.rfind('.', cut - 1);
  }
  return std::nullopt;
}

bool CheckpointKeyMap::is_ignored(const std::string& key) {
  if (starts_with(key, "model_ema.")) return true;
  if (ends_with(key, "embeddings.position_ids") &&
      std::any_of(std::begin(kClipPrefixes), std::end(kClipPrefixes),
                  [&](const char* prefix) { return starts_with(key, prefix); }))
    return true;
  return std::any_of(std::begin(kScheduleBuffers), std::end(kScheduleBuffers),
                     [&](const char* name) { return key == name; });
}

ConvertedCheckpoint convert_checkpoint(const TensorMap& tensors, const CheckpointKeyMap& map,
                                       const std::string& source) {
  ConvertedCheckpoint out;
  std::map<std::string, std::string> origin;  // "component/name" -> ldm key, to catch collisions
  for (const auto& [key, tensor] : tensors) {
    if (CheckpointKeyMap::is_ignored(key)) {
      ++out.ignored;
      continue;
    }
    const auto target = map.translate(key);
    if (!target) {
      out.unmatched.push_back(key);
      continue;
    }
    TensorMap& dest = target->component == Component::UNet  ? out.unet
                      : target->component == Component::Vae ? out.vae
                                                            : out.text_encoder;
    const std::string slot = std::string(component_name(target->component)) + "/" + target->name;
    const auto [it, fresh] = origin.emplace(slot, key);
    if (!fresh)
      throw Error("'" + source + "': tensors '" + it->second + "' and '" + key + "' are both the " +
                  slot + " weight");
    torch::Tensor value = tensor;
    if (target->conv_to_linear && value.dim() == 4 && value.size(2) == 1 && value.size(3) == 1)
      value = value.flatten(1);  // [C, C, 1, 1] -> [C, C], a view
    dest.emplace(target->name, std::move(value));
  }
  return out;
}

void rename_legacy_vae_keys(TensorMap& vae) {
  static const std::pair<const char*, const char*> kLegacy[] = {
      {"query", "to_q"}, {"key", "to_k"}, {"value", "to_v"}, {"proj_attn", "to_out.0"}};
  TensorMap renamed;
  for (auto& [name, tensor] : vae) {
    std::string target = name;
    const auto at = name.find(".attentions.");
    if (at != std::string::npos) {
      const auto leaf_begin = name.find('.', at + 12);  // after the attention index
      const auto leaf_end =
          leaf_begin == std::string::npos ? leaf_begin : name.find('.', leaf_begin + 1);
      if (leaf_end != std::string::npos) {
        const std::string leaf = name.substr(leaf_begin + 1, leaf_end - leaf_begin - 1);
        for (const auto& [old_name, new_name] : kLegacy)
          if (leaf == old_name)
            target = name.substr(0, leaf_begin + 1) + new_name + name.substr(leaf_end);
      }
    }
    renamed.emplace(target, tensor);
  }
  vae = std::move(renamed);
}

void drop_unused_text_encoder_keys(TensorMap& text_encoder) {
  text_encoder.erase("text_model.embeddings.position_ids");
}

}  // namespace latent::io
