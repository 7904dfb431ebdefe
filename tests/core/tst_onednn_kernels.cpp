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
  void exponentialProducts_data() { productsMatchBmm_data(); }
  void exponentialProducts();
  void rowSumsMatchLibTorch_data() { productsMatchBmm_data(); }
  void rowSumsMatchLibTorch();
  void badOperandsAreRefused();
  void productWithBias_data() { productsMatchBmm_data(); }
  void productWithBias();
  void linearMatchesLibTorch_data() { productsMatchBmm_data(); }
  void linearMatchesLibTorch();
  void epilogueMatchesLibTorch_data() { productsMatchBmm_data(); }
  void epilogueMatchesLibTorch();
  void epilogueOutsideTheKernel();
  void badEpiloguesAreRefused();
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

// Attention's first product: e^(scale·a·b) inside the kernel, written in the operands' dtype
// and, for bfloat16 operands, in float32.
void TestOneDnnKernels::exponentialProducts() {
#ifdef LATENT_WITH_ONEDNN
  QFETCH(int, dtype);
  const auto type = static_cast<torch::ScalarType>(dtype);
  torch::InferenceMode guard;
  torch::manual_seed(16);
  const auto a = torch::randn({2, 16, 40}).to(type), b = torch::randn({2, 24, 40}).to(type).transpose(1, 2);
  const auto expected = torch::exp(0.2 * torch::bmm(a.to(torch::kFloat64), b.to(torch::kFloat64)));
  onednn::Epilogue exponential;
  exponential.exp = true;
  // The relative error: float32's exponential, or one rounding to bfloat16's 8 bits.
  const auto relative_error = [&](const torch::Tensor& got) {
    return ((got.to(torch::kFloat64) - expected).abs() / expected).max().item<double>();
  };
  const auto same = torch::empty({2, 16, 24}, type);
  onednn::batched_matmul(a, b, same, 0.2f, {}, exponential);
  QVERIFY2(relative_error(same) < (type == torch::kBFloat16 ? 1.0 / 128 : 1e-5),
           qPrintable(QString::number(relative_error(same))));
  const auto wide = torch::empty({2, 16, 24});
  onednn::batched_matmul(a, b, wide, 0.2f, {}, exponential);
  QVERIFY2(relative_error(wide) < 1e-5, qPrintable(QString::number(relative_error(wide))));
#endif
}

void TestOneDnnKernels::rowSumsMatchLibTorch() {
#ifdef LATENT_WITH_ONEDNN
  QFETCH(int, dtype);
  const auto type = static_cast<torch::ScalarType>(dtype);
  torch::InferenceMode guard;
  torch::manual_seed(17);
  const auto t = torch::rand({3, 5, 300}).to(type);
  const auto sums = torch::empty({3, 5, 1});
  onednn::row_sums(t, sums);
  const auto expected = t.to(torch::kFloat64).sum(-1, true);
  // Added in float32: a few units in its last place of a sum near 150.
  QVERIFY2(max_abs_difference(sums, expected) < 1e-4, qPrintable(QString::number(max_abs_difference(sums, expected))));
  const auto single = torch::rand({3, 5, 1}).to(type);  // rows of one value
  onednn::row_sums(single, sums);
  QCOMPARE(max_abs_difference(sums, single.to(torch::kFloat64)), 0.0);
  QVERIFY_THROWS_EXCEPTION(latent::Error, onednn::row_sums(t, torch::empty({3, 5})));
  QVERIFY_THROWS_EXCEPTION(latent::Error, onednn::row_sums(t, torch::empty({3, 5, 1}, torch::kBFloat16)));
  QVERIFY_THROWS_EXCEPTION(latent::Error, onednn::row_sums(t.transpose(0, 1), torch::empty({5, 3, 1})));
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

// GELU, a product with a tensor and a residual, each alone and chained, computed inside the
// matrix product, against the same steps in float64 after it.
void TestOneDnnKernels::epilogueMatchesLibTorch() {
  QFETCH(int, dtype);
  const auto type = static_cast<torch::ScalarType>(dtype);
  torch::InferenceMode guard;
  torch::manual_seed(14);
  const auto x = torch::randn({2, 48, 24}).to(type);  // 96 rows: the oneDNN route
  const auto w = torch::randn({40, 24}).to(type), bias = torch::randn({40}).to(type);
  const auto times = torch::randn({2, 48, 40}).to(type), plus = torch::randn({2, 48, 40}).to(type);
  const auto wide = [](const torch::Tensor& t) { return t.to(torch::kFloat64); };
  const auto product = torch::linear(wide(x), wide(w), wide(bias));
  struct Case { bool gelu, times, plus; };
  for (const Case c : {Case{true, false, false}, Case{false, true, false}, Case{false, false, true},
                       Case{true, true, true}}) {
    onednn::Epilogue epilogue;
    epilogue.gelu = c.gelu;
    if (c.times) epilogue.times = times;
    if (c.plus) epilogue.plus = plus;
    auto expected = c.gelu ? torch::gelu(product) : product;
    if (c.times) expected = expected * wide(times);
    if (c.plus) expected = expected + wide(plus);
    const auto got = latent::models::linear(x, w, bias, epilogue);
    QCOMPARE(got.scalar_type(), type);
    // float32: the product's own error; bfloat16: about one rounding of the largest value,
    // the inputs rounded and the product accumulated in float32 inside.
    const double allowed =
        type == torch::kBFloat16 ? expected.abs().max().item<double>() / 128 : 1e-4;
    QVERIFY2(max_abs_difference(got, expected) <= allowed,
             qPrintable(QStringLiteral("gelu %1 times %2 plus %3: %4")
                            .arg(c.gelu).arg(c.times).arg(c.plus).arg(max_abs_difference(got, expected))));
  }
}

// Tensors the kernel cannot take (strided, or too few rows for oneDNN) get the same result
// from LibTorch's operators after the product.
void TestOneDnnKernels::epilogueOutsideTheKernel() {
  torch::InferenceMode guard;
  torch::manual_seed(15);
  const auto w = torch::randn({40, 24}), bias = torch::randn({40});
  for (const int64_t rows : {96, 8}) {
    const auto x = torch::randn({rows, 24});
    const auto plus = torch::randn({40, rows}).t();  // strided
    onednn::Epilogue epilogue;
    epilogue.gelu = true;
    epilogue.plus = plus;
    const auto expected = torch::gelu(torch::linear(x.to(torch::kFloat64), w.to(torch::kFloat64), bias.to(torch::kFloat64))) +
                          plus.to(torch::kFloat64);
    QVERIFY(max_abs_difference(latent::models::linear(x, w, bias, epilogue), expected) < 1e-4);
  }
}

void TestOneDnnKernels::badEpiloguesAreRefused() {
#ifdef LATENT_WITH_ONEDNN
  torch::InferenceMode guard;
  const auto a = torch::zeros({1, 3, 4}), b = torch::zeros({1, 4, 6}), out = torch::zeros({1, 3, 6});
  const auto refused = [&](const torch::Tensor& times) {
    onednn::Epilogue epilogue;
    epilogue.times = times;
    try {
      onednn::batched_matmul(a, b, out, 1.0f, {}, epilogue);
    } catch (const latent::Error&) {
      return true;
    }
    return false;
  };
  QVERIFY(refused(torch::zeros({1, 3, 5})));                    // other sizes
  QVERIFY(refused(torch::zeros({1, 6, 3}).transpose(1, 2)));    // strided
  QVERIFY(refused(torch::zeros({1, 3, 6}, torch::kBFloat16)));  // other dtype
  QVERIFY(refused(out));                                        // the output itself
  QVERIFY(!refused(torch::zeros({1, 3, 6})));
  onednn::Epilogue both;
  both.gelu = both.exp = true;
  QVERIFY_THROWS_EXCEPTION(latent::Error, onednn::batched_matmul(a, b, out, 1.0f, {}, both));
#endif
}

QTEST_GUILESS_MAIN(TestOneDnnKernels)
#include "tst_onednn_kernels.moc"
