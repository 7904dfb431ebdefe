// A request that cannot fit in memory is refused before it starts, with the estimate; running
// out of memory part-way is reported and leaves the engine able to generate the next image.
#include <QtTest/QtTest>

#include <QTemporaryDir>

#include <opencv2/imgcodecs.hpp>
#include <torch/torch.h>

#include <atomic>
#include <cstdlib>

#include "core/models/attention.h"
#include "core/models/autoencoder_kl.h"
#include "core/models/unet_2d_condition.h"
#include "core/pipeline/engine.h"
#include "core/pipeline/image_request.h"
#include "core/pipeline/memory_estimate.h"
#include "core/pipeline/model_bundle.h"
#include "core/util/byte_format.h"
#include "core/util/error.h"
#include "core/util/system_memory.h"
#include "tests/support/golden.h"
#include "tests/support/memory_limit.h"

using latent::api::GenerationRequest;

namespace {

GenerationRequest request_of(int width, int height, int batch = 1) {
  GenerationRequest r;
  r.prompt = "a lighthouse at dusk";
  r.size.width = width;
  r.size.height = height;
  r.size.batch_size = batch;
  r.sampling.steps = 4;
  r.sampling.seed = 77;
  r.sampling.sampler = "euler";
  return r;
}

constexpr int64_t kGiB = 1024ll * 1024 * 1024;

using latent::test::MemoryLimit;  // the engine then plans as on a smaller machine

}  // namespace

class TestMemoryEstimate : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void initTestCase();
  void estimateGrowsWithPixelsAndPrecision();
  void availableMemoryIsReadAndLimited();
  void bytesAreWrittenForPeople();
  void tooLargeRequestIsRefusedBeforeItStarts();
  void imageToImageRefusalFollowsMemoryLimit();
  void runningOutOfMemoryMidRunIsReportedAndEngineKeepsWorking_data();
  void runningOutOfMemoryMidRunIsReportedAndEngineKeepsWorking();

 private:
  latent::pipeline::Engine engine_;
};

void TestMemoryEstimate::initTestCase() {
  latent::api::LoadOptions options;
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
  unguided.sampling.guidance_scale = 1.0;
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
}

void TestMemoryEstimate::bytesAreWrittenForPeople() {
  const auto text = [](int64_t bytes) { return QString::fromStdString(latent::util::format_bytes(bytes)); };
  QCOMPARE(text(3 * kGiB / 2), QStringLiteral("1.5 GiB"));
  QCOMPARE(text(kGiB), QStringLiteral("1.0 GiB"));
  QCOMPARE(text(640ll * 1024 * 1024), QStringLiteral("640 MiB"));
  QCOMPARE(text(1024 * 1024), QStringLiteral("1 MiB"));
  QCOMPARE(text(12 * 1024 + 100), QStringLiteral("12 KiB"));
  QCOMPARE(text(512), QStringLiteral("512 bytes"));
  QCOMPARE(text(0), QStringLiteral("0 bytes"));
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

void TestMemoryEstimate::imageToImageRefusalFollowsMemoryLimit() {
  // The VAE encoder of tiny-sd (32 channels, fp32) is estimated at 4 activations × 32 channels
  // × 4 bytes = 512 bytes a pixel: 128 MiB at 512x512, 2 MiB at 64x64. Under a 32 MiB limit
  // the first is refused before any step, the second runs. Loaded here on the CPU, where the
  // check applies, whatever device the other suites test.
  latent::api::LoadOptions options;
  options.model_path = latent::test::data_path("tiny-sd").toStdString();
  const auto model = latent::pipeline::load_model_bundle(options);
  QTemporaryDir dir;
  const std::string picture = dir.filePath("picture.png").toStdString();
  QVERIFY(cv::imwrite(picture, cv::Mat(64, 64, CV_8UC3, cv::Scalar(40, 120, 200))));
  int steps = 0;
  const auto count_steps = [&](const auto&) { ++steps; };

  MemoryLimit limit(32);
  GenerationRequest large = request_of(512, 512);
  large.init.path = picture;
  try {
    latent::pipeline::run_image_request(*model, large, count_steps);
    QFAIL("a 512x512 image-to-image request was accepted with 32 MiB available");
  } catch (const latent::Error& error) {
    const QString message = QString::fromUtf8(error.what());
    QVERIFY2(message.contains("512x512 needs about 128 MiB") &&
                 message.contains("only 32 MiB of memory is available (LATENT_MEMORY_LIMIT_MB)"),
             qPrintable(message));
  }
  QCOMPARE(steps, 0);

  GenerationRequest small = request_of(64, 64);
  small.init.path = picture;
  const auto output = latent::pipeline::run_image_request(*model, small, count_steps);
  QCOMPARE(output.images.size(), std::size_t{1});
  QCOMPARE(steps, 3);  // strength 0.75 of 4 steps
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
  const auto fail_at_step_two = [&](const latent::api::StepProgress& progress) {
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
