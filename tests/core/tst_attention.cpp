#include <QtTest/QtTest>

#include "core/models/attention.h"
#include "tests/support/golden.h"

using latent::models::attention;
using latent::models::kDefaultScoreBudgetBytes;
using latent::test::max_abs_difference;

namespace {

// softmax(q·kᵀ/√d)·v in float64, all at once.
torch::Tensor reference(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v) {
  const auto q64 = q.to(torch::kFloat64), k64 = k.to(torch::kFloat64), v64 = v.to(torch::kFloat64);
  const auto scores = torch::matmul(q64, k64.transpose(-1, -2)) / std::sqrt(static_cast<double>(q.size(-1)));
  return torch::matmul(torch::softmax(scores, -1), v64);
}

}  // namespace

class TestAttention : public QObject {
  Q_OBJECT
 private Q_SLOTS:
  void initTestCase() { torch::set_num_threads(2); }
  void matchesReference_data();
  void matchesReference();
  void chunksAt4096TokensAgree();
  void stridedInputs();
  void extremeScores_data();
  void extremeScores();
};

void TestAttention::matchesReference_data() {
  QTest::addColumn<int>("tokens");
  QTest::addColumn<int>("keys");
  QTest::addColumn<int>("heads");
  QTest::addColumn<int>("dim");
  QTest::newRow("self 64") << 64 << 64 << 8 << 40;
  QTest::newRow("cross 77") << 256 << 77 << 8 << 40;
  QTest::newRow("one head") << 100 << 100 << 1 << 32;
  QTest::newRow("odd sizes") << 37 << 13 << 3 << 5;
}

void TestAttention::matchesReference() {
  QFETCH(int, tokens);
  QFETCH(int, keys);
  QFETCH(int, heads);
  QFETCH(int, dim);
  torch::InferenceMode guard;
  torch::manual_seed(3);
  const auto q = torch::randn({2, heads, tokens, dim});
  const auto k = torch::randn({2, heads, keys, dim});
  const auto v = torch::randn({2, heads, keys, dim});
  const auto expected = reference(q, k, v);
  QVERIFY(max_abs_difference(attention(q, k, v), expected) < 1e-5);
  // A budget of a few rows forces many chunks.
  QVERIFY(max_abs_difference(attention(q, k, v, 4 * keys * 2 * heads * 3), expected) < 1e-5);
  const auto bf16 = attention(q.to(torch::kBFloat16), k.to(torch::kBFloat16), v.to(torch::kBFloat16));
  QCOMPARE(bf16.scalar_type(), torch::kBFloat16);
  QVERIFY(max_abs_difference(bf16, expected) < 0.05);
}

// SD's largest attention at 512×512: 4096 tokens. With a 16 MiB budget the 2·8·4096²
// score matrix (1 GiB in fp32) is never built whole.
void TestAttention::chunksAt4096TokensAgree() {
  torch::InferenceMode guard;
  torch::manual_seed(4);
  const auto q = torch::randn({2, 8, 4096, 40}) * 0.5;
  const auto k = torch::randn({2, 8, 4096, 40}) * 0.5;
  const auto v = torch::randn({2, 8, 4096, 40});
  const auto whole = attention(q, k, v, int64_t{1} << 40);
  const auto chunked = attention(q, k, v, 16ll * 1024 * 1024);
  QVERIFY(max_abs_difference(chunked, whole.to(torch::kFloat64)) < 1e-5);
}

void TestAttention::stridedInputs() {
  torch::InferenceMode guard;
  torch::manual_seed(5);
  // [B, N, h·d] viewed as [B, h, N, d], as the transformer blocks pass them.
  const auto x = torch::randn({2, 50, 4 * 16});
  const auto q = x.view({2, 50, 4, 16}).transpose(1, 2);
  const auto out = attention(q, q, q, 4 * 50 * 8 * 5);
  QVERIFY(max_abs_difference(out, reference(q, q, q)) < 1e-5);
}

void TestAttention::extremeScores_data() {
  QTest::addColumn<int>("dtype");
  QTest::newRow("float32") << static_cast<int>(torch::kFloat32);
  QTest::newRow("bfloat16") << static_cast<int>(torch::kBFloat16);
}

// Scores near +96 in half the heads and −96 in the others: e⁹⁶ is beyond float32 and e⁻⁹⁶
// below its smallest normal number, so the exponentials may not be taken without first
// subtracting each row's maximum, and attention must notice. The scores are whole numbers,
// exact in bfloat16 too, so both types can be held to their usual tolerance.
void TestAttention::extremeScores() {
  QFETCH(int, dtype);
  const auto type = static_cast<torch::ScalarType>(dtype);
  torch::InferenceMode guard;
  torch::manual_seed(6);
  const int64_t dim = 16;  // scale 1/4
  const auto sign = torch::tensor({1.0f, -1.0f, 1.0f, -1.0f}).view({1, 4, 1, 1});
  const auto q = (sign * torch::ones({2, 4, 50, dim})).to(type);
  const auto k = (4 * (6 + torch::randint(-1, 2, {2, 4, 60, dim}))).to(type);  // scores 6·16 ± 16
  const auto v = torch::randn({2, 4, 60, dim}).to(type);
  const auto expected = reference(q, k, v);
  const double allowed = type == torch::kBFloat16 ? 0.05 : 1e-5;
  for (const int64_t budget : {kDefaultScoreBudgetBytes, int64_t{10 * 60 * 4}}) {  // whole heads, 10 rows
    const auto got = attention(q, k, v, budget);
    QVERIFY2(max_abs_difference(got, expected) < allowed, qPrintable(QString::number(max_abs_difference(got, expected))));
  }
}

QTEST_GUILESS_MAIN(TestAttention)
#include "tst_attention.moc"
