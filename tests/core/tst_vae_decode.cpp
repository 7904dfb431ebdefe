#include <QtTest/QtTest>

#include "core/image/tensor_image.h"
#include "core/pipeline/model_bundle.h"
#include "core/pipeline/vae_decode.h"
#include "core/util/byte_format.h"
#include "tests/support/golden.h"

using namespace latent;

namespace {

pipeline::ModelBundle& tiny_model() {
  static std::unique_ptr<pipeline::ModelBundle> model;
  if (!model) {
    latent::api::LoadOptions options;
    options.model_path = test::data_path("tiny-sd").toStdString();
    model = pipeline::load_model_bundle(options);
  }
  return *model;
}

// Latents with structure at every scale: a left-to-right ramp and a bright blob on top
// of noise, so tiles see different statistics, as in a real picture.
torch::Tensor structured_latents(int64_t h, int64_t w) {
  auto generator = at::detail::createCPUGenerator(7);
  auto z = at::randn({1, 4, h, w}, generator) * 0.5;
  const auto ramp = torch::linspace(-1.5, 1.5, w).view({1, 1, 1, w});
  const auto ys = torch::arange(h, torch::kFloat32).view({1, 1, h, 1});
  const auto xs = torch::arange(w, torch::kFloat32).view({1, 1, 1, w});
  const auto blob = torch::exp(-((ys - h / 3.0).pow(2) + (xs - w / 4.0).pow(2)) / 40.0) * 2.0;
  return z + ramp + blob;  // [1, 4, h, w]
}

}  // namespace

class TestVaeDecode : public QObject {
  Q_OBJECT
 private Q_SLOTS:
  void initTestCase() { torch::set_num_threads(2); }
  void smallDecodesInOnePiece();
  void bandsAgreeWithWhole_data();
  void bandsAgreeWithWhole();
  void budgetPicksBands();
  void bandedEstimateIsBounded();
};

void TestVaeDecode::smallDecodesInOnePiece() {
  torch::InferenceMode guard;
  auto& model = tiny_model();
  const auto z = structured_latents(16, 16) / model.vae->scaling_factor();
  QVERIFY(!pipeline::vae_decode_needs_bands(model.vae->config(), z.sizes(), model.dtype));
  const auto whole = model.vae->decode(z);
  QVERIFY(torch::equal(pipeline::vae_decode(model.vae, z), whole));
}

void TestVaeDecode::bandsAgreeWithWhole_data() {
  QTest::addColumn<int>("height");
  QTest::addColumn<int>("width");
  QTest::addColumn<int>("bandKilobytes");
  // The tiny VAE is 32 channels wide: a band row at 512 pixels costs 16·32·512 bytes =
  // 256 KB, so at full resolution these give bands of 1, 3 and 5 rows (more rows at the
  // lower resolutions), and the last one band for the whole image.
  QTest::newRow("48x64 latents, bands of one row") << 48 << 64 << 1;
  QTest::newRow("48x64 latents, bands of three rows") << 48 << 64 << 768;
  QTest::newRow("40x56 latents, uneven bands") << 40 << 56 << 1300;
  QTest::newRow("16x16 latents, one band") << 16 << 16 << (1 << 20);
}

void TestVaeDecode::bandsAgreeWithWhole() {
  QFETCH(int, height);
  QFETCH(int, width);
  QFETCH(int, bandKilobytes);
  torch::InferenceMode guard;
  auto& model = tiny_model();
  const auto z = structured_latents(height, width) / model.vae->scaling_factor();
  const auto whole_float = model.vae->decode(z);
  const auto banded_float = pipeline::vae_decode_in_bands(model.vae, z, int64_t{bandKilobytes} * 1024);
  QCOMPARE(banded_float.sizes(), whole_float.sizes());
  const double float_max = (banded_float - whole_float).abs().max().item<double>();
  const auto whole = image::decoded_to_uint8(whole_float).to(torch::kInt32);
  const auto banded = image::decoded_to_uint8(banded_float).to(torch::kInt32);
  const auto diff = (banded - whole).abs().to(torch::kFloat64);
  qInfo("banded vs whole decode: largest float difference %.2e; 8-bit mean |diff| %.4f, max %.0f",
        float_max, diff.mean().item<double>(), diff.max().item<double>());
  // The same arithmetic in another order: float rounding only, so at most one 8-bit level
  // anywhere, on a handful of pixels.
  QVERIFY2(float_max < 1e-3, "banded decode is not the whole decode");
  QVERIFY(diff.max().item<double>() <= 1.0);
  QVERIFY(diff.mean().item<double>() < 0.01);
}

void TestVaeDecode::budgetPicksBands() {
  torch::InferenceMode guard;
  auto& model = tiny_model();
  const auto z = structured_latents(48, 64) / model.vae->scaling_factor();
  pipeline::VaeDecodeOptions tiny_budget;
  tiny_budget.budget_bytes = 16 * 1024 * 1024;
  tiny_budget.band_bytes = 256 * 1024;
  QVERIFY(pipeline::vae_decode_needs_bands(model.vae->config(), z.sizes(), model.dtype, tiny_budget));
  const auto via_budget = pipeline::vae_decode(model.vae, z, tiny_budget);
  QVERIFY(torch::equal(via_budget, pipeline::vae_decode_in_bands(model.vae, z, tiny_budget.band_bytes)));
}

void TestVaeDecode::bandedEstimateIsBounded() {
  // SD 1.5's VAE at 1024x1024 in bf16: the whole decode is over the default budget, the
  // banded one holds three full-resolution activations plus a band, well under it.
  const models::AutoencoderKLConfig sd15;
  const auto options = pipeline::VaeDecodeOptions{};
  const int64_t whole = pipeline::estimate_vae_decode_bytes(sd15, 1, 128, 128, torch::kBFloat16);
  const int64_t peak = pipeline::estimate_vae_decode_peak_bytes(sd15, 1, 128, 128, torch::kBFloat16);
  qInfo("SD 1.5 VAE at 1024x1024, bf16: whole %s, banded %s", util::format_bytes(whole).c_str(),
        util::format_bytes(peak).c_str());
  QVERIFY(whole > options.budget_bytes);
  QVERIFY(peak < whole / 2);
  QCOMPARE(peak, pipeline::estimate_vae_banded_decode_bytes(sd15, 1, 128, 128, torch::kBFloat16));
  // Under the budget the estimate is the whole decode's.
  QCOMPARE(pipeline::estimate_vae_decode_peak_bytes(sd15, 1, 64, 64, torch::kBFloat16),
           pipeline::estimate_vae_decode_bytes(sd15, 1, 64, 64, torch::kBFloat16));
}

QTEST_GUILESS_MAIN(TestVaeDecode)
#include "tst_vae_decode.moc"
