#pragma once

// LoRA adapters for the UNet and the CLIP text encoders (one for SD 1.x and 2.x, two for
// SDXL): reading kohya-ss and diffusers/PEFT files, checking them against the model (its
// family first, then every shape), and the weight delta each module contributes (LoRA,
// LoCon incl. Tucker, LoHa, LoKr, full diffs).
// Reference: kohya-ss sd-scripts networks/lora.py; LyCORIS; ComfyUI comfy/lora.py.

#include <torch/torch.h>

#include <QJsonObject>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/io/lora_keys.h"
#include "core/io/model_family.h"
#include "core/models/clip_text_model.h"
#include "core/models/unet_2d_condition.h"

namespace latent::models {

// The weights a LoRA may change: every Linear and Conv2d of the UNet and of each text
// encoder, by diffusers module path, plus the key table built from those paths.
struct LoraTargets {
  std::map<std::string, torch::Tensor> unet;  // module path -> its weight parameter
  // text encoder folder name ("text_encoder", "text_encoder_2") -> module path -> weight
  std::map<std::string, std::map<std::string, torch::Tensor>> text_encoders;
  // The loaded model's family: a LoRA whose names say it was made for another family is
  // refused (io/lora_family.h). Unset: no such check.
  std::optional<io::ModelFamily> family;
  std::shared_ptr<io::LoraKeyMap> keys;

  // The weight a key target names; nullptr when the model has no such module.
  const torch::Tensor* weight(const io::LoraKeyTarget& target) const;
};

// The text encoders of a model, each with its diffusers folder name.
using NamedTextEncoders = std::vector<std::pair<std::string, CLIPTextModel>>;

LoraTargets lora_targets(UNet2DConditionModel& unet, const NamedTextEncoders& text_encoders,
                         std::optional<io::ModelFamily> family);
// A model with one text encoder, "text_encoder", and no family check.
LoraTargets lora_targets(UNet2DConditionModel& unet, CLIPTextModel& text_encoder);

// The diffusers config.json fields that describe the UNet's block layout.
QJsonObject unet_layout_json(const UNet2DConditionConfig& config);

enum class LoraKind { LoRA, LoHa, LoKr, Full };

// One module's adapter as the file holds it.
struct LoraLayer {
  io::LoraKeyTarget target;  // the model's module it changes
  std::string file_module;   // the module as the file names it, for messages
  LoraKind kind = LoraKind::LoRA;
  std::map<std::string, torch::Tensor> tensors;  // by role ("down", "up", "mid", "hada_w1_a", ...)
  double scale = 1.0;                            // alpha / rank (1 without alpha)
};

// A LoRA file read and matched against a model. Tensors are views of the file's mapping.
struct LoraFile {
  std::string path;
  std::string name;  // file name without extension
  std::string hash;  // 12 hex digits of SHA-256 over the data after the header
  std::vector<LoraLayer> layers;        // modules that fit the model
  std::size_t key_count = 0;            // tensors in the file
  std::size_t matched_keys = 0;         // tensors of `layers`
  std::vector<std::string> unmatched;   // tensor names the model has no place for
  std::vector<std::string> unsupported; // "key: reason" for adapters of a kind we cannot apply
  std::string hint;                     // what the unmatched names suggest the file is for, or ""
  int64_t file_size = 0;
  int64_t modified_ms = 0;              // to notice a file replaced on disk

  bool complete() const { return unmatched.empty() && unsupported.empty(); }
};

// Reads `path` and matches every tensor to the model. Throws latent::Error naming the
// file when it is not a readable safetensors file, when an adapter is malformed, when
// its names say it was made for another model family than `targets.family` (an SD 1.x
// LoRA offered to SDXL, or the reverse), when a delta does not fit the weight it names
// (a LoRA for SD 2.x), or when nothing matches. Unmatched and unsupported keys are recorded, not thrown: see
// check_lora_fit().
LoraFile read_lora_file(const std::string& path, const LoraTargets& targets);

// Throws latent::Error (nothing was applied) when the file has keys the model lacks,
// unless `allow_partial`, in which case it returns the warning to show; "" when the
// whole file fits.
std::string check_lora_fit(const LoraFile& file, bool allow_partial);

// ΔW of one layer (without scale or multiplier) in float32 on `device`, shaped like
// `weight_shape`: up·down for LoRA, (w1a·w1b)⊙(w2a·w2b) for LoHa, w1⊗w2 for LoKr.
torch::Tensor lora_delta(const LoraLayer& layer, at::IntArrayRef weight_shape,
                         torch::Device device);

// out = base + Σ factor·ΔW over `contributions`, everything [out, in·kh·kw] float32 on
// one device; `out` may be `base` itself. Plain LoRA layers go through one fused
// matrix product each, without materialising ΔW.
void merge_lora_deltas(const torch::Tensor& base, const std::vector<std::pair<const LoraLayer*, double>>& contributions,
                       torch::Tensor& out);

// The web UI's short LoRA hash: 12 hex digits of SHA-256 over the bytes after the
// safetensors header. Throws latent::Error when the file cannot be read.
std::string lora_file_hash(const std::string& path);

// A kohya-layout LoRA with random factors for every module the default kohya
// networks target (attention, feed-forward and proj_in/out in the transformers, and
// the text encoders' attention and MLP, as lora_te_ or, beside a text_encoder_2,
// lora_te1_/lora_te2_); `locon` adds the resnets' and samplers' convolutions. UNet
// names are in diffusers form. For tests and benchmarks; write it with
// io::write_safetensors.
std::vector<std::pair<std::string, torch::Tensor>> random_kohya_lora(const LoraTargets& targets,
                                                                     int64_t rank, double alpha,
                                                                     bool locon, uint64_t seed,
                                                                     float stddev = 0.05f);

}  // namespace latent::models
