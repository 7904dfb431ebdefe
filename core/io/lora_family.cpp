#include "core/io/lora_family.h"

#include <regex>

#include "core/io/lora_keys.h"

namespace latent::io {
namespace {

bool starts_with(const std::string& s, const std::string& prefix) {
  return s.compare(0, prefix.size(), prefix) == 0;
}

// The UNet path a module names, underscored ("down_blocks_0_attentions_0_proj_in"); empty
// for the text encoders' modules.
std::string unet_path(const std::string& module) {
  if (starts_with(module, "lora_te") || starts_with(module, "text_encoder")) return {};
  for (const char* prefix : {"lora_unet_", "unet.", "base_model.model."})
    if (starts_with(module, prefix)) return underscored(module.substr(std::char_traits<char>::length(prefix)));
  return underscored(module);
}

// Attention in the outermost level: Stable Diffusion 1.x and 2.x, never SDXL.
const std::regex& outer_attention() {
  static const std::regex pattern(
      "^(down_blocks_0_attentions|up_blocks_3_attentions|input_blocks_[12]_1|output_blocks_(9|10|11)_1)_.*");
  return pattern;
}

// A second (or later) block in a transformer: SDXL, never Stable Diffusion 1.x or 2.x.
const std::regex& deep_transformer() {
  static const std::regex pattern(".*_transformer_blocks_[1-9][0-9]*_.*");
  return pattern;
}

// What kohya's metadata says of a one-text-encoder LoRA, for the message only.
std::string sd_name(const std::map<std::string, std::string>& metadata) {
  const auto version = metadata.find("ss_base_model_version");
  if (version != metadata.end()) {
    if (starts_with(version->second, "sd_v1")) return "Stable Diffusion 1.x";
    if (starts_with(version->second, "sd_v2")) return "Stable Diffusion 2.x";
  }
  const auto v2 = metadata.find("ss_v2");
  if (v2 != metadata.end() && (v2->second == "True" || v2->second == "False"))
    return v2->second == "True" ? "Stable Diffusion 2.x" : "Stable Diffusion 1.x";
  return "Stable Diffusion 1.x or 2.x";
}

}  // namespace

LoraFamilyEvidence lora_family(const std::vector<std::string>& modules,
                               const std::map<std::string, std::string>& metadata) {
  // The first module that points to each family; a text encoder's name says it more
  // plainly than a UNet path, so it is preferred in the message.
  std::string sd_text, sd_unet, sdxl_text, sdxl_unet;
  for (const auto& module : modules) {
    if (starts_with(module, "lora_te_") && sd_text.empty()) sd_text = module;
    if ((starts_with(module, "lora_te1_") || starts_with(module, "lora_te2_") ||
         starts_with(module, "text_encoder_2.")) &&
        sdxl_text.empty())
      sdxl_text = module;
    const std::string unet = unet_path(module);
    if (unet.empty()) continue;
    if (sd_unet.empty() && std::regex_match(unet, outer_attention())) sd_unet = module;
    if (sdxl_unet.empty() && std::regex_match(unet, deep_transformer())) sdxl_unet = module;
  }
  const bool sd = !sd_text.empty() || !sd_unet.empty();
  const bool sdxl = !sdxl_text.empty() || !sdxl_unet.empty();

  LoraFamilyEvidence out;
  if (sd == sdxl) return out;  // nothing, or names that contradict one another
  if (sdxl) {
    out.family = LoraFamily::sdxl;
    out.name = "SDXL";
    out.reason = !sdxl_text.empty()
                     ? "it names two text encoders: " + sdxl_text
                     : "its UNet has transformers of more than one block: " + sdxl_unet;
  } else {
    out.family = LoraFamily::sd;
    out.name = sd_name(metadata);
    out.reason = !sd_text.empty()
                     ? "it names one text encoder: " + sd_text
                     : "its UNet has attention in the outermost level: " + sd_unet;
  }
  return out;
}

bool lora_fits_family(LoraFamily lora, ModelFamily model) {
  switch (lora) {
    case LoraFamily::sd:
      return !is_sdxl(model);
    case LoraFamily::sdxl:
      return is_sdxl(model);
    case LoraFamily::unknown:
      break;
  }
  return true;
}

}  // namespace latent::io
