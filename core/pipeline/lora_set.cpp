#include "core/pipeline/lora_set.h"

#include <QDateTime>
#include <QFileInfo>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <set>

#include "core/models/quantized_weights.h"
#include "core/text/lora_prompt.h"
#include "core/util/error.h"
#include "core/util/weight_edits.h"

namespace latent::pipeline {
namespace {

// Parsed files kept for switching back and forth; they are views of mapped files, so
// a cached file costs address space, not memory.
constexpr std::size_t kCachedFiles = 32;

std::string slot_key(const models::LoraLayer& layer) {
  return layer.target.owner() + "/" + layer.target.module;
}

// Every text encoder of the model (one for SD 1.x and 2.x, two for the SDXL base, the
// second alone for its refiner), by its folder name.
models::NamedTextEncoders text_encoders_of(ModelBundle& model) {
  models::NamedTextEncoders out;
  for (const auto& encoder : model.text_encoders) out.emplace_back(encoder.name, encoder.model);
  return out;
}

// The scales of the 8-bit layers of `module`, by "<owner>/<module path>".
void collect_int8_scales(torch::nn::Module& module, const std::string& owner, std::map<std::string, torch::Tensor>& out) {
  for (const auto& item : module.named_modules("", /*include_self=*/false)) {
    if (!models::is_quantized(*item.value())) continue;
    const auto buffers = item.value()->named_buffers(/*recurse=*/false);
    out[owner + "/" + item.key()] = buffers[models::kWeightScaleName];
  }
}

}  // namespace

LoraSet::LoraSet(ModelBundle& model)
    : targets_(models::lora_targets(model.unet, text_encoders_of(model), model.family)), dtype_(model.dtype) {
  collect_int8_scales(*model.unet, "unet", int8_scales_);
  for (auto& encoder : model.text_encoders) collect_int8_scales(*encoder.model, encoder.name, int8_scales_);
}

LoraSet::~LoraSet() {
  try {
    clear();
  } catch (...) {
    // Only a failing copy between tensors of one shape could get here; nothing to add.
  }
}

std::shared_ptr<const models::LoraFile> LoraSet::file(const std::string& path) {
  const QFileInfo info(QString::fromStdString(path));
  const std::string key = info.absoluteFilePath().toStdString();
  const auto found = files_.find(key);
  if (found != files_.end() && info.exists() && found->second->file_size == info.size() &&
      found->second->modified_ms == info.lastModified().toMSecsSinceEpoch())
    return found->second;
  auto parsed = std::make_shared<const models::LoraFile>(models::read_lora_file(path, targets_));
  if (files_.size() >= kCachedFiles) {
    for (auto it = files_.begin(); it != files_.end();) {
      const bool active = std::any_of(active_.begin(), active_.end(),
                                      [&](const auto& file) { return file == it->second; });
      it = active ? std::next(it) : files_.erase(it);
    }
  }
  files_[key] = parsed;
  return parsed;
}

std::vector<api::AppliedLora> LoraSet::apply(const std::vector<LoraUse>& loras, bool allow_partial) {
  torch::NoGradGuard no_grad;
  // Read and check everything first: a file that does not fit changes nothing.
  std::vector<std::shared_ptr<const models::LoraFile>> files;
  std::vector<api::AppliedLora> applied;
  std::map<std::string, std::vector<Contribution>> wanted;
  for (const auto& use : loras) {
    if (!std::isfinite(use.multiplier))
      throw Error("the multiplier of LoRA '" + use.path + "' is not a finite number");
    auto lora = file(use.path);
    api::AppliedLora entry;
    entry.name = lora->name;
    entry.path = use.path;
    entry.multiplier = use.multiplier;
    entry.hash = lora->hash;
    entry.from_prompt = use.from_prompt;
    entry.warning = models::check_lora_fit(*lora, allow_partial);
    applied.push_back(std::move(entry));
    files.push_back(lora);
    if (use.multiplier == 0) continue;  // leaves the weights exactly as they are
    for (const auto& layer : lora->layers) wanted[slot_key(layer)].emplace_back(&layer, use.multiplier * layer.scale);
  }

  const auto start = std::chrono::steady_clock::now();
  std::set<std::string> keys;
  for (const auto& entry : wanted) keys.insert(entry.first);
  for (const auto& entry : slots_) keys.insert(entry.first);
  try {
    for (const auto& key : keys) {
      const auto want = wanted.find(key);
      auto slot = slots_.find(key);
      if (want == wanted.end()) {  // no LoRA touches it any more: back to the base value
        restore(slot->second);
        slots_.erase(slot);
        continue;
      }
      if (slot == slots_.end()) {
        const models::LoraLayer& layer = *want->second.front().first;
        const torch::Tensor* weight = targets_.weight(layer.target);
        Slot fresh;
        fresh.weight = *weight;
        const auto scale = int8_scales_.find(key);
        if (weight->scalar_type() == torch::kInt8 && scale != int8_scales_.end()) {
          // The 8-bit weight itself is the base: the layer is given a new tensor to hold.
          fresh.original = weight->detach();
          fresh.scale = scale->second;
        } else {
          // A GPU's memory is scarcer than the host's: keep the base copy on the CPU there.
          fresh.original = weight->detach().to(torch::kCPU, weight->scalar_type(), false, /*copy=*/true).contiguous();
        }
        slot = slots_.emplace(key, std::move(fresh)).first;
      }
      Slot& s = slot->second;
      if (s.applied == want->second) continue;
      merge(s, want->second);
      s.applied = want->second;
    }
  } catch (const c10::Error& e) {
    clear();
    throw Error(std::string("applying the LoRAs failed, so none is applied: ") + e.what_without_backtrace());
  } catch (...) {
    clear();
    throw;
  }
  active_ = std::move(files);
  uses_ = loras;
  allow_partial_ = allow_partial;
  last_apply_seconds_ = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return applied;
}

void LoraSet::merge(Slot& s, const std::vector<Contribution>& wanted) const {
  util::note_weight_edit();
  const int64_t rows = s.original.size(0);
  if (s.scale.defined()) {
    // Merged in float32 from the dequantized base, held in the compute precision (in the
    // 8-bit weight's layout) while the LoRA stays.
    const auto base = s.original.to(s.weight.device());
    torch::Tensor merged = models::dequantize_per_channel(base, s.scale.to(base.device()), torch::kFloat32)
                               .contiguous()
                               .view({rows, -1});
    models::merge_lora_deltas(merged, wanted, merged);
    auto held = torch::empty_like(base, base.options().dtype(dtype_));
    held.copy_(merged.view(base.sizes()));
    s.weight.set_data(held);
  } else if (s.weight.scalar_type() == torch::kFloat32 && s.weight.is_contiguous() &&
             s.weight.device() == s.original.device()) {
    // Straight from the base copy into the weight: no temporary the size of the weight.
    torch::Tensor out = s.weight.view({rows, -1});
    models::merge_lora_deltas(s.original.view({rows, -1}), wanted, out);
  } else {
    torch::Tensor merged = s.original.to(s.weight.device(), torch::kFloat32, false, /*copy=*/true).view({rows, -1});
    models::merge_lora_deltas(merged, wanted, merged);
    s.weight.copy_(merged.view(s.weight.sizes()));
  }
}

void LoraSet::restore(Slot& s) {
  util::note_weight_edit();
  if (s.scale.defined())
    s.weight.set_data(s.original);
  else
    s.weight.copy_(s.original);
}

void LoraSet::clear() {
  torch::NoGradGuard no_grad;
  for (auto& entry : slots_) restore(entry.second);
  slots_.clear();
  active_.clear();
  uses_.clear();
}

void LoraSet::forget(const std::string& owner) {
  const std::string prefix = owner + "/";
  for (auto it = slots_.lower_bound(prefix); it != slots_.end() && it->first.rfind(prefix, 0) == 0;)
    it = slots_.erase(it);
}

void LoraSet::merge_again() {
  if (!uses_.empty()) apply(std::vector<LoraUse>(uses_), allow_partial_);
}

std::pair<api::GenerationRequest, std::vector<api::AppliedLora>> LoraSet::apply_request(
    const api::GenerationRequest& request) {
  const api::LoraSettings& loras = request.loras;
  api::GenerationRequest run = request;
  std::vector<LoraUse> uses;
  for (const auto& spec : loras.adapters) {
    LoraUse use{spec.path, spec.multiplier, false};
    // A bare name (as a LoRA panel or restored settings may give) is looked up in the folder.
    const QFileInfo info(QString::fromStdString(spec.path));
    if (!info.exists() && !loras.folder.empty() && spec.path.find('/') == std::string::npos)
      use.path = text::find_lora_file(loras.folder, spec.path);
    uses.push_back(use);
  }
  if (!loras.folder.empty()) {
    const text::LoraPrompt tagged = text::extract_lora_tags(request.prompt);
    run.prompt = tagged.text;
    for (const auto& lora : tagged.loras)
      uses.push_back({text::find_lora_file(loras.folder, lora.name), lora.multiplier, true});
  }
  auto applied = apply(uses, loras.allow_partial);
  return {std::move(run), std::move(applied)};
}

}  // namespace latent::pipeline
