// Fuzzes the safetensors header parser with whole files: the 8-byte length, the JSON header
// and the data area. The parser must accept or throw latent::Error, never crash, and what it
// accepts must keep its promises (offsets inside the data area, sizes matching the shapes).
#include <cstdint>
#include <cstdlib>

#include "core/io/safetensors_header.h"
#include "core/util/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const auto header = latent::io::parse_safetensors_header(data, size, "fuzz.safetensors");
    const uint64_t data_size = size - header.data_start;
    for (const auto& tensor : header.tensors) {
      if (tensor.data_end > data_size || tensor.data_begin > tensor.data_end) std::abort();
      const uint64_t bytes = static_cast<uint64_t>(tensor.numel()) * latent::io::dtype_size(tensor.dtype);
      if (bytes != tensor.data_end - tensor.data_begin) std::abort();
    }
  } catch (const latent::Error&) {
  }
  return 0;
}
