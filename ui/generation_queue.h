#pragma once

// The GUI thread's side of generation: a queue of jobs handed one at a time to the
// GenerationWorker in its own thread, or, for a job that runs on a server, to the
// RemoteWorker in another. Nothing here ever waits on inference or on the network.
//
// When a server goes out of reach, its job goes back to the head of the queue and the queue
// holds (paused): nothing waiting is lost. The next enqueue() or resume() sends again.

#include <QObject>
#include <QQueue>
#include <QThread>

#include "ui/generation_job.h"

namespace latent::ui {

class GenerationWorker;
class RemoteWorker;

class GenerationQueue : public QObject {
  Q_OBJECT

 public:
  explicit GenerationQueue(QObject* parent = nullptr);
  ~GenerationQueue() override;  // cancels everything and joins the worker thread

  // Gives the job a fresh id, queues it and returns the id.
  quint64 enqueue(GenerationJob job);
  // Stops the running job before its next step and drops the waiting ones (a paused queue
  // is emptied and runs again).
  void cancelAll();
  // Sends the waiting jobs again after a server went out of reach.
  void resume();

  int pendingCount() const { return static_cast<int>(m_pending.size()); }
  bool isBusy() const { return m_current != 0; }
  bool isPaused() const { return m_paused; }
  quint64 currentJob() const { return m_current; }
  GenerationWorker* worker() const { return m_worker; }
  RemoteWorker* remoteWorker() const { return m_remote; }

 Q_SIGNALS:
  void jobStarted(quint64 jobId);
  void loadingModel(quint64 jobId, const QString& modelPath);
  void modelLoaded(quint64 jobId, const QString& modelName);
  // Only for the running job, and not after it was cancelled: stale previews are dropped.
  void progress(quint64 jobId, const latent::ui::GenerationProgress& progress);
  void jobFinished(quint64 jobId, const latent::ui::GenerationOutput& output);
  void jobFailed(quint64 jobId, const QString& message);
  void jobCancelled(quint64 jobId);
  void pendingChanged(int pending);
  void busyChanged(bool busy);
  // The server of job `jobId` is out of reach: the job waits again at the head of the queue,
  // which holds until resume() or the next enqueue().
  void connectionLost(quint64 jobId, const QString& message);

 private:
  template <typename Worker>
  void connectWorker(Worker* worker);
  void dispatchNext();
  void jobEnded(quint64 jobId);
  void holdAfterLostConnection(quint64 jobId, const QString& message);
  bool isCurrent(quint64 jobId) const { return jobId != 0 && jobId == m_current; }

  QThread m_thread;
  GenerationWorker* m_worker = nullptr;
  QThread m_remoteThread;
  RemoteWorker* m_remote = nullptr;
  QQueue<GenerationJob> m_pending;
  GenerationJob m_currentJob;  // kept to be queued again when its server goes out of reach
  quint64 m_nextId = 1;
  quint64 m_current = 0;
  bool m_currentCancelled = false;
  bool m_paused = false;
};

}  // namespace latent::ui
