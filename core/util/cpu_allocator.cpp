#include "core/util/cpu_allocator.h"

#include <c10/core/Allocator.h>
#include <c10/core/CPUAllocator.h>
#include <c10/core/impl/alloc_cpu.h>
#include <torch/version.h>

#include <sys/mman.h>

#include <algorithm>
#include <cstdlib>
#include <atomic>
#include <list>
#include <map>
#include <mutex>
#include <unordered_map>

namespace latent::util {
namespace {

constexpr size_t kSmallest = size_t{1} << 20;  // below this, the default allocator
constexpr size_t kGranule = size_t{2} << 20;   // sizes rounded up to 2 MiB

class CachingCpuAllocator final : public c10::Allocator {
 public:
  explicit CachingCpuAllocator(int64_t max_cached) : max_cached_(max_cached) {}

  // LibTorch 2.3 dropped the const of allocate() when it added copy_data().
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 3)
  c10::DataPtr allocate(size_t nbytes) override {
#else
  c10::DataPtr allocate(size_t nbytes) const override {
#endif
    if (nbytes < kSmallest) return c10::GetDefaultCPUAllocator()->allocate(nbytes);
    const size_t size = (nbytes + kGranule - 1) / kGranule * kGranule;
    void* block = take_cached(size);
    if (!block) block = map_new(size);
    return {block, block, &CachingCpuAllocator::deleter, c10::Device(c10::DeviceType::CPU)};
  }

  c10::DeleterFnPtr raw_deleter() const override { return &CachingCpuAllocator::deleter; }

#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 3)
  void copy_data(void* dest, const void* src, std::size_t count) const override {
    default_copy_data(dest, src, count);
  }
#endif

  // False when the block is not one of ours (a small block of the default allocator
  // freed through raw_deleter()).
  bool give_back(void* block) {
    std::lock_guard<std::mutex> lock(mutex_);
    const auto found = sizes_.find(block);
    if (found == sizes_.end()) return false;
    const size_t size = found->second;
    stats_.live_bytes -= static_cast<int64_t>(size);
    lru_.push_back(block);
    free_.emplace(size, std::prev(lru_.end()));
    stats_.cached_bytes += static_cast<int64_t>(size);
    trim_locked(max_cached_);
    return true;
  }

  // Sets how many bytes of freed blocks are kept (trimming at once); returns the old limit.
  int64_t set_max_cached(int64_t bytes) {
    std::lock_guard<std::mutex> lock(mutex_);
    const int64_t previous = max_cached_;
    max_cached_ = std::max<int64_t>(0, bytes);
    trim_locked(max_cached_);
    return previous;
  }

  void release_all() {
    std::lock_guard<std::mutex> lock(mutex_);
    trim_locked(0);
  }

  CpuAllocatorStats stats() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return stats_;
  }

  void reset_peak() {
    std::lock_guard<std::mutex> lock(mutex_);
    peak_live_ = stats_.live_bytes;
  }

  static void deleter(void* block);

 private:
  // The smallest cached block that fits without wasting more than a quarter.
  void* take_cached(size_t size) const {
    std::lock_guard<std::mutex> lock(mutex_);
    const auto it = free_.lower_bound(size);
    if (it == free_.end() || it->first > size + size / 4) {
      ++stats_.misses;
      // Cached blocks of other sizes give way to the new one when keeping them would make
      // the process hold more than its largest live set so far (plus some slack): a phase
      // with new sizes (the VAE after the UNet) then does not stack on the old cache.
      const int64_t s = static_cast<int64_t>(size);
      const int64_t allowed = std::max(peak_live_, stats_.live_bytes + s) + kSlack;
      const int64_t excess = stats_.live_bytes + stats_.cached_bytes + s - allowed;
      if (excess > 0) trim_locked(std::max<int64_t>(0, stats_.cached_bytes - excess));
      return nullptr;
    }
    void* block = *it->second;
    const size_t block_size = it->first;
    lru_.erase(it->second);
    free_.erase(it);
    stats_.cached_bytes -= static_cast<int64_t>(block_size);
    stats_.live_bytes += static_cast<int64_t>(block_size);
    peak_live_ = std::max(peak_live_, stats_.live_bytes);
    ++stats_.hits;
    return block;
  }

  void* map_new(size_t size) const {
    void* block = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (block == MAP_FAILED) {
      // Free what we keep and try once more before giving up.
      release_const();
      block = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      if (block == MAP_FAILED) throw c10::Error({__func__, __FILE__, __LINE__},
                                                "out of memory allocating " + std::to_string(size) + " bytes");
    }
    std::lock_guard<std::mutex> lock(mutex_);
    sizes_[block] = size;
    stats_.live_bytes += static_cast<int64_t>(size);
    peak_live_ = std::max(peak_live_, stats_.live_bytes);
    stats_.peak_bytes = std::max(stats_.peak_bytes, stats_.live_bytes + stats_.cached_bytes);
    return block;
  }

  void release_const() const {
    std::lock_guard<std::mutex> lock(mutex_);
    trim_locked(0);
  }

  // Unmaps the oldest cached blocks until at most `keep` bytes stay cached.
  void trim_locked(int64_t keep) const {
    while (stats_.cached_bytes > keep && !lru_.empty()) {
      void* block = lru_.front();
      const size_t size = sizes_.at(block);
      for (auto it = free_.lower_bound(size); it != free_.end() && it->first == size; ++it) {
        if (*it->second == block) {
          free_.erase(it);
          break;
        }
      }
      lru_.pop_front();
      sizes_.erase(block);
      ::munmap(block, size);
      stats_.cached_bytes -= static_cast<int64_t>(size);
    }
  }

  static constexpr int64_t kSlack = 256ll << 20;

  int64_t max_cached_;
  mutable int64_t peak_live_ = 0;
  mutable std::mutex mutex_;
  mutable std::unordered_map<void*, size_t> sizes_;  // every block we mapped, live or cached
  mutable std::list<void*> lru_;                     // cached blocks, oldest first
  mutable std::multimap<size_t, std::list<void*>::iterator> free_;  // cached blocks by size
  mutable CpuAllocatorStats stats_;
};

std::atomic<CachingCpuAllocator*> g_allocator{nullptr};
std::once_flag g_install_once;

void CachingCpuAllocator::deleter(void* block) {
  auto* allocator = g_allocator.load();
  if (!allocator || !allocator->give_back(block)) c10::free_cpu(block);
}

}  // namespace

void install_caching_cpu_allocator(int64_t max_cached_bytes) {
  std::call_once(g_install_once, [&] {
    // Never destroyed: tensors freed during static destruction still come back to it.
    auto* allocator = new CachingCpuAllocator(max_cached_bytes);
    g_allocator.store(allocator);
    c10::SetCPUAllocator(allocator, /*priority=*/10);
  });
}

bool caching_cpu_allocator_installed() { return g_allocator.load() != nullptr; }

void release_cached_cpu_memory() {
  if (auto* allocator = g_allocator.load()) allocator->release_all();
}

CpuCacheLimit::CpuCacheLimit(int64_t max_cached_bytes) {
  if (auto* allocator = g_allocator.load()) previous_ = allocator->set_max_cached(max_cached_bytes);
}

CpuCacheLimit::~CpuCacheLimit() {
  if (auto* allocator = g_allocator.load(); allocator && previous_ >= 0) allocator->set_max_cached(previous_);
}

void reset_cpu_allocator_peak() {
  if (auto* allocator = g_allocator.load()) allocator->reset_peak();
}

CpuAllocatorStats cpu_allocator_stats() {
  if (auto* allocator = g_allocator.load()) return allocator->stats();
  return {};
}

}  // namespace latent::util
