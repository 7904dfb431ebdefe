// Which oneDNN implementation runs attention's two products (and its row sums) and a 3×3
// convolution in bf16 on the machine the suite runs on, as oneDNN's verbose mode reports it
// (core/pipeline/kernel_report.h): a brgemm or JIT kernel for the best bf16 unit oneDNN
// finds usable here (AMX where the processor has it and Linux grants its registers,
// AVX512-BF16 where it has that), never the reference code, and never the generic gemm:jit
// for the attention products (measured at about 19 GFLOP/s against 1.3 TFLOP/s for brgemm
// on an AMX Xeon). On a processor without AMX, scripts/amx-view runs the suite as oneDNN
// would on one.
#include <QtTest/QtTest>

#include "core/models/attention.h"
#include "core/models/onednn_kernels.h"
#include "core/pipeline/kernel_report.h"

#ifdef LATENT_WITH_ONEDNN
#include <oneapi/dnnl/dnnl.h>
#endif

using namespace latent;

namespace {

// The ISA name oneDNN gives the fastest bf16 kernels here; empty without native bf16.
std::string best_bf16_isa() {
#ifdef LATENT_WITH_ONEDNN
  const auto isa = dnnl_get_effective_cpu_isa();
  if (isa == dnnl_cpu_isa_avx512_core_amx) return "avx512_core_amx";
  if (isa == dnnl_cpu_isa_avx512_core_bf16) return "avx512_core_bf16";
#endif
  return {};
}

bool is_fast_for(const std::string& implementation, const std::string& isa) {
  const bool brgemm_or_jit =
      implementation.rfind("brg", 0) == 0 || implementation.rfind("jit:", 0) == 0;
  return brgemm_or_jit && implementation.find(isa) != std::string::npos;
}

// Every implementation of `kind` in the report, with its calls.
QStringList implementations(const pipeline::KernelReport& report, const std::string& kind) {
  QStringList found;
  for (const auto& k : report.summary.kernels)
    if (k.kind == kind)
      found << QString("%1 (%2 calls)").arg(QString::fromStdString(k.implementation)).arg(k.calls);
  return found;
}

}  // namespace

class TestOneDnnKernelChoice : public QObject {
  Q_OBJECT
 private Q_SLOTS:
  void initTestCase();
  void attentionProducts_data();
  void attentionProducts();
  void convolution3x3();
};

void TestOneDnnKernelChoice::initTestCase() {
  torch::set_num_threads(2);
  if (!models::onednn::available()) QSKIP("this build calls no oneDNN of its own");
  if (best_bf16_isa().empty()) QSKIP("oneDNN finds no native bf16 unit (AVX512-BF16 or AMX) on this processor");
}

void TestOneDnnKernelChoice::attentionProducts_data() {
  QTest::addColumn<int64_t>("headDim");
  // 4096 tokens: the 64×64 latents of a 512×512 picture. SD 1.x heads are 40 wide (320
  // channels, 8 heads), SD 2.x and SDXL heads 64.
  QTest::newRow("4096 tokens, head dim 40") << int64_t{40};
  QTest::newRow("4096 tokens, head dim 64") << int64_t{64};
}

void TestOneDnnKernelChoice::attentionProducts() {
  QFETCH(int64_t, headDim);
  torch::InferenceMode inference_mode;
  const int64_t tokens = 4096, heads = 2;
  // As the transformer hands them over: [B, N, h·d] projections viewed as [B, h, N, d].
  auto heads_of = [&](const torch::Tensor& t) {
    return t.view({1, tokens, heads, headDim}).transpose(1, 2);
  };
  const auto q = heads_of(torch::randn({1, tokens, heads * headDim}).to(torch::kBFloat16));
  const auto k = heads_of(torch::randn({1, tokens, heads * headDim}).to(torch::kBFloat16));
  const auto v = heads_of(torch::randn({1, tokens, heads * headDim}).to(torch::kBFloat16));
  const auto report = pipeline::profile_onednn_kernels([&] { (void)models::attention(q, k, v); });
  QVERIFY(report.available);
  qInfo("attention's products: %s", qPrintable(implementations(report, "matmul").join(", ")));
  const std::string isa = best_bf16_isa();
  int products = 0;
  for (const auto& kernel : report.summary.kernels) {
    if (kernel.kind != "matmul") continue;
    products += static_cast<int>(kernel.calls);
    QVERIFY2(
        is_fast_for(kernel.implementation, isa),
        qPrintable(QString("attention's products ran in %1, expected brgemm or JIT for %2; all: %3")
                       .arg(QString::fromStdString(kernel.implementation),
                            QString::fromStdString(isa),
                            implementations(report, "matmul").join(", "))));
  }
  QVERIFY2(products >= 2 * heads, "oneDNN reported fewer matrix products than attention makes");
  // The rows of exponentials are added up by JIT code, and with scores of this size no block
  // needs the softmax that attention falls back to.
  int sums = 0;
  for (const auto& kernel : report.summary.kernels) {
    if (kernel.kind == "reduction") {
      sums += static_cast<int>(kernel.calls);
      QVERIFY2(kernel.implementation.rfind("jit:", 0) == 0,
               qPrintable("attention's row sums ran in " + QString::fromStdString(kernel.implementation)));
    }
    QVERIFY2(kernel.kind.rfind("softmax", 0) != 0, "attention fell back to a softmax on ordinary scores");
  }
  QVERIFY2(sums >= heads, "oneDNN reported fewer row sums than attention makes");
}

void TestOneDnnKernelChoice::convolution3x3() {
  torch::InferenceMode inference_mode;
  // The UNet's most common convolution, in the channels-last layout the models keep.
  const auto options = torch::TensorOptions().dtype(torch::kBFloat16);
  const auto x = torch::randn({2, 320, 64, 64}, options).contiguous(at::MemoryFormat::ChannelsLast);
  const auto w =
      (torch::randn({320, 320, 3, 3}, options) * 0.02).contiguous(at::MemoryFormat::ChannelsLast);
  const auto b = torch::zeros({320}, options);
  const auto report = pipeline::profile_onednn_kernels([&] { (void)torch::conv2d(x, w, b, 1, 1); });
  const auto found = implementations(report, "convolution");
  qInfo("3x3 convolution: %s", qPrintable(found.join(", ")));
  QVERIFY2(!found.isEmpty(), "oneDNN reported no convolution");
  for (const auto& kernel : report.summary.kernels)
    if (kernel.kind == "convolution")
      QVERIFY2(is_fast_for(kernel.implementation, best_bf16_isa()),
               qPrintable("the 3x3 convolution ran in " + found.join(", ")));
}

QTEST_GUILESS_MAIN(TestOneDnnKernelChoice)
#include "tst_onednn_kernel_choice.moc"
