#include "core/pipeline/module_fill.h"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>

#include "core/pipeline/weight_loading.h"
#include "core/util/cpu_allocator.h"

namespace latent::pipeline {
namespace {

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

}  // namespace

std::vector<MappedRange> mapped_ranges(const std::vector<std::shared_ptr<const io::SafetensorsFile>>& files) {
  std::vector<MappedRange> ranges;
  for (const auto& file : files) {
    uint64_t data_end = 0;
    for (const auto& info : file->tensors()) data_end = std::max(data_end, info.data_end);
    // Views are found from a tensor whose offset is aligned for its dtype (those are always
    // views of the mapping, never copies).
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

void fill_module(const std::shared_ptr<torch::nn::Module>& module, const io::TensorMap& weights,
                 const std::string& source, const FillOptions& options, const std::vector<MappedRange>& ranges) {
  torch::NoGradGuard no_grad;
  if (options.channels_last) {
    for (auto& p : module->parameters())
      if (p.dim() == 4) p.set_data(torch::empty_like(p, at::MemoryFormat::ChannelsLast));
  }
  std::vector<Piece> pieces;
  collect_pieces(module, "", pieces);
  for (const auto& piece : pieces) {
    io::TensorMap file_part;
    const std::string prefix = piece.prefix.empty() ? "" : piece.prefix + ".";
    for (auto it = weights.lower_bound(prefix); it != weights.end() && it->first.rfind(prefix, 0) == 0; ++it)
      file_part.insert(*it);
    io::TensorMap part = file_part;
    prepare_weight_forms(*piece.module, piece.prefix, part, options.int8_modules);
    io::load_state_dict(*rooted(piece), part, source);
    release_file_pages(file_part, ranges);
    // The full-precision blocks of layers made 8-bit would otherwise pile up in the cache.
    if (!options.int8_modules.empty()) util::release_cached_cpu_memory();
  }
  module->to(options.device);
  module->eval();
  // The blocks freed by the channels-last copies (and by full weights made 8-bit) would
  // otherwise sit in the cache.
  util::release_cached_cpu_memory();
}

}  // namespace latent::pipeline
