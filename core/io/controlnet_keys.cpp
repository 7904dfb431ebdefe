#include "core/io/controlnet_keys.h"

#include <vector>

#include "core/io/checkpoint_keys.h"
#include "core/util/error.h"

namespace latent::io {
namespace {

const std::string kPrefix = "control_model.";

bool starts_with(const std::string& s, const std::string& prefix) {
  return s.rfind(prefix, 0) == 0;
}

// "zero_convs.3.0.weight" -> {"3", "weight"} for `head` "zero_convs." and `tail` ".0.".
bool split_indexed(const std::string& key, const std::string& head, const std::string& tail,
                   std::string& index, std::string& param) {
  if (!starts_with(key, head)) return false;
  const auto end = key.find('.', head.size());
  if (end == std::string::npos) return false;
  index = key.substr(head.size(), end - head.size());
  if (index.empty() || index.find_first_not_of("0123456789") != std::string::npos) return false;
  const std::string rest = key.substr(end);  // ".0.weight" or ".weight"
  if (!starts_with(rest, tail)) return false;
  param = rest.substr(tail.size());
  return !param.empty();
}

// The hint encoder: input_hint_block.{0, 2, ..., 2·(2·stages − 1)} are conv_in, blocks.0 …
// blocks.(2·stages − 3) and conv_out; the odd indices are SiLUs without parameters.
std::string hint_target(int index, int stages) {
  const int last = 2 * (2 * stages - 1);
  if (index % 2 != 0 || index < 0 || index > last) return {};
  if (index == 0) return "controlnet_cond_embedding.conv_in";
  if (index == last) return "controlnet_cond_embedding.conv_out";
  return "controlnet_cond_embedding.blocks." + std::to_string(index / 2 - 1);
}

}  // namespace

bool is_controlnet_checkpoint(const TensorMap& tensors) {
  for (const auto& [key, tensor] : tensors) {
    (void)tensor;
    if (starts_with(key, kPrefix) || starts_with(key, "input_hint_block.") ||
        starts_with(key, "controlnet_cond_embedding."))
      return true;
  }
  return false;
}

TensorMap convert_controlnet_checkpoint(const TensorMap& tensors, const QJsonObject& unet_layout,
                                        int hint_stages, const std::string& source) {
  bool diffusers_names = false;
  for (const auto& [key, tensor] : tensors) {
    (void)tensor;
    if (starts_with(key, "controlnet_cond_embedding.")) diffusers_names = true;
  }
  if (diffusers_names) return tensors;

  const CheckpointKeyMap unet_map(unet_layout, QJsonObject{}, source);
  TensorMap out;
  std::vector<std::string> unmatched;
  for (const auto& [full_key, tensor] : tensors) {
    const std::string key =
        starts_with(full_key, kPrefix) ? full_key.substr(kPrefix.size()) : full_key;
    std::string index, param, target;
    if (split_indexed(key, "zero_convs.", ".0.", index, param)) {
      target = "controlnet_down_blocks." + index + "." + param;
    } else if (starts_with(key, "middle_block_out.0.")) {
      target = "controlnet_mid_block." + key.substr(std::string("middle_block_out.0.").size());
    } else if (split_indexed(key, "input_hint_block.", ".", index, param)) {
      const std::string module =
          index.size() < 4 ? hint_target(std::stoi(index), hint_stages) : std::string();
      if (!module.empty()) target = module + "." + param;
    } else if (!starts_with(key, "output_blocks.") && !starts_with(key, "out.")) {
      const auto translated = unet_map.translate("model.diffusion_model." + key);
      if (translated && translated->component == Component::UNet) target = translated->name;
    }
    if (target.empty()) {
      if (!CheckpointKeyMap::is_ignored(full_key)) unmatched.push_back(full_key);
      continue;
    }
    if (!out.emplace(target, tensor).second)
      throw Error("'" + source + "': two tensors are the ControlNet's '" + target + "' weight");
  }
  if (!unmatched.empty()) {
    std::string names;
    for (size_t i = 0; i < unmatched.size() && i < 5; ++i) names += (i ? ", " : "") + unmatched[i];
    throw Error("'" + source + "' has " + std::to_string(unmatched.size()) +
                " tensor(s) that are not part of a ControlNet of this layout (" + names +
                (unmatched.size() > 5 ? ", ..." : "") + ")");
  }
  return out;
}

}  // namespace latent::io
