#include <QtTest/QtTest>

#include "core/models/attention.h"
#include "tests/support/golden.h"

using latent::models::attention;
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

QTEST_GUILESS_MAIN(TestAttention)
#include "tst_attention.moc"
