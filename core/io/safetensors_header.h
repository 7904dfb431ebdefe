#pragma once

// Parsing and validation of a safetensors header, kept free of LibTorch so that
// it can be fuzzed and tested on raw bytes. Format: 8-byte little-endian header
// length N, N bytes of JSON {name: {dtype, shape, data_offsets}, "__metadata__": {...}},
// then the data area that the offsets index.

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace latent::io {

enum class DType { F64, F32, F16, BF16, I64, I32, I16, I8, U8, Bool };

// Bytes per element of the dtype.
std::size_t dtype_size(DType dtype);
// The safetensors spelling ("F32", "BF16", ...).
const char* dtype_name(DType dtype);

struct TensorInfo {
  std::string name;
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  uint64_t data_begin = 0;  // offsets relative to the start of the data area
  uint64_t data_end = 0;

  int64_t numel() const;
};

struct SafetensorsHeader {
  std::vector<TensorInfo> tensors;  // in data-offset order
  std::map<std::string, std::string> metadata;
  uint64_t data_start = 0;  // absolute file offset of the data area
};

// Headers beyond this size are refused: real checkpoints stay well below it, and
// a corrupt length field must not make us allocate or scan gigabytes.
constexpr uint64_t kMaxHeaderBytes = 100ull * 1024 * 1024;

// Validates everything before anything is trusted: header length within the file
// and below the limit, well-formed JSON, known dtypes, non-negative shapes, offsets
// inside the data area, byte size equal to shape x dtype, no overlapping tensors.
// Throws latent::Error naming `file_name` (and the tensor) on any violation.
SafetensorsHeader parse_safetensors_header(const unsigned char* bytes, std::size_t file_size,
                                           const std::string& file_name);

}  // namespace latent::io
