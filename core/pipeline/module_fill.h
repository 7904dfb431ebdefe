#pragma once

// Copying a component's weights from its memory-mapped files into a built network, piece by
// piece (a block, a layer), so that only one piece's file pages are resident beside the
// network, and in the form the network is to hold them: the compute precision, channels-last
// convolutions, and 8-bit linear and convolution weights (weight_loading.h).

#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/io/state_dict.h"

namespace latent::pipeline {

// The address range of a mapped file's data area.
struct MappedRange {
  uintptr_t begin = 0;
  uintptr_t end = 0;
};

// Where each file's tensors lie in memory.
std::vector<MappedRange> mapped_ranges(const std::vector<std::shared_ptr<const io::SafetensorsFile>>& files);

struct FillOptions {
  torch::Device device = torch::kCPU;
  bool channels_last = false;  // 4-D parameters in channels-last layout
  // Linear and Conv2d modules whose path starts with one of these hold 8-bit weights; the
  // rest full ones (8-bit tensors of the file are dequantized for them). Empty: none.
  std::vector<std::string> int8_modules;
};

// Copies `weights` (by diffusers name) into `module` as `options` ask, releasing each piece's
// file pages in `ranges` once copied (they stay in the page cache), then moves it to the
// device in eval mode. Throws latent::Error naming `source` for missing or mis-shaped tensors.
void fill_module(const std::shared_ptr<torch::nn::Module>& module, const io::TensorMap& weights,
                 const std::string& source, const FillOptions& options, const std::vector<MappedRange>& ranges);

}  // namespace latent::pipeline
