#include "core/io/lora_keys.h"

#include <algorithm>
#include <cctype>

namespace latent::io {
namespace {

bool starts_with(const std::string& s, const std::string& prefix) {
  return s.size() >= prefix.size() && s.compare(0, prefix.size(), prefix) == 0;
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

struct Suffix {
  const char* text;
  const char* role;
};

// Longest first where one suffix ends another.
constexpr Suffix kSuffixes[] = {
    // kohya-ss / LyCORIS
    {".lora_down.weight", "down"},
    {".lora_up.weight", "up"},
    {".lora_mid.weight", "mid"},
    {".alpha", "alpha"},
    {".dora_scale", "dora_scale"},
    {".hada_w1_a", "hada_w1_a"},
    {".hada_w1_b", "hada_w1_b"},
    {".hada_w2_a", "hada_w2_a"},
    {".hada_w2_b", "hada_w2_b"},
    {".hada_t1", "hada_t1"},
    {".hada_t2", "hada_t2"},
    {".lokr_w1_a", "lokr_w1_a"},
    {".lokr_w1_b", "lokr_w1_b"},
    {".lokr_w2_a", "lokr_w2_a"},
    {".lokr_w2_b", "lokr_w2_b"},
    {".lokr_w1", "lokr_w1"},
    {".lokr_w2", "lokr_w2"},
    {".lokr_t2", "lokr_t2"},
    {".diff_b", "diff_b"},
    {".diff", "diff"},
    // diffusers / PEFT
    {".lora_A.weight", "down"},
    {".lora_B.weight", "up"},
    {".lora_B.bias", "up_bias"},
    {".lora_magnitude_vector", "dora_scale"},
    {".lora_linear_layer.down.weight", "down"},
    {".lora_linear_layer.up.weight", "up"},
    {".lora.down.weight", "down"},
    {".lora.up.weight", "up"},
};

// diffusers attention processors (before 0.20): `<attn>.processor.to_q_lora.down.weight`.
struct ProcessorLayer {
  const char* lora;
  const char* module;
};
constexpr ProcessorLayer kProcessorLayers[] = {
    {"to_q_lora", "to_q"}, {"to_k_lora", "to_k"}, {"to_v_lora", "to_v"}, {"to_out_lora", "to_out.0"}};

// The text encoder's attention under the UNet's names, as old diffusers files spell it.
constexpr ProcessorLayer kTextEncoderAliases[] = {
    {"to_q", "q_proj"}, {"to_k", "k_proj"}, {"to_v", "v_proj"}, {"to_out.0", "out_proj"}};

bool all_digits(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c); });
}

// "input_blocks_4_1_transformer_blocks_0_attn1_to_q" -> "input_blocks.4.1.transformer_blocks.0.attn1_to_q":
// numbers become their own path segments, words stay joined. That is exactly right for
// the original UNet's block paths and the resnets' inner names (in_layers.2); the rest
// is compared in its underscored form, so its spelling does not matter.
std::string dot_numbers(const std::string& underscored_name) {
  std::vector<std::string> parts;
  std::string::size_type start = 0;
  while (true) {
    const auto cut = underscored_name.find('_', start);
    parts.push_back(underscored_name.substr(start, cut == std::string::npos ? cut : cut - start));
    if (cut == std::string::npos) break;
    start = cut + 1;
  }
  std::string out;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    if (i > 0) out += (all_digits(parts[i]) || all_digits(parts[i - 1])) ? "." : "_";
    out += parts[i];
  }
  return out;
}

void add_paths(const std::vector<std::string>& paths, std::map<std::string, std::string>& exact,
               std::map<std::string, std::string>& by_underscores) {
  std::map<std::string, int> seen;
  for (const auto& path : paths) {
    exact[path] = path;
    const std::string u = underscored(path);
    by_underscores[u] = path;
    ++seen[u];
  }
  // Two paths with one underscored spelling cannot be told apart: refuse both.
  for (const auto& [u, count] : seen)
    if (count > 1) by_underscores.erase(u);
}

}  // namespace

std::string underscored(const std::string& path) {
  std::string out = path;
  std::replace(out.begin(), out.end(), '.', '_');
  return out;
}

std::optional<LoraKeyParts> split_lora_key(const std::string& key) {
  for (const auto& suffix : kSuffixes) {
    if (!ends_with(key, suffix.text) || key.size() == std::char_traits<char>::length(suffix.text))
      continue;
    LoraKeyParts parts{key.substr(0, key.size() - std::char_traits<char>::length(suffix.text)), suffix.role};
    return parts;
  }
  for (const char* role : {"down", "up"}) {
    for (const auto& layer : kProcessorLayers) {
      const std::string tail = std::string(".") + layer.lora + "." + role + ".weight";
      if (!ends_with(key, tail) || key.size() == tail.size()) continue;
      std::string module = key.substr(0, key.size() - tail.size());
      if (ends_with(module, ".processor")) module.resize(module.size() - 10);
      return LoraKeyParts{module + "." + layer.module, role};
    }
  }
  return std::nullopt;
}

LoraKeyMap::LoraKeyMap(const std::vector<std::string>& unet_modules,
                       const std::vector<std::string>& text_encoder_modules,
                       const QJsonObject& unet_config) {
  add_paths(unet_modules, unet_, unet_underscored_);
  add_paths(text_encoder_modules, text_encoder_, text_encoder_underscored_);
  if (!unet_config.isEmpty()) {
    try {
      original_.emplace(unet_config, QJsonObject(), "LoRA key table");
    } catch (const std::exception&) {
      // A UNet layout the original checkpoints never had: only diffusers names apply.
      original_.reset();
    }
  }
}

std::optional<std::string> LoraKeyMap::find_unet(const std::string& path) const {
  const auto it = unet_.find(path);
  if (it != unet_.end()) return it->second;
  return std::nullopt;
}

std::optional<std::string> LoraKeyMap::find_text_encoder(const std::string& path) const {
  const auto it = text_encoder_.find(path);
  if (it != text_encoder_.end()) return it->second;
  for (const auto& alias : kTextEncoderAliases) {
    const std::string tail = std::string(".") + alias.lora;
    if (!ends_with(path, tail)) continue;
    const auto aliased = text_encoder_.find(path.substr(0, path.size() - tail.size()) + "." + alias.module);
    if (aliased != text_encoder_.end()) return aliased->second;
  }
  return std::nullopt;
}

std::optional<std::string> LoraKeyMap::from_original_unet_name(const std::string& name) const {
  if (!original_) return std::nullopt;
  const auto target = original_->translate("model.diffusion_model." + dot_numbers(name) + ".weight");
  if (!target || target->component != Component::UNet || !ends_with(target->name, ".weight"))
    return std::nullopt;
  const std::string module = target->name.substr(0, target->name.size() - 7);
  const auto it = unet_underscored_.find(underscored(module));
  if (it != unet_underscored_.end()) return it->second;
  return std::nullopt;
}

std::optional<LoraKeyTarget> LoraKeyMap::translate(const std::string& lora_module) const {
  auto found = [](Component component, const std::optional<std::string>& module) {
    return module ? std::optional<LoraKeyTarget>(LoraKeyTarget{component, *module}) : std::nullopt;
  };
  const std::string kohya_unet = "lora_unet_";
  const std::string kohya_te = "lora_te_";
  if (starts_with(lora_module, kohya_unet)) {
    const std::string rest = lora_module.substr(kohya_unet.size());
    const auto it = unet_underscored_.find(rest);
    if (it != unet_underscored_.end()) return LoraKeyTarget{Component::UNet, it->second};
    return found(Component::UNet, from_original_unet_name(rest));
  }
  if (starts_with(lora_module, kohya_te)) {
    const auto it = text_encoder_underscored_.find(lora_module.substr(kohya_te.size()));
    if (it != text_encoder_underscored_.end()) return LoraKeyTarget{Component::TextEncoder, it->second};
    return std::nullopt;
  }
  if (starts_with(lora_module, "unet."))
    return found(Component::UNet, find_unet(lora_module.substr(5)));
  if (starts_with(lora_module, "text_encoder."))
    return found(Component::TextEncoder, find_text_encoder(lora_module.substr(13)));
  // A bare PEFT adapter names paths inside whichever model it was made for.
  const std::string peft = "base_model.model.";
  if (starts_with(lora_module, peft)) {
    const std::string rest = lora_module.substr(peft.size());
    if (const auto unet = find_unet(rest)) return LoraKeyTarget{Component::UNet, *unet};
    return found(Component::TextEncoder, find_text_encoder(rest));
  }
  // diffusers' save_attn_procs wrote UNet paths without a prefix.
  return found(Component::UNet, find_unet(lora_module));
}

std::string LoraKeyMap::architecture_hint(const std::vector<std::string>& unmatched_modules) {
  auto any = [&](const char* prefix) {
    return std::any_of(unmatched_modules.begin(), unmatched_modules.end(),
                       [&](const std::string& m) { return starts_with(m, prefix); });
  };
  if (any("lora_te1_") || any("lora_te2_") || any("text_encoder_2."))
    return "it looks like an SDXL LoRA (it names two text encoders)";
  if (any("lora_transformer_") || any("transformer.") || any("diffusion_model."))
    return "it looks like a LoRA for a transformer model (SD3, Flux, ...)";
  return {};
}

}  // namespace latent::io
