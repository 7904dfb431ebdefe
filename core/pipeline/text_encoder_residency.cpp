#include "core/pipeline/text_encoder_residency.h"

#include "core/pipeline/model_bundle.h"
#include "core/pipeline/module_fill.h"
#include "core/pipeline/weight_loading.h"
#include "core/util/cpu_allocator.h"
#include "core/util/error.h"

namespace latent::pipeline {
namespace {

std::vector<torch::Tensor> tensors_of(torch::nn::Module& module) {
  std::vector<torch::Tensor> out;
  for (auto& p : module.parameters()) out.push_back(p);
  for (auto& b : module.buffers()) out.push_back(b);
  return out;
}

}  // namespace

int64_t text_encoder_bytes(const ModelBundle& model) {
  int64_t bytes = 0;
  for (const auto& encoder : model.text_encoders) {
    for (const auto& p : encoder.model->parameters()) bytes += p.numel() * p.element_size();
    for (const auto& b : encoder.model->buffers()) bytes += b.numel() * b.element_size();
  }
  return bytes;
}

void release_text_encoders(ModelBundle& model) {
  auto& state = model.text_encoder_release;
  if (state.released) return;
  if (state.before_release) state.before_release();
  torch::NoGradGuard no_grad;
  for (auto& encoder : model.text_encoders) {
    for (auto& t : tensors_of(*encoder.model)) {
      encoder.released.push_back({t, t.sizes().vec(), t.scalar_type()});
      t.set_data(torch::empty({0}, t.options()));
    }
  }
  state.released = true;
  util::release_cached_cpu_memory();
}

void ensure_text_encoders(ModelBundle& model) {
  auto& state = model.text_encoder_release;
  if (!state.released) return;
  for (const auto& file : model.files)
    if (!file->unchanged_on_disk())
      throw Error("'" + file->path() + "' changed on disk since the model was loaded: load the model again");
  torch::NoGradGuard no_grad;
  FillOptions options;
  options.device = model.device;
  if (model.weights == "int8") options.int8_modules = text_encoder_int8_modules();
  for (auto& encoder : model.text_encoders) {
    for (auto& r : encoder.released) r.tensor.set_data(torch::empty(r.sizes, r.tensor.options().dtype(r.dtype)));
    encoder.released.clear();
    fill_module(encoder.model.ptr(), encoder.weights, encoder.source, options, mapped_ranges(model.files));
  }
  state.released = false;
  if (state.after_reload) state.after_reload();
}

TextEncoderUse::TextEncoderUse(ModelBundle& model) : model_(model) { ensure_text_encoders(model_); }

TextEncoderUse::~TextEncoderUse() {
  if (!model_.low_memory) return;
  try {
    release_text_encoders(model_);
  } catch (...) {
    // Releasing only frees memory; a failure leaves them loaded, which is still correct.
  }
}

}  // namespace latent::pipeline
