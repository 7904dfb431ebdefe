// Low-memory mode: chosen from the memory figures (injected here) when the normal way would
// not fit, or when asked; its text encoders released after encoding and loaded again from
// the mapped files; and the same picture as a normal run, LoRAs included.
#include <QtTest/QtTest>

#include "core/models/autoencoder_kl.h"
#include "core/pipeline/engine.h"
#include "core/pipeline/memory_plan.h"
#include "core/pipeline/model_bundle.h"
#include "core/pipeline/text_conditioning.h"
#include "core/pipeline/text_encoder_residency.h"
#include "core/pipeline/vae_decode.h"
#include "core/util/byte_format.h"
#include "core/util/cpu_allocator.h"
#include "core/util/error.h"
#include "tests/support/error_message.h"
#include "tests/support/golden.h"
#include "tests/support/memory_limit.h"

using namespace latent;
using api::GenerationRequest;

namespace {

constexpr int64_t kMiB = 1024 * 1024;

GenerationRequest request_of(int size, bool low_memory = false) {
  GenerationRequest r;
  r.prompt = "a blue square on a yellow field";
  r.negative_prompt = "blurry";
  r.size.width = r.size.height = size;
  r.sampling.steps = 3;
  r.sampling.seed = 21;
  r.sampling.sampler = "euler";
  r.low_memory = low_memory;
  return r;
}

pipeline::MemoryEstimate estimate(int64_t denoise_mib, int64_t decode_mib) {
  pipeline::MemoryEstimate e;
  e.denoise_bytes = denoise_mib * kMiB;
  e.decode_bytes = decode_mib * kMiB;
  return e;
}

// Same picture: the banded decode is the whole decode's arithmetic in another order, so at
// most one 8-bit level apart on a few pixels (tst_vae_decode's bound); the text encoders'
// outputs are identical after a reload.
void check_same_picture(const api::Image& a, const api::Image& b) {
  QCOMPARE(a.width, b.width);
  QCOMPARE(a.height, b.height);
  QCOMPARE(a.rgb.size(), b.rgb.size());
  int largest = 0;
  double total = 0;
  for (std::size_t i = 0; i < a.rgb.size(); ++i) {
    const int d = std::abs(int(a.rgb[i]) - int(b.rgb[i]));
    largest = std::max(largest, d);
    total += d;
  }
  const double mean = total / static_cast<double>(a.rgb.size());
  qInfo("low-memory against normal: largest difference %d levels, mean %.4f", largest, mean);
  QVERIFY(largest <= 1);
  QVERIFY(mean < 0.01);
}

}  // namespace

class TestLowMemory : public QObject {
  Q_OBJECT
 private Q_SLOTS:
  void initTestCase();
  void choiceFollowsTheFigures_data();
  void choiceFollowsTheFigures();
  void textEncodersAreReleasedAndReloaded();
  void lowMemoryRunGivesTheSamePicture();
  void bandsWhereTheyHoldLess();
  void chosenWhenTheNormalWayWouldNotFit();
  void loraSurvivesReleaseAndReload_data();
  void loraSurvivesReleaseAndReload();

 private:
  pipeline::Engine engine_;
};

void TestLowMemory::initTestCase() {
  torch::set_num_threads(2);
  api::LoadOptions options;
  options.model_path = test::data_path("tiny-sd").toStdString();
  engine_.load(options);
}

void TestLowMemory::choiceFollowsTheFigures_data() {
  QTest::addColumn<qint64>("availableMib");  // -1: unknown
  QTest::addColumn<qint64>("textEncoderMib");
  QTest::addColumn<qint64>("normalDecodeMib");
  QTest::addColumn<qint64>("bandedDecodeMib");
  QTest::addColumn<bool>("asked");
  QTest::addColumn<bool>("lowMemory");
  QTest::addColumn<bool>("fits");
  // denoise 1000 MiB in every row.
  QTest::newRow("fits the normal way") << qint64(3000) << qint64(250) << qint64(2500) << qint64(1200) << false << false << true;
  QTest::newRow("exactly fits") << qint64(2500) << qint64(250) << qint64(2500) << qint64(1200) << false << false << true;
  QTest::newRow("decode too large, bands fit") << qint64(2000) << qint64(250) << qint64(2500) << qint64(1200) << false << true << true;
  QTest::newRow("fits once the text encoders go") << qint64(1100) << qint64(250) << qint64(2500) << qint64(1300) << false << true << true;
  QTest::newRow("fits neither way") << qint64(900) << qint64(50) << qint64(2500) << qint64(1300) << false << true << false;
  QTest::newRow("memory unknown") << qint64(-1) << qint64(250) << qint64(2500) << qint64(1200) << false << false << true;
  QTest::newRow("asked while it fits") << qint64(8000) << qint64(250) << qint64(2500) << qint64(1200) << true << true << true;
  QTest::newRow("asked, memory unknown") << qint64(-1) << qint64(250) << qint64(2500) << qint64(1200) << true << true << true;
}

void TestLowMemory::choiceFollowsTheFigures() {
  QFETCH(qint64, availableMib);
  QFETCH(qint64, textEncoderMib);
  QFETCH(qint64, normalDecodeMib);
  QFETCH(qint64, bandedDecodeMib);
  QFETCH(bool, asked);
  QFETCH(bool, lowMemory);
  QFETCH(bool, fits);
  pipeline::MemoryFigures figures;
  figures.available_bytes = availableMib < 0 ? -1 : availableMib * kMiB;
  figures.text_encoder_bytes = textEncoderMib * kMiB;
  figures.normal = estimate(1000, normalDecodeMib);
  figures.low_memory = estimate(1000, bandedDecodeMib);
  const pipeline::MemoryPlan plan = pipeline::choose_memory_plan(figures, asked);
  QCOMPARE(plan.low_memory, lowMemory);
  QCOMPARE(plan.fits, fits);
  QCOMPARE(plan.asked, asked);
  QCOMPARE(plan.needed_bytes(), (lowMemory ? std::max<qint64>(1000, bandedDecodeMib) : std::max<qint64>(1000, normalDecodeMib)) * kMiB);
  if (availableMib >= 0) QCOMPARE(plan.room_bytes(), (availableMib + (lowMemory ? textEncoderMib : 0)) * kMiB);
  const QString text = QString::fromStdString(pipeline::describe_memory_plan(plan));
  QVERIFY2(text.startsWith(lowMemory ? "low-memory mode (" : "normal memory use"), qPrintable(text));
  if (lowMemory && !asked) QVERIFY2(text.contains("a normal run needs about 2.4 GiB"), qPrintable(text));
  if (asked) QVERIFY2(text.contains("(as asked)"), qPrintable(text));
}

void TestLowMemory::textEncodersAreReleasedAndReloaded() {
  api::LoadOptions options;
  options.model_path = test::data_path("tiny-sd").toStdString();
  for (const char* weights : {"full", "int8"}) {
    options.weights = weights;
    auto model = pipeline::load_model_bundle(options);
    const int64_t loaded_bytes = pipeline::text_encoder_bytes(*model);
    QVERIFY(loaded_bytes > 0);
    pipeline::SamplingParams params;
    params.prompts = {"a red triangle"};
    params.negative_prompts = {"noise"};
    params.guidance_scale = 7.5;
    torch::InferenceMode inference;
    const auto normal = pipeline::encode_text_conditioning(*model, params).batched().context;
    QVERIFY(!model->text_encoder_release.released);  // kept outside low-memory mode
    int releases = 0, reloads = 0;
    model->text_encoder_release.before_release = [&] { ++releases; };
    model->text_encoder_release.after_reload = [&] { ++reloads; };
    pipeline::MemoryPlan plan;
    plan.low_memory = true;
    {
      const pipeline::MemoryPlanScope scope(*model, plan);
      const auto first = pipeline::encode_text_conditioning(*model, params).batched().context;
      QVERIFY(model->text_encoder_release.released);
      QCOMPARE(pipeline::text_encoder_bytes(*model), int64_t{0});  // their memory is given back
      QCOMPARE(releases, 1);
      const auto second = pipeline::encode_text_conditioning(*model, params).batched().context;  // loaded again
      QCOMPARE(reloads, 1);
      QCOMPARE(releases, 2);
      QVERIFY2(torch::equal(first, normal) && torch::equal(second, normal), weights);
    }
    QVERIFY(model->text_encoder_release.released);  // until next needed
    pipeline::ensure_text_encoders(*model);
    QCOMPARE(pipeline::text_encoder_bytes(*model), loaded_bytes);
    QVERIFY(torch::equal(pipeline::encode_text_conditioning(*model, params).batched().context, normal));
    QVERIFY(!model->text_encoder_release.released);
  }
}

void TestLowMemory::lowMemoryRunGivesTheSamePicture() {
  const auto normal = engine_.generate(request_of(64));
  QCOMPARE(QString::fromStdString(normal.memory_mode), QStringLiteral("normal memory use"));
  const auto low = engine_.generate(request_of(64, true));
  QVERIFY2(QString::fromStdString(low.memory_mode).startsWith("low-memory mode (as asked): text encoders released"),
           low.memory_mode.c_str());
  check_same_picture(low.images.at(0), normal.images.at(0));
  // The next normal run loads the text encoders again and draws exactly what it drew before.
  const auto again = engine_.generate(request_of(64));
  QVERIFY(again.images.at(0).rgb == normal.images.at(0).rgb);
}

void TestLowMemory::bandsWhereTheyHoldLess() {
  // SD 1.5's VAE (the config's defaults) holds far less in bands, even at 512×512 where the
  // normal way decodes whole; the tiny test VAE is too narrow for bands to hold less.
  const models::AutoencoderKLConfig sd15;
  const std::vector<int64_t> latents{1, 4, 64, 64};
  const auto low = pipeline::VaeDecodeOptions::low_memory();
  QVERIFY(!pipeline::vae_decode_needs_bands(sd15, latents, torch::kBFloat16));
  QVERIFY(pipeline::vae_decode_needs_bands(sd15, latents, torch::kBFloat16, low));
  const int64_t whole = pipeline::estimate_vae_decode_bytes(sd15, 1, 64, 64, torch::kBFloat16);
  const int64_t banded = pipeline::estimate_vae_decode_peak_bytes(sd15, 1, 64, 64, torch::kBFloat16, low);
  qInfo("SD 1.5 VAE at 512x512 in bf16: %lld MiB whole, %lld MiB in low-memory bands",
        static_cast<long long>(whole / kMiB), static_cast<long long>(banded / kMiB));
  QVERIFY(banded < whole / 2);
  models::AutoencoderKLConfig narrow;
  narrow.block_out_channels = {32, 32, 32, 32};
  QVERIFY(!pipeline::vae_decode_needs_bands(narrow, latents, torch::kFloat32, low));
  QCOMPARE(pipeline::estimate_vae_decode_peak_bytes(narrow, 1, 64, 64, torch::kFloat32, low),
           pipeline::estimate_vae_decode_bytes(narrow, 1, 64, 64, torch::kFloat32));
}

void TestLowMemory::chosenWhenTheNormalWayWouldNotFit() {
  // The tiny model's VAE is too narrow for bands to hold less than its whole decode, so only
  // the text encoders' memory separates the two ways here: a limit just under the normal
  // way's needs leaves room for low-memory mode once they are released.
  const GenerationRequest request = request_of(256);
  api::LoadOptions options;
  options.model_path = test::data_path("tiny-sd").toStdString();
  const auto model = pipeline::load_model_bundle(options);
  const int64_t normal =
      pipeline::estimate_generation_memory(model->unet->config, model->vae->config(), model->dtype, request).peak_bytes();
  const int64_t text_encoders = pipeline::text_encoder_bytes(*model);
  const int limit = static_cast<int>(normal / kMiB) - 1;  // between normal − 2 MiB and normal − 1 MiB
  QVERIFY2(text_encoders > 2 * kMiB, "the text encoders must outweigh the limit's rounding");
  api::GenerationResult result;
  {
    test::MemoryLimit memory(limit);
    util::release_cached_cpu_memory();  // cached blocks count as available
    result = engine_.generate(request);
  }
  QVERIFY2(QString::fromStdString(result.memory_mode)
               .startsWith("low-memory mode (a normal run needs about " + QString::fromStdString(util::format_bytes(normal))),
           result.memory_mode.c_str());
  QVERIFY2(QString::fromStdString(result.memory_mode).endsWith("VAE decoded whole (bands would hold more)"),
           result.memory_mode.c_str());
  check_same_picture(result.images.at(0), engine_.generate(request).images.at(0));
  // Below what low-memory mode needs, the request is refused before it starts.
  test::MemoryLimit memory(static_cast<int>(normal / kMiB / 2));
  const QString message = test::error_message([&] { engine_.generate(request); });
  QVERIFY2(message.contains("even in low-memory mode") && message.contains("(LATENT_MEMORY_LIMIT_MB)"),
           qPrintable(message));
}

void TestLowMemory::loraSurvivesReleaseAndReload_data() {
  QTest::addColumn<bool>("hires");
  QTest::newRow("text to image") << false;
  QTest::newRow("hires fix: the second pass encodes again") << true;
}

void TestLowMemory::loraSurvivesReleaseAndReload() {
  QFETCH(bool, hires);
  GenerationRequest request = request_of(64);
  request.loras.adapters.push_back({test::data_path("lora/tiny-sd-lora-kohya.safetensors").toStdString(), 0.8});
  if (hires) {
    request.second_pass.enabled = true;
    request.second_pass.scale = 1.5;
    request.second_pass.steps = 2;
  }
  const auto normal = engine_.generate(request);
  GenerationRequest low_request = request;
  low_request.low_memory = true;
  const auto low = engine_.generate(low_request);
  check_same_picture(low.images.at(0), normal.images.at(0));
  // Twice in a row: the released text encoders come back and take the LoRA again.
  const auto low_again = engine_.generate(low_request);
  QVERIFY(low_again.images.at(0).rgb == low.images.at(0).rgb);
  // Without the LoRA the picture differs (so the checks above saw it applied).
  GenerationRequest plain = low_request;
  plain.loras.adapters.clear();
  QVERIFY(engine_.generate(plain).images.at(0).rgb != low.images.at(0).rgb);
  QVERIFY(engine_.generate(request).images.at(0).rgb == normal.images.at(0).rgb);
}

QTEST_GUILESS_MAIN(TestLowMemory)
#include "tst_low_memory.moc"
