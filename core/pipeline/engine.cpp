#include "core/pipeline/engine.h"

#include <chrono>

#include "core/image/tensor_image.h"
#include "core/pipeline/decode.h"
#include "core/pipeline/lora_set.h"
#include "core/pipeline/memory_estimate.h"
#include "core/pipeline/model_bundle.h"
#include "core/pipeline/preview.h"
#include "core/pipeline/preview_schedule.h"
#include "core/pipeline/request_validation.h"
#include "core/pipeline/image_request.h"
#include "core/pipeline/text_to_image.h"
#include "core/pipeline/textual_inversion.h"
#include "core/util/resources.h"
#include "core/schedulers/scheduler.h"
#include "core/util/cpu_allocator.h"
#include "core/util/error.h"
#include "core/util/file_hash.h"

namespace latent::pipeline {
namespace {

using api::GenerationRequest;
using api::GenerationResult;
using api::LoadOptions;
using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

}  // namespace

struct Engine::Impl {
  std::unique_ptr<ModelBundle> model;
  std::unique_ptr<LoraSet> loras;  // the LoRAs merged into `model`; goes before it
  LoadOptions options;
  std::string hash;  // computed on first use: reading gigabytes at load would slow every start
};

Engine::Engine() : impl_(std::make_unique<Impl>()) {}
Engine::~Engine() = default;

void Engine::load(const LoadOptions& options) {
  if (impl_->model && options == impl_->options) return;
  impl_->loras.reset();
  impl_->model.reset();  // free the old weights before the new ones arrive
  impl_->hash.clear();
  impl_->model = load_model_bundle(options);
  impl_->options = options;
}

bool Engine::is_loaded() const { return impl_->model != nullptr; }
const LoadOptions& Engine::load_options() const { return impl_->options; }
std::string Engine::model_name() const { return impl_->model ? impl_->model->name : std::string(); }
std::string Engine::model_family() const {
  return impl_->model ? io::family_name(impl_->model->family) : std::string();
}

int Engine::count_tokens(const std::string& prompt) const {
  if (!impl_->model) return 0;
  return prompt_stats(prompt).tokens;
}

text::PromptStats Engine::prompt_stats(const std::string& prompt,
                                       const std::string& embeddings_dir) const {
  try {
    static const text::ClipTokenizer bundled =
        text::ClipTokenizer::from_folder(util::resource_path("tokenizer"));
    const text::ClipTokenizer& tokenizer = impl_->model ? impl_->model->tokenizer() : bundled;
    std::vector<text::EmbeddingToken> embeddings;
    if (!embeddings_dir.empty())
      embeddings = EmbeddingLibrary::from_folder(embeddings_dir).tokens(tokenizer);
    return text::prompt_stats(tokenizer, prompt, embeddings);
  } catch (const std::exception& error) {
    text::PromptStats stats;
    stats.error = error.what();
    return stats;
  }
}

GenerationResult Engine::generate(const GenerationRequest& request, const ProgressCallback& on_step,
                                  const std::atomic<bool>* cancel) {
  validate_request(request);
  validate_image_request(request);
  if (!impl_->model) throw Error("no model is loaded");
  (void)schedulers::make_scheduler(request.sampling.sampler);  // an unknown name throws the list of valid ones
  ModelBundle& model = *impl_->model;
  const MemoryEstimate memory = check_generation_memory(model, request);  // refuses what cannot fit

  GenerationResult result;
  result.request = request;
  result.model_name = model.name;
  const auto start = Clock::now();
  PreviewSchedule vae_previews(request.preview.vae_every);
  double preview_seconds = 0;  // VAE and approximate previews

  StepObserver observer;
  if (on_step) {
    observer = [&](const StepState& state) {
      api::StepProgress progress;
      progress.step = state.index + 1;
      progress.total_steps = state.total;
      progress.timestep = state.timestep;
      const auto preview_start = Clock::now();
      const double denoising_seconds = seconds_since(start) - preview_seconds;
      if (vae_previews.decode_at(progress.step, progress.total_steps, denoising_seconds)) {
        progress.previews = image::uint8_to_images(decode_latents(model, state.denoised));
        progress.previews_are_vae_decodes = true;
        vae_previews.decoded(seconds_since(preview_start));
      } else if (request.preview.approximate) {
        progress.previews =
            image::uint8_to_images(image::decoded_to_uint8(approximate_rgb(state.denoised)));
      }
      preview_seconds += seconds_since(preview_start);
      progress.seconds_elapsed = seconds_since(start);
      progress.seconds_per_step = progress.seconds_elapsed / progress.step;
      progress.seconds_left = progress.seconds_per_step * (progress.total_steps - progress.step);
      on_step(progress);
    };
  }

  // Brings the model's LoRAs to the request's (and its prompt's <lora:...> tags).
  if (!impl_->loras) impl_->loras = std::make_unique<LoraSet>(model);
  const auto [run, loras] = impl_->loras->apply_request(request);
  result.loras = loras;

  // Running out of memory part-way (the estimate is a guide, other programs take memory too)
  // is reported as an error the user can act on; the engine and its model stay usable.
  try {
    if (has_init_image(run) || is_inpainting_model(model)) {
      // Image to image, inpainting, outpainting (and text to image for an inpainting model).
      auto output = run_image_request(model, run, observer, cancel);
      result.images = std::move(output.images);
      result.warnings = std::move(output.warnings);
      result.init_image_hash = output.init_image_hash;
      result.mask_hash = output.mask_hash;
    } else {
      const auto output = text_to_image(model, TextToImageParams::from_request(run), observer, cancel);
      result.images = image::uint8_to_images(output.images);
    }
  } catch (...) {
    if (!is_out_of_memory(std::current_exception())) throw;
    util::release_cached_cpu_memory();
    throw Error(out_of_memory_message(request, memory));
  }
  for (const auto& lora : result.loras)
    if (!lora.warning.empty()) result.warnings.push_back(lora.warning);
  result.seeds.assign(result.images.size(), request.sampling.seed);
  if (impl_->hash.empty()) impl_->hash = util::cached_sha256(model.weight_files).substr(0, 10);
  result.model_hash = impl_->hash;
  result.seconds_total = seconds_since(start);
  result.seconds_in_previews = preview_seconds;
  return result;
}

std::vector<std::string> sampler_names() { return schedulers::scheduler_names(); }

}  // namespace latent::pipeline
