// Saving results: fresh names that never collide, and metadata that reads back.
#include <QtTest/QtTest>

#include "core/image/parameters_text.h"
#include "core/image/png_metadata.h"
#include "ui/image_metadata.h"
#include "ui/image_saver.h"
#include "core/util/error.h"
#include "ui_test_support.h"

using latent::api::GenerationResult;

namespace {

GenerationResult resultOf(int images, uint64_t seed) {
  GenerationResult result;
  result.request = latent::test::quickRequest("a quiet harbor, boats: two", 12);
  result.request.sampling.seed = seed;
  result.request.size.batch_size = images;
  result.request.sampling.sampler = "dpmpp_2m_karras";
  result.request.sampling.guidance_scale = 6.5;
  for (int i = 0; i < images; ++i) {
    latent::api::Image image;
    image.width = 16;
    image.height = 8;
    image.rgb.assign(16 * 8 * 3, uint8_t(40 * i));
    result.images.push_back(image);
    result.seeds.push_back(seed);
  }
  result.model_name = "tiny-sd";
  result.model_hash = "0123456789";
  return result;
}

}  // namespace

class TestImageSaver : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void namesNeverCollide();
  void savedFileCarriesBothChunks();
  void settingsReadBackFromOurJson();
  void parametersTextAloneIsEnough();
  void unwritableFolderThrows();
};

void TestImageSaver::namesNeverCollide() {
  QTemporaryDir dir;
  // Someone else's files, and ours from an earlier session.
  QFile(dir.filePath("00007-5.png")).open(QIODevice::WriteOnly);
  QFile(dir.filePath("holiday.png")).open(QIODevice::WriteOnly);
  QCOMPARE(QFileInfo(latent::ui::uniqueImagePath(dir.path(), 5)).fileName(), QStringLiteral("00008-5.png"));
  const GenerationResult result = resultOf(3, 5);
  QSet<QString> paths;
  for (int round = 0; round < 4; ++round)
    for (int i = 0; i < 3; ++i) paths.insert(latent::ui::saveResultImage(dir.path(), result, i, latent::test::tinyModel()));
  QCOMPARE(paths.size(), 12);
  QCOMPARE(latent::test::imagesIn(dir.path()).size(), 14);
  QVERIFY(paths.contains(dir.filePath("00019-5.png")));
  // No temporary files are left behind.
  QCOMPARE(QDir(dir.path()).entryList(QDir::Files).size(), 14);
}

void TestImageSaver::savedFileCarriesBothChunks() {
  QTemporaryDir dir;
  const QString path = latent::ui::saveResultImage(dir.filePath("nested/out"), resultOf(2, 99), 1, latent::test::tinyModel());
  QVERIFY(QFileInfo::exists(path));
  QCOMPARE(QImage(path).size(), QSize(16, 8));
  std::string parameters, json;
  for (const auto& [key, text] : latent::image::read_png_text_file(path.toStdString())) {
    if (key == "parameters") parameters = text;
    if (key == "latentstudio") json = text;
  }
  QVERIFY(!json.empty());
  const QString text = QString::fromStdString(parameters);
  QVERIFY2(text.startsWith(QStringLiteral("a quiet harbor, boats: two\nNegative prompt: blurry\n")), qPrintable(text));
  QVERIFY(text.contains(QStringLiteral("Sampler: DPM++ 2M, Schedule type: Karras")));
  QVERIFY(text.contains(QStringLiteral("Seed: 99")));
  QVERIFY(text.contains(QStringLiteral("Model hash: 0123456789")));
  QVERIFY(text.contains(QStringLiteral("Batch size: 2, Batch pos: 1")));
}

void TestImageSaver::settingsReadBackFromOurJson() {
  QTemporaryDir dir;
  const GenerationResult result = resultOf(1, 18446744073709551615ull);
  const QString path = latent::ui::saveResultImage(dir.path(), result, 0, latent::test::tinyModel());
  latent::api::GenerationRequest base;
  base.preview.approximate = false;  // not recorded: kept from the form
  const auto restored = latent::ui::readImageSettings(path, base);
  QVERIFY(restored.found);
  QCOMPARE(restored.request.prompt, result.request.prompt);
  QCOMPARE(restored.request.negative_prompt, result.request.negative_prompt);
  QCOMPARE(restored.request.sampling.steps, 12);
  QCOMPARE(restored.request.sampling.guidance_scale, 6.5);
  QCOMPARE(restored.request.sampling.seed, 18446744073709551615ull);
  QCOMPARE(restored.request.sampling.sampler, std::string("dpmpp_2m_karras"));
  QCOMPARE(restored.request.size.width, 64);
  QCOMPARE(restored.request.size.height, 64);
  QCOMPARE(restored.request.preview.approximate, false);
  QCOMPARE(restored.modelPath, latent::test::tinyModelPath());
  QCOMPARE(restored.modelName, QStringLiteral("tiny-sd"));
  QVERIFY(restored.parametersText.contains(QStringLiteral("Steps: 12")));
}

void TestImageSaver::parametersTextAloneIsEnough() {
  const auto restored = latent::ui::settingsFromChunks(
      {{"parameters", "a tree\nSteps: 9, Sampler: Heun, CFG scale: 3, Seed: 5, Size: 320x256, Model: abc"}}, {});
  QVERIFY(restored.found);
  QCOMPARE(restored.request.prompt, std::string("a tree"));
  QCOMPARE(restored.request.sampling.steps, 9);
  QCOMPARE(restored.request.sampling.sampler, std::string("heun"));
  QCOMPARE(restored.request.size.width, 320);
  QCOMPARE(restored.modelName, QStringLiteral("abc"));
  QVERIFY(restored.modelPath.isEmpty());
  QVERIFY(!latent::ui::settingsFromChunks({{"Software", "GIMP"}}, {}).found);
  QVERIFY(!latent::ui::readImageSettings(QStringLiteral("/no/such/file.png"), {}).found);
}

void TestImageSaver::unwritableFolderThrows() {
  QTemporaryDir dir;
  QFile blocker(dir.filePath("file"));
  QVERIFY(blocker.open(QIODevice::WriteOnly));
  blocker.close();
  QVERIFY_THROWS_EXCEPTION(latent::Error,
                           latent::ui::saveResultImage(dir.filePath("file/sub"), resultOf(1, 1), 0, latent::test::tinyModel()));
}

QTEST_MAIN(TestImageSaver)
#include "tst_image_saver.moc"
