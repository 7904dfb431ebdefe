// The bf16 compute path against fp32: every golden end-to-end case run in bf16 must stay
// within a mean of 3 levels (8-bit) of diffusers' fp32 image, which the fp32 path matches.
#include <QtTest/QtTest>

#include <QJsonArray>

#include "core/pipeline/model_bundle.h"
#include "core/pipeline/text_to_image.h"
#include "tests/support/golden.h"

using namespace latent;

namespace {

pipeline::ModelBundle& bf16_model(const QString& name) {
  static std::map<QString, std::unique_ptr<pipeline::ModelBundle>> cache;
  auto& slot = cache[name];
  if (!slot) {
    pipeline::LoadOptions options;
    options.model_path = test::data_path(name).toStdString();
    options.dtype = "bf16";
    slot = pipeline::load_model_bundle(options);
  }
  return *slot;
}

std::vector<std::string> strings_of(const QJsonValue& value) {
  std::vector<std::string> out;
  if (value.isString()) out.push_back(value.toString().toStdString());
  for (const QJsonValue& item : value.toArray()) out.push_back(item.toString().toStdString());
  return out;
}

pipeline::TextToImageParams params_of(const QJsonObject& golden) {
  const QJsonObject in = golden.value("inputs").toObject();
  pipeline::TextToImageParams p;
  p.prompts = strings_of(in.value("prompt"));
  p.negative_prompts = strings_of(in.value("negative_prompt"));
  p.images_per_prompt = in.value("num_images_per_prompt").toInt(1);
  p.width = in.value("width").toInt();
  p.height = in.value("height").toInt();
  p.steps = in.value("num_inference_steps").toInt();
  p.guidance_scale = in.value("guidance_scale").toDouble();
  p.seed = static_cast<uint64_t>(in.value("seed").toDouble());
  p.sampler = golden.value("scheduler").toString().toStdString();
  p.clip_skip = in.value("clip_skip").isNull() ? 0 : in.value("clip_skip").toInt();
  p.eta = in.value("eta").toDouble();
  return p;
}

double worst_mean = 0;

}  // namespace

class TestBf16Path : public QObject {
  Q_OBJECT
 private Q_SLOTS:
  void initTestCase() { torch::set_num_threads(2); }
  void closeToFp32_data();
  void closeToFp32();
  void cleanupTestCase() { qInfo("largest mean |bf16 - fp32| over the cases: %.3f levels", worst_mean); }
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
  auto& model = bf16_model(golden.value("model").toString());
  QCOMPARE(model.dtype, torch::kBFloat16);
  const auto output = pipeline::text_to_image(model, params_of(golden));
  const auto expected = test::golden_tensor(id + "/image_uint8.npy").to(torch::kInt32);
  const auto diff = (output.images.to(torch::kInt32) - expected).abs().to(torch::kFloat64);
  QCOMPARE(diff.sizes(), expected.sizes());
  const double mean = diff.mean().item<double>();
  worst_mean = std::max(worst_mean, mean);
  qInfo("%s: mean |bf16 - fp32| %.3f levels, max %.0f", qPrintable(id), mean, diff.max().item<double>());
  QVERIFY2(mean <= 3.0, qPrintable(QString("bf16 differs from fp32 by %1 levels on average").arg(mean)));
}

QTEST_GUILESS_MAIN(TestBf16Path)
#include "tst_bf16_path.moc"
