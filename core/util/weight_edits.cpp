#include "core/util/weight_edits.h"

#include <atomic>

namespace latent::util {
namespace {

std::atomic<uint64_t> edits{0};

}  // namespace

uint64_t weight_edit_count() { return edits.load(std::memory_order_acquire); }

void note_weight_edit() { edits.fetch_add(1, std::memory_order_acq_rel); }

}  // namespace latent::util
