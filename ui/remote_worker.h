#pragma once

// The GenerationWorker's twin for jobs that run on a Latent Studio server
// (`latentstudio-cli serve`): it posts the request to the web UI's /sdapi/v1/txt2img or
// img2img, polls /sdapi/v1/progress every kPollMs for the step and the preview, asks
// /sdapi/v1/interrupt to cancel, and saves the pictures the server sends (PNGs with their
// parameters inside) into the output folder as they came. Everything is asynchronous Qt
// Network in the worker's own thread; it reports with the same signals as GenerationWorker.
//
// When the server cannot be reached or stops answering, or answers 503 (its queue is full,
// or it is shutting down), the job is not failed but handed back with connectionLost(): the
// queue keeps it and waits.

#include <QElapsedTimer>
#include <QObject>
#include <QPointer>
#include <QString>

#include <atomic>

#include "ui/generation_job.h"

class QNetworkAccessManager;
class QNetworkReply;
class QNetworkRequest;
class QTimer;

namespace latent::ui {

class RemoteWorker : public QObject {
  Q_OBJECT

 public:
  explicit RemoteWorker(QObject* parent = nullptr);
  ~RemoteWorker() override;

  // Thread-safe and prompt (the worker's thread never blocks): stops job `jobId`, and any
  // earlier one, by asking the server to interrupt it.
  void cancel(quint64 jobId);

  static constexpr int kPollMs = 250;
  // Progress polls that may fail in a row (about five seconds) before the server counts as
  // gone even though the generation's own connection has not noticed yet.
  static constexpr int kFailedPollsAllowed = 20;

 public Q_SLOTS:
  void run(const latent::ui::GenerationJob& job);

 Q_SIGNALS:
  void started(quint64 jobId);
  void progress(quint64 jobId, const latent::ui::GenerationProgress& progress);
  void finished(quint64 jobId, const latent::ui::GenerationOutput& output);
  void cancelled(quint64 jobId);
  void failed(quint64 jobId, const QString& message);
  // The server is out of reach: the job did not run (or did not finish) and may be sent again.
  void connectionLost(quint64 jobId, const QString& message);

 private:
  QNetworkRequest requestFor(const QString& path) const;
  void sendInterrupt();
  void poll();
  void pollDone(QNetworkReply* reply);
  void generationDone(QNetworkReply* reply);
  void saveResult(const QByteArray& body);
  void end();  // the job is over: stop polling, forget it

  QNetworkAccessManager* m_network = nullptr;  // made in the worker's thread, on first use
  QTimer* m_pollTimer = nullptr;
  GenerationJob m_job;
  bool m_running = false;
  bool m_interruptSent = false;
  QPointer<QNetworkReply> m_generation;
  QPointer<QNetworkReply> m_poll;
  int m_failedPolls = 0;
  QString m_pollError;
  QElapsedTimer m_clock;
  std::atomic<quint64> m_cancelThrough{0};
};

}  // namespace latent::ui
