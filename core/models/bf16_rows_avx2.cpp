// bf16_rows.h's loops built for AVX2 (see core/CMakeLists.txt for the flags).

#include <cstdint>
#include <cstring>

namespace latent::models::bf16::avx2 {
#include "core/models/bf16_rows_loops.inc"
}  // namespace latent::models::bf16::avx2
