// An output folder that cannot be written: a clear message, no partial file left behind, and
// the finished image kept in memory (with its parameters) so it can be saved elsewhere.
#include <QtTest/QtTest>

#include <QComboBox>
#include <QLineEdit>
#include <QPushButton>
#include <QSpinBox>

#include <sys/resource.h>

#include <csignal>
#include <memory>

#include "core/image/png_metadata.h"
#include "ui/generation_queue.h"
#include "ui/generation_worker.h"
#include "ui/main_window.h"
#include "ui/model_picker.h"
#include "ui/parameters_panel.h"
#include "ui/prompt_panel.h"
#include "ui/settings_store.h"
#include "tests/support/test_files.h"
#include "ui_test_support.h"

using latent::ui::GenerationJob;
using latent::ui::GenerationOutput;
using latent::ui::GenerationWorker;

namespace {

constexpr int kTimeoutMs = 120000;

using FullDisk = latent::test::FileSizeLimit;

QStringList filesIn(const QString& dir) {
  return QDir(dir).entryList(QDir::Files | QDir::Hidden | QDir::NoDotAndDotDot);
}

}  // namespace

class TestSaveFailures : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void initTestCase();
  void workerKeepsTheImageWhenSavingFails_data();
  void workerKeepsTheImageWhenSavingFails();
  void windowSaysWhyAndSavesElsewhere();
};

void TestSaveFailures::initTestCase() { QStandardPaths::setTestModeEnabled(true); }

void TestSaveFailures::workerKeepsTheImageWhenSavingFails_data() {
  QTest::addColumn<QString>("fault");
  QTest::newRow("output folder is a file") << "file in the way";
  QTest::newRow("disk full") << "disk full";
}

void TestSaveFailures::workerKeepsTheImageWhenSavingFails() {
  QFETCH(QString, fault);
  QTemporaryDir dir;
  QString out = dir.filePath("out");
  if (fault == "file in the way") {
    QFile blocker(out);
    QVERIFY(blocker.open(QIODevice::WriteOnly));
    blocker.write("a file where the output folder should be");
    out += "/images";  // a folder inside a file cannot be made
  } else {
    QVERIFY(QDir().mkpath(out));
  }
  GenerationWorker worker;
  QSignalSpy finished(&worker, &GenerationWorker::finished);
  QSignalSpy failed(&worker, &GenerationWorker::failed);
  GenerationJob job;
  job.id = 1;
  job.model = latent::test::tinyModel();
  job.request = latent::test::quickRequest("a boat on a lake", 4);
  job.outputDir = out;
  {
    std::unique_ptr<FullDisk> full;
    if (fault == "disk full") {
      // Load the model first: only the PNG (about 12 KiB) should meet the full disk.
      worker.run(job);
      QCOMPARE(finished.count(), 1);
      QVERIFY(finished.takeFirst().at(1).value<GenerationOutput>().saveError.isEmpty());
      QVERIFY(QFile::remove(QDir(out).filePath(filesIn(out).first())));
      full = std::make_unique<FullDisk>(1024);
      QVERIFY(full->ok());
    }
    worker.run(job);
  }
  QCOMPARE(failed.count(), 0);
  QCOMPARE(finished.count(), 1);
  const auto output = finished.first().at(1).value<GenerationOutput>();
  QVERIFY(output.savedPaths.isEmpty());
  QVERIFY2(output.saveError.contains(fault == "disk full" ? "cannot write" : "cannot create the output folder"),
           qPrintable(output.saveError));
  QVERIFY2(output.saveError.contains(QFileInfo(out).fileName()), qPrintable(output.saveError));
  // Nothing half-written: no image and no temporary file in the folder.
  if (fault == "disk full") QVERIFY2(filesIn(out).isEmpty(), qPrintable(filesIn(out).join(", ")));
  // The image is kept, also as PNG with its parameters.
  QCOMPARE(output.images.size(), 1);
  QCOMPARE(output.images.first().size(), QSize(64, 64));
  QCOMPARE(output.unsavedPng.size(), 1);
  const QByteArray& png = output.unsavedPng.first();
  const auto chunks = latent::image::read_png_text(std::vector<unsigned char>(png.begin(), png.end()));
  bool hasParameters = false;
  for (const auto& [key, text] : chunks)
    if (key == "parameters") hasParameters = QString::fromStdString(text).startsWith("a boat on a lake");
  QVERIFY(hasParameters);
  QCOMPARE(QImage::fromData(png).convertToFormat(QImage::Format_RGB888),
           output.images.first().convertToFormat(QImage::Format_RGB888));
}

void TestSaveFailures::windowSaysWhyAndSavesElsewhere() {
  QTemporaryDir dir;
  const QString blocked = dir.filePath("blocked");
  {
    QFile blocker(blocked);
    QVERIFY(blocker.open(QIODevice::WriteOnly));
  }
  latent::ui::SettingsStore store(dir.filePath("settings.ini"));
  store.setOutputDir(blocked + "/out");
  latent::ui::MainWindow window(&store);
  window.show();
  QVERIFY(QTest::qWaitForWindowExposed(&window));
  window.modelPicker()->setModelPath(latent::test::tinyModelPath());
  window.promptPanel()->setPrompt(QStringLiteral("a windmill in a tulip field"));
  window.parametersPanel()->stepsSpin()->setValue(4);
  window.parametersPanel()->widthSpin()->setValue(64);
  window.parametersPanel()->heightSpin()->setValue(64);
  QSignalSpy finished(window.generationQueue(), &latent::ui::GenerationQueue::jobFinished);
  QTest::mouseClick(window.generateButton(), Qt::LeftButton);
  QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, kTimeoutMs);
  QVERIFY2(window.errorText().contains("The image was not saved") && window.errorText().contains("Save image as"),
           qPrintable(window.errorText()));
  QVERIFY(window.lastSavedPaths().isEmpty());

  // Saved elsewhere from memory, with its parameters.
  const QString elsewhere = dir.filePath("kept.png");
  QVERIFY(window.saveCurrentImageTo(elsewhere));
  QCOMPARE(QImage(elsewhere).size(), QSize(64, 64));
  bool hasParameters = false;
  for (const auto& [key, text] : latent::image::read_png_text_file(elsewhere.toStdString()))
    if (key == "parameters") hasParameters = QString::fromStdString(text).startsWith("a windmill in a tulip field");
  QVERIFY(hasParameters);
  // Saving into the blocked place again fails with a message, and nothing is left there.
  QVERIFY(!window.saveCurrentImageTo(blocked + "/again.png"));
  QVERIFY(window.errorText().contains("Could not save"));
}

QTEST_MAIN(TestSaveFailures)
#include "tst_save_failures.moc"
