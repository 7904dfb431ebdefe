// Closing the main window in the middle of a generation, as the application does it (the
// window closes, then goes away with the event loop): the run is cancelled, everything is
// gone within 2 seconds, nothing crashes and no file, whole or half-written, is left.
#include <QtTest/QtTest>

#include <QComboBox>
#include <QElapsedTimer>
#include <QLineEdit>
#include <QSpinBox>

#include <memory>

#include "ui/generation_queue.h"
#include "ui/main_window.h"
#include "ui/model_picker.h"
#include "ui/parameters_panel.h"
#include "ui/prompt_panel.h"
#include "ui/settings_store.h"
#include "ui_test_support.h"

using latent::ui::GenerationProgress;
using latent::ui::GenerationQueue;
using latent::ui::MainWindow;

class TestCloseDuringGeneration : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void initTestCase() { QStandardPaths::setTestModeEnabled(true); }
  void closingCancelsAndExitsWithinTwoSeconds_data();
  void closingCancelsAndExitsWithinTwoSeconds();
};

void TestCloseDuringGeneration::closingCancelsAndExitsWithinTwoSeconds_data() {
  QTest::addColumn<int>("closeAtStep");
  QTest::addColumn<int>("queued");
  QTest::newRow("early, alone") << 1 << 0;
  QTest::newRow("mid-run, two more waiting") << 20 << 2;
}

void TestCloseDuringGeneration::closingCancelsAndExitsWithinTwoSeconds() {
  QFETCH(int, closeAtStep);
  QFETCH(int, queued);
  QTemporaryDir dir;
  const QString out = dir.filePath("out");
  latent::ui::SettingsStore store(dir.filePath("settings.ini"));
  store.setOutputDir(out);
  auto window = std::make_unique<MainWindow>(&store);
  window->setAttribute(Qt::WA_DeleteOnClose, false);
  window->show();
  QVERIFY(QTest::qWaitForWindowExposed(window.get()));
  window->modelPicker()->setModelPath(latent::test::tinyModelPath());
  window->promptPanel()->setPrompt(QStringLiteral("a slow sunrise over the mountains"));
  window->parametersPanel()->stepsSpin()->setValue(400);
  window->parametersPanel()->widthSpin()->setValue(64);
  window->parametersPanel()->heightSpin()->setValue(64);

  GenerationQueue* queue = window->generationQueue();
  QSignalSpy finished(queue, &GenerationQueue::jobFinished);
  int lastStep = 0;
  connect(queue, &GenerationQueue::progress, this,
          [&](quint64, const GenerationProgress& p) { lastStep = p.step; });
  for (int i = 0; i <= queued; ++i) window->generate();
  QTRY_VERIFY_WITH_TIMEOUT(lastStep >= closeAtStep, 120000);

  QElapsedTimer clock;
  clock.start();
  QVERIFY(window->close());
  window.reset();  // what leaving main() does: the queue cancels and joins its worker
  const qint64 exitMs = clock.elapsed();
  QVERIFY2(exitMs < 2000, qPrintable(QStringLiteral("closing took %1 ms").arg(exitMs)));
  QVERIFY(lastStep < 400);
  QCOMPARE(finished.count(), 0);
  // No image and no temporary file: the output folder holds nothing (it may not even exist).
  const QStringList left = QDir(out).entryList(QDir::Files | QDir::Hidden | QDir::NoDotAndDotDot);
  QVERIFY2(left.isEmpty(), qPrintable(left.join(", ")));
  // Nothing queued runs after the window is gone.
  QTest::qWait(200);
  QCOMPARE(finished.count(), 0);
}

QTEST_MAIN(TestCloseDuringGeneration)
#include "tst_close_during_generation.moc"
