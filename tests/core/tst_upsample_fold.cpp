// Upsample2D's folded doubling (four 2×2 convolutions of the small image) against the
// definition it replaces, nearest ×2 upsampling then the 3×3 convolution, and its folded
// weights made again whenever the weights change.
#include <QtTest/QtTest>

#include "core/models/sampling_2d.h"
#include "core/util/weight_edits.h"
#include "tests/support/golden.h"

using namespace latent;
using latent::test::max_abs_difference;

namespace {

namespace F = torch::nn::functional;

// The definition, computed in float64.
torch::Tensor reference(models::Upsample2D& up, const torch::Tensor& x) {
  const auto doubled =
      F::interpolate(x.to(torch::kFloat64), F::InterpolateFuncOptions()
                                                .mode(torch::kNearest)
                                                .scale_factor(std::vector<double>{2.0, 2.0}));
  return torch::conv2d(doubled, up->conv->weight.to(torch::kFloat64),
                       up->conv->bias.to(torch::kFloat64), 1, 1);
}

}  // namespace

class TestUpsampleFold : public QObject {
  Q_OBJECT
 private Q_SLOTS:
  void initTestCase() { torch::set_num_threads(2); }
  void matchesUpsampleThenConvolve_data();
  void matchesUpsampleThenConvolve();
  void followsWeightChanges();
  void otherSizesUpsampleFirst();
};

void TestUpsampleFold::matchesUpsampleThenConvolve_data() {
  QTest::addColumn<bool>("bf16");
  QTest::addColumn<bool>("channelsLast");
  QTest::addColumn<int>("height");
  QTest::addColumn<int>("width");
  // 24×24 and 17×31 pass the size from which the folded form is used; 8×8 stays below it;
  // 300×1030 is folded in bands of rows (127, 127 and 46 at 8 channels).
  QTest::newRow("float32, 24x24") << false << false << 24 << 24;
  QTest::newRow("float32 channels-last, 300x1030") << false << true << 300 << 1030;
  QTest::newRow("float32 channels-last, 17x31") << false << true << 17 << 31;
  QTest::newRow("float32, 8x8") << false << false << 8 << 8;
  QTest::newRow("bf16 channels-last, 24x24") << true << true << 24 << 24;
}

void TestUpsampleFold::matchesUpsampleThenConvolve() {
  QFETCH(bool, bf16);
  QFETCH(bool, channelsLast);
  QFETCH(int, height);
  QFETCH(int, width);
  torch::NoGradGuard no_grad;
  torch::manual_seed(3);
  models::Upsample2D up(8);
  const auto x = torch::randn({2, 8, height, width});
  const auto expected = reference(up, x);
  const auto dtype = bf16 ? torch::kBFloat16 : torch::kFloat32;
  const auto layout =
      channelsLast ? torch::MemoryFormat::ChannelsLast : torch::MemoryFormat::Contiguous;
  up->to(dtype);
  const auto input = x.to(dtype).contiguous(layout);
  const auto out = up->forward(input);
  QCOMPARE(out.sizes(), expected.sizes());
  QCOMPARE(out.scalar_type(), dtype);
  QCOMPARE(out.suggest_memory_format(), layout);
  // float32: only the rounding of the tap sums moves; bf16: within its own rounding of
  // values up to about 5.
  const double tolerance = bf16 ? 0.1 : 1e-5;
  const double difference = max_abs_difference(out.to(torch::kFloat64), expected);
  QVERIFY2(difference < tolerance, qPrintable(QString::number(difference)));
}

void TestUpsampleFold::followsWeightChanges() {
  torch::NoGradGuard no_grad;
  torch::manual_seed(4);
  models::Upsample2D up(4);
  const auto x = torch::randn({1, 4, 32, 32});
  QVERIFY(max_abs_difference(up->forward(x), reference(up, x)) < 1e-5);

  // Written in place (its version moves).
  up->conv->weight.mul_(-2);
  QVERIFY(max_abs_difference(up->forward(x), reference(up, x)) < 1e-5);

  // Replaced by other memory, as a LoRA does.
  up->conv->weight.set_data(torch::randn_like(up->conv->weight));
  up->conv->bias.set_data(torch::randn_like(up->conv->bias));
  QVERIFY(max_abs_difference(up->forward(x), reference(up, x)) < 1e-5);

  // Weights made in inference mode carry no version: an edit is announced instead.
  models::Upsample2D frozen(4);
  {
    torch::InferenceMode inference;
    frozen->conv->weight.set_data(torch::randn_like(frozen->conv->weight));
    QVERIFY(max_abs_difference(frozen->forward(x), reference(frozen, x)) < 1e-5);
    QVERIFY(frozen->conv->weight.is_inference());
    frozen->conv->weight.add_(1);
    util::note_weight_edit();
    QVERIFY(max_abs_difference(frozen->forward(x), reference(frozen, x)) < 1e-5);
  }
}

void TestUpsampleFold::otherSizesUpsampleFirst() {
  // An output size other than double (the UNet's odd latent sizes) takes the plain way.
  torch::NoGradGuard no_grad;
  torch::manual_seed(5);
  models::Upsample2D up(4);
  const auto x = torch::randn({1, 4, 24, 24});
  const auto out = up->forward(x, std::vector<int64_t>{47, 49});
  const auto doubled = F::interpolate(
      x, F::InterpolateFuncOptions().mode(torch::kNearest).size(std::vector<int64_t>{47, 49}));
  QCOMPARE(out.sizes(), (std::vector<int64_t>{1, 4, 47, 49}));
  QCOMPARE(max_abs_difference(out, torch::conv2d(doubled, up->conv->weight, up->conv->bias, 1, 1)),
           0.0);
}

QTEST_GUILESS_MAIN(TestUpsampleFold)
#include "tst_upsample_fold.moc"
