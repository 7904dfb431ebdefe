#pragma once

// The LoRAs merged into a loaded model: its UNet and every text encoder it has (SDXL's
// two, the refiner's one). Bringing the set to another one (adding, removing, changing
// multipliers) recomputes only the weights whose contributions changed, as
// original + Σ multiplier·scale·ΔW in float32, from an untouched copy of every weight a
// LoRA touches; so removing every LoRA restores the base weights bit for bit, and the
// base model is never reloaded. A LoRA made for another model family is refused before
// anything changes. Parsed LoRA files are cached. A layer held in 8 bits (weight_loading.h)
// is merged into its dequantized weight, which it then holds in the compute precision while
// a LoRA changes it; without LoRAs it holds its 8-bit weight again.

#include <torch/torch.h>

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/models/lora.h"
#include "core/api/generation_request.h"
#include "core/api/generation_result.h"
#include "core/pipeline/model_bundle.h"

namespace latent::pipeline {

struct LoraUse {
  std::string path;
  double multiplier = 1.0;
  bool from_prompt = false;
};

class LoraSet {
 public:
  // Holds the model's weight tensors; the set must go before the model does, and
  // restores the base weights when it goes.
  explicit LoraSet(ModelBundle& model);
  ~LoraSet();
  LoraSet(const LoraSet&) = delete;
  LoraSet& operator=(const LoraSet&) = delete;

  // Makes `loras` the active set (one file named twice adds its multipliers). Every
  // file is read and checked before any weight changes: a file that does not fit
  // (another architecture, unknown keys without `allow_partial`, mismatched shapes)
  // throws latent::Error and leaves the model as it was.
  std::vector<api::AppliedLora> apply(const std::vector<LoraUse>& loras, bool allow_partial);

  // Restores every touched weight to the base model's value, bit for bit.
  void clear();

  // For a text encoder released in low-memory mode (TextEncoderRelease): forget what was
  // merged into the weights of `owner` ("text_encoder", ...) without restoring them, since they
  // are about to go; merge_again() merges the active set into them once they are back.
  void forget(const std::string& owner);
  void merge_again();

  // Resolves the request's adapters and, when `request.loras.folder` is set, the prompt's
  // <lora:NAME:MULTIPLIER> tags, applies them, and returns the request to run (its
  // prompt without the tags) and what was applied.
  std::pair<api::GenerationRequest, std::vector<api::AppliedLora>> apply_request(
      const api::GenerationRequest& request);

  // Weights currently differing from (or backed up for) the base model.
  std::size_t touched_weights() const { return slots_.size(); }
  std::size_t cached_files() const { return files_.size(); }
  // Seconds the last apply() spent changing weights.
  double last_apply_seconds() const { return last_apply_seconds_; }

  const models::LoraTargets& targets() const { return targets_; }
  // The file at `path`, read once and kept while it is unchanged on disk.
  std::shared_ptr<const models::LoraFile> file(const std::string& path);

 private:
  using Contribution = std::pair<const models::LoraLayer*, double>;  // layer, multiplier·scale
  struct Slot {
    torch::Tensor weight;    // the model's parameter, changed in place
    torch::Tensor original;  // its base value (on the CPU when the model is on a GPU)
    torch::Tensor scale;     // with an 8-bit original: its scales per output channel
    std::vector<Contribution> applied;
  };
  void merge(Slot& slot, const std::vector<Contribution>& wanted) const;
  static void restore(Slot& slot);

  models::LoraTargets targets_;
  std::map<std::string, std::shared_ptr<const models::LoraFile>> files_;  // by absolute path
  std::vector<std::shared_ptr<const models::LoraFile>> active_;
  std::map<std::string, Slot> slots_;  // "unet/<module>", "text_encoder/<module>", "text_encoder_2/<module>"
  std::map<std::string, torch::Tensor> int8_scales_;  // the scales of 8-bit layers, keyed as slots_
  torch::ScalarType dtype_;  // what an 8-bit layer computes in
  std::vector<LoraUse> uses_;  // the active set, as last applied
  bool allow_partial_ = false;
  double last_apply_seconds_ = 0;
};

}  // namespace latent::pipeline
