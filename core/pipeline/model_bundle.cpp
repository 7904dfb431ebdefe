#include "core/pipeline/model_bundle.h"

#include <QFileInfo>

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>

#include "core/io/model_files.h"
#include "core/io/state_dict.h"
#include "core/models/skip_init.h"
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

// The address range of a mapped file's data area.
struct MappedRange {
  uintptr_t begin = 0;
  uintptr_t end = 0;
};

// Where each file's tensors lie in memory. Views are found from a tensor whose offset is
// aligned for its dtype (those are always views of the mapping, never copies).
std::vector<MappedRange> mapped_ranges(const io::ModelFiles& files) {
  std::vector<MappedRange> ranges;
  for (const auto& file : files.files) {
    uint64_t data_end = 0;
    for (const auto& info : file->tensors()) data_end = std::max(data_end, info.data_end);
    for (const auto& info : file->tensors()) {
      if (info.numel() == 0) continue;
      const auto t = file->tensor(info.name);
      const auto address = reinterpret_cast<uintptr_t>(t.data_ptr());
      if (t.storage().data() == nullptr || address < info.data_begin) continue;
      // A copy made for an unaligned tensor is not in the mapping; checking two tensors
      // agree on the base would cost more than it guards, so only trust aligned offsets.
      if (info.data_begin % c10::elementSize(t.scalar_type()) != 0) continue;
      ranges.push_back({address - info.data_begin, address - info.data_begin + data_end});
      break;
    }
  }
  return ranges;
}

// Drops the pages of `weights` that lie in a file mapping from this process (they stay
// in the page cache), so a model being loaded holds each weight once, not also as the
// file's pages. Only read-only file pages are dropped: touching them again re-reads them.
void release_file_pages(const io::TensorMap& weights, const std::vector<MappedRange>& ranges) {
  static const uintptr_t page = static_cast<uintptr_t>(::sysconf(_SC_PAGESIZE));
  for (const auto& [name, tensor] : weights) {
    if (!tensor.defined() || tensor.numel() == 0) continue;
    const auto begin = reinterpret_cast<uintptr_t>(tensor.data_ptr());
    const uintptr_t end = begin + tensor.numel() * tensor.element_size();
    for (const auto& range : ranges) {
      if (begin < range.begin || end > range.end) continue;
      // Whole pages only inside the data area: the header page may still be read.
      const uintptr_t first = std::max((begin + page - 1) / page * page, (range.begin + page - 1) / page * page);
      const uintptr_t last = end / page * page;
      if (last > first) ::madvise(reinterpret_cast<void*>(first), last - first, MADV_DONTNEED);
      break;
    }
  }
}

int64_t parameter_bytes(const torch::nn::Module& module) {
  int64_t bytes = 0;
  for (const auto& p : module.parameters()) bytes += p.numel() * p.element_size();
  return bytes;
}

// Loading goes piece by piece (a block, a layer) so that only one piece's file pages are
// resident next to the built model.
constexpr int64_t kPieceBytes = 64ll * 1024 * 1024;

struct Piece {
  std::string prefix;  // diffusers path of the piece ("up_blocks.1"), empty for the root
  std::shared_ptr<torch::nn::Module> module;
};

void collect_pieces(const std::shared_ptr<torch::nn::Module>& module, const std::string& prefix,
                    std::vector<Piece>& out) {
  const bool has_own_tensors =
      !module->named_parameters(false).is_empty() || !module->named_buffers(false).is_empty();
  if (has_own_tensors || module->children().empty() || parameter_bytes(*module) <= kPieceBytes) {
    out.push_back({prefix, module});
    return;
  }
  for (const auto& child : module->named_children())
    collect_pieces(child.value(), prefix.empty() ? child.key() : prefix + "." + child.key(), out);
}

// A module holding `piece` at its full path, so a load reports full diffusers names.
std::shared_ptr<torch::nn::Module> rooted(const Piece& piece) {
  if (piece.prefix.empty()) return piece.module;
  auto root = std::make_shared<torch::nn::Module>();
  auto parent = root;
  size_t start = 0;
  while (true) {
    const size_t dot = piece.prefix.find('.', start);
    const std::string name = piece.prefix.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (dot == std::string::npos) {
      parent->register_module(name, piece.module);
      break;
    }
    auto next = std::make_shared<torch::nn::Module>();
    parent->register_module(name, next);
    parent = next;
    start = dot + 1;
  }
  return root;
}

// Weights copied into the built module (converted from the file's dtype, into
// channels-last for convolutions when asked) piece by piece, each piece's file pages
// released once copied; then moved to the device.
template <typename ModuleHolder>
void fill(ModuleHolder& module, io::TensorMap& weights, const std::string& source,
          torch::Device device, bool channels_last, const std::vector<MappedRange>& ranges) {
  if (channels_last) {
    for (auto& p : module->parameters())
      if (p.dim() == 4) p.set_data(torch::empty_like(p, at::MemoryFormat::ChannelsLast));
  }
  std::vector<Piece> pieces;
  collect_pieces(module.ptr(), "", pieces);
  for (const auto& piece : pieces) {
    io::TensorMap part;
    const std::string prefix = piece.prefix.empty() ? "" : piece.prefix + ".";
    for (auto it = weights.lower_bound(prefix); it != weights.end() && it->first.rfind(prefix, 0) == 0; ++it)
      part.insert(*it);
    io::load_state_dict(*rooted(piece), part, source);
    release_file_pages(part, ranges);
  }
  weights.clear();
  module->to(device);
  module->eval();
  // The blocks freed by the channels-last copies would otherwise sit in the cache.
  util::release_cached_cpu_memory();
}

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
  const auto ranges = mapped_ranges(files);
  const bool channels_last = prefers_channels_last(bundle->device, bundle->dtype);
  // One per encoder of the family, in its order (SDXL base: text_encoder, text_encoder_2).
  for (io::TextEncoderFiles& encoder_files : files.text_encoders) {
    TextEncoder text_encoder;
    text_encoder.name = encoder_files.name;
    text_encoder.tokenizer = std::make_unique<text::ClipTokenizer>(
        text::ClipTokenizer::from_folder(encoder_files.tokenizer_dir));
    {
      DefaultDtypeGuard guard(bundle->dtype);
      models::SkipRandomInit no_init;  // every parameter is overwritten by the load
      text_encoder.model = models::CLIPTextModel(models::CLIPTextConfig::from_json(
          encoder_files.config, source + " (" + encoder_files.name + " config)"));
    }
    files.check_unchanged_on_disk();  // before its bytes are copied in
    fill(text_encoder.model, encoder_files.weights, source + " (" + encoder_files.name + ")",
         bundle->device, false, ranges);
    bundle->text_encoders.push_back(std::move(text_encoder));
  }
  {
    DefaultDtypeGuard guard(bundle->dtype);
    models::SkipRandomInit no_init;
    bundle->vae = models::AutoencoderKL(
        models::AutoencoderKLConfig::from_json(files.vae_config, source + " (vae config)"));
  }
  files.check_unchanged_on_disk();
  fill(bundle->vae, files.vae, source + " (vae)", bundle->device, channels_last, ranges);
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
  fill(bundle->unet, files.unet, source + " (unet)", bundle->device, channels_last, ranges);
  files.check_unchanged_on_disk();  // a change during the copy leaves the weights in doubt
  return bundle;
}

}  // namespace latent::pipeline
