// The reader of oneDNN's verbose output (core/util/onednn_verbose.h), on lines oneDNN 2.6.3
// printed on an AMD EPYC (AVX512-BF16) for attention's products in the head layout of the
// time, a 3×3 convolution, a linear layer, a softmax, a reorder, a grouped convolution and a
// deconvolution, and on the ways a line can be broken.
#include <QtTest/QtTest>

#include "core/util/onednn_verbose.h"

using namespace latent::util;

namespace {

constexpr const char* kRecorded = R"(onednn_verbose,info,oneDNN v2.6.3 (commit N/A)
onednn_verbose,info,cpu,runtime:OpenMP,nthr:2
onednn_verbose,info,cpu,isa:Intel AVX-512 with Intel DL Boost and bfloat16 support
onednn_verbose,info,gpu,runtime:OpenCL
onednn_verbose,info,prim_template:operation,engine,primitive,implementation,prop_kind,memory_descriptors,attributes,auxiliary,problem_desc,exec_time
onednn_verbose,exec,cpu,matmul,gemm:jit,undef,src_bf16::blocked:bac:f0 wei_bf16::blocked:cab:f0 dst_bf16::blocked:abc:f0,attr-oscale:0:0.158000 ,,1x2048x40:1x40x4096:1x2048x4096,56.595
onednn_verbose,exec,cpu,matmul,gemm:jit,undef,src_bf16::blocked:abc:f0 wei_bf16::blocked:bac:f0 dst_bf16::blocked:abc:f0,,,1x2048x4096:1x4096x40:1x2048x40,16.5132
onednn_verbose,exec,cpu,matmul,gemm:jit,undef,src_bf16::blocked:bac:f0 wei_bf16::blocked:cab:f0 dst_bf16::blocked:abc:f0,attr-oscale:0:0.125000 ,,1x2048x64:1x64x4096:1x2048x4096,51.7971
onednn_verbose,exec,cpu,convolution,brgconv:avx512_core_bf16,forward_inference,src_bf16::blocked:acdb:f0 wei_bf16::blocked:AcdB64a2b:f0 bia_bf16::blocked:a:f0 dst_bf16::blocked:acdb:f0,,alg:convolution_direct,mb2_ic320oc320_ih64oh64kh3sh1dh0ph1_iw64ow64kw3sw1dw0pw1,47.105
onednn_verbose,exec,cpu,inner_product,brgemm:avx512_core_bf16,forward_inference,src_bf16::blocked:ab:f0 wei_bf16::blocked:AB8b64a2b:f0 bia_undef::undef::f0 dst_bf16::blocked:ab:f0,,,mb8192ic320oc1280,39.6841
onednn_verbose,exec,cpu,softmax_v2,jit:avx512_core,forward_inference,src_bf16::blocked:abc:f0 dst_bf16::blocked:abc:f0,,alg:softmax_accurate axis:2,1x2048x4096,25.4978
onednn_verbose,exec,cpu,reorder,jit:uni,undef,src_f32::blocked:abcd:f0 dst_bf16::blocked:acdb:f0,,,2x320x64x64,11.7222
onednn_verbose,exec,cpu,convolution,x64:gemm:jit,forward_inference,src_f32::blocked:abcd:f0 wei_f32::blocked:abcde:f0 bia_undef::undef::f0 dst_f32::blocked:abcd:f0,,alg:convolution_direct,g4mb1_ic64oc64_ih32oh32kh3sh1dh0ph1_iw32ow32kw3sw1dw0pw1,39.8691
onednn_verbose,exec,cpu,deconvolution,x64:gemm:jit,forward_inference,src_f32::blocked:abcd:f0 wei_f32::blocked:bacd:f0 bia_undef::undef::f0 dst_f32::blocked:abcd:f0,,alg:deconvolution_direct,mb1_ic8oc4_ih16oh32kh4sh2dh0ph1_iw16ow32kw4sw2dw0pw1,11.6611
)";

std::vector<std::string> lines_of(const char* text) {
  std::vector<std::string> lines;
  QString all = QString::fromUtf8(text);
  for (const QString& line : all.split('\n', Qt::SkipEmptyParts))
    lines.push_back(line.toStdString());
  return lines;
}

const OneDnnKernelTotal* find(const OneDnnVerboseSummary& s, const std::string& kind,
                              const std::string& impl) {
  for (const auto& k : s.kernels)
    if (k.kind == kind && k.implementation == impl) return &k;
  return nullptr;
}

}  // namespace

class TestOneDnnVerbose : public QObject {
  Q_OBJECT
 private Q_SLOTS:
  void readsAnExecLine();
  void flopsOfEachKind_data();
  void flopsOfEachKind();
  void summarisesByKindAndImplementation();
  void skipsBrokenLines_data();
  void skipsBrokenLines();
  void readsOtherPrefixes();
  void noRateFromASubnormalTime();
};

void TestOneDnnVerbose::readsAnExecLine() {
  const auto lines = lines_of(kRecorded);
  const auto e = parse_onednn_exec(lines[5]);
  QVERIFY(e.has_value());
  QCOMPARE(e->engine, std::string("cpu"));
  QCOMPARE(e->kind, std::string("matmul"));
  QCOMPARE(e->implementation, std::string("gemm:jit"));
  QCOMPARE(e->propagation, std::string("undef"));
  QCOMPARE(e->problem, std::string("1x2048x40:1x40x4096:1x2048x4096"));
  QCOMPARE(e->milliseconds, 56.595);
  const auto conv = parse_onednn_exec(lines[8] + "\r\n");  // a line break is no part of the time
  QVERIFY(conv.has_value());
  QCOMPARE(conv->implementation, std::string("brgconv:avx512_core_bf16"));
  QCOMPARE(conv->milliseconds, 47.105);
  QVERIFY(!parse_onednn_exec(lines[0]).has_value());  // info lines are not executions
}

void TestOneDnnVerbose::flopsOfEachKind_data() {
  QTest::addColumn<QString>("kind");
  QTest::addColumn<QString>("problem");
  QTest::addColumn<double>("flops");
  QTest::newRow("Q·Kᵀ, 2048 queries, head 40")
      << "matmul"
      << "1x2048x40:1x40x4096:1x2048x4096" << 2.0 * 2048 * 4096 * 40;
  QTest::newRow("batched matmul") << "matmul"
                                  << "8x1024x80:8x80x1024:8x1024x1024"
                                  << 2.0 * 8 * 1024 * 1024 * 80;
  QTest::newRow("3x3 convolution") << "convolution"
                                   << "mb2_ic320oc320_ih64oh64kh3sh1dh0ph1_iw64ow64kw3sw1dw0pw1"
                                   << 2.0 * 2 * 320 * 320 * 9 * 64 * 64;
  QTest::newRow("grouped convolution, groups first")
      << "convolution"
      << "g4mb1_ic64oc64_ih32oh32kh3sh1dh0ph1_iw32ow32kw3sw1dw0pw1" << 2.0 * 64 * 16 * 9 * 32 * 32;
  QTest::newRow("strided convolution")
      << "convolution"
      << "mb1_ic64oc128_ih64oh32kh3sh2dh0ph1_iw64ow32kw3sw2dw0pw1" << 2.0 * 128 * 64 * 9 * 32 * 32;
  QTest::newRow("deconvolution") << "deconvolution"
                                 << "mb1_ic8oc4_ih16oh32kh4sh2dh0ph1_iw16ow32kw4sw2dw0pw1"
                                 << 2.0 * 8 * 4 * 16 * 16 * 16;
  QTest::newRow("inner product") << "inner_product"
                                 << "mb8192ic320oc1280" << 2.0 * 8192 * 320 * 1280;
  QTest::newRow("inner product over pixels") << "inner_product"
                                             << "mb2ic512ih7iw7oc1000" << 2.0 * 2 * 512 * 49 * 1000;
  QTest::newRow("softmax: none") << "softmax_v2"
                                 << "1x2048x4096" << -1.0;
  QTest::newRow("reorder: none") << "reorder"
                                 << "2x320x64x64" << -1.0;
  QTest::newRow("matmul, mismatched inner size") << "matmul"
                                                 << "1x2048x40:1x64x4096:1x2048x4096" << -1.0;
  QTest::newRow("matmul, two operands") << "matmul"
                                        << "2048x40:40x4096" << -1.0;
  QTest::newRow("convolution without channels") << "convolution"
                                                << "mb2_ih64oh64kh3_iw64ow64kw3" << -1.0;
  QTest::newRow("convolution, a name twice") << "convolution"
                                             << "mb2_ic3oc3_ic4_iw8ow8kw3" << -1.0;
  QTest::newRow("convolution, a stray sign") << "convolution"
                                             << "mb2_ic3oc3_iw-8ow8kw3" << -1.0;
  QTest::newRow("a ten-digit size") << "inner_product"
                                    << "mb1234567890ic3oc3" << -1.0;
}

void TestOneDnnVerbose::flopsOfEachKind() {
  QFETCH(QString, kind);
  QFETCH(QString, problem);
  QFETCH(double, flops);
  QCOMPARE(onednn_problem_flops(kind.toStdString(), problem.toStdString()), flops);
}

void TestOneDnnVerbose::summarisesByKindAndImplementation() {
  const std::string text = std::string(kRecorded) + "some other program's line\n";
  const auto s = summarize_onednn_verbose(text);
  QCOMPARE(s.isa, std::string("Intel AVX-512 with Intel DL Boost and bfloat16 support"));
  QCOMPARE(s.lines_skipped, int64_t{1});
  QCOMPARE(s.kernels.size(), size_t{7});
  // The most time first: the three attention products together.
  QCOMPARE(s.kernels.front().kind, std::string("matmul"));
  const auto* products = find(s, "matmul", "gemm:jit");
  QVERIFY(products);
  QCOMPARE(products->calls, int64_t{3});
  QVERIFY(qFuzzyCompare(products->milliseconds, 56.595 + 16.5132 + 51.7971));
  QVERIFY(qFuzzyCompare(products->flops, 2.0 * 2048 * 4096 * (40 + 40 + 64)));
  QVERIFY(qFuzzyCompare(products->gflops(), products->flops / (products->milliseconds * 1e6)));
  const auto* conv = find(s, "convolution", "brgconv:avx512_core_bf16");
  QVERIFY(conv);
  QVERIFY(qFuzzyCompare(conv->gflops(), 2.0 * 2 * 320 * 320 * 9 * 64 * 64 / 47.105e6));
  const auto* softmax = find(s, "softmax_v2", "jit:avx512_core");
  QVERIFY(softmax);
  QCOMPARE(softmax->gflops(), 0.0);  // no FLOP count for it
  QVERIFY(find(s, "convolution", "x64:gemm:jit"));
  double total = 0;
  for (const auto& k : s.kernels) total += k.milliseconds;
  QVERIFY(qFuzzyCompare(s.total_milliseconds(), total));
  QVERIFY(qFuzzyCompare(total, 56.595 + 16.5132 + 51.7971 + 47.105 + 39.6841 + 25.4978 + 11.7222 +
                                   39.8691 + 11.6611));
}

void TestOneDnnVerbose::skipsBrokenLines_data() {
  QTest::addColumn<QString>("line");
  const QString good = QString::fromUtf8(
      "onednn_verbose,exec,cpu,reorder,jit:uni,undef,src_f32::blocked:abcd:f0 "
      "dst_bf16::blocked:acdb:f0,,,2x320x64x64,");
  QTest::newRow("no time") << good;
  QTest::newRow("time not a number") << good + "fast";
  QTest::newRow("negative time") << good + "-3";
  QTest::newRow("infinite time") << good + "1e400";
  QTest::newRow("time longer than a day") << good + "1.7e308";
  QTest::newRow("time with trailing text") << good + "3ms";
  QTest::newRow("too few fields") << "onednn_verbose,exec,cpu,matmul,1.5";
  QTest::newRow("no prefix") << "verbose,exec,cpu,matmul,gemm:jit,undef,,,,1x2x3:1x3x4:1x2x4,1.5";
  QTest::newRow("exec too late")
      << "onednn_verbose,a,b,c,exec,cpu,matmul,gemm:jit,undef,,,,1x2x3:1x3x4:1x2x4,1.5";
  QTest::newRow("empty implementation")
      << "onednn_verbose,exec,cpu,matmul,,undef,,,,1x2x3:1x3x4:1x2x4,1.5";
  QTest::newRow("empty") << "";
}

void TestOneDnnVerbose::skipsBrokenLines() {
  QFETCH(QString, line);
  QVERIFY(!parse_onednn_exec(line.toStdString()).has_value());
  const auto s = summarize_onednn_verbose(line.toStdString());
  QVERIFY(s.kernels.empty());
}

void TestOneDnnVerbose::readsOtherPrefixes() {
  // Older releases said dnnl_verbose; newer ones may put a timestamp or "primitive" first.
  for (const char* line :
       {"dnnl_verbose,exec,cpu,matmul,brg:avx512_core_amx,undef,,,,1x2x3:1x3x4:1x2x4,0.25",
        "onednn_verbose,1701930000123.5,exec,cpu,matmul,brg:avx512_core_amx,undef,,,,1x2x3:1x3x4:"
        "1x2x4,0.25",
        "onednn_verbose,primitive,exec,cpu,matmul,brg:avx512_core_amx,undef,,,,1x2x3:1x3x4:1x2x4,0."
        "25"}) {
    const auto e = parse_onednn_exec(line);
    QVERIFY2(e.has_value(), line);
    QCOMPARE(e->implementation, std::string("brg:avx512_core_amx"));
    QCOMPARE(onednn_problem_flops(e->kind, e->problem), 2.0 * 2 * 4 * 3);
  }
}

void TestOneDnnVerbose::noRateFromASubnormalTime() {
  // A time that is positive yet too small to divide by: the rate would be infinite.
  const auto s = summarize_onednn_verbose(
      "onednn_verbose,exec,cpu,matmul,brg:avx512_core_bf16,undef,,,,2x4x4:2x4x4:2x4x4,1e-320");
  QCOMPARE(s.kernels.size(), size_t{1});
  QCOMPARE(s.kernels.front().flops, 2.0 * 2 * 4 * 4 * 4);
  QCOMPARE(s.kernels.front().gflops(), 0.0);
}

QTEST_GUILESS_MAIN(TestOneDnnVerbose)
#include "tst_onednn_verbose.moc"
