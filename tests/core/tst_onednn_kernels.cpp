// The oneDNN products and softmax that attention uses on the CPU, against LibTorch's own.
#include <QtTest/QtTest>

#include "core/models/linear.h"
#include "core/models/onednn_kernels.h"
#include "core/util/error.h"
#include "tests/support/golden.h"

namespace onednn = latent::models::onednn;

using latent::test::max_abs_difference;

class TestOneDnnKernels : public QObject {
  Q_OBJECT
 private Q_SLOTS:
  void initTestCase() { torch::set_num_threads(2); }
  void builtIn();
  void productsMatchBmm_data();
  void productsMatchBmm();
  void productsReadHeadViews();
  void softmaxMatchesLibTorch();
  void badOperandsAreRefused();
  void productWithBias_data() { productsMatchBmm_data(); }
  void productWithBias();
  void linearMatchesLibTorch_data() { productsMatchBmm_data(); }
  void linearMatchesLibTorch();
};

// This build links oneDNN exactly when CMake found it (LATENT_WITH_ONEDNN); CI's does.
void TestOneDnnKernels::builtIn() {
#ifdef LATENT_WITH_ONEDNN
  QVERIFY(onednn::available());
  QVERIFY(onednn::supports(torch::zeros({2}, torch::kBFloat16)));
  QVERIFY(!onednn::supports(torch::zeros({2}, torch::kFloat16)));
#else
  QVERIFY(!onednn::available());
  QVERIFY(!onednn::supports(torch::zeros({2})));
  QVERIFY_THROWS_EXCEPTION(latent::Error, onednn::softmax_last_dim_(torch::zeros({2})));
#endif
}

void TestOneDnnKernels::productsMatchBmm_data() {
  QTest::addColumn<int>("dtype");
  QTest::addColumn<double>("tolerance");
  QTest::newRow("float32") << static_cast<int>(torch::kFloat32) << 1e-5;
  // bfloat16 inputs: the product of rounded values, within bfloat16's own rounding.
  QTest::newRow("bfloat16") << static_cast<int>(torch::kBFloat16) << 0.05;
}

void TestOneDnnKernels::productsMatchBmm() {
#ifdef LATENT_WITH_ONEDNN
  QFETCH(int, dtype);
  QFETCH(double, tolerance);
  const auto type = static_cast<torch::ScalarType>(dtype);
  torch::InferenceMode guard;
  torch::manual_seed(11);
  const auto a = torch::randn({3, 17, 9}).to(type);
  const auto b_t = torch::randn({3, 11, 9}).to(type);  // b = b_tᵀ: a column-major operand
  const auto b = b_t.transpose(1, 2);                   // [3, 9, 11]
  const auto expected = torch::bmm(a.to(torch::kFloat64), b.to(torch::kFloat64)) * 0.25;
  auto out = torch::full({3, 17, 11}, 7.0, torch::TensorOptions().dtype(type));
  onednn::batched_matmul(a, b, out, 0.25f);
  QVERIFY2(max_abs_difference(out, expected) < tolerance, qPrintable(QString::number(max_abs_difference(out, expected))));
  // Into a strided view of a larger tensor: the elements around it stay untouched.
  auto big = torch::zeros({3, 11, 20}, torch::TensorOptions().dtype(type));
  onednn::batched_matmul(a, b, big.narrow(2, 2, 17).transpose(1, 2), 0.25f);
  QVERIFY(max_abs_difference(big.narrow(2, 2, 17).transpose(1, 2), expected) < tolerance);
  QCOMPARE(big.narrow(2, 0, 2).abs().sum().item<double>(), 0.0);
  QCOMPARE(big.narrow(2, 19, 1).abs().sum().item<double>(), 0.0);
#endif
}

// Attention's operands: one head (or a few) of [N, h, d] token rows, narrowed to a block of
// rows, including the batch dimension of size 1 whose stride LibTorch leaves arbitrary.
void TestOneDnnKernels::productsReadHeadViews() {
#ifdef LATENT_WITH_ONEDNN
  torch::InferenceMode guard;
  torch::manual_seed(12);
  const int64_t n = 70, heads = 4, d = 8;
  const auto tokens = torch::randn({n, heads * d});
  const auto per_head = tokens.view({n, heads, d}).transpose(0, 1);  // [h, N, d], strided
  for (const int64_t g : {1, 3}) {
    const auto q = per_head.narrow(0, 1, g).narrow(1, 5, 30);  // [g, 30, d]
    const auto k_t = per_head.narrow(0, 1, g).transpose(1, 2);  // [g, d, N]
    auto scores = torch::empty({g, 30, n});
    onednn::batched_matmul(q, k_t, scores);
    QVERIFY(max_abs_difference(scores, torch::bmm(q.contiguous(), k_t.contiguous())) < 1e-5);
  }
#endif
}

void TestOneDnnKernels::softmaxMatchesLibTorch() {
#ifdef LATENT_WITH_ONEDNN
  torch::InferenceMode guard;
  torch::manual_seed(13);
  const auto x = torch::randn({2, 5, 77}) * 8;  // large logits: needs the max subtracted
  auto y = x.clone();
  onednn::softmax_last_dim_(y);
  QVERIFY(max_abs_difference(y, torch::softmax(x, -1)) < 1e-6);
  QVERIFY(max_abs_difference(y.sum(-1), torch::ones({2, 5})) < 1e-5);
  // bfloat16 in and out, normalised in float32 inside: within the output's rounding.
  auto half = x.to(torch::kBFloat16);
  const auto expected = torch::softmax(half.to(torch::kFloat32), -1);
  onednn::softmax_last_dim_(half);
  QVERIFY(max_abs_difference(half, expected) < 4e-3);
#endif
}

void TestOneDnnKernels::badOperandsAreRefused() {
#ifdef LATENT_WITH_ONEDNN
  torch::InferenceMode guard;
  const auto a = torch::zeros({2, 3, 4});
  QVERIFY_THROWS_EXCEPTION(latent::Error, onednn::batched_matmul(a, torch::zeros({2, 5, 6}), torch::zeros({2, 3, 6})));
  QVERIFY_THROWS_EXCEPTION(latent::Error, onednn::batched_matmul(a, torch::zeros({2, 4, 6}), torch::zeros({2, 3, 5})));
  QVERIFY_THROWS_EXCEPTION(latent::Error, onednn::batched_matmul(a.to(torch::kFloat16), torch::zeros({2, 4, 6}, torch::kFloat16),
                                                                 torch::zeros({2, 3, 6}, torch::kFloat16)));
  QVERIFY_THROWS_EXCEPTION(latent::Error, onednn::batched_matmul(a, torch::zeros({2, 4, 6}, torch::kBFloat16), torch::zeros({2, 3, 6})));
  QVERIFY_THROWS_EXCEPTION(latent::Error, onednn::softmax_last_dim_(torch::zeros({4, 3}).t()));
  const auto b = torch::zeros({2, 4, 6}), out = torch::zeros({2, 3, 6});
  QVERIFY_THROWS_EXCEPTION(latent::Error, onednn::batched_matmul(a, b, out, 1.0f, torch::zeros({5})));
  QVERIFY_THROWS_EXCEPTION(latent::Error, onednn::batched_matmul(a, b, out, 1.0f, torch::zeros({6}, torch::kBFloat16)));
  QVERIFY_THROWS_EXCEPTION(latent::Error, onednn::batched_matmul(a, b, out, 0.5f, torch::zeros({6})));
#endif
}

void TestOneDnnKernels::productWithBias() {
#ifdef LATENT_WITH_ONEDNN
  QFETCH(int, dtype);
  QFETCH(double, tolerance);
  const auto type = static_cast<torch::ScalarType>(dtype);
  torch::InferenceMode guard;
  torch::manual_seed(12);
  const auto a = torch::randn({1, 70, 9}).to(type);
  const auto w = torch::randn({11, 9}).to(type);  // a linear layer's [out, in] weight, read transposed
  const auto bias = torch::randn({11}).to(type);
  const auto expected =
      torch::matmul(a.to(torch::kFloat64), w.t().to(torch::kFloat64)) + bias.to(torch::kFloat64);
  auto out = torch::empty({1, 70, 11}, torch::TensorOptions().dtype(type));
  onednn::batched_matmul(a, w.t().unsqueeze(0), out, 1.0f, bias);
  QVERIFY2(max_abs_difference(out, expected) < tolerance, qPrintable(QString::number(max_abs_difference(out, expected))));
#endif
}

void TestOneDnnKernels::linearMatchesLibTorch() {
  QFETCH(int, dtype);
  QFETCH(double, tolerance);
  const auto type = static_cast<torch::ScalarType>(dtype);
  torch::InferenceMode guard;
  torch::manual_seed(13);
  // Enough rows for the oneDNN route, as a strided view (every other token), with and
  // without a bias.
  const auto x = torch::randn({2, 160, 24}).to(type).slice(1, 0, 160, 2);  // [2, 80, 24]
  const auto w = torch::randn({40, 24}).to(type), bias = torch::randn({40}).to(type);
  for (const auto& b : {bias, torch::Tensor()}) {
    const auto got = latent::models::linear(x, w, b);
    const auto expected = torch::linear(x.to(torch::kFloat64), w.to(torch::kFloat64),
                                        b.defined() ? b.to(torch::kFloat64) : torch::Tensor());
    QCOMPARE(got.sizes(), expected.sizes());
    QCOMPARE(got.scalar_type(), type);
    // bfloat16: one rounding of the largest result (8 bits of mantissa).
    const double allowed =
        type == torch::kBFloat16 ? expected.abs().max().item<double>() / 256 : tolerance;
    QVERIFY2(max_abs_difference(got, expected) <= allowed, qPrintable(QString::number(max_abs_difference(got, expected))));
  }
}

QTEST_GUILESS_MAIN(TestOneDnnKernels)
#include "tst_onednn_kernels.moc"
