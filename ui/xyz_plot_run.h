#pragma once

// One X/Y/Z plot going through the generation queue: every combination of the plan becomes
// an ordinary job (saved with its own metadata, into the output folder or, when the pictures
// are not kept, a temporary one), and when the last has ended the labelled grid is assembled
// and saved into the output folder with the first picture's parameters and the plot's fields.
// A failed picture leaves a black cell, as in the web UI; the queue's Cancel ends the plot.

#include <QHash>
#include <QImage>
#include <QObject>
#include <QStringList>
#include <QTemporaryDir>

#include <memory>
#include <vector>

#include "core/api/image.h"
#include "core/image/grid_image.h"
#include "core/image/png_metadata.h"
#include "core/pipeline/xyz_plan.h"
#include "ui/generation_job.h"

namespace latent::ui {

class GenerationQueue;

struct XyzPlotOptions {
  QString outputDir;        // where the grid (and the kept pictures) are saved
  bool keepImages = true;   // each picture saved in the output folder too
  bool legend = true;       // axis titles around the grid
  image::ZLayout zLayout = image::ZLayout::side_by_side;
};

class XyzPlotRun : public QObject {
  Q_OBJECT

 public:
  // `base`: the job every combination starts from (model, device, server); the plan's cells
  // give each its request and model.
  XyzPlotRun(GenerationQueue* queue, pipeline::XyzPlan plan, GenerationJob base, XyzPlotOptions options,
             QObject* parent = nullptr);
  ~XyzPlotRun() override;

  // Queues every combination, in the plan's run order.
  void start();

  int total() const { return static_cast<int>(m_pictures.size()); }
  int done() const { return m_done; }
  bool isRunning() const { return m_started && !m_ended; }
  const pipeline::XyzPlan& plan() const { return m_plan; }

 Q_SIGNALS:
  void progressed(int done, int total);
  // The grid is saved: its files (one, or one per Z value) and the first as a picture.
  void finished(const QStringList& gridPaths, const QImage& grid, int failedPictures);
  void failed(const QString& message);  // nothing came out, or the grid could not be saved
  void cancelled();

 private:
  void jobEnded(quint64 jobId, const api::Image* picture, const image::TextChunks& metadata);
  void stop();
  void assemble();

  GenerationQueue* m_queue;
  pipeline::XyzPlan m_plan;
  GenerationJob m_base;
  XyzPlotOptions m_options;
  std::unique_ptr<QTemporaryDir> m_scratch;  // the pictures when they are not kept
  QHash<quint64, int> m_cellOfJob;           // queued job -> grid index
  std::vector<api::Image> m_pictures;        // in grid order; empty = failed
  std::vector<image::TextChunks> m_metadata;
  int m_done = 0;
  int m_failed = 0;
  bool m_started = false;
  bool m_ended = false;
};

}  // namespace latent::ui
