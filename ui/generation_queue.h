#pragma once

// The GUI thread's side of generation: a queue of jobs handed one at a time to the
// GenerationWorker in its own thread. Nothing here ever waits on inference.

#include <QObject>
#include <QQueue>
#include <QThread>

#include "ui/generation_job.h"

namespace latent::ui {

class GenerationWorker;

class GenerationQueue : public QObject {
  Q_OBJECT

 public:
  explicit GenerationQueue(QObject* parent = nullptr);
  ~GenerationQueue() override;  // cancels everything and joins the worker thread

  // Gives the job a fresh id, queues it and returns the id.
  quint64 enqueue(GenerationJob job);
  // Stops the running job before its next step and drops the waiting ones.
  void cancelAll();

  int pendingCount() const { return static_cast<int>(m_pending.size()); }
  bool isBusy() const { return m_current != 0; }
  quint64 currentJob() const { return m_current; }
  GenerationWorker* worker() const { return m_worker; }

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

 private:
  void dispatchNext();
  void jobEnded(quint64 jobId);
  bool isCurrent(quint64 jobId) const { return jobId != 0 && jobId == m_current; }

  QThread m_thread;
  GenerationWorker* m_worker = nullptr;
  QQueue<GenerationJob> m_pending;
  quint64 m_nextId = 1;
  quint64 m_current = 0;
  bool m_currentCancelled = false;
};

}  // namespace latent::ui
