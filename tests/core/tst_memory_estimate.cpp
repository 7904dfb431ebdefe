// A request that cannot fit in memory is refused before it starts, with the estimate; running
// out of memory part-way is reported and leaves the engine able to generate the next image.
#include <QtTest/QtTest>

#include <torch/torch.h>

#include <atomic>
#include <cstdlib>

#include "core/models/attention.h"
#include "core/models/autoencoder_kl.h"
#include "core/models/unet_2d_condition.h"
#include "core/pipeline/engine.h"
#include "core/pipeline/memory_estimate.h"
#include "core/util/error.h"
#include "core/util/system_memory.h"
#include "tests/support/golden.h"

using latent::pipeline::GenerationRequest;

namespace {

GenerationRequest request_of(int width, int height, int batch = 1) {
  GenerationRequest r;
  r.prompt = "a lighthouse at dusk";
  r.width = width;
  r.height = height;
  r.batch_size = batch;
  r.steps = 4;
  r.seed = 77;
  r.sampler = "euler";
  return r;
}

constexpr int64_t kGiB = 1024ll * 1024 * 1024;

// Sets LATENT_MEMORY_LIMIT_MB for one scope: the engine then plans as on a smaller machine.
class MemoryLimit {
 public:
  explicit MemoryLimit(int mib) { qputenv("LATENT_MEMORY_LIMIT_MB", QByteArray::number(mib)); }
  ~MemoryLimit() { qunsetenv("LATENT_MEMORY_LIMIT_MB"); }
};

}  // namespace

class TestMemoryEstimate : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void initTestCase();
  void estimateGrowsWithPixelsAndPrecision();
  void availableMemoryIsReadAndLimited();
  void tooLargeRequestIsRefusedBeforeItStarts();
  void runningOutOfMemoryMidRunIsReportedAndEngineKeepsWorking_data();
  void runningOutOfMemoryMidRunIsReportedAndEngineKeepsWorking();

 private:
  latent::pipeline::Engine engine_;
};

void TestMemoryEstimate::initTestCase() {
  latent::pipeline::LoadOptions options;
  options.model_path = latent::test::data_path("tiny-sd").toStdString();
  engine_.load(options);
}

void TestMemoryEstimate::estimateGrowsWithPixelsAndPrecision() {
  const latent::models::UNet2DConditionConfig sd15_unet;  // defaults are SD 1.5
  const latent::models::AutoencoderKLConfig sd15_vae;
  using latent::pipeline::estimate_generation_memory;
  const auto at512 = estimate_generation_memory(sd15_unet, sd15_vae, torch::kFloat32, request_of(512, 512));
  const auto at1024 = estimate_generation_memory(sd15_unet, sd15_vae, torch::kFloat32, request_of(1024, 1024));
  const auto at4096 = estimate_generation_memory(sd15_unet, sd15_vae, torch::kFloat32, request_of(4096, 4096));
  const auto bf16 = estimate_generation_memory(sd15_unet, sd15_vae, torch::kBFloat16, request_of(4096, 4096));
  const auto batch4 = estimate_generation_memory(sd15_unet, sd15_vae, torch::kFloat32, request_of(512, 512, 4));
  // 512×512 in fp32 fits in well under 2 GiB of working memory; a 4096×4096 UNet step needs
  // many GiB.
  QVERIFY2(at512.peak_bytes() > 256ll * 1024 * 1024 && at512.peak_bytes() < 2 * kGiB,
           latent::util::format_bytes(at512.peak_bytes()).c_str());
  QVERIFY2(at4096.denoise_bytes > 12 * kGiB && at4096.denoise_bytes < 24 * kGiB,
           latent::util::format_bytes(at4096.denoise_bytes).c_str());
  QVERIFY(at4096.peak_bytes() >= at4096.decode_bytes && at4096.peak_bytes() >= at4096.denoise_bytes);
  // Activations scale with the pixels; attention scores stay within their chunk budget,
  // which 512×512 already fills (8 heads × 4096² float scores for the guided pair).
  const int64_t scores = latent::models::kDefaultScoreBudgetBytes;
  QCOMPARE(at1024.denoise_bytes - scores, 4 * (at512.denoise_bytes - scores));
  QCOMPARE(at4096.denoise_bytes - scores, 16 * (at1024.denoise_bytes - scores));
  QVERIFY(bf16.denoise_bytes < at4096.denoise_bytes * 6 / 10);
  QCOMPARE(batch4.denoise_bytes - scores, 4 * (at512.denoise_bytes - scores));
  // Without guidance the UNet sees half the batch.
  GenerationRequest unguided = request_of(4096, 4096);
  unguided.guidance_scale = 1.0;
  QVERIFY(estimate_generation_memory(sd15_unet, sd15_vae, torch::kFloat32, unguided).denoise_bytes <
          at4096.denoise_bytes * 6 / 10);
}

void TestMemoryEstimate::availableMemoryIsReadAndLimited() {
  const auto real = latent::util::available_memory();
  QVERIFY2(real.bytes > 64ll * 1024 * 1024, "MemAvailable should be readable on Linux");
  MemoryLimit limit(100);
  const auto limited = latent::util::available_memory();
  QCOMPARE(limited.bytes, 100ll * 1024 * 1024);
  QCOMPARE(QString::fromStdString(limited.source), QStringLiteral("LATENT_MEMORY_LIMIT_MB"));
  QCOMPARE(QString::fromStdString(latent::util::format_bytes(3 * kGiB / 2)), QStringLiteral("1.5 GiB"));
  QCOMPARE(QString::fromStdString(latent::util::format_bytes(640ll * 1024 * 1024)), QStringLiteral("640 MiB"));
}

void TestMemoryEstimate::tooLargeRequestIsRefusedBeforeItStarts() {
  int steps = 0;
  {
    MemoryLimit limit(1024);  // a machine with 1 GiB to spare
    try {
      engine_.generate(request_of(4096, 4096), [&](const auto&) { ++steps; });
      QFAIL("a 4096x4096 request was accepted with 1 GiB available");
    } catch (const latent::Error& error) {
      const QString message = QString::fromUtf8(error.what());
      QVERIFY2(message.contains("4096x4096") && message.contains("GiB of working memory") &&
                   message.contains("1.0 GiB is available (LATENT_MEMORY_LIMIT_MB)"),
               qPrintable(message));
    }
    QCOMPARE(steps, 0);  // refused before the first step
    // A small request still fits under the same limit.
    const auto result = engine_.generate(request_of(64, 64), [&](const auto&) { ++steps; });
    QCOMPARE(result.images.size(), std::size_t{1});
    QCOMPARE(steps, 4);
  }
}

void TestMemoryEstimate::runningOutOfMemoryMidRunIsReportedAndEngineKeepsWorking_data() {
  QTest::addColumn<QString>("failure");
  QTest::newRow("allocation beyond the machine") << "huge tensor";
  QTest::newRow("std::bad_alloc") << "bad_alloc";
}

void TestMemoryEstimate::runningOutOfMemoryMidRunIsReportedAndEngineKeepsWorking() {
  QFETCH(QString, failure);
  const auto expected = engine_.generate(request_of(64, 64));
  int steps = 0;
  const auto fail_at_step_two = [&](const latent::pipeline::StepProgress& progress) {
    ++steps;
    if (progress.step != 2) return;
    if (failure == "bad_alloc") throw std::bad_alloc();
    // 4 TiB: more than this machine has; LibTorch's allocator refuses it with a c10::Error.
    const auto huge = torch::empty({int64_t{1} << 42}, torch::kUInt8);
    QVERIFY2(!huge.defined(), "allocating 4 TiB succeeded");
  };
  try {
    engine_.generate(request_of(64, 64), fail_at_step_two);
    QFAIL("the run did not report running out of memory");
  } catch (const latent::Error& error) {
    const QString message = QString::fromUtf8(error.what());
    QVERIFY2(message.contains("ran out of memory") && message.contains("64x64") &&
                 message.contains("model stays loaded"),
             qPrintable(message));
  }
  QCOMPARE(steps, 2);
  // The engine keeps its model and draws the same image as before the failure.
  QVERIFY(engine_.is_loaded());
  const auto again = engine_.generate(request_of(64, 64));
  QCOMPARE(again.images.size(), std::size_t{1});
  QVERIFY(again.images[0].rgb == expected.images[0].rgb);
}

QTEST_GUILESS_MAIN(TestMemoryEstimate)
#include "tst_memory_estimate.moc"
