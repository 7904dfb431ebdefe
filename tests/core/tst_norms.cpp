#include <QtTest/QtTest>

#include "core/models/norms.h"
#include "tests/support/golden.h"

using namespace latent;
using latent::test::max_abs_difference;

class TestNorms : public QObject {
  Q_OBJECT
 private Q_SLOTS:
  void initTestCase() { torch::set_num_threads(2); }
  void groupNormHalf_data();
  void groupNormHalf();
  void layerNormHalf();
  void float32IsLibTorch();
};

void TestNorms::groupNormHalf_data() {
  QTest::addColumn<bool>("channelsLast");
  QTest::addColumn<bool>("bf16");
  QTest::addColumn<double>("offset");
  QTest::newRow("bf16 NCHW") << false << true << 0.0;
  QTest::newRow("bf16 channels-last") << true << true << 0.0;
  QTest::newRow("bf16 channels-last, mean far from zero") << true << true << 20.0;
  QTest::newRow("fp16 NCHW") << false << false << 0.0;
}

// Half-precision norms compute in float32: the only error left is rounding the output.
void TestNorms::groupNormHalf() {
  QFETCH(bool, channelsLast);
  QFETCH(bool, bf16);
  QFETCH(double, offset);
  torch::InferenceMode guard;
  torch::manual_seed(1);
  const auto dtype = bf16 ? torch::kBFloat16 : torch::kHalf;
  torch::nn::GroupNorm norm(torch::nn::GroupNormOptions(8, 64).eps(1e-6));
  norm->weight.uniform_(0.5, 1.5);
  norm->bias.uniform_(-0.5, 0.5);
  auto x = (torch::randn({2, 64, 12, 10}) * 3 + offset).to(dtype);
  if (channelsLast) x = x.contiguous(at::MemoryFormat::ChannelsLast);
  const auto expected = torch::group_norm(x.to(torch::kFloat64), 8, norm->weight.to(torch::kFloat64),
                                          norm->bias.to(torch::kFloat64), 1e-6);
  const auto out = models::group_norm(norm, x);
  QCOMPARE(out.scalar_type(), dtype);
  QCOMPARE(out.sizes(), x.sizes());
  QCOMPARE(out.is_contiguous(at::MemoryFormat::ChannelsLast), channelsLast);
  // Outputs reach about 5: bf16 rounds them by up to 2^-8 · 4 relative steps.
  const double tolerance = bf16 ? 0.04 : 0.005;
  const double error = max_abs_difference(out, expected);
  qInfo("max error %.4f", error);
  QVERIFY(error < tolerance);
}

void TestNorms::layerNormHalf() {
  torch::InferenceMode guard;
  torch::manual_seed(2);
  torch::nn::LayerNorm norm(torch::nn::LayerNormOptions({96}).eps(1e-5));
  norm->weight.uniform_(0.5, 1.5);
  norm->bias.uniform_(-0.5, 0.5);
  const auto x = (torch::randn({3, 50, 96}) * 2 + 1).to(torch::kBFloat16);
  const auto expected = torch::layer_norm(x.to(torch::kFloat64), {96}, norm->weight.to(torch::kFloat64),
                                          norm->bias.to(torch::kFloat64), 1e-5);
  const auto out = models::layer_norm(norm, x);
  QCOMPARE(out.scalar_type(), torch::kBFloat16);
  QVERIFY(max_abs_difference(out, expected) < 0.04);
}

void TestNorms::float32IsLibTorch() {
  torch::InferenceMode guard;
  torch::nn::GroupNorm norm(torch::nn::GroupNormOptions(4, 16).eps(1e-5));
  const auto x = torch::randn({1, 16, 5, 5});
  QVERIFY(torch::equal(models::group_norm(norm, x), torch::group_norm(x, 4, norm->weight, norm->bias, 1e-5)));
}

QTEST_GUILESS_MAIN(TestNorms)
#include "tst_norms.moc"
