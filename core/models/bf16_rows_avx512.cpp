// bf16_rows.h's loops built for AVX512 (see core/CMakeLists.txt for the flags).

#include <cstdint>
#include <cstring>

namespace latent::models::bf16::avx512 {
#include "core/models/bf16_rows_loops.inc"
}  // namespace latent::models::bf16::avx512
