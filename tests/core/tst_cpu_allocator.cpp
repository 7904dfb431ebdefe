// The caching CPU allocator: freed large blocks are kept and handed out again, within a
// limit that a scope can lower.
#include <QtTest/QtTest>

#include <torch/torch.h>

#include "core/util/cpu_allocator.h"

namespace util = latent::util;

namespace {

constexpr int64_t kMiB = 1 << 20;

torch::Tensor floats(int64_t bytes) { return torch::empty({bytes / 4}, torch::kFloat32); }

}  // namespace

class TestCpuAllocator : public QObject {
  Q_OBJECT
 private Q_SLOTS:
  void initTestCase();
  void freedBlocksAreReused();
  void smallBlocksAreNotCached();
  void aScopeLowersTheLimit();
  void releaseEmptiesTheCache();
};

void TestCpuAllocator::initTestCase() {
  util::install_caching_cpu_allocator(64 * kMiB);
  QVERIFY(util::caching_cpu_allocator_installed());
  util::release_cached_cpu_memory();
}

void TestCpuAllocator::freedBlocksAreReused() {
  const auto before = util::cpu_allocator_stats();
  void* first = nullptr;
  {
    auto t = floats(6 * kMiB);  // a whole number of 2 MiB granules
    first = t.data_ptr();
    QCOMPARE(util::cpu_allocator_stats().live_bytes, before.live_bytes + 6 * kMiB);
  }
  QCOMPARE(util::cpu_allocator_stats().cached_bytes, before.cached_bytes + 6 * kMiB);
  // A request a little smaller fits the same block (within a quarter's waste).
  auto again = floats(5 * kMiB);
  QCOMPARE(again.data_ptr(), first);
  const auto after = util::cpu_allocator_stats();
  QCOMPARE(after.hits, before.hits + 1);
  QCOMPARE(after.cached_bytes, before.cached_bytes);
}

void TestCpuAllocator::smallBlocksAreNotCached() {
  util::release_cached_cpu_memory();
  { auto t = floats(kMiB / 2); }
  QCOMPARE(util::cpu_allocator_stats().cached_bytes, int64_t{0});
}

void TestCpuAllocator::aScopeLowersTheLimit() {
  util::release_cached_cpu_memory();
  { auto a = floats(8 * kMiB), b = floats(8 * kMiB); }
  QCOMPARE(util::cpu_allocator_stats().cached_bytes, 16 * kMiB);
  {
    const util::CpuCacheLimit limit(10 * kMiB);
    // Trimmed at once to the new limit, oldest block first.
    QCOMPARE(util::cpu_allocator_stats().cached_bytes, 8 * kMiB);
    { auto c = floats(4 * kMiB), d = floats(20 * kMiB); }
    QVERIFY(util::cpu_allocator_stats().cached_bytes <= 10 * kMiB);
  }
  // The old limit is back: freed blocks are kept again.
  { auto e = floats(30 * kMiB), f = floats(30 * kMiB); }
  QVERIFY(util::cpu_allocator_stats().cached_bytes >= 60 * kMiB);
}

void TestCpuAllocator::releaseEmptiesTheCache() {
  { auto t = floats(12 * kMiB); }
  QVERIFY(util::cpu_allocator_stats().cached_bytes > 0);
  util::release_cached_cpu_memory();
  QCOMPARE(util::cpu_allocator_stats().cached_bytes, int64_t{0});
}

QTEST_GUILESS_MAIN(TestCpuAllocator)
#include "tst_cpu_allocator.moc"
