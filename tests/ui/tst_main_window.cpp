// The window as a user drives it: clicks, the live preview, saving, errors and the
// form filled back from images, all with the real tiny model under the offscreen platform.
#include <QtTest/QtTest>

#include <QComboBox>
#include <QDoubleSpinBox>
#include <QElapsedTimer>
#include <QLineEdit>
#include <QPlainTextEdit>
#include <QProgressBar>
#include <QPushButton>
#include <QSpinBox>

#include <memory>

#include "core/image/png_metadata.h"
#include "ui/gallery_model.h"
#include "ui/generation_queue.h"
#include "ui/generation_worker.h"
#include "ui/main_window.h"
#include "ui/model_picker.h"
#include "ui/parameters_panel.h"
#include "ui/preview_view.h"
#include "ui/prompt_panel.h"
#include "ui/settings_store.h"
#include "ui_test_support.h"

using latent::ui::GenerationOutput;
using latent::ui::GenerationProgress;
using latent::ui::GenerationQueue;
using latent::ui::MainWindow;
using latent::ui::SettingsStore;

namespace {

constexpr int kTimeoutMs = 120000;

void setSampler(MainWindow& window, const QString& name) {
  QComboBox* sampler = window.parametersPanel()->samplerCombo();
  const int index = sampler->findData(name);
  QVERIFY2(index >= 0, qPrintable(name));
  sampler->setCurrentIndex(index);
}

}  // namespace

class TestMainWindow : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void initTestCase();
  void init();
  void cleanup();
  void generateShowsPreviewsSavesAndRoundTrips();
  void cancelStopsWithinAStepAndSavesNothing();
  void threeQueuedRequestsRunInOrder();
  void corruptModelShowsErrorThenGoodModelWorks_data();
  void corruptModelShowsErrorThenGoodModelWorks();
  void parametersFromAnotherProgramFillTheForm_data();
  void parametersFromAnotherProgramFillTheForm();
  void pngFromAnotherProgramFillsTheForm();
  void guiThreadStaysResponsive();
  void batchShowsAllItsImages();
  void escapeCancels();
  void ctrlEnterGeneratesAndTokenCounterWarns();

 private:
  void fillForm(const QString& prompt, int steps);

  std::unique_ptr<QTemporaryDir> m_dir;
  std::unique_ptr<SettingsStore> m_store;
  std::unique_ptr<MainWindow> m_window;
  QString m_out;
};

void TestMainWindow::initTestCase() { QStandardPaths::setTestModeEnabled(true); }

void TestMainWindow::init() {
  m_dir = std::make_unique<QTemporaryDir>();
  QVERIFY(m_dir->isValid());
  m_out = m_dir->filePath(QStringLiteral("out"));
  m_store = latent::test::settingsIn(*m_dir);
  m_window = latent::test::shownWindow(m_store.get());
  QVERIFY(m_window);
}

void TestMainWindow::cleanup() {
  m_window.reset();
  m_store.reset();
  m_dir.reset();
}

void TestMainWindow::fillForm(const QString& prompt, int steps) {
  m_window->modelPicker()->setModelPath(latent::test::tinyModelPath());
  m_window->promptPanel()->setPrompt(prompt);
  m_window->promptPanel()->setNegativePrompt(QStringLiteral("blurry, dark"));
  auto* parameters = m_window->parametersPanel();
  parameters->stepsSpin()->setValue(steps);
  parameters->guidanceSpin()->setValue(6.5);
  parameters->seedEdit()->setText(QStringLiteral("4242"));
  parameters->setSeedLocked(true);
  parameters->widthSpin()->setValue(64);
  parameters->heightSpin()->setValue(64);
  setSampler(*m_window, QStringLiteral("euler"));
}

void TestMainWindow::generateShowsPreviewsSavesAndRoundTrips() {
  fillForm(QStringLiteral("a lighthouse on a cliff at dusk"), 8);
  GenerationQueue* queue = m_window->generationQueue();
  QSignalSpy progress(queue, &GenerationQueue::progress);
  QSignalSpy finished(queue, &GenerationQueue::jobFinished);
  int previewsBeforeFinish = -1;
  QList<QImage> shownPreview;
  connect(queue, &GenerationQueue::progress, this, [&] {
    if (shownPreview.isEmpty()) shownPreview = m_window->previewView()->images();
  });
  connect(queue, &GenerationQueue::jobFinished, this, [&] { previewsBeforeFinish = progress.count(); });
  QString statusWhileLoading;
  connect(queue, &GenerationQueue::loadingModel, this, [&] { statusWhileLoading = m_window->statusText(); });

  QTest::mouseClick(m_window->generateButton(), Qt::LeftButton);
  QVERIFY(m_window->cancelButton()->isEnabled());
  QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, kTimeoutMs);
  QVERIFY(m_window->errorText().isEmpty());
  QVERIFY2(statusWhileLoading.startsWith(QStringLiteral("Loading model tiny-sd")), qPrintable(statusWhileLoading));
  QVERIFY(m_window->statusText().startsWith(QStringLiteral("Done in")));
  QVERIFY2(m_window->statusText().contains(QStringLiteral("normal memory use")), qPrintable(m_window->statusText()));

  // Previews arrived while denoising, one per step, and reached the pane.
  QCOMPARE(previewsBeforeFinish, 8);
  const auto last = progress.last().at(1).value<GenerationProgress>();
  QCOMPARE(last.step, 8);
  QCOMPARE(last.totalSteps, 8);
  QVERIFY(!last.previews.isEmpty());
  QVERIFY(!shownPreview.isEmpty());
  QCOMPARE(m_window->progressBar()->value(), 8);
  QCOMPARE(m_window->progressBar()->maximum(), 8);
  // The finished image replaces the preview.
  const auto output = finished.at(0).at(1).value<GenerationOutput>();
  QCOMPARE(m_window->previewView()->images().size(), 1);
  QCOMPARE(m_window->previewView()->images().first(), output.images.first());
  QTRY_VERIFY(!m_window->cancelButton()->isEnabled());

  // Saved at once, with both text chunks.
  QCOMPARE(m_window->lastSavedPaths().size(), 1);
  const QString saved = m_window->lastSavedPaths().first();
  QCOMPARE(QFileInfo(saved).absolutePath(), QFileInfo(m_out).absoluteFilePath());
  QVERIFY(QImage(saved).size() == QSize(64, 64));
  const auto chunks = latent::image::read_png_text_file(saved.toStdString());
  QStringList keys;
  for (const auto& chunk : chunks) keys << QString::fromStdString(chunk.first);
  QVERIFY(keys.contains(QStringLiteral("parameters")));
  QVERIFY(keys.contains(QStringLiteral("latentstudio")));

  // The gallery picks it up.
  QTRY_VERIFY(m_window->galleryModel()->rowOfPath(QFileInfo(saved).absoluteFilePath()) >= 0);

  // Round trip: scramble the form, then restore from the file.
  const auto before = m_window->formSettings();
  m_window->promptPanel()->setPrompt(QStringLiteral("something else"));
  m_window->promptPanel()->setNegativePrompt(QString());
  m_window->parametersPanel()->stepsSpin()->setValue(30);
  m_window->parametersPanel()->guidanceSpin()->setValue(12);
  m_window->parametersPanel()->seedEdit()->setText(QStringLiteral("1"));
  m_window->parametersPanel()->widthSpin()->setValue(512);
  setSampler(*m_window, QStringLiteral("ddim"));
  m_window->modelPicker()->setModelPath(QStringLiteral("/elsewhere/model.safetensors"));
  QVERIFY(m_window->applyImageSettings(saved));
  const auto after = m_window->formSettings();
  QCOMPARE(after.request.prompt, before.request.prompt);
  QCOMPARE(after.request.negative_prompt, before.request.negative_prompt);
  QCOMPARE(after.request.sampling.steps, 8);
  QCOMPARE(after.request.sampling.guidance_scale, 6.5);
  QCOMPARE(after.request.sampling.seed, uint64_t(4242));
  QCOMPARE(after.request.sampling.sampler, std::string("euler"));
  QCOMPARE(after.request.size.width, 64);
  QCOMPARE(after.request.size.height, 64);
  QCOMPARE(after.model.model_path, latent::test::tinyModelPath().toStdString());
  QVERIFY(after.seedLocked);
}

void TestMainWindow::cancelStopsWithinAStepAndSavesNothing() {
  fillForm(QStringLiteral("a very long run"), 150);
  GenerationQueue* queue = m_window->generationQueue();
  std::atomic<int> workerSteps{0};
  connect(queue->worker(), &latent::ui::GenerationWorker::progress, queue->worker(),
          [&workerSteps](quint64, const GenerationProgress&) { ++workerSteps; }, Qt::DirectConnection);
  QSignalSpy cancelled(queue, &GenerationQueue::jobCancelled);
  QSignalSpy finished(queue, &GenerationQueue::jobFinished);
  int stepsAtCancel = -1;
  connect(queue, &GenerationQueue::progress, this, [&](quint64, const GenerationProgress& p) {
    if (stepsAtCancel >= 0 || p.step < 2) return;
    QTest::mouseClick(m_window->cancelButton(), Qt::LeftButton);
    stepsAtCancel = workerSteps.load();
  });
  QTest::mouseClick(m_window->generateButton(), Qt::LeftButton);
  QTRY_VERIFY_WITH_TIMEOUT(cancelled.count() + finished.count() == 1, kTimeoutMs);
  QCOMPARE(finished.count(), 0);
  QVERIFY(stepsAtCancel >= 2);
  QVERIFY2(workerSteps.load() <= stepsAtCancel + 1,
           qPrintable(QStringLiteral("%1 steps after cancelling at %2").arg(workerSteps.load()).arg(stepsAtCancel)));
  QVERIFY(m_window->statusText().contains(QStringLiteral("Cancelled")));
  QVERIFY(m_window->lastSavedPaths().isEmpty());
  QVERIFY(latent::test::imagesIn(m_out).isEmpty());
  QVERIFY(m_window->errorText().isEmpty());
  QTRY_VERIFY(!m_window->cancelButton()->isEnabled());
}

void TestMainWindow::threeQueuedRequestsRunInOrder() {
  fillForm(QString(), 4);
  GenerationQueue* queue = m_window->generationQueue();
  QSignalSpy finished(queue, &GenerationQueue::jobFinished);
  QSignalSpy loading(queue, &GenerationQueue::loadingModel);
  const QStringList prompts{QStringLiteral("first, a castle"), QStringLiteral("second, a river"),
                            QStringLiteral("third, a forest")};
  for (const QString& prompt : prompts) {
    m_window->promptPanel()->setPrompt(prompt);
    QTest::mouseClick(m_window->generateButton(), Qt::LeftButton);
  }
  QCOMPARE(queue->pendingCount(), 2);
  QVERIFY2(m_window->queueText().contains(QStringLiteral("2")), qPrintable(m_window->queueText()));
  QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 3, kTimeoutMs);
  QStringList savedPrompts;
  for (int i = 0; i < 3; ++i) {
    const auto output = finished.at(i).at(1).value<GenerationOutput>();
    QCOMPARE(QString::fromStdString(output.request.prompt), prompts[i]);
    const auto restored = latent::ui::readImageSettings(output.savedPaths.value(0), {});
    savedPrompts << QString::fromStdString(restored.request.prompt);
  }
  QCOMPARE(savedPrompts, prompts);
  QCOMPARE(loading.count(), 1);  // one model, loaded once
  QTRY_VERIFY(m_window->queueText().isEmpty());
  QCOMPARE(latent::test::imagesIn(m_out).size(), 3);
}

void TestMainWindow::corruptModelShowsErrorThenGoodModelWorks_data() {
  QTest::addColumn<QByteArray>("contents");
  QTest::newRow("garbage") << QByteArray("this is not a checkpoint at all");
  QTest::newRow("header length past the end") << QByteArray("\xff\xff\xff\x00\x00\x00\x00\x00{", 9);
  QTest::newRow("truncated header") << QByteArray("\x40\x00\x00\x00\x00\x00\x00\x00{\"a\": {\"dtype\":", 22);
  QTest::newRow("empty file") << QByteArray();
}

void TestMainWindow::corruptModelShowsErrorThenGoodModelWorks() {
  QFETCH(QByteArray, contents);
  const QString corrupt = m_dir->filePath(QStringLiteral("broken-model.safetensors"));
  QFile file(corrupt);
  QVERIFY(file.open(QIODevice::WriteOnly));
  file.write(contents);
  file.close();

  fillForm(QStringLiteral("a bowl of fruit"), 3);
  m_window->modelPicker()->setModelPath(corrupt);
  GenerationQueue* queue = m_window->generationQueue();
  QSignalSpy failed(queue, &GenerationQueue::jobFailed);
  QSignalSpy finished(queue, &GenerationQueue::jobFinished);
  QTest::mouseClick(m_window->generateButton(), Qt::LeftButton);
  QTRY_COMPARE_WITH_TIMEOUT(failed.count(), 1, kTimeoutMs);
  QVERIFY2(m_window->errorText().contains(QStringLiteral("broken-model.safetensors")), qPrintable(m_window->errorText()));
  QVERIFY(m_window->findChild<QWidget*>(QStringLiteral("errorLabel"))->isVisible());
  QVERIFY(latent::test::imagesIn(m_out).isEmpty());

  m_window->modelPicker()->setModelPath(latent::test::tinyModelPath());
  QTest::mouseClick(m_window->generateButton(), Qt::LeftButton);
  QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, kTimeoutMs);
  QCOMPARE(failed.count(), 1);
  QVERIFY(m_window->errorText().isEmpty());
  QCOMPARE(latent::test::imagesIn(m_out).size(), 1);
}

void TestMainWindow::parametersFromAnotherProgramFillTheForm_data() {
  QTest::addColumn<QString>("text");
  QTest::addColumn<QString>("prompt");
  QTest::addColumn<QString>("negative");
  QTest::addColumn<int>("steps");
  QTest::addColumn<QString>("sampler");
  QTest::addColumn<double>("guidance");
  QTest::addColumn<qulonglong>("seed");
  QTest::addColumn<int>("width");
  QTest::addColumn<int>("height");
  QTest::addColumn<bool>("modelFound");

  QTest::newRow("web UI 1.9, schedule type") << QStringLiteral(
      "masterpiece, a cat wearing a tiny hat, (detailed fur:1.2)\n"
      "Negative prompt: blurry, lowres, bad anatomy\n"
      "Steps: 28, Sampler: DPM++ 2M, Schedule type: Karras, CFG scale: 6.5, Seed: 3141592653, Size: 512x768, "
      "Model hash: 6ce0161689, Model: v1-5-pruned-emaonly, Clip skip: 2, Version: v1.9.4")
      << "masterpiece, a cat wearing a tiny hat, (detailed fur:1.2)" << "blurry, lowres, bad anatomy" << 28
      << "dpmpp_2m_karras" << 6.5 << qulonglong(3141592653) << 512 << 768 << true;
  QTest::newRow("older web UI, Karras in the sampler name") << QStringLiteral(
      "a watercolor of a harbor\nwith boats\n"
      "Steps: 40, Sampler: DPM++ 2M Karras, CFG scale: 9, Seed: 7, Size: 768x512, Model: someothermodel")
      << "a watercolor of a harbor\nwith boats" << "" << 40 << "dpmpp_2m_karras" << 9.0 << qulonglong(7) << 768 << 512
      << false;
  QTest::newRow("Euler a, quoted value") << QStringLiteral(
      "portrait of an astronaut\nNegative prompt: cartoon\n"
      "Steps: 20, Sampler: Euler a, CFG scale: 7.5, Seed: 18446744073709551615, Size: 640x640, "
      "Lora hashes: \"detail: 1a2b3c, style: 4d5e6f\", Version: 1.6.0")
      << "portrait of an astronaut" << "cartoon" << 20 << "euler_a" << 7.5 << qulonglong(18446744073709551615ull)
      << 640 << 640 << false;
}

void TestMainWindow::parametersFromAnotherProgramFillTheForm() {
  QFETCH(QString, text);
  QFETCH(QString, prompt);
  QFETCH(QString, negative);
  QFETCH(int, steps);
  QFETCH(QString, sampler);
  QFETCH(double, guidance);
  QFETCH(qulonglong, seed);
  QFETCH(int, width);
  QFETCH(int, height);
  QFETCH(bool, modelFound);

  const QString knownModel = m_dir->filePath(QStringLiteral("v1-5-pruned-emaonly.safetensors"));
  m_store->addRecentModel(knownModel);
  m_window->modelPicker()->setModelPath(latent::test::tinyModelPath());
  QVERIFY(m_window->applyParametersText(text));
  const auto s = m_window->formSettings();
  QCOMPARE(QString::fromStdString(s.request.prompt), prompt);
  QCOMPARE(QString::fromStdString(s.request.negative_prompt), negative);
  QCOMPARE(s.request.sampling.steps, steps);
  QCOMPARE(QString::fromStdString(s.request.sampling.sampler), sampler);
  QCOMPARE(s.request.sampling.guidance_scale, guidance);
  QCOMPARE(qulonglong(s.request.sampling.seed), seed);
  QCOMPARE(s.request.size.width, width);
  QCOMPARE(s.request.size.height, height);
  // Clip skip is counted as the web UI counts it: "Clip skip: 2" is one layer early, and
  // absent means 1, the last layer.
  QCOMPARE(s.request.sampling.clip_skip, text.contains(QStringLiteral("Clip skip: 2")) ? 2 : 1);
  QCOMPARE(QString::fromStdString(s.model.model_path), modelFound ? knownModel : latent::test::tinyModelPath());
  QVERIFY(s.seedLocked);
}

void TestMainWindow::pngFromAnotherProgramFillsTheForm() {
  // A PNG as the web UI writes it: only a `parameters` tEXt chunk.
  latent::api::Image image;
  image.width = 16;
  image.height = 16;
  image.rgb.assign(16 * 16 * 3, 128);
  const std::string parameters =
      "a snowy mountain village\nNegative prompt: people\n"
      "Steps: 33, Sampler: DDIM, CFG scale: 4.5, Seed: 99, Size: 576x448, Model: whatever";
  const QString path = m_dir->filePath(QStringLiteral("from-webui.png"));
  latent::image::write_file_atomically(path.toStdString(),
                                       latent::image::encode_png(image, {{"parameters", parameters}}));
  QVERIFY(m_window->applyImageSettings(path));
  const auto s = m_window->formSettings();
  QCOMPARE(s.request.prompt, std::string("a snowy mountain village"));
  QCOMPARE(s.request.negative_prompt, std::string("people"));
  QCOMPARE(s.request.sampling.steps, 33);
  QCOMPARE(s.request.sampling.sampler, std::string("ddim"));
  QCOMPARE(s.request.sampling.guidance_scale, 4.5);
  QCOMPARE(s.request.sampling.seed, uint64_t(99));
  QCOMPARE(s.request.size.width, 576);
  QCOMPARE(s.request.size.height, 448);

  // A PNG without any parameters changes nothing.
  const QString plain = m_dir->filePath(QStringLiteral("plain.png"));
  QVERIFY(QImage(8, 8, QImage::Format_RGB888).save(plain));
  QVERIFY(!m_window->applyImageSettings(plain));
  QCOMPARE(m_window->formSettings().request.prompt, std::string("a snowy mountain village"));
}

void TestMainWindow::guiThreadStaysResponsive() {
  fillForm(QStringLiteral("a busy street market"), 40);
  m_window->parametersPanel()->widthSpin()->setValue(128);
  m_window->parametersPanel()->heightSpin()->setValue(128);
  GenerationQueue* queue = m_window->generationQueue();
  QSignalSpy finished(queue, &GenerationQueue::jobFinished);
  QSignalSpy failed(queue, &GenerationQueue::jobFailed);

  constexpr int kTickMs = 10;
  constexpr int kStallShare = 10;  // the longest stall allowed is a tenth of the runs' time
  QElapsedTimer clock;
  qint64 lastTick = 0;
  qint64 worstLateness = 0;
  int ticks = 0;
  QTimer timer;
  timer.setTimerType(Qt::PreciseTimer);
  timer.setInterval(kTickMs);
  connect(&timer, &QTimer::timeout, this, [&] {
    const qint64 now = clock.elapsed();
    worstLateness = std::max(worstLateness, now - lastTick - kTickMs);
    lastTick = now;
    ++ticks;
  });
  clock.start();
  timer.start();
  // Two runs: the first includes loading the model.
  QTest::mouseClick(m_window->generateButton(), Qt::LeftButton);
  QTest::mouseClick(m_window->generateButton(), Qt::LeftButton);
  // The clicks only queue the jobs: neither has run when they return.
  QCOMPARE(finished.count() + failed.count(), 0);
  QTRY_VERIFY_WITH_TIMEOUT(finished.count() + failed.count() == 2, kTimeoutMs);
  const qint64 runsMs = clock.elapsed();
  timer.stop();
  QCOMPARE(failed.count(), 0);
  qInfo("%d ticks over %lld ms, worst lateness %lld ms", ticks, runsMs, worstLateness);
  QVERIFY(ticks > 5);
  // Measured against the work, not a fixed number of milliseconds: a GUI thread that loaded
  // the model or waited for a run would stall for a large share of the runs' time; one that
  // only hands work on stays within a small fraction of it on a fast or a slow machine.
  QVERIFY2(worstLateness * kStallShare < runsMs,
           qPrintable(QStringLiteral("the GUI thread stalled for %1 ms of the runs' %2 ms")
                          .arg(worstLateness)
                          .arg(runsMs)));
}

void TestMainWindow::batchShowsAllItsImages() {
  fillForm(QStringLiteral("two cups of tea"), 3);
  m_window->findChild<QSpinBox*>(QStringLiteral("batchSize"))->setValue(2);
  m_window->findChild<QSpinBox*>(QStringLiteral("batchCount"))->setValue(2);
  GenerationQueue* queue = m_window->generationQueue();
  QSignalSpy finished(queue, &GenerationQueue::jobFinished);
  QSignalSpy progress(queue, &GenerationQueue::progress);
  QTest::mouseClick(m_window->generateButton(), Qt::LeftButton);
  QCOMPARE(queue->pendingCount(), 1);  // batch count 2: two runs
  QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 2, kTimeoutMs);
  QCOMPARE(progress.first().at(1).value<GenerationProgress>().previews.size(), 2);
  QCOMPARE(m_window->previewView()->images().size(), 2);
  QList<uint64_t> seeds;
  for (int run = 0; run < 2; ++run) {
    const auto output = finished.at(run).at(1).value<GenerationOutput>();
    QCOMPARE(output.images.size(), 2);
    QCOMPARE(output.savedPaths.size(), 2);
    for (const QString& path : output.savedPaths) seeds << latent::ui::readImageSettings(path, {}).request.sampling.seed;
  }
  QCOMPARE(seeds, (QList<uint64_t>{4242, 4242, 4243, 4243}));
  QCOMPARE(latent::test::imagesIn(m_out).size(), 4);
}

void TestMainWindow::escapeCancels() {
  fillForm(QStringLiteral("a long night"), 150);
  GenerationQueue* queue = m_window->generationQueue();
  QSignalSpy cancelled(queue, &GenerationQueue::jobCancelled);
  QSignalSpy finished(queue, &GenerationQueue::jobFinished);
  m_window->activateWindow();
  QVERIFY(QTest::qWaitForWindowActive(m_window.get()));
  bool pressed = false;
  connect(queue, &GenerationQueue::progress, this, [&] {
    if (pressed) return;
    pressed = true;
    QTest::keyClick(m_window->previewView(), Qt::Key_Escape);
  });
  QTest::mouseClick(m_window->generateButton(), Qt::LeftButton);
  QTRY_VERIFY_WITH_TIMEOUT(cancelled.count() + finished.count() == 1, kTimeoutMs);
  QCOMPARE(cancelled.count(), 1);
  QVERIFY(latent::test::imagesIn(m_out).isEmpty());
}

void TestMainWindow::ctrlEnterGeneratesAndTokenCounterWarns() {
  fillForm(QStringLiteral("a small boat"), 2);
  auto* prompt = m_window->promptPanel();
  QVERIFY(!prompt->promptCounterText().contains(QStringLiteral("chunks")));
  QStringList words;
  for (int i = 0; i < 90; ++i) words << QStringLiteral("word");
  prompt->setPrompt(words.join(QLatin1Char(' ')));
  QVERIFY2(prompt->promptCounterText().startsWith(QStringLiteral("90/150 tokens: 2 chunks")),
           qPrintable(prompt->promptCounterText()));

  prompt->setPrompt(QStringLiteral("a small boat"));
  QSignalSpy finished(m_window->generationQueue(), &GenerationQueue::jobFinished);
  m_window->activateWindow();
  prompt->promptEdit()->setFocus();
  QTest::keyClick(prompt->promptEdit(), Qt::Key_Return, Qt::ControlModifier);
  QCOMPARE(m_window->generationQueue()->isBusy() || finished.count() == 1, true);
  QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, kTimeoutMs);
  QCOMPARE(prompt->prompt(), QStringLiteral("a small boat"));  // no newline typed
}

QTEST_MAIN(TestMainWindow)
#include "tst_main_window.moc"
