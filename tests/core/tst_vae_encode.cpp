// VAE encoding band by band (core/pipeline/vae_encode.h) against the whole encode: the
// same distribution, for any band size, any picture size, in one piece below the budget.
#include <QtTest/QtTest>

#include <ATen/CPUGeneratorImpl.h>

#include "core/pipeline/model_bundle.h"
#include "core/pipeline/vae_encode.h"
#include "tests/support/golden.h"

using namespace latent;

namespace {

// The golden tiny SD model, loaded once for the suites.
pipeline::ModelBundle& tiny_model() { return test::golden_model("tiny-sd"); }

// A picture in [-1, 1] with structure at every scale: a ramp, a bright disc and noise.
torch::Tensor structured_picture(int64_t h, int64_t w) {
  auto generator = at::detail::createCPUGenerator(9);
  const auto noise = at::randn({1, 3, h, w}, generator) * 0.2;
  const auto ys = torch::arange(h, torch::kFloat32).view({1, 1, h, 1});
  const auto xs = torch::arange(w, torch::kFloat32).view({1, 1, 1, w});
  const auto disc = ((ys - h / 2.0).pow(2) + (xs - w / 3.0).pow(2) < (h * h / 16.0)).to(torch::kFloat32);
  return (noise + xs / w - 0.5 + disc).clamp(-1, 1);
}

double max_diff(const torch::Tensor& a, const torch::Tensor& b) { return (a - b).abs().max().item<double>(); }

}  // namespace

class TestVaeEncode : public QObject {
  Q_OBJECT
 private Q_SLOTS:
  void initTestCase() { torch::set_num_threads(2); }
  void bandsAgreeWithWhole_data();
  void bandsAgreeWithWhole();
  void smallEncodesInOnePiece();
  void budgetPicksBands();
};

void TestVaeEncode::bandsAgreeWithWhole_data() {
  QTest::addColumn<int>("height");
  QTest::addColumn<int>("width");
  QTest::addColumn<int>("bandKilobytes");
  // The tiny VAE's first level is 32 channels: a band row of a 256-pixel picture costs
  // 16·32·256 bytes = 128 KB, so these give bands of 1 and 3 rows at full resolution (more
  // lower down), uneven ones, and one band for the whole picture.
  QTest::newRow("256x192, bands of one row") << 256 << 192 << 1;
  QTest::newRow("256x192, bands of three rows") << 256 << 192 << 384;
  QTest::newRow("200x136, uneven bands") << 200 << 136 << 700;
  QTest::newRow("64x64, one band") << 64 << 64 << (1 << 20);
}

void TestVaeEncode::bandsAgreeWithWhole() {
  QFETCH(int, height);
  QFETCH(int, width);
  QFETCH(int, bandKilobytes);
  torch::InferenceMode guard;
  auto& model = tiny_model();
  const auto x = structured_picture(height, width);
  const auto whole = model.vae->encode(x);
  const auto banded = pipeline::vae_encode_in_bands(model.vae, x, int64_t{bandKilobytes} * 1024);
  QCOMPARE(banded.mean.sizes(), whole.mean.sizes());
  // Only the norms' summation order differs (float64 sums over bands).
  QVERIFY2(max_diff(banded.mean, whole.mean) < 2e-5, qPrintable(QString::number(max_diff(banded.mean, whole.mean))));
  QVERIFY(max_diff(banded.logvar, whole.logvar) < 2e-5);
  QVERIFY(max_diff(banded.std, whole.std) < 2e-5);
}

void TestVaeEncode::smallEncodesInOnePiece() {
  torch::InferenceMode guard;
  auto& model = tiny_model();
  const auto x = structured_picture(64, 48);
  QVERIFY(!pipeline::vae_encode_needs_bands(model.vae->config(), x.sizes(), model.dtype));
  QVERIFY(torch::equal(pipeline::vae_encode(model.vae, x).mean, model.vae->encode(x).mean));
}

void TestVaeEncode::budgetPicksBands() {
  torch::InferenceMode guard;
  auto& model = tiny_model();
  const auto& config = model.vae->config();
  // A full-size SD VAE (128 channels at the first level) at 2048² would hold several GiB
  // whole: banded it holds three first-level activations and one band.
  auto sd = config;
  sd.block_out_channels = {128, 256, 512, 512};
  const std::vector<int64_t> large{1, 3, 2048, 2048};
  QVERIFY(pipeline::vae_encode_needs_bands(sd, large, torch::kBFloat16));
  const int64_t banded = pipeline::estimate_vae_banded_encode_bytes(sd, 1, 2048, 2048, torch::kBFloat16);
  QVERIFY(banded < pipeline::estimate_vae_encode_bytes(sd, 1, 2048, 2048, torch::kBFloat16));
  QVERIFY(banded < (int64_t{4} << 30));  // within the 1024² hires run's 4 GB
  // A budget this small sends the tiny VAE's picture through bands, with the same result.
  pipeline::VaeDecodeOptions tight;
  tight.budget_bytes = 1;
  tight.band_bytes = 64 * 1024;
  const auto x = structured_picture(96, 64);
  QVERIFY(pipeline::vae_encode_needs_bands(config, x.sizes(), model.dtype, tight));
  QVERIFY(max_diff(pipeline::vae_encode(model.vae, x, tight).mean, model.vae->encode(x).mean) < 2e-5);
}

QTEST_GUILESS_MAIN(TestVaeEncode)
#include "tst_vae_encode.moc"
