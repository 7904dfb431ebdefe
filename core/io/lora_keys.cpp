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

std::string LoraKeyTarget::owner() const {
  return component == Component::TextEncoder ? text_encoder : component_name(component);
}

LoraKeyMap::LoraKeyMap(const std::vector<std::string>& unet_modules,
                       const std::map<std::string, std::vector<std::string>>& text_encoder_modules,
                       const QJsonObject& unet_config) {
  auto add_paths = [](const std::vector<std::string>& paths, Paths& out) {
    std::map<std::string, int> seen;
    for (const auto& path : paths) {
      out.exact.insert(path);
      const std::string u = underscored(path);
      out.underscored[u] = path;
      ++seen[u];
    }
    // Two paths with one underscored spelling cannot be told apart: refuse both.
    for (const auto& [u, count] : seen)
      if (count > 1) out.underscored.erase(u);
  };
  add_paths(unet_modules, unet_);
  for (const auto& [encoder, paths] : text_encoder_modules) add_paths(paths, text_encoders_[encoder]);
  if (!unet_config.isEmpty()) {
    try {
      original_.emplace(unet_config, QJsonObject(), "LoRA key table");
    } catch (const std::exception&) {
      // A UNet layout the original checkpoints never had: only diffusers names apply.
      original_.reset();
    }
  }
}

std::optional<LoraKeyTarget> LoraKeyMap::find_unet(const std::string& path) const {
  if (!unet_.exact.count(path)) return std::nullopt;
  return LoraKeyTarget{Component::UNet, {}, path};
}

// kohya's UNet names: the diffusers path underscored, or the original (SGM) checkpoint
// path underscored, whose block numbers the single-file table turns into diffusers
// blocks as diffusers' _maybe_map_sgm_blocks_to_diffusers does (input block i: down
// block (i-1)/3, layer (i-1)%3; output block i: up block i/3, layer i%3; middle 0/1/2).
std::optional<LoraKeyTarget> LoraKeyMap::find_unet_underscored(const std::string& name) const {
  auto found = [&](const std::string& u) -> std::optional<LoraKeyTarget> {
    const auto it = unet_.underscored.find(u);
    if (it == unet_.underscored.end()) return std::nullopt;
    return LoraKeyTarget{Component::UNet, {}, it->second};
  };
  if (auto direct = found(name)) return direct;
  if (!original_) return std::nullopt;
  const auto target = original_->translate("model.diffusion_model." + dot_numbers(name) + ".weight");
  if (!target || target->component != Component::UNet || !ends_with(target->name, ".weight"))
    return std::nullopt;
  return found(underscored(target->name.substr(0, target->name.size() - 7)));
}

std::optional<LoraKeyTarget> LoraKeyMap::find_text_encoder(const std::string& encoder,
                                                           const std::string& path) const {
  const auto paths = text_encoders_.find(encoder);
  if (paths == text_encoders_.end()) return std::nullopt;
  const std::set<std::string>& exact = paths->second.exact;
  if (exact.count(path)) return LoraKeyTarget{Component::TextEncoder, encoder, path};
  for (const auto& alias : kTextEncoderAliases) {
    const std::string tail = std::string(".") + alias.lora;
    if (!ends_with(path, tail)) continue;
    const std::string aliased = path.substr(0, path.size() - tail.size()) + "." + alias.module;
    if (exact.count(aliased)) return LoraKeyTarget{Component::TextEncoder, encoder, aliased};
  }
  return std::nullopt;
}

std::optional<LoraKeyTarget> LoraKeyMap::find_text_encoder_underscored(const std::string& encoder,
                                                                       const std::string& name) const {
  const auto paths = text_encoders_.find(encoder);
  if (paths == text_encoders_.end()) return std::nullopt;
  const auto it = paths->second.underscored.find(name);
  if (it == paths->second.underscored.end()) return std::nullopt;
  return LoraKeyTarget{Component::TextEncoder, encoder, it->second};
}

std::optional<LoraKeyTarget> LoraKeyMap::translate(const std::string& lora_module) const {
  auto after = [&](const std::string& prefix) -> std::optional<std::string> {
    if (!starts_with(lora_module, prefix)) return std::nullopt;
    return lora_module.substr(prefix.size());
  };
  if (const auto rest = after("lora_unet_")) return find_unet_underscored(*rest);

  // kohya's text encoder prefixes: one encoder (SD 1.x, 2.x) or SDXL's two. A model has
  // one naming or the other, so lora_te1_ is nothing to SD 1.x and lora_te_ nothing to SDXL.
  const bool two_encoders = text_encoders_.count("text_encoder_2") > 0;
  if (const auto rest = after("lora_te_"))
    return two_encoders ? std::nullopt : find_text_encoder_underscored("text_encoder", *rest);
  if (const auto rest = after("lora_te1_"))
    return two_encoders ? find_text_encoder_underscored("text_encoder", *rest) : std::nullopt;
  if (const auto rest = after("lora_te2_"))
    return two_encoders ? find_text_encoder_underscored("text_encoder_2", *rest) : std::nullopt;

  // diffusers names each part by its folder: unet., text_encoder., text_encoder_2.
  if (const auto rest = after("unet.")) return find_unet(*rest);
  for (const auto& entry : text_encoders_)
    if (const auto rest = after(entry.first + ".")) return find_text_encoder(entry.first, *rest);
  if (after("text_encoder")) return std::nullopt;  // a text encoder this model does not have

  // A bare PEFT adapter names paths inside whichever model it was made for.
  if (const auto rest = after("base_model.model.")) {
    if (auto unet = find_unet(*rest)) return unet;
    for (const auto& entry : text_encoders_)
      if (auto text = find_text_encoder(entry.first, *rest)) return text;
    return std::nullopt;
  }
  // diffusers' save_attn_procs wrote UNet paths without a prefix.
  return find_unet(lora_module);
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
