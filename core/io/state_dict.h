#pragma once

// Copying named tensors into torch::nn modules whose parameter names are the
// diffusers names. Loading matches by name and reports every missing, unexpected
// and mis-shaped tensor.

#include <torch/torch.h>

#include <map>
#include <string>
#include <vector>

#include "core/io/safetensors.h"

namespace latent::io {

using TensorMap = std::map<std::string, torch::Tensor>;

// All tensors of a file, as views of its mapping.
TensorMap read_tensors(const SafetensorsFile& file);

struct LoadReport {
  std::vector<std::string> missing;     // the module has it, the file does not
  std::vector<std::string> unexpected;  // the file has it, the module does not
  std::vector<std::string> mismatched;  // both have it, with different shapes ("name: [..] vs [..]")
};

// Copies tensors into the module's parameters and buffers by name, converting to
// each parameter's dtype and device. Names in `optional` (such as buffers that some
// writers omit) may be missing. Throws latent::Error naming `source` and the first
// offending tensors when anything is missing or mis-shaped; unexpected tensors are
// only reported (set `allow_unexpected` false to refuse them as well).
LoadReport load_state_dict(torch::nn::Module& module, const TensorMap& tensors,
                           const std::string& source,
                           const std::vector<std::string>& optional = {},
                           bool allow_unexpected = true);

}  // namespace latent::io
