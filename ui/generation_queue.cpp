#include "ui/generation_queue.h"

#include "ui/generation_worker.h"

namespace latent::ui {

GenerationQueue::GenerationQueue(QObject* parent) : QObject(parent), m_worker(new GenerationWorker) {
  qRegisterMetaType<GenerationJob>();
  qRegisterMetaType<GenerationProgress>();
  qRegisterMetaType<GenerationOutput>();
  m_thread.setObjectName(QStringLiteral("GenerationWorker"));
  m_worker->moveToThread(&m_thread);

  connect(m_worker, &GenerationWorker::started, this, [this](quint64 id) {
    if (isCurrent(id)) Q_EMIT jobStarted(id);
  });
  connect(m_worker, &GenerationWorker::loadingModel, this, [this](quint64 id, const QString& path) {
    if (isCurrent(id)) Q_EMIT loadingModel(id, path);
  });
  connect(m_worker, &GenerationWorker::modelLoaded, this, [this](quint64 id, const QString& name) {
    if (isCurrent(id)) Q_EMIT modelLoaded(id, name);
  });
  connect(m_worker, &GenerationWorker::progress, this, [this](quint64 id, const GenerationProgress& p) {
    if (isCurrent(id) && !m_currentCancelled) Q_EMIT progress(id, p);
  });
  connect(m_worker, &GenerationWorker::finished, this, [this](quint64 id, const GenerationOutput& output) {
    Q_EMIT jobFinished(id, output);
    jobEnded(id);
  });
  connect(m_worker, &GenerationWorker::failed, this, [this](quint64 id, const QString& message) {
    Q_EMIT jobFailed(id, message);
    jobEnded(id);
  });
  connect(m_worker, &GenerationWorker::cancelled, this, [this](quint64 id) {
    Q_EMIT jobCancelled(id);
    jobEnded(id);
  });
  m_thread.start();
}

GenerationQueue::~GenerationQueue() {
  cancelAll();
  m_thread.quit();
  m_thread.wait();
  delete m_worker;  // its thread has stopped: no event can reach it any more
}

quint64 GenerationQueue::enqueue(GenerationJob job) {
  job.id = m_nextId++;
  m_pending.enqueue(job);
  Q_EMIT pendingChanged(pendingCount());
  if (!isBusy()) dispatchNext();
  return job.id;
}

void GenerationQueue::cancelAll() {
  if (!m_pending.isEmpty()) {
    m_pending.clear();
    Q_EMIT pendingChanged(0);
  }
  if (isBusy()) {
    m_currentCancelled = true;
    m_worker->cancel(m_current);
  }
}

void GenerationQueue::dispatchNext() {
  if (m_pending.isEmpty()) return;
  const GenerationJob job = m_pending.dequeue();
  const bool wasBusy = isBusy();
  m_current = job.id;
  m_currentCancelled = false;
  Q_EMIT pendingChanged(pendingCount());
  if (!wasBusy) Q_EMIT busyChanged(true);
  GenerationWorker* worker = m_worker;
  QMetaObject::invokeMethod(worker, [worker, job] { worker->run(job); }, Qt::QueuedConnection);
}

void GenerationQueue::jobEnded(quint64 jobId) {
  if (!isCurrent(jobId)) return;
  m_currentCancelled = false;
  if (m_pending.isEmpty()) {
    m_current = 0;
    Q_EMIT busyChanged(false);
  } else {
    dispatchNext();  // stays busy: no idle flicker between queued jobs
  }
}

}  // namespace latent::ui
