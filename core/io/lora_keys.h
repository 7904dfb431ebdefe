#pragma once

// The one table that translates LoRA tensor names to the diffusers module they
// change: kohya-ss names (`lora_unet_<path with _>`; `lora_te_<path with _>` for the one
// text encoder of SD 1.x/2.x, `lora_te1_` / `lora_te2_` for SDXL's text_encoder and
// text_encoder_2; UNet paths in diffusers form or in the original/SGM checkpoint form
// such as `lora_unet_input_blocks_4_1_…`, which SDXL's kohya files use) and
// diffusers/PEFT names (`unet.<path>.lora_A.weight`, `text_encoder.<path>…`,
// `text_encoder_2.<path>…`, and the older `…processor.to_q_lora.down.weight` /
// `….lora.up.weight` / `….lora_linear_layer.up.weight` forms). kohya names are resolved
// by enumerating the model's own module paths, because turning `_` back into `.` is
// ambiguous (`to_q`, `proj_in`, `ff_net_0_proj`).
// Reference: kohya-ss sd-scripts networks/lora.py; diffusers loaders/lora_conversion_utils.py
// (_maybe_map_sgm_blocks_to_diffusers, _convert_non_diffusers_lora_to_diffusers).

#include <QJsonObject>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/io/checkpoint_keys.h"

namespace latent::io {

// One tensor name split into the module it belongs to and its role in the adapter.
struct LoraKeyParts {
  std::string module;  // as the file spells it: "lora_unet_…", "unet.down_blocks.0.…", ...
  std::string role;    // "down", "up", "alpha", "mid", "dora_scale", "hada_w1_a", "lokr_w1", ...
};

// Splits a LoRA file's tensor name; nullopt when the name ends in no known role.
std::optional<LoraKeyParts> split_lora_key(const std::string& key);

// Where one LoRA module goes.
struct LoraKeyTarget {
  Component component = Component::UNet;  // UNet or TextEncoder
  // With Component::TextEncoder, which one, by its diffusers folder name: "text_encoder"
  // or "text_encoder_2".
  std::string text_encoder;
  std::string module;  // diffusers module path, e.g. "down_blocks.0.attentions.0.proj_in"

  // The part of the model the module is in: "unet", "text_encoder" or "text_encoder_2".
  std::string owner() const;
};

class LoraKeyMap {
 public:
  // `unet_modules` and `text_encoder_modules` (by the text encoder's folder name) are the
  // paths of every module a LoRA may change (Linear and Conv2d layers), as the model
  // itself names them. A model with "text_encoder_2" takes SDXL's kohya prefixes
  // (lora_te1_, lora_te2_), any other the one-encoder prefix lora_te_. `unet_config` (a
  // diffusers unet/config.json) enables original-checkpoint-style kohya names; pass an
  // empty object to accept diffusers-style names only.
  LoraKeyMap(const std::vector<std::string>& unet_modules,
             const std::map<std::string, std::vector<std::string>>& text_encoder_modules,
             const QJsonObject& unet_config = {});

  // The module that a LoraKeyParts::module names; nullopt when the model has none.
  std::optional<LoraKeyTarget> translate(const std::string& lora_module) const;

  // Prefixes of LoRA files for other architectures (SDXL's two text encoders), for
  // telling the user what the file was made for.
  static std::string architecture_hint(const std::vector<std::string>& unmatched_modules);

 private:
  // One part's module paths, as the model names them and underscored (kohya's spelling).
  struct Paths {
    std::set<std::string> exact;
    std::map<std::string, std::string> underscored;  // path with '_' -> diffusers path
  };

  std::optional<LoraKeyTarget> find_unet(const std::string& path) const;
  std::optional<LoraKeyTarget> find_unet_underscored(const std::string& path) const;
  std::optional<LoraKeyTarget> find_text_encoder(const std::string& encoder, const std::string& path) const;
  std::optional<LoraKeyTarget> find_text_encoder_underscored(const std::string& encoder,
                                                             const std::string& path) const;

  Paths unet_;
  std::map<std::string, Paths> text_encoders_;  // by folder name
  std::optional<CheckpointKeyMap> original_;
};

// "a.b_c.0" -> "a_b_c_0": the kohya spelling of a module path.
std::string underscored(const std::string& path);

}  // namespace latent::io
