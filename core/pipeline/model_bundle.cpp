#include "core/pipeline/model_bundle.h"

#include <QFileInfo>

#include <cstdlib>

#include "core/io/model_files.h"
#include "core/io/state_dict.h"
#include "core/models/skip_init.h"
#include "core/pipeline/module_fill.h"
#include "core/pipeline/weight_loading.h"
#include "core/util/cpu_allocator.h"
#include "core/util/cpu_info.h"
#include "core/util/error.h"

namespace latent::pipeline {
namespace {

// Builds networks with their parameters allocated (and initialised) directly in the
// compute dtype, so a bf16 model never exists in fp32 on the way. LibTorch's default
// dtype is process-wide: nothing else may create tensors while a model is built.
class DefaultDtypeGuard {
 public:
  explicit DefaultDtypeGuard(torch::ScalarType dtype) : saved_(torch::get_default_dtype()) {
    torch::set_default_dtype(c10::scalarTypeToTypeMeta(dtype));
  }
  ~DefaultDtypeGuard() { torch::set_default_dtype(saved_); }
  DefaultDtypeGuard(const DefaultDtypeGuard&) = delete;
  DefaultDtypeGuard& operator=(const DefaultDtypeGuard&) = delete;

 private:
  caffe2::TypeMeta saved_;
};

}  // namespace

torch::Device parse_device(const std::string& name) {
  if (name == "cpu") return torch::kCPU;
  if (name == "cuda" || name.rfind("cuda:", 0) == 0) {
    if (!torch::cuda::is_available())
      throw Error("device '" + name + "' is not available: this build of LibTorch or this machine has no CUDA");
    return torch::Device(name);
  }
  throw Error("unknown device '" + name + "': use cpu or cuda");
}

std::string resolve_dtype_name(const std::string& name, const std::string& device) {
  if (name != "auto") return name;
  if (device != "cpu") return "fp16";
  return util::cpu_has_native_bf16() ? "bf16" : "fp32";
}

torch::ScalarType parse_dtype(const std::string& name) {
  if (name == "auto") return parse_dtype(resolve_dtype_name(name, "cpu"));
  if (name == "fp32") return torch::kFloat32;
  if (name == "bf16") return torch::kBFloat16;
  if (name == "fp16") return torch::kFloat16;
  throw Error("unknown precision '" + name + "': use fp32, bf16, fp16 or auto");
}

torch::ScalarType vae_compute_dtype(io::ModelFamily family, torch::ScalarType model_dtype, bool force_upcast) {
  return io::is_sdxl(family) && model_dtype == torch::kFloat16 && force_upcast ? torch::kFloat32 : model_dtype;
}

bool prefers_channels_last(const torch::Device& device, torch::ScalarType dtype) {
  (void)dtype;
  // LATENT_CHANNELS_LAST=0 or 1 overrides the choice, to measure the other layout.
  if (const char* forced = std::getenv("LATENT_CHANNELS_LAST")) return std::string(forced) == "1";
  // oneDNN runs channels-last faster on the CPU. On an H100 in fp16 (scripts/device) the
  // guided UNet step at 512×512 showed no steady difference (13–15 ms either way, whichever
  // ran second was faster) and the VAE decode was slower channels-last (29.8 against
  // 23.2 ms), so CUDA keeps NCHW.
  return device.is_cpu();
}

std::unique_ptr<ModelBundle> load_model_bundle(const api::LoadOptions& options) {
  torch::NoGradGuard no_grad;
  auto bundle = std::make_unique<ModelBundle>();
  bundle->options = options;
  bundle->device = parse_device(options.device);
  bundle->dtype = parse_dtype(resolve_dtype_name(options.dtype, options.device));
  if (bundle->dtype == torch::kFloat16 && bundle->device.is_cpu())
    throw Error("fp16 compute is not supported on the CPU: use bf16 or fp32");
  // Reusing large blocks instead of faulting in fresh pages every step (see cpu_allocator.h).
  if (bundle->device.is_cpu() && !std::getenv("LATENT_NO_CACHING_ALLOCATOR")) util::install_caching_cpu_allocator();
  // fp32 on CUDA means fp32: cuDNN's default TensorFloat-32 convolutions keep 10 mantissa
  // bits and would leave diffusers' fp32 results by about 1e-3.
  if (bundle->device.is_cuda()) {
    const bool tf32 = bundle->dtype != torch::kFloat32;
    at::globalContext().setAllowTF32CuBLAS(tf32);
    at::globalContext().setAllowTF32CuDNN(tf32);
  }

  io::ModelFiles files = io::open_model(options.model_path, options.config_dir, options.prediction);
  bundle->format = io::format_name(files.format);
  bundle->name = QFileInfo(QString::fromStdString(options.model_path)).completeBaseName().toStdString();
  if (files.format == io::ModelFormat::SingleFile) {
    bundle->weight_files = {options.model_path};
  } else {
    for (const auto& file : files.files) bundle->weight_files.push_back(file->path());
  }
  bundle->scheduler_config = files.scheduler_config;
  bundle->family = files.family;
  // diffusers' SDXL pipelines take these from model_index.json, defaulting to zeroed empty
  // negatives (true) and no aesthetic score (false); a refiner whose index does not say is
  // given the aesthetic score its UNet is built for (io::check_sdxl_configs has checked that
  // an index which says agrees with the family). SD 1.x pipelines have neither.
  const bool sdxl =
      files.family == io::ModelFamily::sdxl_base || files.family == io::ModelFamily::sdxl_refiner;
  bundle->force_zeros_for_empty_prompt =
      sdxl && files.model_index.value("force_zeros_for_empty_prompt").toBool(true);
  bundle->requires_aesthetics_score =
      sdxl && files.model_index.value("requires_aesthetics_score")
                  .toBool(files.family == io::ModelFamily::sdxl_refiner);

  const std::string source = files.config_source.empty() ? options.model_path : files.source;
  // 8-bit weights: asked for, or (auto) found in the files `convert --weights int8` writes.
  bool files_hold_int8 = holds_int8_weights(files.unet);
  check_int8_tensors(files.unet, source + " (unet)");
  check_int8_tensors(files.vae, source + " (vae)");
  for (const io::TextEncoderFiles& encoder : files.text_encoders) {
    check_int8_tensors(encoder.weights, source + " (" + encoder.name + ")");
    files_hold_int8 = files_hold_int8 || holds_int8_weights(encoder.weights);
  }
  bundle->weights = resolve_weights(options.weights, files_hold_int8);
  const bool int8 = bundle->weights == "int8";
  bundle->files = files.files;
  const auto ranges = mapped_ranges(files.files);
  FillOptions fill;
  fill.device = bundle->device;
  // One per encoder of the family, in its order (SDXL base: text_encoder, text_encoder_2).
  for (io::TextEncoderFiles& encoder_files : files.text_encoders) {
    TextEncoder text_encoder;
    text_encoder.name = encoder_files.name;
    text_encoder.source = source + " (" + encoder_files.name + ")";
    text_encoder.tokenizer = std::make_unique<text::ClipTokenizer>(
        text::ClipTokenizer::from_folder(encoder_files.tokenizer_dir));
    {
      DefaultDtypeGuard guard(bundle->dtype);
      models::SkipRandomInit no_init;  // every parameter is overwritten by the load
      text_encoder.model = models::CLIPTextModel(models::CLIPTextConfig::from_json(
          encoder_files.config, source + " (" + encoder_files.name + " config)"));
    }
    files.check_unchanged_on_disk();  // before its bytes are copied in
    fill.int8_modules = int8 ? text_encoder_int8_modules() : std::vector<std::string>{};
    fill_module(text_encoder.model.ptr(), encoder_files.weights, text_encoder.source, fill, ranges);
    // Kept, as views of the mapping, for a reload after a release (text_encoder_residency.h).
    text_encoder.weights = std::move(encoder_files.weights);
    bundle->text_encoders.push_back(std::move(text_encoder));
  }
  const bool channels_last = prefers_channels_last(bundle->device, bundle->dtype);
  {
    DefaultDtypeGuard guard(bundle->dtype);
    models::SkipRandomInit no_init;
    bundle->vae = models::AutoencoderKL(
        models::AutoencoderKLConfig::from_json(files.vae_config, source + " (vae config)"));
  }
  files.check_unchanged_on_disk();
  fill.channels_last = channels_last;
  fill.int8_modules.clear();  // the VAE stays in the compute precision
  fill_module(bundle->vae.ptr(), files.vae, source + " (vae)", fill, ranges);
  files.vae.clear();
  // The SDXL VAE overflows in fp16, so diffusers' SDXL pipelines honour the VAE config's
  // force_upcast: with an fp16 VAE they decode (upcast_vae) and encode with it moved to
  // fp32. Kept in fp32 here, upcast from the fp16 weights as diffusers' are. A bf16 VAE
  // decodes as it is, as in diffusers (which upcasts only an fp16 VAE for decoding; its
  // image-to-image encode would upcast bf16 too, not followed here). SD 1.x pipelines never
  // upcast, whatever their config says.
  const auto vae_dtype = vae_compute_dtype(bundle->family, bundle->dtype, bundle->vae->config().force_upcast);
  if (vae_dtype != bundle->dtype) bundle->vae->to(vae_dtype);
  {
    DefaultDtypeGuard guard(bundle->dtype);
    models::SkipRandomInit no_init;
    bundle->unet = models::UNet2DConditionModel(
        models::UNet2DConditionConfig::from_json(files.unet_config, source + " (unet config)"));
  }
  files.check_unchanged_on_disk();
  fill.int8_modules = int8 ? unet_int8_modules() : std::vector<std::string>{};
  fill_module(bundle->unet.ptr(), files.unet, source + " (unet)", fill, ranges);
  files.unet.clear();
  files.check_unchanged_on_disk();  // a change during the copy leaves the weights in doubt
  // Built in the compute precision, 8-bit layers gave their full weights back: those blocks
  // must not let the allocator's cache grow as if the model still held them.
  if (int8) util::reset_cpu_allocator_peak();
  return bundle;
}

}  // namespace latent::pipeline
