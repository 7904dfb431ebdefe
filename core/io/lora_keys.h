#pragma once

// The one table that translates LoRA tensor names to the diffusers module they
// change: kohya-ss names (`lora_unet_<path with _>`, `lora_te_<path with _>`, also
// with original-checkpoint UNet paths such as `lora_unet_input_blocks_4_1_…`) and
// diffusers/PEFT names (`unet.<path>.lora_A.weight`, `text_encoder.<path>…`, and the
// older `…processor.to_q_lora.down.weight` / `….lora.up.weight` /
// `….lora_linear_layer.up.weight` forms). kohya names are resolved by enumerating
// the model's own module paths, because turning `_` back into `.` is ambiguous
// (`to_q`, `proj_in`, `ff_net_0_proj`).
// Reference: kohya-ss sd-scripts networks/lora.py; diffusers loaders/lora_conversion_utils.py.

#include <QJsonObject>
#include <map>
#include <optional>
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
  std::string module;                     // diffusers module path, e.g. "down_blocks.0.attentions.0.proj_in"
};

class LoraKeyMap {
 public:
  // `unet_modules` and `text_encoder_modules` are the paths of every module a LoRA may
  // change (Linear and Conv2d layers), as the model itself names them. `unet_config`
  // (a diffusers unet/config.json) enables original-checkpoint-style kohya names; pass
  // an empty object to accept diffusers-style names only.
  LoraKeyMap(const std::vector<std::string>& unet_modules,
             const std::vector<std::string>& text_encoder_modules,
             const QJsonObject& unet_config = {});

  // The module that a LoraKeyParts::module names; nullopt when the model has none.
  std::optional<LoraKeyTarget> translate(const std::string& lora_module) const;

  // Prefixes of LoRA files for other architectures (SDXL's two text encoders), for
  // telling the user what the file was made for.
  static std::string architecture_hint(const std::vector<std::string>& unmatched_modules);

 private:
  std::optional<std::string> find_unet(const std::string& path) const;
  std::optional<std::string> find_text_encoder(const std::string& path) const;
  std::optional<std::string> from_original_unet_name(const std::string& underscored) const;

  std::map<std::string, std::string> unet_;                 // diffusers path -> itself
  std::map<std::string, std::string> text_encoder_;
  std::map<std::string, std::string> unet_underscored_;     // path with '_' -> diffusers path
  std::map<std::string, std::string> text_encoder_underscored_;
  std::optional<CheckpointKeyMap> original_;
};

// "a.b_c.0" -> "a_b_c_0": the kohya spelling of a module path.
std::string underscored(const std::string& path);

}  // namespace latent::io
