#pragma once

// Cancellation inside one long computation. A request's cancel flag is checked between
// steps; a step or a VAE decode of a large image takes seconds, so the thread that runs a
// request also installs the flag here for the duration and the models' building blocks
// (each ResNet block, each transformer, each block of attention scores, each band of a
// banded decode) poll it as they start. A cancel then returns within a small part of a step.

#include <atomic>

#include "core/util/error.h"

namespace latent {

// Throws Cancelled when `flag` is set (a null flag never is).
inline void throw_if_cancelled(const std::atomic<bool>* flag) {
  if (flag && flag->load(std::memory_order_relaxed)) throw Cancelled();
}

namespace detail {
inline thread_local const std::atomic<bool>* installed_cancel_flag = nullptr;
}

// Installs `flag` (may be null: nothing to poll) for the current thread while in scope;
// scopes nest, the innermost wins.
class CancelScope {
 public:
  explicit CancelScope(const std::atomic<bool>* flag) : previous_(detail::installed_cancel_flag) {
    detail::installed_cancel_flag = flag;
  }
  ~CancelScope() { detail::installed_cancel_flag = previous_; }
  CancelScope(const CancelScope&) = delete;
  CancelScope& operator=(const CancelScope&) = delete;

 private:
  const std::atomic<bool>* previous_;
};

// Throws Cancelled when the flag installed for this thread is set.
inline void cancellation_point() { throw_if_cancelled(detail::installed_cancel_flag); }

}  // namespace latent
