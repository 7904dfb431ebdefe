// "Run on: a Latent Studio server", without a window where none is needed: the real server
// (`latentstudio-cli serve` on a free loopback port with the tiny model) runs the GUI's jobs
// through the same queue as this computer's engine. The same request gives the same pixels;
// previews arrive from /progress and cancel interrupts; a server that goes away mid-run
// leaves the job waiting in the queue, which goes on once a server answers again; the
// server's models and LoRAs are listed; credentials are sent and kept scrambled.
#include <QComboBox>
#include <QDir>
#include <QFile>
#include <QImage>
#include <QLineEdit>
#include <QPushButton>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QtTest/QtTest>

#include <signal.h>

#include <memory>

#include "core/image/png_metadata.h"
#include "core/util/threads.h"
#include "tests/server/server_process.h"
#include "ui/generation_queue.h"
#include "ui/lora_panel.h"
#include "ui/main_window.h"
#include "ui/remote_worker.h"
#include "ui/run_on_panel.h"
#include "ui/settings_store.h"
#include "ui_test_support.h"

using namespace latent;
using ui::GenerationJob;
using ui::GenerationOutput;
using ui::GenerationQueue;

namespace {

QString urlOf(const test::ServerProcess& server) { return QStringLiteral("http://127.0.0.1:%1").arg(server.port()); }

GenerationJob remoteJob(const test::ServerProcess& server, const api::GenerationRequest& request, const QString& dir) {
  GenerationJob job;
  job.request = request;
  job.outputDir = dir;
  job.server.url = urlOf(server);
  return job;
}

QByteArray rgbBytes(const QString& path) {
  const QImage image = QImage(path).convertToFormat(QImage::Format_RGB888);
  QByteArray bytes;
  for (int y = 0; y < image.height(); ++y)
    bytes.append(reinterpret_cast<const char*>(image.constScanLine(y)), image.width() * 3);
  return bytes;
}

std::string parametersOf(const QString& path) {
  for (const auto& [key, text] : image::read_png_text_file(path.toStdString()))
    if (key == "parameters") return text;
  return {};
}

}  // namespace

class TestRemoteBackend : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void initTestCase() {
    QStandardPaths::setTestModeEnabled(true);
    QVERIFY(m_dir.isValid());
    // One intra-op thread here and there: the order of float sums follows the thread count,
    // and "the same pixels" means the same engine with the same settings.
    util::set_thread_count(1);
    m_server = std::make_unique<test::ServerProcess>(QStringList{"--lora-dir", LATENT_TEST_DATA "/lora", "--threads", "1"});
    QVERIFY2(m_server->port() > 0, qPrintable(m_server->error()));
  }

  void sameRequestGivesTheSamePixelsAsThisComputer() {
    GenerationQueue queue;
    QSignalSpy finished(&queue, &GenerationQueue::jobFinished);
    QSignalSpy failed(&queue, &GenerationQueue::jobFailed);
    const api::GenerationRequest request = test::quickRequest("a red apple on a table", 6);
    GenerationJob local;
    local.model = test::tinyModel();
    local.request = request;
    local.outputDir = m_dir.filePath("local");
    queue.enqueue(local);
    QVERIFY(finished.wait(120000));
    queue.enqueue(remoteJob(*m_server, request, m_dir.filePath("remote")));
    QVERIFY(finished.wait(120000));
    QCOMPARE(failed.count(), 0);

    const QString here = finished.at(0).at(1).value<GenerationOutput>().savedPaths.value(0);
    const auto remote = finished.at(1).at(1).value<GenerationOutput>();
    QCOMPARE(remote.savedPaths.size(), 1);
    const QString there = remote.savedPaths.first();
    QCOMPARE(QFileInfo(there).absolutePath(), m_dir.filePath("remote"));
    QCOMPARE(QImage(there).size(), QSize(64, 64));
    QCOMPARE(rgbBytes(there), rgbBytes(here));
    QCOMPARE(remote.images.first().size(), QSize(64, 64));
    QCOMPARE(remote.modelName, QString("tiny-sd"));
    // The server's file as it came, with the parameters a local run writes.
    QCOMPARE(parametersOf(there), parametersOf(here));
    QVERIFY(parametersOf(there).find("Seed: 1234") != std::string::npos);
  }

  void previewsArriveAndCancelInterrupts() {
    GenerationQueue queue;
    QSignalSpy progress(&queue, &GenerationQueue::progress);
    QSignalSpy cancelled(&queue, &GenerationQueue::jobCancelled);
    QSignalSpy finished(&queue, &GenerationQueue::jobFinished);
    const QString dir = m_dir.filePath("cancelled");
    queue.enqueue(remoteJob(*m_server, test::quickRequest("a long one", 150), dir));
    QVERIFY(QTest::qWaitFor([&] {
      return !progress.isEmpty() && !progress.last().at(1).value<ui::GenerationProgress>().previews.isEmpty();
    }, 120000));
    const auto p = progress.last().at(1).value<ui::GenerationProgress>();
    QCOMPARE(p.totalSteps, 150);
    QVERIFY(p.step >= 1 && p.step <= 150);
    // The server's cheap preview: the latents' approximation, one pixel per latent cell.
    QCOMPARE(p.previews.first().size(), QSize(8, 8));
    queue.cancelAll();
    QVERIFY(cancelled.wait(60000));
    QCOMPARE(finished.count(), 0);
    QVERIFY(test::imagesIn(dir).isEmpty());
    // The server goes on serving.
    queue.enqueue(remoteJob(*m_server, test::quickRequest("after", 2), dir));
    QVERIFY(finished.wait(120000));
    QCOMPARE(test::imagesIn(dir).size(), 1);
  }

  void queueSurvivesAServerThatGoesAway() {
    auto server = std::make_unique<test::ServerProcess>();
    QVERIFY2(server->port() > 0, qPrintable(server->error()));
    const int port = server->port();
    const QString dir = m_dir.filePath("survivors");
    GenerationQueue queue;
    QSignalSpy progress(&queue, &GenerationQueue::progress);
    QSignalSpy lost(&queue, &GenerationQueue::connectionLost);
    QSignalSpy failed(&queue, &GenerationQueue::jobFailed);
    QSignalSpy finished(&queue, &GenerationQueue::jobFinished);
    const quint64 first = queue.enqueue(remoteJob(*server, test::quickRequest("the first", 150), dir));
    queue.enqueue(remoteJob(*server, test::quickRequest("the second", 3), dir));
    QVERIFY(progress.wait(120000));
    ::kill(static_cast<pid_t>(server->pid()), SIGKILL);  // gone mid-run, without a word

    QVERIFY(lost.wait(60000));
    QCOMPARE(lost.first().at(0).toULongLong(), first);
    const QString message = lost.first().at(1).toString();
    QVERIFY2(message.contains(QString("127.0.0.1:%1").arg(port)), qPrintable(message));
    QCOMPARE(failed.count(), 0);
    QVERIFY(queue.isPaused());
    QVERIFY(!queue.isBusy());
    QCOMPARE(queue.pendingCount(), 2);  // the interrupted job first, then the one behind it
    QTest::qWait(3 * ui::RemoteWorker::kPollMs);
    QCOMPARE(queue.pendingCount(), 2);  // held: nothing is sent while the server is away
    server.reset();

    // A server on the same address again: both jobs run once the queue is resumed.
    test::ServerProcess again({"--port", QString::number(port)});
    QCOMPARE(again.port(), port);
    queue.resume();
    QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 2, 240000);
    QCOMPARE(failed.count(), 0);
    QCOMPARE(test::imagesIn(dir).size(), 2);
    QVERIFY(!queue.isPaused());
  }

  void windowListsTheServersModelsAndLoras() {
    QTemporaryDir dir;
    ui::SettingsStore store(dir.filePath("settings.ini"));
    ui::MainWindow window(&store);
    ui::RunOnPanel* runOn = window.runOnPanel();
    QSignalSpy connected(runOn, &ui::RunOnPanel::connected);
    QSignalSpy connectFailed(runOn, &ui::RunOnPanel::connectFailed);
    ui::RemoteServer server;
    server.url = urlOf(*m_server);
    runOn->setServer(server, true);
    runOn->connectToServer();
    QVERIFY(connected.wait(30000));
    QCOMPARE(runOn->serverModels(), QStringList{"tiny-sd"});
    const QStringList loras = QDir(LATENT_TEST_DATA "/lora").entryList({"*.safetensors"}, QDir::Files, QDir::Name);
    QCOMPARE(runOn->serverLoras().size(), loras.size());
    QVERIFY(runOn->serverLoras().contains("tiny-sd-lora-kohya"));
    ui::LoraPanel* panel = window.loraPanel();
    QVERIFY(panel->showsServerLoras());
    QCOMPARE(panel->count(), loras.size());
    // Generate runs there: the job carries the server.
    QCOMPARE(window.formSettings().server.url, server.url);
    QVERIFY(window.formSettings().runOnServer);
    // Back to this computer: the local LoRA folder again.
    runOn->targetCombo()->setCurrentIndex(0);
    QVERIFY(!panel->showsServerLoras());

    // No server there, or no address at all: said so.
    server.url = "http://127.0.0.1:1";
    runOn->setServer(server, true);
    runOn->connectToServer();
    QVERIFY(connectFailed.wait(30000));
    QVERIFY2(connectFailed.last().at(0).toString().contains("127.0.0.1:1"), qPrintable(connectFailed.last().at(0).toString()));
    server.url = "my gpu box";
    runOn->setServer(server, true);
    runOn->connectToServer();
    QVERIFY(connectFailed.last().at(0).toString().contains("http://HOST:PORT"));
  }

  void windowReportsAnUnreachableServerAndKeepsTheJob() {
    QTemporaryDir dir;
    ui::SettingsStore store(dir.filePath("settings.ini"));
    store.setOutputDir(dir.filePath("out"));
    ui::MainWindow window(&store);
    ui::RemoteServer nowhere;
    nowhere.url = "http://127.0.0.1:1";  // nothing listens there
    QSignalSpy catalogFailed(window.runOnPanel(), &ui::RunOnPanel::connectFailed);
    window.runOnPanel()->setServer(nowhere, true);  // tries to read its lists at once
    QVERIFY(catalogFailed.wait(30000));
    GenerationQueue* queue = window.generationQueue();
    QSignalSpy lost(queue, &GenerationQueue::connectionLost);
    window.generate();
    QVERIFY(lost.wait(60000));
    QVERIFY2(window.statusText().contains("Lost the connection to http://127.0.0.1:1"), qPrintable(window.statusText()));
    QVERIFY2(window.errorText().contains("waits in the queue"), qPrintable(window.errorText()));
    QVERIFY2(window.queueText().contains("held"), qPrintable(window.queueText()));
    QCOMPARE(queue->pendingCount(), 1);
    QVERIFY(window.cancelButton()->isEnabled());
    window.cancel();  // drops the held job
    QCOMPARE(queue->pendingCount(), 0);
    QVERIFY(!queue->isPaused());
    QVERIFY(!window.cancelButton()->isEnabled());
    QVERIFY(test::imagesIn(dir.filePath("out")).isEmpty());
  }

  void credentialsAreSentAndKeptScrambled() {
    test::ServerProcess locked({"--api-auth", "ann:s3cret word"});
    QVERIFY2(locked.port() > 0, qPrintable(locked.error()));
    ui::RunOnPanel panel;
    QSignalSpy connected(&panel, &ui::RunOnPanel::connected);
    QSignalSpy connectFailed(&panel, &ui::RunOnPanel::connectFailed);
    ui::RemoteServer server{urlOf(locked), "ann", "wrong", ""};
    panel.setServer(server, true);
    panel.connectToServer();
    QVERIFY(connectFailed.wait(30000));
    QVERIFY2(connectFailed.last().at(0).toString().contains("user name and password"),
             qPrintable(connectFailed.last().at(0).toString()));
    server.password = "s3cret word";
    panel.setServer(server, true);
    panel.connectToServer();
    QVERIFY(connected.wait(30000));

    // A job with the wrong password is refused with the server's words, not held.
    GenerationQueue queue;
    QSignalSpy failed(&queue, &GenerationQueue::jobFailed);
    QSignalSpy finished(&queue, &GenerationQueue::jobFinished);
    GenerationJob job = remoteJob(locked, test::quickRequest("locked", 2), m_dir.filePath("locked"));
    job.server.user = "ann";
    job.server.password = "wrong";
    queue.enqueue(job);
    QVERIFY(failed.wait(60000));
    QVERIFY(failed.first().at(1).toString().contains("user name and password"));
    QVERIFY(!queue.isPaused());
    job.server.password = "s3cret word";
    queue.enqueue(job);
    QVERIFY(finished.wait(120000));

    // The settings keep the password scrambled, and give it back.
    QTemporaryDir dir;
    const QString ini = dir.filePath("settings.ini");
    {
      ui::SettingsStore store(ini);
      ui::GenerationSettings settings;
      settings.server = job.server;
      settings.runOnServer = true;
      store.setGeneration(settings);
      store.sync();
    }
    QFile file(ini);
    QVERIFY(file.open(QIODevice::ReadOnly));
    const QByteArray text = file.readAll();
    QVERIFY(text.contains(urlOf(locked).toUtf8()));
    QVERIFY(!text.contains("s3cret"));
    const ui::GenerationSettings back = ui::SettingsStore(ini).generation();
    QCOMPARE(back.server.password, QString("s3cret word"));
    QCOMPARE(back.server.user, QString("ann"));
    QVERIFY(back.runOnServer);
  }

 private:
  QTemporaryDir m_dir;
  std::unique_ptr<test::ServerProcess> m_server;
};

QTEST_MAIN(TestRemoteBackend)
#include "tst_remote_backend.moc"
