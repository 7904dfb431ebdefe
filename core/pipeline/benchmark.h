#pragma once

// The measurements behind `latentstudio-cli bench`: how long the pieces of a generation
// take on this machine, how much memory they hold, and how close the UNet comes to the
// machine's own peak rate for the compute dtype, measured in the same run.

#include <QJsonObject>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/pipeline/flops.h"
#include "core/pipeline/kernel_report.h"
#include "core/api/load_options.h"

namespace latent::pipeline {

struct BenchmarkOptions {
  api::LoadOptions load;    // dtype "auto" picks bf16 where the CPU computes it natively
  int width = 512;
  int height = 512;
  int steps = 4;            // scheduler steps of the full generation
  int repeats = 3;          // timed runs of each piece, after one warm-up run
  int load_repeats = 2;     // timed loads, after one warm-up load
  int generation_repeats = 1;
  std::string sampler = "euler";
  double guidance_scale = 7.5;  // of the full generation; 1 or less: no unconditional half
  // An autoencoder (a TAESD, or another full VAE) that decodes the full generation's
  // picture instead of the model's, also timed alone and as a preview; empty = none.
  std::string vae;
  // A ControlNet (diffusers folder or original file) for the model: the guided step is also
  // timed with it guiding (one unit); empty = none.
  std::string control;
  int threads = 0;          // 0: one per core
  // The generation's step cache (SamplingSettings::step_cache); above 1 the shallow guided
  // step it runs between full ones is timed too.
  int step_cache = 1;
  // Which oneDNN kernels one guided step and one VAE decode run (kernel_report.h).
  bool kernels = false;
  bool measure_peak = true;
  // A generation through the Engine with the automatic VAE preview cadence, to measure
  // the previews' share of the time; off by default (it runs preview_steps steps).
  bool preview_share = false;
  int preview_steps = 25;
};

struct Timing {
  std::vector<double> seconds;  // each timed run, in order
  double median() const;
  double min() const;
  double max() const;
};

// Rates of a large matrix product and a large 3×3 convolution in the compute dtype, the
// best of the layouts tried; the peak is the better of the two.
struct PeakRate {
  double matmul_gflops = 0;
  double conv_gflops = 0;
  std::string matmul_shape;
  std::string conv_shape;
  std::string conv_layout;
  double peak_gflops() const { return matmul_gflops > conv_gflops ? matmul_gflops : conv_gflops; }
};

struct BenchmarkResult {
  BenchmarkOptions options;  // with dtype resolved
  std::string cpu;
  bool cpu_native_bf16 = false;
  int threads = 0;
  std::string torch_version;
  double load_average_start = -1;  // 1-minute load averages around the run
  double load_average_end = -1;

  Timing load;
  Timing text_encode;         // prompt and negative prompt, [2, 77]
  Timing unet_step;           // one guided UNet call, batch 2
  Timing controlled_step;     // the same with options.control's residuals added (when given)
  Timing vae_decode;          // one latent → uint8 image
  Timing approximate_preview; // latent → approximate RGB → 8-bit preview image
  Timing other_vae_decode;    // options.vae's decode of one latent → uint8 image (when given)
  Timing tiny_preview;        // a tiny options.vae's live preview at the size the run step affords
  int tiny_preview_width = 0; // that preview's size in pixels
  int tiny_preview_height = 0;
  Timing run_step;            // one UNet call as the generation makes it (batch 1 unguided)
  Timing shallow_step;        // one guided call of the step cache's shallow path (step_cache > 1)
  KernelReport step_kernels;   // options.kernels: one guided UNet step
  KernelReport decode_kernels; // and one VAE decode
  Timing generation;          // encode + steps + decode
  Timing cancel_latency;      // from a cancel during a step or the decode to the return
  bool vae_banded = false;    // the decode at this size went band by band

  int64_t peak_rss_load = -1;        // bytes, high-water mark while loading
  int64_t peak_rss_generation = -1;  // bytes, high-water mark during the generations
  int64_t rss_loaded = -1;           // bytes resident with the model loaded, idle
  bool peak_rss_per_phase = false;   // false: the system refused resets, peaks are since start
  int64_t gpu_peak_generation = -1;  // bytes the CUDA allocator reserved during the generations

  FlopCount unet_step_flops;   // batch 2
  FlopCount vae_decode_flops;  // batch 1
  PeakRate peak;

  // Preview share (options.preview_share).
  double preview_seconds = -1;
  double preview_generation_seconds = -1;
  int preview_vae_decodes = 0;

  double unet_gflops() const;
  double vae_gflops() const;
  double unet_fraction_of_peak() const;
  double vae_fraction_of_peak() const;
};

using BenchmarkLog = std::function<void(const std::string&)>;

// Runs every measurement; `log` hears what is being measured as it goes. Throws
// latent::Error for a bad model path or option.
BenchmarkResult run_benchmark(const BenchmarkOptions& options, const BenchmarkLog& log = {});

QJsonObject benchmark_to_json(const BenchmarkResult& result);

// A readable multi-line report.
std::string benchmark_report(const BenchmarkResult& result);

// Measures the peak rates for `dtype` ("fp32", "bf16", "fp16") on `device`.
PeakRate measure_peak_rate(const std::string& dtype, const std::string& device, int repeats);

}  // namespace latent::pipeline
