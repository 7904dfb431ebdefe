#include "core/pipeline/engine.h"

#include <chrono>
#include <map>

#include "core/api/upscaler_names.h"
#include "core/image/tensor_image.h"
#include "core/pipeline/autoencoder_files.h"
#include "core/pipeline/decode.h"
#include "core/pipeline/fast_preset.h"
#include "core/pipeline/hires_fix.h"
#include "core/pipeline/tiled_upscale.h"
#include "core/pipeline/ensemble.h"
#include "core/pipeline/control_request.h"
#include "core/pipeline/controlnet_cache.h"
#include "core/pipeline/lora_set.h"
#include "core/pipeline/request_wildcards.h"
#include "core/pipeline/memory_estimate.h"
#include "core/pipeline/memory_plan.h"
#include "core/pipeline/model_bundle.h"
#include "core/pipeline/preview.h"
#include "core/pipeline/preview_schedule.h"
#include "core/pipeline/tiny_preview_size.h"
#include "core/pipeline/request_validation.h"
#include "core/pipeline/image_request.h"
#include "core/pipeline/text_to_image.h"
#include "core/pipeline/text_encoder_residency.h"
#include "core/pipeline/textual_inversion.h"
#include "core/io/model_files.h"
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

// The request's autoencoder in the model's place for one run: a full VAE replaces `vae`,
// a tiny one is set as `tiny_vae`; the model's own is back when the run ends, however.
class AutoencoderSwap {
 public:
  AutoencoderSwap(ModelBundle& model, const LoadedAutoencoder* autoencoder) : model_(model), saved_(model.vae) {
    if (!autoencoder) return;
    if (autoencoder->is_tiny())
      model.tiny_vae = autoencoder->tiny;
    else
      model.vae = autoencoder->full;
  }
  ~AutoencoderSwap() {
    model_.vae = saved_;
    model_.tiny_vae = nullptr;
  }
  AutoencoderSwap(const AutoencoderSwap&) = delete;
  AutoencoderSwap& operator=(const AutoencoderSwap&) = delete;

 private:
  ModelBundle& model_;
  models::AutoencoderKL saved_;
};

// For one run: the LoRAs merged into the text encoders are forgotten when low-memory mode
// releases them, and merged again when they come back.
class TextEncoderLoras {
 public:
  TextEncoderLoras(ModelBundle& model, LoraSet& loras) : release_(model.text_encoder_release) {
    release_.before_release = [&model, &loras] {
      for (const auto& encoder : model.text_encoders) loras.forget(encoder.name);
    };
    release_.after_reload = [&loras] { loras.merge_again(); };
  }
  ~TextEncoderLoras() {
    release_.before_release = nullptr;
    release_.after_reload = nullptr;
  }
  TextEncoderLoras(const TextEncoderLoras&) = delete;
  TextEncoderLoras& operator=(const TextEncoderLoras&) = delete;

 private:
  TextEncoderRelease& release_;
};

}  // namespace

struct Engine::Impl {
  std::unique_ptr<ModelBundle> model;
  std::unique_ptr<LoraSet> loras;  // the LoRAs merged into `model`; goes before it
  LoadOptions options;
  std::string hash;  // computed on first use: reading gigabytes at load would slow every start
  // The SDXL refiner a request named last, kept between generations while its path and the
  // model's device and precision stay (a request without one leaves it loaded).
  std::unique_ptr<ModelBundle> refiner;
  LoadOptions refiner_options;
  std::string refiner_hash;  // computed on first use, as `hash`
  // Autoencoders requests named (GenerationRequest::vae, PreviewSettings::tiny_vae) by
  // path, on the model's device and in its precision, with their hashes once computed.
  std::map<std::string, std::unique_ptr<LoadedAutoencoder>> autoencoders;
  std::map<std::string, std::string> autoencoder_hashes;
  // The ControlNets of the last request, kept while it names them and they are unchanged.
  ControlNetCache controlnets;
  // Upscaler networks a hires fix named, by path, on the model's device and in its precision.
  std::map<std::string, std::unique_ptr<UpscalerNetwork>> upscalers;

  // The hires fix's upscaler network at `path`, loaded unless it already is.
  const UpscalerNetwork& upscaler_for(const std::string& path) {
    auto& slot = upscalers[path];
    if (!slot) slot = load_upscaler_network(path, model->device, model->dtype);
    return *slot;
  }

  // The autoencoder at `path`, loaded unless it already is; refuses one whose latents are
  // not the model's (another family's), naming the file. `what` names the option in errors.
  const LoadedAutoencoder& autoencoder_for(const std::string& path, const char* what) {
    auto& slot = autoencoders[path];
    if (!slot) {
      auto loaded = load_autoencoder(path, model->vae->config(), model->device, model->dtype);
      const int64_t channels = model->unet->config.out_channels;
      if (loaded->latent_channels() != channels ||
          loaded->downscale_factor() != model->vae->config().downscale_factor())
        throw Error(std::string(what) + " '" + path + "' works on latents of " +
                    std::to_string(loaded->latent_channels()) + " channels at 1/" +
                    std::to_string(loaded->downscale_factor()) + " size, but the model's are " +
                    std::to_string(channels) + " channels at 1/" +
                    std::to_string(model->vae->config().downscale_factor()));
      slot = std::move(loaded);
    }
    return *slot;
  }

  const std::string& autoencoder_hash(const LoadedAutoencoder& autoencoder) {
    auto& hash = autoencoder_hashes[autoencoder.path];
    if (hash.empty()) hash = util::cached_sha256(autoencoder.weight_files).substr(0, 10);
    return hash;
  }

  void release_refiner() {
    refiner.reset();
    refiner_options = {};
    refiner_hash.clear();
  }

  // The refiner at `path` for the loaded model, loaded unless it already is. Refuses a base
  // that is not SDXL's and a file that is not an SDXL refiner, naming the file.
  ModelBundle& refiner_for(const std::string& path) {
    if (model->family != io::ModelFamily::sdxl_base)
      throw Error("a refiner runs after an SDXL base model, but '" + options.model_path + "' is a " +
                  io::family_name(model->family) + " model");
    LoadOptions wanted;
    wanted.model_path = path;  // a single file's configs: the bundled ones of its family
    wanted.device = options.device;
    wanted.dtype = options.dtype;
    wanted.weights = options.weights;
    if (refiner && wanted == refiner_options) return *refiner;
    release_refiner();  // free the old weights before the new ones arrive
    // The family comes from the configs, so a wrong file is refused before its weights load.
    const io::ModelFamily family = io::open_model(path).family;
    if (family != io::ModelFamily::sdxl_refiner)
      throw Error("'" + path + "' is not an SDXL refiner: it is a " + io::family_name(family) + " model");
    refiner = load_model_bundle(wanted);
    refiner_options = wanted;
    return *refiner;
  }
};

Engine::Engine() : impl_(std::make_unique<Impl>()) {}
Engine::~Engine() = default;

void Engine::load(const LoadOptions& options) {
  if (impl_->model && options == impl_->options) return;
  impl_->loras.reset();
  impl_->model.reset();  // free the old weights before the new ones arrive
  impl_->hash.clear();
  // A refiner stays for the next model only where it would load the same again.
  if (options.device != impl_->refiner_options.device || options.dtype != impl_->refiner_options.dtype ||
      options.weights != impl_->refiner_options.weights)
    impl_->release_refiner();
  impl_->autoencoders.clear();  // built for the old model's device and precision
  impl_->autoencoder_hashes.clear();
  impl_->controlnets.clear();  // built for the old model's UNet, device and precision
  impl_->upscalers.clear();
  impl_->model = load_model_bundle(options);
  impl_->options = options;
}

bool Engine::is_loaded() const { return impl_->model != nullptr; }
const LoadOptions& Engine::load_options() const { return impl_->options; }
std::string Engine::model_name() const { return impl_->model ? impl_->model->name : std::string(); }
std::string Engine::model_family() const {
  return impl_->model ? io::family_name(impl_->model->family) : std::string();
}

std::string Engine::model_prediction() const {
  return impl_->model ? impl_->model->prediction_type() : std::string();
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

GenerationResult Engine::generate(const GenerationRequest& asked, const ProgressCallback& on_step,
                                  const std::atomic<bool>* cancel) {
  // Wildcards first: everything after (checks, <lora:...> tags) sees the prompts as drawn.
  const GenerationRequest request = expand_request_wildcards(asked);
  validate_request(request);
  validate_image_request(request);
  if (!impl_->model) throw Error("no model is loaded");
  (void)schedulers::make_scheduler(request.sampling.sampler);  // an unknown name throws the list of valid ones
  ModelBundle& model = *impl_->model;
  // The refiner takes over a text-to-image run's last steps (diffusers' ensemble of experts);
  // after image to image or inpainting it is not run.
  if (request.refiner.given() && (has_init_image(request) || is_inpainting_model(model)))
    throw Error("the refiner '" + request.refiner.path +
                "' runs after text to image only: leave it out with a starting picture or an "
                "inpainting model");
  ModelBundle* refiner = request.refiner.given() ? &impl_->refiner_for(request.refiner.path) : nullptr;
  const bool hires = request.second_pass.enabled;
  if (hires && (has_init_image(request) || is_inpainting_model(model) || refiner))
    throw Error("the hires fix runs after text to image only: turn it off with a starting picture, an "
                "inpainting model or a refiner");
  const bool controlled = !enabled_control_units(request).empty();
  if (controlled && (refiner || hires))
    throw Error("ControlNet guides one pass: turn off the refiner and the hires fix to use it");
  // Text encoders an earlier low-memory run released come back before LoRAs merge into them.
  ensure_text_encoders(model);
  MemoryPlan memory_plan = plan_generation_memory(model, request);  // refuses what cannot fit
  ImageResizer hires_resizer;  // an upscaler network's, when the hires fix names one
  if (hires) {
    api::GenerationRequest second = request;
    const HiresTarget target =
        hires_target(request.size.width, request.size.height, request.second_pass,
                     static_cast<int>(model.vae->config().downscale_factor()));
    second.size.width = target.second_width;
    second.size.height = target.second_height;
    // The larger pass decides how the whole run uses memory.
    const MemoryPlan second_plan = plan_generation_memory(model, second);
    if (second_plan.needed_bytes() > memory_plan.needed_bytes()) memory_plan = second_plan;
    if (!request.second_pass.sampler.empty()) (void)schedulers::make_scheduler(request.second_pass.sampler);
    // Any name but a built-in one is an upscaler network's file.
    if (!api::find_built_in_upscaler(request.second_pass.upscaler)) {
      const UpscalerNetwork* network = &impl_->upscaler_for(request.second_pass.upscaler);
      hires_resizer = [network, cancel](const cv::Mat& rgb, int width, int height) {
        return upscale_picture_to(*network, rgb, width, height, {}, cancel);
      };
    }
  }
  const LoadedAutoencoder* vae = request.vae.empty() ? nullptr : &impl_->autoencoder_for(request.vae, "the VAE");
  const bool hires_encodes = hires && !(api::find_built_in_upscaler(request.second_pass.upscaler) &&
                                        api::find_built_in_upscaler(request.second_pass.upscaler)->is_latent());
  if (vae && !vae->has_encoder && (has_init_image(request) || is_inpainting_model(model) || hires_encodes))
    throw Error("the tiny autoencoder '" + request.vae +
                "' has no encoder for the starting picture: put taesd_encoder.safetensors beside it");
  const LoadedAutoencoder* preview_vae = request.preview.tiny_vae.empty()
                                             ? nullptr
                                             : &impl_->autoencoder_for(request.preview.tiny_vae, "the preview VAE");
  if (preview_vae && !preview_vae->is_tiny())
    throw Error("the preview VAE '" + request.preview.tiny_vae +
                "' is a full VAE: previews after every step take a tiny autoencoder (TAESD)");
  const AutoencoderSwap swap(model, vae);

  GenerationResult result;
  result.request = request;
  if (request.prompt != asked.prompt) result.prompt_template = asked.prompt;
  if (request.negative_prompt != asked.negative_prompt) result.negative_prompt_template = asked.negative_prompt;
  result.model_name = model.name;
  result.weights = model.weights;
  result.memory_mode = describe_memory_plan(memory_plan);
  const MemoryEstimate& memory = memory_plan.estimate;
  const auto start = Clock::now();
  PreviewSchedule vae_previews(request.preview.vae_every);
  TinyPreviewSize tiny_preview_size;
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
      if (preview_vae) {
        // Every step, at the size that keeps it to a few percent of a step.
        const auto size = tiny_preview_size.latent_size(static_cast<int>(state.denoised.size(2)),
                                                        static_cast<int>(state.denoised.size(3)),
                                                        denoising_seconds / progress.step);
        const auto pixels = decode_preview_tiny(preview_vae->tiny, state.denoised, size.height, size.width);
        tiny_preview_size.decoded(pixels.size(0) * pixels.size(1) * pixels.size(2), seconds_since(preview_start));
        progress.previews = image::uint8_to_images(pixels);
        progress.previews_are_vae_decodes = true;
      } else if (vae_previews.decode_at(progress.step, progress.total_steps, denoising_seconds)) {
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
  const MemoryPlanScope memory_scope(model, memory_plan);
  const TextEncoderLoras text_encoder_loras(model, *impl_->loras);
  // The request's ControlNets (loaded unless they are), their maps made at the run's size.
  const std::vector<models::ControlNetModel> nets = impl_->controlnets.nets_for(request, model);
  result.controlnets = impl_->controlnets.applied(request);
  const auto control_for = [&](const GenerationRequest& r) {
    return nets.empty() ? ControlParams{} : control_params(r, nets, control_mask(r));
  };

  // Running out of memory part-way (the estimate is a guide, other programs take memory too)
  // is reported as an error the user can act on; the engine and its model stay usable.
  try {
    if (has_init_image(run) || is_inpainting_model(model)) {
      // Image to image, inpainting, outpainting (and text to image for an inpainting model).
      auto output = run_image_request(model, run, observer, cancel, control_for(run));
      result.images = std::move(output.images);
      result.warnings = std::move(output.warnings);
      result.init_image_hash = output.init_image_hash;
      result.mask_hash = output.mask_hash;
    } else if (hires) {
      // Both passes, one run to the observer: the second pass's steps count on from the first's.
      HiresParams params = HiresParams::from_request(run);
      params.resize_image = hires_resizer;
      const auto output = hires_fix(model, params, observer, cancel);
      result.images = image::uint8_to_images(output.images);
    } else if (refiner) {
      // Base then refiner, one run to the observer: its steps count on across both passes.
      const auto output = ensemble_text_to_image(model, *refiner, TextToImageParams::from_request(run),
                                                 run.refiner.switch_at, observer, cancel);
      result.images = image::uint8_to_images(output.images);
    } else {
      auto params = TextToImageParams::from_request(run);
      params.control = control_for(run);
      const auto output = text_to_image(model, params, observer, cancel);
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
  if (refiner) {
    if (impl_->refiner_hash.empty())
      impl_->refiner_hash = util::cached_sha256(refiner->weight_files).substr(0, 10);
    result.refiner_name = refiner->name;
    result.refiner_hash = impl_->refiner_hash;
  }
  if (vae) {
    result.vae_name = vae->name;
    result.vae_hash = impl_->autoencoder_hash(*vae);
  }
  result.seconds_total = seconds_since(start);
  result.seconds_in_previews = preview_seconds;
  return result;
}

std::vector<std::string> sampler_names() { return schedulers::scheduler_names(); }

ModelDefaults Engine::model_defaults() const {
  if (!impl_->model) throw Error("no model is loaded");
  const ModelBundle& model = *impl_->model;
  return model_defaults_for(model.family, model.unet->config.sample_size, model.vae->config().downscale_factor());
}

FastPreset Engine::fast_preset() const {
  if (!impl_->model) throw Error("no model is loaded");
  const ModelBundle& model = *impl_->model;
  return fast_preset_for(scheduler_class(), model.unet->config.time_cond_proj_dim > 0);
}

std::string Engine::own_sampler() const { return impl_->model ? own_sampler_of(scheduler_class()) : std::string(); }

std::string Engine::scheduler_class() const {
  if (!impl_->model) return {};
  return impl_->model->scheduler_config.value(QLatin1String("_class_name")).toString().toStdString();
}

bool Engine::is_sdxl() const { return impl_->model && io::is_sdxl(impl_->model->family); }

}  // namespace latent::pipeline
