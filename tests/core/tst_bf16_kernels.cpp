// The bfloat16 loops built per instruction set (core/models/bf16_rows.h) and the oneDNN
// activations (core/models/activations.h) against float32 arithmetic in LibTorch: the
// same sums, the same rounding (to nearest, ties to even; NaN stays NaN), and GroupNorm
// (alone and with SiLU), LayerNorm, SiLU and GEGLU within one bfloat16 step of LibTorch's float32 result.
#include <QtTest/QtTest>

#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "core/models/activations.h"
#include "core/models/bf16_rows.h"
#include "core/models/norms.h"

using namespace latent::models;

namespace {

uint16_t bits_of(float f) { return c10::BFloat16(f).x; }
float value_of(uint16_t bits) { return static_cast<float>(c10::BFloat16(bits, c10::BFloat16::from_bits())); }

// Largest |a − b| in units of b's bfloat16 spacing (2^(exponent − 7)).
double max_steps_apart(const torch::Tensor& a, const torch::Tensor& b) {
  const auto x = a.to(torch::kFloat32), y = b.to(torch::kFloat32);
  const auto spacing = torch::pow(2.0, torch::floor(torch::log2(y.abs().clamp_min(1e-30))) - 7);
  return ((x - y).abs() / spacing).max().item<double>();
}

}  // namespace

class TestBf16Kernels : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void reportsTheLoopsInUse() {
    const std::string isa = bf16::instruction_set();
    QVERIFY2(isa == "avx512" || isa == "avx2" || isa == "baseline", isa.c_str());
    qInfo("bfloat16 loops: %s", isa.c_str());
  }

  void roundsToNearestEven() {
    // 1 + 2^-8 lies halfway between 1 and 1 + 2^-7: ties go to the even mantissa (1).
    const std::vector<float> inputs{1.0f + std::ldexp(1.0f, -8), 1.0f + 3 * std::ldexp(1.0f, -8), -2.5f,
                                    std::numeric_limits<float>::infinity(), 0.0f, 3.0e38f};
    std::vector<uint16_t> x, y(inputs.size());
    for (float v : inputs) {
      uint32_t raw;
      std::memcpy(&raw, &v, sizeof raw);
      x.push_back(static_cast<uint16_t>(raw >> 16));
    }
    // Scale 1 and shift 0 give every bfloat16 value back unchanged.
    for (size_t i = 0; i < inputs.size(); ++i) {
      bf16::scale_shift_run(&x[i], &y[i], 1, 1.0f, 0.0f);
      QCOMPARE(y[i], x[i]);
    }
    // Results halfway between two bfloat16 values: 1 + 2^-8 and 1 + 3·2^-8.
    const uint16_t one = bits_of(1.0f);
    uint16_t out = 0;
    bf16::scale_shift_run(&one, &out, 1, 1.0f + std::ldexp(1.0f, -8), 0.0f);
    QCOMPARE(out, bits_of(1.0f));  // tie to even
    bf16::scale_shift_run(&one, &out, 1, 1.0f + 3 * std::ldexp(1.0f, -8), 0.0f);
    QCOMPARE(out, bits_of(1.0f + std::ldexp(1.0f, -6)));  // tie to even, upwards
    bf16::scale_shift_run(&one, &out, 1, std::numeric_limits<float>::quiet_NaN(), 0.0f);
    QVERIFY(std::isnan(value_of(out)));
  }

  void sumsMatchFloat32() {
    torch::manual_seed(3);
    const int64_t rows = 37, channels = 77;  // odd sizes: the loops' tails run too
    const auto x = torch::randn({rows, channels}).to(torch::kBFloat16);
    const auto* raw = reinterpret_cast<const uint16_t*>(x.data_ptr<at::BFloat16>());
    std::vector<float> sum(channels, 0.0f), sumsq(channels, 0.0f);
    bf16::add_channel_sums(raw, rows, channels, sum.data(), sumsq.data());
    const auto xf = x.to(torch::kFloat32);
    const auto want_sum = xf.sum(0), want_sq = (xf * xf).sum(0);
    for (int64_t c = 0; c < channels; ++c) {
      QVERIFY(std::abs(sum[c] - want_sum[c].item<float>()) < 1e-4f * rows);
      QVERIFY(std::abs(sumsq[c] - want_sq[c].item<float>()) < 1e-4f * rows);
    }
    float s = 0, q = 0;
    bf16::add_run_sums(raw, rows * channels, &s, &q);
    QVERIFY(std::abs(s - xf.sum().item<float>()) < 1e-2f);
    QVERIFY(std::abs(q - (xf * xf).sum().item<float>()) < 1e-1f);
  }

  void groupNormWithinAStepOfFloat32_data() {
    QTest::addColumn<bool>("channelsLast");
    QTest::newRow("channels-last") << true;
    QTest::newRow("contiguous") << false;
  }
  void groupNormWithinAStepOfFloat32() {
    QFETCH(bool, channelsLast);
    torch::InferenceMode inference;
    torch::manual_seed(5);
    torch::nn::GroupNorm norm(torch::nn::GroupNormOptions(8, 64).eps(1e-6));
    norm->weight.uniform_(0.5, 1.5);
    norm->bias.uniform_(-0.5, 0.5);
    auto x = (torch::randn({2, 64, 19, 23}) * 3 + 1).to(torch::kBFloat16);
    if (channelsLast) x = x.contiguous(at::MemoryFormat::ChannelsLast);
    const auto got = group_norm(norm, x);
    const auto want = torch::group_norm(x.to(torch::kFloat32), 8, norm->weight, norm->bias, 1e-6);
    QCOMPARE(got.scalar_type(), torch::kBFloat16);
    QVERIFY2(max_steps_apart(got, want) <= 1.0, std::to_string(max_steps_apart(got, want)).c_str());

    // Fused with SiLU in the same pass, rounded once (near zero SiLU's result is tiny, so
    // the comparison is in absolute terms there).
    const auto fused = group_norm_silu(norm, x).to(torch::kFloat32);
    const auto want_silu = torch::silu(want);
    const double steps = max_steps_apart(fused.masked_fill(want_silu.abs() < 1e-2, 0),
                                         want_silu.masked_fill(want_silu.abs() < 1e-2, 0));
    QVERIFY2(steps <= 1.0, std::to_string(steps).c_str());
    const auto small = want_silu.abs() < 1e-2;
    QVERIFY((fused - want_silu).abs().masked_select(small).max().item<double>() < 1e-4);
  }

  void layerNormWithinAStepOfFloat32() {
    torch::InferenceMode inference;
    torch::manual_seed(11);
    torch::nn::LayerNorm norm(torch::nn::LayerNormOptions({83}));  // a width of 5 lanes and a tail
    norm->weight.uniform_(0.5, 1.5);
    norm->bias.uniform_(-0.5, 0.5);
    const auto x = (torch::randn({3, 17, 83}) * 2 + 0.5).to(torch::kBFloat16);
    const auto got = layer_norm(norm, x);
    const auto want = torch::layer_norm(x.to(torch::kFloat32), {83}, norm->weight, norm->bias, 1e-5);
    QVERIFY2(max_steps_apart(got, want) <= 1.0, std::to_string(max_steps_apart(got, want)).c_str());
  }

  void activationsWithinAStepOfFloat32() {
    torch::InferenceMode inference;
    torch::manual_seed(7);
    const auto x = (torch::randn({2, 16, 9, 11}) * 4).to(torch::kBFloat16).contiguous(at::MemoryFormat::ChannelsLast);
    const auto silu = silu_(x.clone());
    QVERIFY(max_steps_apart(silu, torch::silu(x.to(torch::kFloat32))) <= 1.0);

    const auto projected = (torch::randn({2, 13, 2 * 24}) * 3).to(torch::kBFloat16);
    const auto gated = gelu_gate(projected);
    const auto pf = projected.to(torch::kFloat32).chunk(2, -1);
    const auto want = torch::gelu(pf[1]) * pf[0];
    QCOMPARE(gated.sizes(), (std::vector<int64_t>{2, 13, 24}));
    // Two roundings (the GELU, then the product) against one: two steps at most.
    QVERIFY2(max_steps_apart(gated, want) <= 2.0, std::to_string(max_steps_apart(gated, want)).c_str());

    // float32 stays LibTorch's own, bit for bit.
    const auto xf = torch::randn({3, 5});
    QVERIFY(torch::equal(silu_(xf.clone()), torch::silu(xf)));
  }
};

QTEST_APPLESS_MAIN(TestBf16Kernels)
#include "tst_bf16_kernels.moc"
