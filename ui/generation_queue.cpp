#include "ui/generation_queue.h"

#include "ui/generation_worker.h"
#include "ui/remote_worker.h"

namespace latent::ui {

template <typename Worker>
void GenerationQueue::connectWorker(Worker* worker) {
  connect(worker, &Worker::started, this, [this](quint64 id) {
    if (isCurrent(id)) Q_EMIT jobStarted(id);
  });
  connect(worker, &Worker::progress, this, [this](quint64 id, const GenerationProgress& p) {
    if (isCurrent(id) && !m_currentCancelled) Q_EMIT progress(id, p);
  });
  connect(worker, &Worker::finished, this, [this](quint64 id, const GenerationOutput& output) {
    Q_EMIT jobFinished(id, output);
    jobEnded(id);
  });
  connect(worker, &Worker::failed, this, [this](quint64 id, const QString& message) {
    Q_EMIT jobFailed(id, message);
    jobEnded(id);
  });
  connect(worker, &Worker::cancelled, this, [this](quint64 id) {
    Q_EMIT jobCancelled(id);
    jobEnded(id);
  });
}

GenerationQueue::GenerationQueue(QObject* parent)
    : QObject(parent), m_worker(new GenerationWorker), m_remote(new RemoteWorker) {
  qRegisterMetaType<GenerationJob>();
  qRegisterMetaType<GenerationProgress>();
  qRegisterMetaType<GenerationOutput>();
  m_thread.setObjectName(QStringLiteral("GenerationWorker"));
  m_worker->moveToThread(&m_thread);
  connectWorker(m_worker);
  connect(m_worker, &GenerationWorker::loadingModel, this, [this](quint64 id, const QString& path) {
    if (isCurrent(id)) Q_EMIT loadingModel(id, path);
  });
  connect(m_worker, &GenerationWorker::modelLoaded, this, [this](quint64 id, const QString& name) {
    if (isCurrent(id)) Q_EMIT modelLoaded(id, name);
  });

  // The remote worker's network objects belong to its thread and go with it.
  m_remoteThread.setObjectName(QStringLiteral("RemoteWorker"));
  m_remote->moveToThread(&m_remoteThread);
  connect(&m_remoteThread, &QThread::finished, m_remote, &QObject::deleteLater);
  connectWorker(m_remote);
  connect(m_remote, &RemoteWorker::connectionLost, this, &GenerationQueue::holdAfterLostConnection);
  m_thread.start();
  m_remoteThread.start();
}

GenerationQueue::~GenerationQueue() {
  cancelAll();
  m_thread.quit();
  m_thread.wait();
  delete m_worker;  // its thread has stopped: no event can reach it any more
  m_remoteThread.quit();
  m_remoteThread.wait();  // deletes the remote worker on its way out
}

quint64 GenerationQueue::enqueue(GenerationJob job) {
  job.id = m_nextId++;
  m_pending.enqueue(job);
  m_paused = false;  // a new request tries the server again
  Q_EMIT pendingChanged(pendingCount());
  if (!isBusy()) dispatchNext();
  return job.id;
}

void GenerationQueue::cancelAll() {
  m_paused = false;
  if (!m_pending.isEmpty()) {
    m_pending.clear();
    Q_EMIT pendingChanged(0);
  }
  if (isBusy()) {
    m_currentCancelled = true;
    m_worker->cancel(m_current);
    m_remote->cancel(m_current);
  }
}

void GenerationQueue::resume() {
  m_paused = false;
  if (!isBusy()) dispatchNext();
}

void GenerationQueue::dispatchNext() {
  if (m_pending.isEmpty() || m_paused) return;
  const GenerationJob job = m_pending.dequeue();
  const bool wasBusy = isBusy();
  m_current = job.id;
  m_currentJob = job;
  m_currentCancelled = false;
  Q_EMIT pendingChanged(pendingCount());
  if (!wasBusy) Q_EMIT busyChanged(true);
  if (job.server.given()) {
    RemoteWorker* remote = m_remote;
    QMetaObject::invokeMethod(remote, [remote, job] { remote->run(job); }, Qt::QueuedConnection);
  } else {
    GenerationWorker* worker = m_worker;
    QMetaObject::invokeMethod(worker, [worker, job] { worker->run(job); }, Qt::QueuedConnection);
  }
}

void GenerationQueue::jobEnded(quint64 jobId) {
  if (!isCurrent(jobId)) return;
  m_currentCancelled = false;
  if (m_pending.isEmpty() || m_paused) {
    m_current = 0;
    Q_EMIT busyChanged(false);
  } else {
    dispatchNext();  // stays busy: no idle flicker between queued jobs
  }
}

void GenerationQueue::holdAfterLostConnection(quint64 jobId, const QString& message) {
  if (!isCurrent(jobId)) return;
  if (m_currentCancelled) {  // it was to stop anyway: nothing to keep
    Q_EMIT jobCancelled(jobId);
    return jobEnded(jobId);
  }
  m_pending.prepend(m_currentJob);
  m_paused = true;
  Q_EMIT pendingChanged(pendingCount());
  Q_EMIT connectionLost(jobId, message);
  jobEnded(jobId);
}

}  // namespace latent::ui
