// The reduced-precision compute path against fp32: every golden end-to-end case of SD 1.x and
// of SDXL run in bf16 (or the precision LATENT_TEST_REDUCED_DTYPE names, fp16 on CUDA) must
// stay within a mean of 3 levels (8-bit) of diffusers' fp32 image, which the fp32 path matches.
#include <QtTest/QtTest>

#include <QJsonArray>

#include "core/pipeline/model_bundle.h"
#include "core/pipeline/text_to_image.h"
#include "tests/support/golden.h"
#include "tests/support/golden_set.h"

using namespace latent;

namespace {

pipeline::ModelBundle& reduced_model(const QString& name) {
  static std::map<QString, std::unique_ptr<pipeline::ModelBundle>> cache;
  auto& slot = cache[name];
  if (!slot) {
    latent::api::LoadOptions options;
    options.model_path = test::data_path(name).toStdString();
    options.dtype = test::test_reduced_dtype();
    options.device = test::test_device();
    slot = pipeline::load_model_bundle(options);
  }
  return *slot;
}

double worst_mean = 0;

const test::GoldenSet& sdxl() {
  static const test::GoldenSet set("sdxl");
  return set;
}

// Checks `images` against diffusers' fp32 picture `expected` and notes the difference.
void check_close_to_fp32(const QString& id, const torch::Tensor& images, const torch::Tensor& expected) {
  const auto diff = (images.to(torch::kCPU, torch::kInt32) - expected.to(torch::kInt32)).abs().to(torch::kFloat64);
  QCOMPARE(diff.sizes(), expected.sizes());
  const double mean = diff.mean().item<double>();
  worst_mean = std::max(worst_mean, mean);
  const std::string dtype = test::test_reduced_dtype();
  qInfo("%s: mean |%s - fp32| %.3f levels, max %.0f", qPrintable(id), dtype.c_str(), mean,
        diff.max().item<double>());
  QVERIFY2(mean <= 3.0, qPrintable(QString("%1 differs from fp32 by %2 levels on average")
                                       .arg(QString::fromStdString(dtype)).arg(mean)));
}

}  // namespace

class TestBf16Path : public QObject {
  Q_OBJECT
 private Q_SLOTS:
  void initTestCase() { torch::set_num_threads(2); }
  void closeToFp32_data();
  void closeToFp32();
  void sdxlCloseToFp32_data();
  void sdxlCloseToFp32();
  void cleanupTestCase() {
    qInfo("largest mean |%s - fp32| over the cases: %.3f levels", test::test_reduced_dtype().c_str(),
          worst_mean);
  }
};

void TestBf16Path::closeToFp32_data() {
  QTest::addColumn<QString>("id");
  QFile file(test::data_path("golden/index.json"));
  QVERIFY(file.open(QIODevice::ReadOnly));
  const QString text = QString::fromUtf8(file.readAll());
  static const QRegularExpression ids("\"id\":\\s*\"(e2e_[^\"]+)\"");
  for (auto it = ids.globalMatch(text); it.hasNext();) {
    const QString id = it.next().captured(1);
    QTest::newRow(qPrintable(id)) << id;
  }
}

void TestBf16Path::closeToFp32() {
  QFETCH(QString, id);
  const QJsonObject golden = test::golden_case(id);
  auto& model = reduced_model(golden.value("model").toString());
  QCOMPARE(model.dtype, pipeline::parse_dtype(test::test_reduced_dtype()));
  const auto output = pipeline::text_to_image(model, test::text_to_image_params(golden));
  check_close_to_fp32(id, output.images, test::golden_tensor(id + "/image_uint8.npy"));
}

void TestBf16Path::sdxlCloseToFp32_data() {
  QTest::addColumn<QString>("id");
  for (const QString& id : sdxl().ids("pipeline_sdxl"))
    if (!sdxl().case_of(id).contains("lora")) QTest::newRow(qPrintable(id)) << id;
}

void TestBf16Path::sdxlCloseToFp32() {
  QFETCH(QString, id);
  auto& model = reduced_model("sdxl/tiny-sdxl");
  QCOMPARE(model.family, io::ModelFamily::sdxl_base);
  const auto output = pipeline::text_to_image(model, test::sdxl_text_to_image_params(sdxl().case_of(id)));
  check_close_to_fp32(id, output.images, sdxl().tensor(id + "/image_uint8.npy"));
}

QTEST_GUILESS_MAIN(TestBf16Path)
#include "tst_bf16_path.moc"
