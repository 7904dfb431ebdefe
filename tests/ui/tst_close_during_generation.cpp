// Closing the main window in the middle of a generation, as the application does it (the
// window closes, then goes away with the event loop): the run is cancelled within the step
// it was in (no further step is computed, so closing takes a step's time at most, however
// fast the machine), nothing crashes and no file, whole or half-written, is left.
#include <QtTest/QtTest>

#include <QComboBox>
#include <QLineEdit>
#include <QSpinBox>

#include <atomic>
#include <memory>

#include "ui/generation_queue.h"
#include "ui/generation_worker.h"
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
  void closingCancelsWithinTheCurrentStep_data();
  void closingCancelsWithinTheCurrentStep();
};

void TestCloseDuringGeneration::closingCancelsWithinTheCurrentStep_data() {
  QTest::addColumn<int>("closeAtStep");
  QTest::addColumn<int>("queued");
  QTest::newRow("early, alone") << 1 << 0;
  QTest::newRow("mid-run, two more waiting") << 20 << 2;
}

void TestCloseDuringGeneration::closingCancelsWithinTheCurrentStep() {
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
  // Steps as the worker computes them, counted on its own thread (the GUI's copies of the
  // signal arrive later, and not at all once the window is gone).
  std::atomic<int> stepsComputed{0};
  connect(queue->worker(), &latent::ui::GenerationWorker::progress, this,
          [&](quint64, const GenerationProgress&) { ++stepsComputed; }, Qt::DirectConnection);
  for (int i = 0; i <= queued; ++i) window->generate();
  QTRY_VERIFY_WITH_TIMEOUT(lastStep >= closeAtStep, 120000);

  QVERIFY(window->close());
  // close() has set the worker's cancel flag (an atomic, set on this thread) when it returns;
  // counted from here, so that steps finished while this thread waited for the processor
  // before close() do not count, whatever the machine's load.
  const int computedAtClose = stepsComputed;
  window.reset();  // what leaving main() does: the queue cancels and joins its worker
  // At most the step in flight when close() set the flag finishes; none starts after it,
  // and none of the queued jobs begins.
  const int computedAfterClose = stepsComputed - computedAtClose;
  QVERIFY2(computedAfterClose <= 1,
           qPrintable(QStringLiteral("%1 steps were computed after closing").arg(computedAfterClose)));
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
