#pragma once

// Memory-mapped safetensors reading and atomic writing.

#include <torch/torch.h>

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/io/safetensors_header.h"

namespace latent::io {

class MappedFile;

// A validated, memory-mapped safetensors file. Tensors handed out are views of the
// mapping (read-only memory: copy or convert before writing to them); each view
// keeps the mapping alive, so the SafetensorsFile itself may go away first.
class SafetensorsFile {
 public:
  explicit SafetensorsFile(const std::string& path);

  const std::string& path() const { return path_; }
  const std::vector<TensorInfo>& tensors() const { return header_.tensors; }
  const std::map<std::string, std::string>& metadata() const { return header_.metadata; }

  bool contains(const std::string& name) const;
  const TensorInfo& info(const std::string& name) const;  // throws when absent
  torch::Tensor tensor(const std::string& name) const;

  // True while the file on disk still has the size and modification time it had
  // when it was mapped; a file replaced underneath us must not be trusted.
  bool unchanged_on_disk() const;

 private:
  std::string path_;
  std::shared_ptr<MappedFile> mapping_;
  SafetensorsHeader header_;
  std::map<std::string, std::size_t> index_;
};

torch::ScalarType to_scalar_type(DType dtype);

// Writes tensors (any device, any layout) to `path` through a temporary file that
// is renamed into place, so a failure leaves any previous file intact.
void write_safetensors(const std::string& path,
                       const std::vector<std::pair<std::string, torch::Tensor>>& tensors,
                       const std::map<std::string, std::string>& metadata = {});

}  // namespace latent::io
