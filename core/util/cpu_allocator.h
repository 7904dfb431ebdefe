#pragma once

// A CPU allocator for LibTorch that keeps freed large blocks and hands them out again.
// Fresh memory from the system costs a page fault per 4 KiB page on first touch (about
// 1 ms per MiB on the virtual machines we measured, more than the arithmetic on it), and
// glibc returns every block over 32 MiB to the system on free, so each UNet step would
// fault in its large activations again. Reusing blocks removes that cost.

#include <cstdint>

namespace latent::util {

struct CpuAllocatorStats {
  int64_t live_bytes = 0;     // handed out and not yet freed (large blocks only)
  int64_t cached_bytes = 0;   // freed, kept for reuse
  int64_t peak_bytes = 0;     // largest live + cached
  int64_t hits = 0;           // large allocations served from the cache
  int64_t misses = 0;         // large allocations that went to the system
};

// Makes the caching allocator LibTorch's CPU allocator (once; later calls do nothing).
// Blocks under 1 MiB keep going to LibTorch's default allocator. At most
// `max_cached_bytes` of freed blocks are kept; the oldest go back to the system first.
void install_caching_cpu_allocator(int64_t max_cached_bytes = 1536ll * 1024 * 1024);

bool caching_cpu_allocator_installed();

// Returns every cached (free) block to the system: call between phases whose tensors
// have different sizes, such as the denoising loop and the VAE decode.
void release_cached_cpu_memory();

// Keeps at most `max_cached_bytes` of freed blocks while in scope, then the limit before.
// For phases whose tensors keep changing size, such as the VAE decode, where most freed
// blocks never fit a later request and would only raise the peak.
class CpuCacheLimit {
 public:
  explicit CpuCacheLimit(int64_t max_cached_bytes);
  ~CpuCacheLimit();
  CpuCacheLimit(const CpuCacheLimit&) = delete;
  CpuCacheLimit& operator=(const CpuCacheLimit&) = delete;

 private:
  int64_t previous_ = -1;
};

CpuAllocatorStats cpu_allocator_stats();

// Takes the bytes live now as the largest live set so far, which bounds what the cache may
// keep beside it: call after a phase whose short-lived blocks will never be live again (a
// model built in its compute precision, then held in 8 bits).
void reset_cpu_allocator_peak();

}  // namespace latent::util
