#include <QtTest/QtTest>

#include "core/image/tensor_image.h"
#include "core/pipeline/model_bundle.h"
#include "core/pipeline/vae_decode.h"
#include "tests/support/golden.h"

using namespace latent;

namespace {

pipeline::ModelBundle& tiny_model() {
  static std::unique_ptr<pipeline::ModelBundle> model;
  if (!model) {
    pipeline::LoadOptions options;
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
  void tiledAgreesWithWhole_data();
  void tiledAgreesWithWhole();
  void budgetPicksTiles();
};

void TestVaeDecode::smallDecodesInOnePiece() {
  torch::InferenceMode guard;
  auto& model = tiny_model();
  const auto z = structured_latents(16, 16) / model.vae->scaling_factor();
  QVERIFY(!pipeline::vae_decode_needs_tiles(model.vae->config(), z.sizes(), model.dtype));
  const auto whole = model.vae->decode(z);
  QVERIFY(torch::equal(pipeline::vae_decode(model.vae, z), whole));
}

void TestVaeDecode::tiledAgreesWithWhole_data() {
  QTest::addColumn<int>("height");
  QTest::addColumn<int>("width");
  QTest::addColumn<int>("tile");
  QTest::addColumn<int>("overlap");
  QTest::newRow("48x64 latents, tiles of 24") << 48 << 64 << 24 << 8;
  QTest::newRow("40x56 latents, tiles of 32, odd spacing") << 40 << 56 << 32 << 12;
}

void TestVaeDecode::tiledAgreesWithWhole() {
  QFETCH(int, height);
  QFETCH(int, width);
  QFETCH(int, tile);
  QFETCH(int, overlap);
  torch::InferenceMode guard;
  auto& model = tiny_model();
  const auto z = structured_latents(height, width) / model.vae->scaling_factor();
  const auto whole = image::decoded_to_uint8(model.vae->decode(z)).to(torch::kInt32);
  const auto tiled = image::decoded_to_uint8(pipeline::vae_decode_tiled(model.vae, z, tile, overlap))
                         .to(torch::kInt32);
  QCOMPARE(tiled.sizes(), whole.sizes());
  const auto diff = (tiled - whole).abs().to(torch::kFloat64);
  const double mean = diff.mean().item<double>();
  const double p99 = diff.flatten().kthvalue(static_cast<int64_t>(diff.numel() * 0.99)).values.item<double>();
  const double max = diff.max().item<double>();
  // Seams: the largest jump between neighbouring columns/rows of the difference image.
  // A hard tile edge would show as a step; cross-fading keeps it as small as the noise.
  const auto d = (tiled - whole).to(torch::kFloat64);
  const double step_x = (d.narrow(2, 1, d.size(2) - 1) - d.narrow(2, 0, d.size(2) - 1)).abs().mean().item<double>();
  const double step_y = (d.narrow(1, 1, d.size(1) - 1) - d.narrow(1, 0, d.size(1) - 1)).abs().mean().item<double>();
  qInfo("tiled vs whole decode, 8-bit: mean |diff| %.3f, 99th percentile %.0f, max %.0f; "
        "mean neighbour step of the difference %.3f (x) %.3f (y)",
        mean, p99, max, step_x, step_y);
  QVERIFY2(mean <= 1.0, "tiled decode differs from the whole decode by more than 1 level on average");
  QVERIFY2(p99 <= 4.0, "more than 1% of the tiled decode's pixels differ by more than 4 levels");
}

void TestVaeDecode::budgetPicksTiles() {
  torch::InferenceMode guard;
  auto& model = tiny_model();
  const auto z = structured_latents(48, 64) / model.vae->scaling_factor();
  pipeline::VaeDecodeOptions tiny_budget;
  tiny_budget.budget_bytes = 16 * 1024 * 1024;
  tiny_budget.overlap = 8;
  QVERIFY(pipeline::vae_decode_needs_tiles(model.vae->config(), z.sizes(), model.dtype, tiny_budget));
  const int64_t tile = pipeline::vae_tile_size(model.vae->config(), 1, model.dtype, tiny_budget);
  QVERIFY(tile < 48);
  QVERIFY(tile >= 2 * tiny_budget.overlap);
  QVERIFY(pipeline::estimate_vae_decode_bytes(model.vae->config(), 1, tile, tile, model.dtype) <=
          tiny_budget.budget_bytes);
  const auto via_budget = pipeline::vae_decode(model.vae, z, tiny_budget);
  QVERIFY(torch::equal(via_budget, pipeline::vae_decode_tiled(model.vae, z, tile, 8)));
}

QTEST_GUILESS_MAIN(TestVaeDecode)
#include "tst_vae_decode.moc"
