#include "core/pipeline/benchmark.h"

#include <torch/torch.h>
#include <torch/version.h>

#include <QJsonArray>

#include <algorithm>
#include <chrono>
#include <limits>
#include <cstdio>
#include <memory>
#include <thread>

#include "core/image/tensor_image.h"
#include "core/pipeline/autoencoder_files.h"
#include "core/pipeline/controlnet_loader.h"
#include "core/pipeline/decode.h"
#include "core/pipeline/engine.h"
#include "core/pipeline/model_bundle.h"
#include "core/pipeline/noise_predictor.h"
#include "core/pipeline/preview.h"
#include "core/pipeline/step_cache.h"
#include "core/pipeline/text_conditioning.h"
#include "core/pipeline/text_to_image.h"
#include "core/pipeline/tiny_preview_size.h"
#include "core/pipeline/vae_decode.h"
#include "core/util/cpu_info.h"
#include "core/util/error.h"
#include "core/util/gpu_memory.h"
#include "core/util/memory_usage.h"
#include "core/util/threads.h"

namespace latent::pipeline {
namespace {

using Clock = std::chrono::steady_clock;

constexpr const char* kPrompt = "a photograph of an astronaut riding a horse";

void synchronize(const torch::Device& device) {
#if TORCH_VERSION_MAJOR >= 2
  if (device.is_cuda()) torch::cuda::synchronize();
#else
  (void)device;
#endif
}

// Runs `body` once to warm up (when `warm_up`), then `repeats` timed times.
Timing time_runs(int repeats, bool warm_up, const torch::Device& device,
                 const std::function<void()>& body) {
  if (warm_up) {
    body();
    synchronize(device);
  }
  Timing t;
  for (int i = 0; i < repeats; ++i) {
    const auto start = Clock::now();
    body();
    synchronize(device);
    t.seconds.push_back(std::chrono::duration<double>(Clock::now() - start).count());
  }
  return t;
}

// Cancels one-step generations from another thread at moments spread evenly over the
// step and the final decode (`span_s`, after `lead_s` of set-up), and times how long
// text_to_image takes to return once the flag is set. A run that ends before its moment
// comes adds no figure.
Timing time_cancel_latency(ModelBundle& model, TextToImageParams params, double lead_s, double span_s,
                           int trials) {
  params.steps = 1;
  Timing t;
  for (int i = 0; i < trials; ++i) {
    std::atomic<bool> cancel{false};
    Clock::time_point set_at;
    std::thread canceller([&] {
      std::this_thread::sleep_for(std::chrono::duration<double>(lead_s + (i + 0.5) / trials * span_s));
      set_at = Clock::now();
      cancel = true;
    });
    bool cancelled = false;
    try {
      (void)text_to_image(model, params, {}, &cancel);
    } catch (const Cancelled&) {
      cancelled = true;
    }
    const auto returned = Clock::now();
    canceller.join();
    if (cancelled) t.seconds.push_back(std::chrono::duration<double>(returned - set_at).count());
  }
  return t;
}

double sorted_at(std::vector<double> v, double fraction) {
  if (v.empty()) return -1;
  std::sort(v.begin(), v.end());
  return v[static_cast<size_t>(fraction * (v.size() - 1) + 0.5)];
}

std::string fmt(const char* format, double a, double b = 0, double c = 0) {
  char buffer[256];
  std::snprintf(buffer, sizeof buffer, format, a, b, c);
  return buffer;
}

QJsonObject timing_json(const Timing& t) {
  QJsonArray runs;
  for (double s : t.seconds) runs.append(s);
  return QJsonObject{{"median_s", t.median()}, {"min_s", t.min()}, {"max_s", t.max()},
                     {"runs_s", runs}};
}

QJsonObject flops_json(const FlopCount& f) {
  return QJsonObject{{"total", f.total()},
                     {"conv3x3", f.conv3x3},
                     {"conv1x1", f.conv1x1},
                     {"linear", f.linear},
                     {"attention", f.attention}};
}

}  // namespace

double Timing::median() const {
  if (seconds.empty()) return -1;
  std::vector<double> v = seconds;
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}
double Timing::min() const { return sorted_at(seconds, 0); }
double Timing::max() const { return sorted_at(seconds, 1); }

double BenchmarkResult::unet_gflops() const {
  return unet_step.median() > 0 ? unet_step_flops.total() / unet_step.median() / 1e9 : 0;
}
double BenchmarkResult::vae_gflops() const {
  return vae_decode.median() > 0 ? vae_decode_flops.total() / vae_decode.median() / 1e9 : 0;
}
double BenchmarkResult::unet_fraction_of_peak() const {
  return peak.peak_gflops() > 0 ? unet_gflops() / peak.peak_gflops() : 0;
}
double BenchmarkResult::vae_fraction_of_peak() const {
  return peak.peak_gflops() > 0 ? vae_gflops() / peak.peak_gflops() : 0;
}

PeakRate measure_peak_rate(const std::string& dtype_name, const std::string& device_name,
                           int repeats) {
  torch::InferenceMode inference_mode;
  const auto device = parse_device(device_name);
  const auto dtype = parse_dtype(resolve_dtype_name(dtype_name, device_name));
  const auto options = torch::TensorOptions().dtype(dtype).device(device);
  PeakRate rate;

  // A square matrix product large enough to leave the caches.
  const int64_t n = device.is_cuda() ? 8192 : 2048;
  const auto a = torch::randn({n, n}, options);
  const auto b = torch::randn({n, n}, options);
  const double matmul_flops = 2.0 * n * n * n;
  const auto mm = time_runs(std::max(3, repeats), true, device, [&] { (void)torch::matmul(a, b); });
  rate.matmul_gflops = matmul_flops / mm.min() / 1e9;
  rate.matmul_shape = std::to_string(n) + "x" + std::to_string(n) + "x" + std::to_string(n);

  // The UNet's most common 3×3 convolution at 512×512 (320 channels on 64×64, batch 2),
  // in both memory layouts.
  const int64_t batch = 2, channels = 320, side = 64;
  const double conv_flops = 2.0 * batch * channels * channels * 9 * side * side;
  rate.conv_shape = "2x320x64x64, 3x3, 320 out";
  for (const auto format : {at::MemoryFormat::Contiguous, at::MemoryFormat::ChannelsLast}) {
    const auto x = torch::randn({batch, channels, side, side}, options).contiguous(format);
    const auto w = (torch::randn({channels, channels, 3, 3}, options) * 0.02).contiguous(format);
    const auto bias = torch::zeros({channels}, options);
    const auto t = time_runs(std::max(3, repeats), true, device,
                             [&] { (void)torch::conv2d(x, w, bias, 1, 1); });
    const double gflops = conv_flops / t.min() / 1e9;
    if (gflops > rate.conv_gflops) {
      rate.conv_gflops = gflops;
      rate.conv_layout = format == at::MemoryFormat::ChannelsLast ? "channels-last" : "NCHW";
    }
  }
  return rate;
}

BenchmarkResult run_benchmark(const BenchmarkOptions& requested, const BenchmarkLog& log) {
  auto say = [&](const std::string& text) {
    if (log) log(text);
  };
  if (requested.width <= 0 || requested.height <= 0 || requested.width % 8 || requested.height % 8)
    throw Error("benchmark size " + std::to_string(requested.width) + "x" +
                std::to_string(requested.height) + " must be positive multiples of 8");
  if (requested.steps < 1 || requested.repeats < 1 || requested.load_repeats < 1 ||
      requested.generation_repeats < 1 || requested.preview_steps < 1)
    throw Error("benchmark steps and repeat counts must be at least 1");

  BenchmarkResult r;
  r.options = requested;
  r.options.load.dtype = resolve_dtype_name(requested.load.dtype, requested.load.device);
  const BenchmarkOptions& o = r.options;
  util::set_thread_count(o.threads);
  r.threads = util::thread_count();
  r.cpu = util::cpu_name();
  r.cpu_native_bf16 = util::cpu_has_native_bf16();
  r.torch_version = TORCH_VERSION;
  r.load_average_start = util::load_average().one;
  torch::InferenceMode inference_mode;

  // Loading: one warm-up load (it may read from disk), then loads from the page cache.
  say("loading " + o.load.model_path + " as " + o.load.dtype + " (" +
      std::to_string(o.load_repeats) + " timed loads after a warm-up load)");
  std::unique_ptr<ModelBundle> model;
  r.peak_rss_per_phase = util::reset_peak_resident();
  model = load_model_bundle(o.load);
  for (int i = 0; i < o.load_repeats; ++i) {
    model.reset();
    util::release_free_memory();
    util::reset_peak_resident();
    const auto start = Clock::now();
    model = load_model_bundle(o.load);
    r.load.seconds.push_back(std::chrono::duration<double>(Clock::now() - start).count());
    r.peak_rss_load = std::max(r.peak_rss_load, util::peak_resident_bytes());
  }
  r.rss_loaded = util::resident_bytes();
  r.options.load.weights = model->weights;  // what "auto" became
  const auto device = model->device;
  const auto dtype = model->dtype;

  if (o.measure_peak) {
    say("measuring the peak " + o.load.dtype + " rate (matrix product, 3x3 convolution)");
    r.peak = measure_peak_rate(o.load.dtype, o.load.device, o.repeats);
  }

  util::reset_peak_resident();
  const int64_t lh = o.height / 8, lw = o.width / 8;
  const int64_t context_tokens = model->text_encoder()->config().max_position_embeddings;
  r.unet_step_flops = unet_flops(model->unet->config, 2, lh, lw, context_tokens);
  r.vae_decode_flops = vae_decoder_flops(model->vae->config(), 1, lh, lw);

  TextToImageParams params;
  params.prompts = {kPrompt};
  params.negative_prompts = {""};
  params.width = o.width;
  params.height = o.height;
  params.steps = o.steps;
  params.sampler = o.sampler;
  params.guidance_scale = o.guidance_scale;
  params.seed = 1;
  params.step_cache = o.step_cache;

  // The conditioning as a generation builds it (SDXL's pooled embedding and time ids too).
  say("text encoding");
  r.text_encode = time_runs(o.repeats, true, device, [&] { (void)encode_text_conditioning(*model, params); });
  TextToImageParams guided_params = params;  // the guided step's batch of 2, whatever the run's guidance
  guided_params.guidance_scale = std::max(params.guidance_scale, 7.5);
  const GuidedConditioning text = encode_text_conditioning(*model, guided_params);
  const Conditioning conditioning = text.batched().to(device, dtype);
  const NoisePredictor predict = unet_noise_predictor(*model);

  say(fmt("one guided UNet step at %.0fx%.0f (batch 2, %.0f GFLOP)", o.width, o.height,
          r.unet_step_flops.total() / 1e9));
  const auto generator = at::detail::createCPUGenerator(1);
  const auto latents =
      at::randn({1, model->unet->config.in_channels, lh, lw}, generator);  // float32, CPU
  const auto model_input = latents.to(device);
  const auto timestep = torch::tensor(500.0, torch::kFloat32).to(device);
  r.unet_step = time_runs(o.repeats, true, device, [&] {
    (void)guided_prediction(predict, model_input, timestep, conditioning, text.guidance, true);
  });

  if (o.step_cache > 1) {
    // A cache whose first call keeps the deep features and whose every later call is shallow.
    const int never = std::numeric_limits<int>::max();
    const NoisePredictor cached = step_cached_predictor(*model, never, never);
    (void)guided_prediction(cached, model_input, timestep, conditioning, text.guidance, true);
    say("one guided step of the step cache's shallow path");
    r.shallow_step = time_runs(o.repeats, true, device, [&] {
      (void)guided_prediction(cached, model_input, timestep, conditioning, text.guidance, true);
    });
  }
  if (o.kernels) {
    say("oneDNN's kernels over one guided UNet step and one VAE decode");
    r.step_kernels = profile_onednn_kernels(
        [&] { (void)guided_prediction(predict, model_input, timestep, conditioning, text.guidance, true); });
    r.decode_kernels = profile_onednn_kernels([&] { (void)decode_latents(*model, latents); });
  }

  if (!o.control.empty()) {
    // One ControlNet on the guided batch, as a controlled generation runs every step.
    const auto net = load_controlnet(o.control, model->unet->config, model->family, device, dtype);
    say("one guided UNet step with the ControlNet " + net->name);
    ControlParams control;
    control.units.push_back({net->model, torch::rand({1, 3, o.height, o.width}, generator), 1.0, 0.0, 1.0});
    r.controlled_step = time_runs(o.repeats, true, device, [&] {
      const NoisePredictor controlled = controlled_predictor(predict, control, true, 1, 1);
      (void)guided_prediction(controlled, model_input, timestep, conditioning, text.guidance, true);
    });
  }

  say(fmt("VAE decode of %.0fx%.0f (%.0f GFLOP)", o.width, o.height,
          r.vae_decode_flops.total() / 1e9));
  r.vae_banded = vae_decode_needs_bands(model->vae->config(), latents.sizes(), dtype);
  r.vae_decode = time_runs(o.repeats, true, device, [&] { (void)decode_latents(*model, latents); });

  // The step as the generation runs it: without guidance one call of batch 1.
  const GuidedConditioning run_text = encode_text_conditioning(*model, params);
  const Conditioning run_conditioning = run_text.batched().to(device, dtype);
  r.run_step = time_runs(o.repeats, true, device, [&] {
    (void)guided_prediction(predict, model_input, timestep, run_conditioning, run_text.guidance, run_text.guided());
  });

  std::unique_ptr<LoadedAutoencoder> other_vae;
  const models::AutoencoderKL own_vae = model->vae;
  if (!o.vae.empty()) {
    other_vae = load_autoencoder(o.vae, model->vae->config(), device, dtype);
    say("decode with " + other_vae->name);
    r.other_vae_decode = time_runs(o.repeats, true, device, [&] {
      if (other_vae->is_tiny())
        (void)decode_latents_tiny(other_vae->tiny, latents);
      else
        (void)image::decoded_to_uint8(other_vae->full->decode(latents.to(device, dtype) / other_vae->full->scaling_factor()));
    });
    // As a live preview: the size TinyPreviewSize picks for steps as the generation runs them.
    if (other_vae->is_tiny()) {
      TinyPreviewSize sizer;
      sizer.decoded(latents.size(0) * latents.size(2) * latents.size(3) * 64, r.other_vae_decode.median());
      const auto size = sizer.latent_size(static_cast<int>(latents.size(2)), static_cast<int>(latents.size(3)),
                                          r.run_step.median());
      r.tiny_preview_height = size.height * 8;
      r.tiny_preview_width = size.width * 8;
      say(fmt("tiny-autoencoder preview at %.0fx%.0f", r.tiny_preview_width, r.tiny_preview_height));
      r.tiny_preview = time_runs(std::max(5, o.repeats), true, device, [&] {
        (void)decode_preview_tiny(other_vae->tiny, latents, size.height, size.width);
      });
    }
    // The generation decodes with it.
    if (other_vae->is_tiny())
      model->tiny_vae = other_vae->tiny;
    else
      model->vae = other_vae->full;
  }

  say("approximate preview");
  r.approximate_preview = time_runs(std::max(10, o.repeats), true, device, [&] {
    (void)image::uint8_to_images(image::decoded_to_uint8(approximate_rgb(latents)));
  });

  say(fmt("full generation: %.0f steps at %.0fx%.0f, ", o.steps, o.width, o.height) + o.sampler);
  const int gpu_index = device.index() < 0 ? 0 : device.index();
  if (device.is_cuda()) util::reset_cuda_peak(gpu_index);
  // On a GPU a first generation mostly measures cuDNN choosing its algorithms; one costs
  // little there, so it is run untimed first. On the CPU it would cost minutes.
  r.generation = time_runs(o.generation_repeats, device.is_cuda(), device, [&] {
    (void)text_to_image(*model, params);
  });
  model->tiny_vae = nullptr;
  model->vae = own_vae;
  r.peak_rss_generation = util::peak_resident_bytes();
  if (device.is_cuda()) r.gpu_peak_generation = util::cuda_peak_reserved_bytes(gpu_index);

  say("cancel latency: one-step generations cancelled during the step or the decode");
  r.cancel_latency = time_cancel_latency(*model, params, r.text_encode.median(),
                                         r.unet_step.median() + r.vae_decode.median(),
                                         std::max(4, o.repeats));

  if (o.preview_share) {
    model.reset();
    util::release_free_memory();
    say(fmt("preview share: %.0f steps through the engine with the automatic VAE preview cadence",
            o.preview_steps));
    Engine engine;
    engine.load(o.load);
    api::GenerationRequest request;
    request.prompt = kPrompt;
    request.size.width = o.width;
    request.size.height = o.height;
    request.sampling.steps = o.preview_steps;
    request.sampling.sampler = o.sampler;
    request.sampling.seed = 1;
    request.preview.approximate = true;
    request.preview.vae_every = -1;
    int decodes = 0;
    const auto result = engine.generate(request, [&](const api::StepProgress& progress) {
      if (progress.previews_are_vae_decodes) ++decodes;
    });
    r.preview_seconds = result.seconds_in_previews;
    r.preview_generation_seconds = result.seconds_total;
    r.preview_vae_decodes = decodes;
  }
  r.load_average_end = util::load_average().one;
  return r;
}

QJsonObject benchmark_to_json(const BenchmarkResult& r) {
  const auto& o = r.options;
  QJsonObject setup{{"model", QString::fromStdString(o.load.model_path)},
                    {"dtype", QString::fromStdString(o.load.dtype)},
                    {"weights", QString::fromStdString(o.load.weights)},
                    {"device", QString::fromStdString(o.load.device)},
                    {"width", o.width},
                    {"height", o.height},
                    {"steps", o.steps},
                    {"sampler", QString::fromStdString(o.sampler)},
                    {"guidance_scale", o.guidance_scale},
                    {"vae", QString::fromStdString(o.vae)},
                    {"step_cache", o.step_cache},
                    {"repeats", o.repeats},
                    {"load_repeats", o.load_repeats},
                    {"generation_repeats", o.generation_repeats},
                    {"threads", r.threads},
                    {"cpu", QString::fromStdString(r.cpu)},
                    {"cpu_native_bf16", r.cpu_native_bf16},
                    {"torch_version", QString::fromStdString(r.torch_version)},
                    {"load_average_start", r.load_average_start},
                    {"load_average_end", r.load_average_end}};
  QJsonObject peak{{"matmul_gflops", r.peak.matmul_gflops},
                   {"matmul_shape", QString::fromStdString(r.peak.matmul_shape)},
                   {"conv3x3_gflops", r.peak.conv_gflops},
                   {"conv3x3_shape", QString::fromStdString(r.peak.conv_shape)},
                   {"conv3x3_layout", QString::fromStdString(r.peak.conv_layout)},
                   {"peak_gflops", r.peak.peak_gflops()}};
  QJsonObject memory{{"peak_rss_load_bytes", static_cast<double>(r.peak_rss_load)},
                     {"peak_rss_generation_bytes", static_cast<double>(r.peak_rss_generation)},
                     {"peak_rss_bytes", static_cast<double>(std::max(r.peak_rss_load, r.peak_rss_generation))},
                     {"rss_loaded_bytes", static_cast<double>(r.rss_loaded)},
                     {"gpu_peak_generation_bytes", static_cast<double>(r.gpu_peak_generation)},
                     {"per_phase", r.peak_rss_per_phase}};
  QJsonObject out{{"setup", setup},
                  {"load", timing_json(r.load)},
                  {"text_encode", timing_json(r.text_encode)},
                  {"unet_step", timing_json(r.unet_step)},
                  {"controlled_step", timing_json(r.controlled_step)},
                  {"controlled_step_ratio",
                   r.unet_step.median() > 0 && !r.controlled_step.seconds.empty()
                       ? r.controlled_step.median() / r.unet_step.median()
                       : -1},
                  {"vae_decode", timing_json(r.vae_decode)},
                  {"vae_decode_in_bands", r.vae_banded},
                  {"approximate_preview", timing_json(r.approximate_preview)},
                  {"approximate_preview_fraction_of_step",
                   r.unet_step.median() > 0 ? r.approximate_preview.median() / r.unet_step.median() : -1},
                  {"run_step", timing_json(r.run_step)},
                  {"shallow_step", timing_json(r.shallow_step)},
                  {"shallow_step_fraction_of_step",
                   r.unet_step.median() > 0 && !r.shallow_step.seconds.empty()
                       ? r.shallow_step.median() / r.unet_step.median()
                       : -1},
                  {"other_vae_decode", timing_json(r.other_vae_decode)},
                  {"other_vae_decode_fraction_of_run_step",
                   r.run_step.median() > 0 ? r.other_vae_decode.median() / r.run_step.median() : -1},
                  {"tiny_preview", timing_json(r.tiny_preview)},
                  {"tiny_preview_size", QJsonArray{r.tiny_preview_width, r.tiny_preview_height}},
                  {"tiny_preview_fraction_of_run_step",
                   r.run_step.median() > 0 && !r.tiny_preview.seconds.empty()
                       ? r.tiny_preview.median() / r.run_step.median()
                       : -1},
                  {"generation", timing_json(r.generation)},
                  {"cancel_latency", timing_json(r.cancel_latency)},
                  {"cancel_latency_max_fraction_of_step",
                   r.unet_step.median() > 0 ? r.cancel_latency.max() / r.unet_step.median() : -1},
                  {"memory", memory},
                  {"peak", peak},
                  {"unet_step_flops", flops_json(r.unet_step_flops)},
                  {"vae_decode_flops", flops_json(r.vae_decode_flops)},
                  {"unet_step_gflops", r.unet_gflops()},
                  {"unet_step_fraction_of_peak", r.unet_fraction_of_peak()},
                  {"vae_decode_gflops", r.vae_gflops()},
                  {"vae_decode_fraction_of_peak", r.vae_fraction_of_peak()}};
  if (o.kernels)
    out.insert("kernels", QJsonObject{{"unet_step", kernel_report_json(r.step_kernels)},
                                      {"vae_decode", kernel_report_json(r.decode_kernels)}});
  if (o.preview_share) {
    out.insert("preview_share",
               QJsonObject{{"steps", o.preview_steps},
                           {"vae_decodes", r.preview_vae_decodes},
                           {"preview_seconds", r.preview_seconds},
                           {"generation_seconds", r.preview_generation_seconds},
                           {"share", r.preview_generation_seconds > 0
                                         ? r.preview_seconds / r.preview_generation_seconds
                                         : -1}});
  }
  return out;
}

std::string benchmark_report(const BenchmarkResult& r) {
  const auto& o = r.options;
  const double gib = 1024.0 * 1024.0 * 1024.0;
  std::string s;
  s += r.cpu + ", " + std::to_string(r.threads) + " threads, LibTorch " + r.torch_version +
       (r.cpu_native_bf16 ? ", native bf16" : ", no native bf16") + "\n";
  s += o.load.dtype + (o.load.weights == "int8" ? " with int8 weights" : "") + " on " + o.load.device + ", " +
       std::to_string(o.width) + "x" +
       std::to_string(o.height) + fmt(", load average %.1f -> %.1f\n", r.load_average_start,
                                      r.load_average_end);
  auto line = [&](const char* name, const Timing& t) {
    char buffer[200];
    std::snprintf(buffer, sizeof buffer, "  %-24s %9.3f s  (min %.3f, max %.3f, %zu runs)\n", name,
                  t.median(), t.min(), t.max(), t.seconds.size());
    s += buffer;
  };
  line("model load", r.load);
  line("text encoding", r.text_encode);
  line("UNet step (batch 2)", r.unet_step);
  if (!o.control.empty()) line("UNet step with ControlNet", r.controlled_step);
  line(r.vae_banded ? "VAE decode (in bands)" : "VAE decode", r.vae_decode);
  line("approximate preview", r.approximate_preview);
  if (!o.vae.empty()) line(("decode with " + o.vae).c_str(), r.other_vae_decode);
  if (!r.tiny_preview.seconds.empty()) line("tiny-autoencoder preview", r.tiny_preview);
  line("UNet step as generated", r.run_step);
  if (!r.shallow_step.seconds.empty()) line("UNet step, shallow (cache)", r.shallow_step);
  line(("generation, " + std::to_string(o.steps) + " steps").c_str(), r.generation);
  line("cancel to return", r.cancel_latency);
  s += fmt("  peak RSS: load %.2f GiB, generation %.2f GiB; %.2f GiB resident when loaded\n",
           r.peak_rss_load / gib, r.peak_rss_generation / gib, r.rss_loaded / gib);
  if (r.gpu_peak_generation >= 0)
    s += fmt("  peak GPU memory reserved during the generation: %.2f GiB\n", r.gpu_peak_generation / gib);
  if (!r.peak_rss_per_phase) s += "  (peak RSS could not be reset: both figures count from the start)\n";
  if (o.measure_peak) {
    char buffer[300];
    std::snprintf(buffer, sizeof buffer,
                  "  peak %s rate: matmul %.1f GFLOP/s, 3x3 conv %.1f GFLOP/s (%s)\n",
                  o.load.dtype.c_str(), r.peak.matmul_gflops, r.peak.conv_gflops,
                  r.peak.conv_layout.c_str());
    s += buffer;
  }
  s += fmt("  UNet step: %.0f GFLOP at %.1f GFLOP/s", r.unet_step_flops.total() / 1e9, r.unet_gflops());
  if (o.measure_peak) s += fmt(" = %.0f%% of peak", 100 * r.unet_fraction_of_peak());
  s += "\n";
  s += fmt("  VAE decode: %.0f GFLOP at %.1f GFLOP/s", r.vae_decode_flops.total() / 1e9, r.vae_gflops());
  if (o.measure_peak) s += fmt(" = %.0f%% of peak", 100 * r.vae_fraction_of_peak());
  s += "\n";
  if (r.unet_step.median() > 0 && !r.cancel_latency.seconds.empty())
    s += fmt("  cancel: returns within %.1f%% of a UNet step at worst\n",
             100 * r.cancel_latency.max() / r.unet_step.median());
  if (r.unet_step.median() > 0 && !r.controlled_step.seconds.empty())
    s += fmt("  ControlNet: the guided step takes %.2fx the step without\n",
             r.controlled_step.median() / r.unet_step.median());
  if (r.unet_step.median() > 0)
    s += fmt("  approximate preview: %.3f%% of a UNet step\n",
             100 * r.approximate_preview.median() / r.unet_step.median());
  if (r.run_step.median() > 0 && !r.tiny_preview.seconds.empty())
    s += fmt("  tiny-autoencoder preview: %.0fx%.0f, %.1f%% of a step as generated\n", r.tiny_preview_width,
             r.tiny_preview_height, 100 * r.tiny_preview.median() / r.run_step.median());
  if (r.unet_step.median() > 0 && !r.shallow_step.seconds.empty())
    s += fmt("  step cache %.0f: a shallow step takes %.2fx a full one\n", o.step_cache,
             r.shallow_step.median() / r.unet_step.median());
  if (o.kernels) {
    s += kernel_report_text(r.step_kernels, "one guided UNet step");
    s += kernel_report_text(r.decode_kernels, "one VAE decode");
  }
  if (o.preview_share && r.preview_generation_seconds > 0)
    s += fmt("  previews: %.0f VAE decodes, %.1f%% of a %.1f s generation\n", r.preview_vae_decodes,
             100 * r.preview_seconds / r.preview_generation_seconds, r.preview_generation_seconds);
  return s;
}

}  // namespace latent::pipeline
