#pragma once

// A count of the times weights were written in place after a model was built: by a load
// into existing parameters or by a LoRA merged or taken off. Layers that keep something
// derived from their weights (Upsample2D's folded kernels) remember the count and make it
// again when it moved. A tensor's own version counter would say the same, but tensors made
// in inference mode carry none.

#include <cstdint>

namespace latent::util {

uint64_t weight_edit_count();
void note_weight_edit();

}  // namespace latent::util
