#include "ui/xyz_plot_run.h"

#include <QDir>

#include <exception>

#include "core/util/error.h"
#include "ui/generation_queue.h"
#include "ui/image_conversion.h"
#include "ui/image_saver.h"

namespace latent::ui {
namespace {

// "<number>-<seed>-grid.png": numbered on with the pictures, so the gallery sorts it after them.
QString gridPath(const QString& dir, uint64_t seed) {
  QString path = uniqueImagePath(dir, seed);
  path.chop(4);  // ".png"
  return path + QStringLiteral("-grid.png");
}

// The metadata a finished job's picture was saved with, read back from its file (or, when
// saving failed, from the PNG kept in memory).
image::TextChunks savedMetadata(const GenerationOutput& output) {
  if (!output.savedPaths.isEmpty()) return image::read_png_text_file(output.savedPaths.first().toStdString());
  if (output.unsavedPng.isEmpty()) return {};
  const QByteArray& png = output.unsavedPng.first();
  return image::read_png_text(std::vector<unsigned char>(png.begin(), png.end()));
}

}  // namespace

XyzPlotRun::XyzPlotRun(GenerationQueue* queue, pipeline::XyzPlan plan, GenerationJob base, XyzPlotOptions options,
                       QObject* parent)
    : QObject(parent),
      m_queue(queue),
      m_plan(std::move(plan)),
      m_base(std::move(base)),
      m_options(std::move(options)),
      m_pictures(static_cast<std::size_t>(m_plan.cell_count())),
      m_metadata(m_pictures.size()) {}

XyzPlotRun::~XyzPlotRun() = default;

void XyzPlotRun::start() {
  if (m_started) return;
  m_started = true;
  QString dir = m_options.outputDir;
  if (!m_options.keepImages) {
    m_scratch = std::make_unique<QTemporaryDir>();
    dir = m_scratch->path();
  }
  connect(m_queue, &GenerationQueue::jobFinished, this, [this](quint64 id, const GenerationOutput& output) {
    if (!m_cellOfJob.contains(id)) return;
    const auto picture = output.images.isEmpty() ? nullptr : toApiImage(output.images.first());
    jobEnded(id, picture.get(), savedMetadata(output));
  });
  connect(m_queue, &GenerationQueue::jobFailed, this, [this](quint64 id, const QString&) {
    if (m_cellOfJob.contains(id)) jobEnded(id, nullptr, {});
  });
  connect(m_queue, &GenerationQueue::jobCancelled, this, [this](quint64 id) {
    if (m_cellOfJob.contains(id)) stop();
  });
  // Cancel drops the waiting jobs without a signal for each: a queue left with nothing to do
  // while some of ours never ended means they were dropped.
  const auto checkDropped = [this] {
    if (!m_ended && !m_cellOfJob.isEmpty() && !m_queue->isBusy() && m_queue->pendingCount() == 0) stop();
  };
  connect(m_queue, &GenerationQueue::busyChanged, this, checkDropped);
  connect(m_queue, &GenerationQueue::pendingChanged, this, checkDropped);
  for (const pipeline::XyzCell& cell : m_plan.cells_in_run_order()) {
    GenerationJob job = m_base;
    job.model.model_path = cell.model_path;
    job.request = cell.request;
    job.outputDir = dir;
    const quint64 id = m_queue->enqueue(job);
    m_cellOfJob.insert(id, m_plan.grid_index(cell.x, cell.y, cell.z));
  }
}

void XyzPlotRun::jobEnded(quint64 jobId, const api::Image* picture, const image::TextChunks& metadata) {
  const auto index = static_cast<std::size_t>(m_cellOfJob.take(jobId));
  if (picture) m_pictures[index] = *picture;
  else ++m_failed;  // a black cell
  m_metadata[index] = metadata;
  ++m_done;
  Q_EMIT progressed(m_done, total());
  if (m_done == total()) assemble();
}

void XyzPlotRun::stop() {
  m_ended = true;
  m_cellOfJob.clear();
  m_queue->disconnect(this);
  m_scratch.reset();
  Q_EMIT cancelled();
}

void XyzPlotRun::assemble() {
  m_ended = true;
  m_queue->disconnect(this);
  if (m_failed == total()) {
    m_scratch.reset();
    Q_EMIT failed(tr("None of the plot's %n pictures could be made.", nullptr, total()));
    return;
  }
  const auto titles = [this](const pipeline::Axis& axis) {
    return m_options.legend ? m_plan.labels(axis) : std::vector<std::string>{};
  };
  QStringList paths;
  QImage first;
  try {
    const std::vector<api::Image> grids =
        image::xyz_grids(m_pictures, titles(m_plan.x), titles(m_plan.y), titles(m_plan.z), m_plan.x.size(),
                         m_plan.y.size(), m_plan.z.size(), m_options.zLayout);
    if (!QDir().mkpath(m_options.outputDir))
      throw Error("cannot create the output folder '" + m_options.outputDir.toStdString() + "'");
    for (std::size_t g = 0; g < grids.size(); ++g) {
      const auto firstCell = static_cast<std::size_t>(m_plan.grid_index(0, 0, static_cast<int>(g)));
      const QString path = gridPath(m_options.outputDir, m_plan.cell(0, 0, static_cast<int>(g)).request.sampling.seed);
      image::write_file_atomically(path.toStdString(),
                                   image::encode_png(grids[g], pipeline::xyz_grid_metadata(m_metadata[firstCell], m_plan)));
      paths << path;
    }
    first = toQImage(grids.front());
  } catch (const std::exception& error) {
    m_scratch.reset();
    Q_EMIT failed(tr("The grid was not saved: %1").arg(QString::fromUtf8(error.what())));
    return;
  }
  m_scratch.reset();
  Q_EMIT finished(paths, first, m_failed);
}

}  // namespace latent::ui
