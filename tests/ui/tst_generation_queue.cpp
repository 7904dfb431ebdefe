// The worker in its thread and the queue that feeds it, driven with the real tiny model.
#include <QtTest/QtTest>

#include <atomic>

#include "ui/generation_queue.h"
#include "ui/generation_worker.h"
#include "ui/image_metadata.h"
#include "ui_test_support.h"

using latent::ui::GenerationJob;
using latent::ui::GenerationOutput;
using latent::ui::GenerationProgress;
using latent::ui::GenerationQueue;
using latent::ui::GenerationWorker;

namespace {

constexpr int kTimeoutMs = 120000;

GenerationJob quickJob(const QString& outputDir, const std::string& prompt = "a red apple on a table", int steps = 6) {
  GenerationJob job;
  job.model = latent::test::tinyModel();
  job.request = latent::test::quickRequest(prompt, steps);
  job.outputDir = outputDir;
  return job;
}

}  // namespace

class TestGenerationQueue : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void initTestCase();
  void runsAJobAndReportsEveryStep();
  void workerRunsInItsOwnThread();
  void threeQueuedRequestsRunInOrder();
  void reloadsOnlyWhenLoadOptionsChange();
  void badParametersFailAndTheWorkerSurvives_data();
  void badParametersFailAndTheWorkerSurvives();
  void cancelStopsWithinAStepAndSavesNothing();
  void cancelDropsWaitingJobs();

 private:
  QTemporaryDir m_dir;
};

void TestGenerationQueue::initTestCase() {
  QStandardPaths::setTestModeEnabled(true);
  QVERIFY(m_dir.isValid());
}

void TestGenerationQueue::runsAJobAndReportsEveryStep() {
  const QString out = m_dir.filePath(QStringLiteral("every-step"));
  GenerationQueue queue;
  QSignalSpy progress(&queue, &GenerationQueue::progress);
  QSignalSpy finished(&queue, &GenerationQueue::jobFinished);
  QSignalSpy failed(&queue, &GenerationQueue::jobFailed);
  QSignalSpy busy(&queue, &GenerationQueue::busyChanged);
  const quint64 id = queue.enqueue(quickJob(out, "a lighthouse at dusk", 6));
  QVERIFY(queue.isBusy());
  QTRY_VERIFY_WITH_TIMEOUT(finished.count() + failed.count() == 1, kTimeoutMs);
  QCOMPARE(failed.count(), 0);

  QCOMPARE(progress.count(), 6);
  for (int i = 0; i < progress.count(); ++i) {
    QCOMPARE(progress.at(i).at(0).value<quint64>(), id);
    const auto p = progress.at(i).at(1).value<GenerationProgress>();
    QCOMPARE(p.step, i + 1);
    QCOMPARE(p.totalSteps, 6);
    QVERIFY2(!p.previews.isEmpty() && !p.previews.first().isNull(), "a preview every step");
  }
  const auto output = finished.at(0).at(1).value<GenerationOutput>();
  QCOMPARE(output.images.size(), 1);
  QCOMPARE(output.images.first().size(), QSize(64, 64));
  QCOMPARE(output.savedPaths.size(), 1);
  QVERIFY(QFileInfo::exists(output.savedPaths.first()));
  QVERIFY(output.saveError.isEmpty());
  QTRY_VERIFY(!queue.isBusy());
  QCOMPARE(busy.count(), 2);  // busy, then idle
}

void TestGenerationQueue::workerRunsInItsOwnThread() {
  GenerationQueue queue;
  QVERIFY(queue.worker()->thread() != QThread::currentThread());
  QVERIFY(queue.worker()->thread()->isRunning());
  std::atomic<QThread*> stepThread{nullptr};
  connect(queue.worker(), &GenerationWorker::progress, queue.worker(),
          [&stepThread](quint64, const GenerationProgress&) { stepThread = QThread::currentThread(); },
          Qt::DirectConnection);
  QSignalSpy finished(&queue, &GenerationQueue::jobFinished);
  queue.enqueue(quickJob(QString(), "a fox", 2));
  QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, kTimeoutMs);
  QCOMPARE(stepThread.load(), queue.worker()->thread());
  QVERIFY(finished.at(0).at(1).value<GenerationOutput>().savedPaths.isEmpty());  // no folder, no file
}

void TestGenerationQueue::threeQueuedRequestsRunInOrder() {
  const QString out = m_dir.filePath(QStringLiteral("in-order"));
  GenerationQueue queue;
  QSignalSpy started(&queue, &GenerationQueue::jobStarted);
  QSignalSpy finished(&queue, &GenerationQueue::jobFinished);
  QSignalSpy pending(&queue, &GenerationQueue::pendingChanged);
  const QList<std::string> prompts{"first: a castle", "second: a river", "third: a forest"};
  QList<quint64> ids;
  for (const std::string& prompt : prompts) ids << queue.enqueue(quickJob(out, prompt, 3));
  QCOMPARE(queue.pendingCount(), 2);  // one running, two waiting
  QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 3, kTimeoutMs);
  for (int i = 0; i < 3; ++i) {
    QCOMPARE(started.at(i).at(0).value<quint64>(), ids[i]);
    QCOMPARE(finished.at(i).at(0).value<quint64>(), ids[i]);
    const auto output = finished.at(i).at(1).value<GenerationOutput>();
    QCOMPARE(output.request.prompt, prompts[i]);
    const latent::api::GenerationRequest noBase;
    const auto restored = latent::ui::readImageSettings(output.savedPaths.value(0), noBase);
    QCOMPARE(restored.request.prompt, prompts[i]);
  }
  QCOMPARE(pending.last().at(0).toInt(), 0);
  QCOMPARE(latent::test::imagesIn(out).size(), 3);
}

void TestGenerationQueue::reloadsOnlyWhenLoadOptionsChange() {
  GenerationQueue queue;
  QSignalSpy loading(&queue, &GenerationQueue::loadingModel);
  QSignalSpy finished(&queue, &GenerationQueue::jobFinished);
  QSignalSpy failed(&queue, &GenerationQueue::jobFailed);
  queue.enqueue(quickJob(QString(), "one", 2));
  queue.enqueue(quickJob(QString(), "two", 2));
  GenerationJob other = quickJob(QString(), "three", 2);
  other.model.model_path = QStringLiteral(LATENT_TEST_DATA "/tiny-sd-full").toStdString();
  queue.enqueue(other);
  queue.enqueue(quickJob(QString(), "four", 2));
  QTRY_VERIFY_WITH_TIMEOUT(finished.count() + failed.count() == 4, kTimeoutMs);
  QCOMPARE(failed.count(), 0);
  QCOMPARE(loading.count(), 3);  // first use, other model, back again; never for "two"
  QCOMPARE(loading.at(0).at(1).toString(), latent::test::tinyModelPath());
  QCOMPARE(loading.at(1).at(1).toString(), QStringLiteral(LATENT_TEST_DATA "/tiny-sd-full"));
}

void TestGenerationQueue::badParametersFailAndTheWorkerSurvives_data() {
  QTest::addColumn<QString>("modelPath");
  QTest::addColumn<int>("width");
  QTest::addColumn<QString>("sampler");
  QTest::addColumn<QString>("expected");
  QTest::newRow("width not a multiple of 8") << latent::test::tinyModelPath() << 60 << "euler" << "width 60";
  QTest::newRow("unknown sampler") << latent::test::tinyModelPath() << 64 << "no_such_sampler" << "no_such_sampler";
  QTest::newRow("missing model") << m_dir.filePath(QStringLiteral("absent.safetensors")) << 64 << "euler"
                                 << "absent.safetensors";
  QTest::newRow("no model chosen") << QString() << 64 << "euler" << "no model";
}

void TestGenerationQueue::badParametersFailAndTheWorkerSurvives() {
  QFETCH(QString, modelPath);
  QFETCH(int, width);
  QFETCH(QString, sampler);
  QFETCH(QString, expected);
  GenerationQueue queue;
  QSignalSpy finished(&queue, &GenerationQueue::jobFinished);
  QSignalSpy failed(&queue, &GenerationQueue::jobFailed);
  GenerationJob bad = quickJob(QString(), "bad", 2);
  bad.model.model_path = modelPath.toStdString();
  bad.request.size.width = width;
  bad.request.sampling.sampler = sampler.toStdString();
  const quint64 badId = queue.enqueue(bad);
  const quint64 goodId = queue.enqueue(quickJob(QString(), "good", 2));
  QTRY_VERIFY_WITH_TIMEOUT(finished.count() + failed.count() == 2, kTimeoutMs);
  QCOMPARE(failed.count(), 1);
  QCOMPARE(failed.at(0).at(0).value<quint64>(), badId);
  const QString message = failed.at(0).at(1).toString();
  QVERIFY2(message.contains(expected), qPrintable(message));
  QVERIFY2(!message.contains(QStringLiteral("Exception raised from")), "no C++ backtrace for the user");
  QCOMPARE(finished.count(), 1);
  QCOMPARE(finished.at(0).at(0).value<quint64>(), goodId);
}

void TestGenerationQueue::cancelStopsWithinAStepAndSavesNothing() {
  const QString out = m_dir.filePath(QStringLiteral("cancelled"));
  GenerationQueue queue;
  // Count steps where they happen, in the worker thread, to see how far the run got.
  std::atomic<int> workerSteps{0};
  connect(queue.worker(), &GenerationWorker::progress, queue.worker(),
          [&workerSteps](quint64, const GenerationProgress&) { ++workerSteps; }, Qt::DirectConnection);
  QSignalSpy progress(&queue, &GenerationQueue::progress);
  QSignalSpy cancelled(&queue, &GenerationQueue::jobCancelled);
  QSignalSpy finished(&queue, &GenerationQueue::jobFinished);
  int stepsAtCancel = -1;
  int progressAtCancel = -1;
  connect(&queue, &GenerationQueue::progress, this, [&](quint64, const GenerationProgress& p) {
    if (stepsAtCancel >= 0 || p.step < 3) return;
    queue.cancelAll();
    stepsAtCancel = workerSteps.load();
    progressAtCancel = progress.count();
  });
  const quint64 id = queue.enqueue(quickJob(out, "a long run", 150));
  QTRY_VERIFY_WITH_TIMEOUT(cancelled.count() + finished.count() == 1, kTimeoutMs);
  QCOMPARE(finished.count(), 0);
  QCOMPARE(cancelled.at(0).at(0).value<quint64>(), id);
  QVERIFY(stepsAtCancel >= 3);
  // The step under way when Cancel was pressed may finish; no other one starts.
  QVERIFY2(workerSteps.load() <= stepsAtCancel + 1,
           qPrintable(QStringLiteral("%1 steps after cancelling at %2").arg(workerSteps.load()).arg(stepsAtCancel)));
  QCOMPARE(progress.count(), progressAtCancel);  // late previews of the cancelled job are dropped
  QVERIFY(latent::test::imagesIn(out).isEmpty());
  QTRY_VERIFY(!queue.isBusy());
}

void TestGenerationQueue::cancelDropsWaitingJobs() {
  const QString out = m_dir.filePath(QStringLiteral("dropped"));
  GenerationQueue queue;
  QSignalSpy cancelled(&queue, &GenerationQueue::jobCancelled);
  QSignalSpy finished(&queue, &GenerationQueue::jobFinished);
  QSignalSpy started(&queue, &GenerationQueue::jobStarted);
  queue.enqueue(quickJob(out, "one", 50));
  queue.enqueue(quickJob(out, "two", 50));
  queue.enqueue(quickJob(out, "three", 50));
  queue.cancelAll();
  QCOMPARE(queue.pendingCount(), 0);
  QTRY_VERIFY_WITH_TIMEOUT(!queue.isBusy(), kTimeoutMs);
  QCOMPARE(cancelled.count(), 1);
  QCOMPARE(finished.count(), 0);
  QVERIFY(started.count() <= 1);
  QVERIFY(latent::test::imagesIn(out).isEmpty());
}

QTEST_MAIN(TestGenerationQueue)
#include "tst_generation_queue.moc"
