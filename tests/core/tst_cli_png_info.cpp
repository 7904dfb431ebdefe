// latentstudio-cli png-info, run as a user runs it: the settings of the web UI, ComfyUI,
// InvokeAI, Fooocus and NovelAI images (tests/data/metadata) as JSON, for PNG, JPEG and WebP;
// a clear refusal naming the file for what cannot be read.
#include <QtTest/QtTest>

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>

#include "tests/support/cli_process.h"
#include "tests/support/golden.h"

using latent::test::data_path;
using latent::test::run_cli;

namespace {

QString metadataFile(const QString& name) { return data_path(QStringLiteral("metadata/") + name); }

// Runs png-info on `file`, checks it succeeded and printed one JSON object, returns it.
QJsonObject pngInfo(const QString& file) {
  const auto run = run_cli({QStringLiteral("png-info"), file});
  if (run.exit_code != 0) qWarning().noquote() << run.err;
  QJsonParseError error{};
  const QJsonDocument doc = QJsonDocument::fromJson(run.out.toUtf8(), &error);
  if (run.exit_code != 0 || !doc.isObject()) return {};
  return doc.object();
}

}  // namespace

class TestCliPngInfo : public QObject {
  Q_OBJECT
 private Q_SLOTS:
  void printsEachProgramsSettings_data();
  void printsEachProgramsSettings();
  void listsWhatDoesNotMap();
  void imageWithoutSettings();
  void refusesWhatItCannotRead_data();
  void refusesWhatItCannotRead();
};

void TestCliPngInfo::printsEachProgramsSettings_data() {
  QTest::addColumn<QString>("file");
  QTest::addColumn<QString>("format");
  QTest::addColumn<QString>("source");
  QTest::addColumn<QString>("sampler");
  QTest::addColumn<int>("steps");
  QTest::addColumn<QString>("seed");
  QTest::newRow("web UI PNG") << "webui.png" << "PNG" << "AUTOMATIC1111 web UI" << "dpmpp_2m_karras" << 20 << "123456789";
  QTest::newRow("web UI JPEG") << "webui.jpg" << "JPEG" << "AUTOMATIC1111 web UI" << "ddim" << 28 << "31337";
  QTest::newRow("web UI WebP") << "webui_le.webp" << "WebP" << "AUTOMATIC1111 web UI" << "ddim" << 28 << "31337";
  QTest::newRow("ComfyUI PNG") << "comfyui.png" << "PNG" << "ComfyUI" << "dpmpp_2m_karras" << 20 << "156680208700286";
  QTest::newRow("ComfyUI WebP") << "comfyui.webp" << "WebP" << "ComfyUI" << "dpmpp_2m_karras" << 20 << "156680208700286";
  QTest::newRow("InvokeAI") << "invokeai.png" << "PNG" << "InvokeAI" << "dpmpp_2m_karras" << 30 << "3005843419";
  QTest::newRow("Fooocus") << "fooocus.png" << "PNG" << "Fooocus" << "dpmpp_2m_sde" << 30 << "1234567890123";
  QTest::newRow("Fooocus JPEG") << "fooocus_a1111.jpg" << "JPEG" << "Fooocus" << "dpmpp_2m_sde" << 30 << "99";
  QTest::newRow("NovelAI") << "novelai.png" << "PNG" << "NovelAI" << "euler_a" << 28 << "2387741283";
}

void TestCliPngInfo::printsEachProgramsSettings() {
  QFETCH(QString, file);
  QFETCH(QString, format);
  QFETCH(QString, source);
  QFETCH(QString, sampler);
  QFETCH(int, steps);
  QFETCH(QString, seed);
  const QJsonObject info = pngInfo(metadataFile(file));
  QCOMPARE(info["file"].toString(), metadataFile(file));
  QCOMPARE(info["format"].toString(), format);
  QCOMPARE(info["source"].toString(), source);
  const QJsonObject settings = info["settings"].toObject();
  QCOMPARE(settings["sampler"].toString(), sampler);
  QCOMPARE(settings["steps"].toInt(), steps);
  QCOMPARE(settings["seed"].toString(), seed);
  QVERIFY(!settings["prompt"].toString().isEmpty());
  QVERIFY(info["parameters"].toString().contains(QStringLiteral("Steps: %1").arg(steps)));
}

void TestCliPngInfo::listsWhatDoesNotMap() {
  const QJsonObject info = pngInfo(metadataFile(QStringLiteral("comfyui_advanced.png")));
  QStringList names;
  for (const QJsonValue& item : info["unmapped"].toArray()) names << item.toObject()["name"].toString();
  QVERIFY2(names.contains("scheduler") && names.contains("ControlNetApplyAdvanced"), qPrintable(names.join(", ")));
  QCOMPARE(info["settings"].toObject()["prompt_2"].toString(), QString("a castle on a hill AND golden hour"));
  const QJsonArray loras = pngInfo(metadataFile(QStringLiteral("invokeai.png")))["settings"].toObject()["loras"].toArray();
  QCOMPARE(loras.size(), 1);
  QCOMPARE(loras[0].toObject()["name"].toString(), QString("add_detail"));
  QCOMPARE(loras[0].toObject()["multiplier"].toDouble(), 0.75);
}

void TestCliPngInfo::imageWithoutSettings() {
  const auto run = run_cli({QStringLiteral("png-info"), metadataFile(QStringLiteral("no_settings.png"))});
  QCOMPARE(run.exit_code, 0);  // a readable image: it just says nothing
  const QJsonObject info = QJsonDocument::fromJson(run.out.toUtf8()).object();
  QVERIFY(info["source"].isNull());
  QVERIFY(info["settings"].toObject().isEmpty());
  QVERIFY2(run.err.contains("no generation settings found"), qPrintable(run.err));
}

void TestCliPngInfo::refusesWhatItCannotRead_data() {
  QTest::addColumn<QStringList>("arguments");
  QTest::addColumn<QString>("message");
  const QString text = metadataFile(QStringLiteral("not_an_image.png"));
  const QString missing = metadataFile(QStringLiteral("missing.webp"));
  QTest::newRow("not an image") << QStringList{"png-info", text} << "'" + text + "' is not a PNG, JPEG or WebP image";
  QTest::newRow("missing file") << QStringList{"png-info", missing} << "cannot read '" + missing + "'";
  QTest::newRow("no file") << QStringList{"png-info"} << "png-info needs an image file";
  QTest::newRow("two files") << QStringList{"png-info", text, missing} << "one image at a time";
}

void TestCliPngInfo::refusesWhatItCannotRead() {
  QFETCH(QStringList, arguments);
  QFETCH(QString, message);
  const auto run = run_cli(arguments);
  QVERIFY(run.exit_code != 0);
  QVERIFY2(run.err.contains(message), qPrintable(run.err));
  QVERIFY(run.out.isEmpty());
}

QTEST_GUILESS_MAIN(TestCliPngInfo)
#include "tst_cli_png_info.moc"
