#include "ui/generation_worker.h"

#include <QElapsedTimer>
#include <QFileInfo>

#include <exception>
#include <new>

#include "core/pipeline/engine.h"
#include "core/pipeline/picture_upscaler.h"
#include "core/util/error.h"
#include "ui/image_conversion.h"
#include "ui/image_saver.h"

namespace latent::ui {
namespace {

// LibTorch's messages carry a C++ backtrace after the useful first part.
QString errorMessage(const std::exception& error) {
  QString text = QString::fromUtf8(error.what());
  const int trace = text.indexOf(QStringLiteral("Exception raised from"));
  if (trace > 0) text.truncate(trace);
  return text.trimmed();
}

GenerationProgress toProgress(const api::StepProgress& step) {
  GenerationProgress out;
  out.step = step.step;
  out.totalSteps = step.total_steps;
  out.secondsElapsed = step.seconds_elapsed;
  out.secondsPerStep = step.seconds_per_step;
  out.secondsLeft = step.seconds_left;
  out.previewsAreVaeDecodes = step.previews_are_vae_decodes;
  for (const api::Image& image : step.previews) out.previews.append(toQImage(image));
  return out;
}

}  // namespace

GenerationWorker::GenerationWorker(QObject* parent) : QObject(parent) {}

GenerationWorker::~GenerationWorker() = default;

void GenerationWorker::cancel(quint64 jobId) {
  quint64 through = m_cancelThrough.load();
  while (through < jobId && !m_cancelThrough.compare_exchange_weak(through, jobId)) {
  }
  const quint64 running = m_runningJob.load();
  if (running != 0 && running <= jobId) m_cancel.store(true);
}

void GenerationWorker::run(const GenerationJob& job) {
  m_cancel.store(false);
  m_runningJob.store(job.id);
  if (m_cancelThrough.load() >= job.id) m_cancel.store(true);  // cancelled before it began
  Q_EMIT started(job.id);
  try {
    if (m_cancel.load()) throw Cancelled();
    if (job.upscale.given()) upscale(job);
    else generate(job);
  } catch (const Cancelled&) {
    Q_EMIT cancelled(job.id);
  } catch (const std::bad_alloc&) {
    Q_EMIT failed(job.id, tr("Out of memory. Try a smaller size, a smaller batch or a lower precision."));
  } catch (const std::exception& error) {
    const QString message = errorMessage(error);
    Q_EMIT failed(job.id, message.isEmpty() ? tr("Generation failed.") : message);
  } catch (...) {
    Q_EMIT failed(job.id, tr("Generation failed with an unknown error."));
  }
  m_runningJob.store(0);
}

void GenerationWorker::generate(const GenerationJob& job) {
  if (job.model.model_path.empty())
    throw Error("no model chosen: pick a diffusers folder or a .safetensors checkpoint");
  if (!m_engine) m_engine = std::make_unique<pipeline::Engine>();
  if (!m_engine->is_loaded() || m_engine->load_options() != job.model) {
    Q_EMIT loadingModel(job.id, QString::fromStdString(job.model.model_path));
    m_engine->load(job.model);
    Q_EMIT modelLoaded(job.id, QString::fromStdString(m_engine->model_name()));
  }
  if (m_cancel.load()) throw Cancelled();

  const quint64 id = job.id;
  const auto onStep = [this, id](const api::StepProgress& step) { Q_EMIT progress(id, toProgress(step)); };
  const api::GenerationResult result = m_engine->generate(job.request, onStep, &m_cancel);

  GenerationOutput output;
  output.request = result.request;
  output.modelName = QString::fromStdString(result.model_name);
  output.initImageHash = QString::fromStdString(result.init_image_hash);
  output.maskHash = QString::fromStdString(result.mask_hash);
  output.secondsTotal = result.seconds_total;
  output.secondsInPreviews = result.seconds_in_previews;
  output.loras = result.loras;
  output.memoryMode = QString::fromStdString(result.memory_mode);
  for (const std::string& warning : result.warnings) output.warnings.append(QString::fromStdString(warning));
  for (const api::Image& image : result.images) output.images.append(toQImage(image));
  if (!job.outputDir.isEmpty()) {
    try {
      for (int i = 0; i < static_cast<int>(result.images.size()); ++i)
        output.savedPaths.append(saveResultImage(job.outputDir, result, i, job.model));
    } catch (const std::exception& error) {
      output.saveError = errorMessage(error);
      // Nothing half-written stays behind (files are written whole, then renamed); the
      // images stay in memory, encoded with their metadata, to be saved elsewhere.
      for (int i = 0; i < static_cast<int>(result.images.size()); ++i)
        output.unsavedPng.append(encodedResultImage(result, i, job.model));
    }
  }
  Q_EMIT finished(job.id, output);
}

void GenerationWorker::upscale(const GenerationJob& job) {
  if (!m_upscaler) m_upscaler = std::make_unique<pipeline::PictureUpscaler>();
  const UpscaleJob& u = job.upscale;
  pipeline::PictureUpscale work;
  work.input = u.sourcePath.toStdString();
  work.upscaler = u.upscaler.toStdString();
  work.scale = u.scale;
  work.device = job.model.device;
  work.output = upscaledImagePath(u.sourcePath, u.upscaler, u.scale).toStdString();
  QElapsedTimer clock;
  clock.start();
  const quint64 id = job.id;
  const auto onTile = [this, id, &clock](int done, int total) {
    GenerationProgress p;
    p.step = done;
    p.totalSteps = total;
    p.tiles = true;
    p.secondsElapsed = clock.elapsed() / 1000.0;
    p.secondsPerStep = p.secondsElapsed / done;
    p.secondsLeft = p.secondsPerStep * (total - done);
    Q_EMIT progress(id, p);
  };
  const api::Image picture = m_upscaler->upscale_file(work, onTile, &m_cancel);

  GenerationOutput output;
  output.images.append(toQImage(picture));
  output.savedPaths.append(QString::fromStdString(work.output));
  output.secondsTotal = clock.elapsed() / 1000.0;
  Q_EMIT finished(job.id, output);
}

}  // namespace latent::ui
