#pragma once

// The one object that owns the engine. It lives in its own QThread and is driven by
// queued calls of run(); everything it reports goes out as queued signals tagged
// with the job id. Exceptions never leave it: they become failed(jobId, message).

#include <QObject>
#include <QString>

#include <atomic>
#include <memory>

#include "ui/generation_job.h"

namespace latent::pipeline {
class Engine;
class PictureUpscaler;
}

namespace latent::ui {

class GenerationWorker : public QObject {
  Q_OBJECT

 public:
  explicit GenerationWorker(QObject* parent = nullptr);
  ~GenerationWorker() override;

  // Thread-safe and immediate (it writes an atomic; a queued slot would wait behind
  // the running job): stops job `jobId`, and any earlier one, before its next step.
  void cancel(quint64 jobId);

 public Q_SLOTS:
  void run(const latent::ui::GenerationJob& job);

 Q_SIGNALS:
  void started(quint64 jobId);
  void loadingModel(quint64 jobId, const QString& modelPath);
  void modelLoaded(quint64 jobId, const QString& modelName);
  void progress(quint64 jobId, const latent::ui::GenerationProgress& progress);
  void finished(quint64 jobId, const latent::ui::GenerationOutput& output);
  void cancelled(quint64 jobId);
  void failed(quint64 jobId, const QString& message);

 private:
  void generate(const GenerationJob& job);
  void upscale(const GenerationJob& job);

  std::unique_ptr<pipeline::Engine> m_engine;
  std::unique_ptr<pipeline::PictureUpscaler> m_upscaler;  // keeps the last network loaded
  std::atomic<bool> m_cancel{false};
  std::atomic<quint64> m_runningJob{0};
  std::atomic<quint64> m_cancelThrough{0};
};

}  // namespace latent::ui
