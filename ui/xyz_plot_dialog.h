#pragma once

// "X/Y/Z plot…": the web UI's X/Y/Z plot script as a dialog. Up to three axes, each a
// setting (seed, steps, CFG scale, sampler, Prompt S/R, LoRA multiplier, checkpoint,
// denoising, clip skip) and the values it takes, in the web UI's syntax; Run checks every
// value, then queues one ordinary generation per combination (XyzPlotRun) from the main
// window's form, and the labelled grid joins the gallery when the last one is done.

#include <QDialog>
#include <QImage>
#include <QPointer>
#include <QStringList>

#include <array>
#include <functional>
#include <optional>

#include "ui/generation_job.h"

class QCheckBox;
class QComboBox;
class QLabel;
class QLineEdit;
class QPushButton;

namespace latent::ui {

class GenerationQueue;
class XyzPlotRun;

class XyzPlotDialog : public QDialog {
  Q_OBJECT

 public:
  // The job every combination starts from (the form's model, request, output folder and
  // server); nothing when the form cannot run, after showing why.
  using JobSource = std::function<std::optional<GenerationJob>()>;
  // The model a checkpoint value means (a path, or a name the program knows); empty when none.
  using CheckpointFinder = std::function<QString(const QString& value, const QString& baseModel)>;

  XyzPlotDialog(GenerationQueue* queue, JobSource source, QWidget* parent = nullptr);
  ~XyzPlotDialog() override;

  // Without one, values are paths, or names of files and folders beside the form's model.
  void setCheckpointFinder(CheckpointFinder finder) { m_findCheckpoint = std::move(finder); }

  // The controls, for tests: axis 0 is X, 1 is Y, 2 is Z.
  QComboBox* typeCombo(int axis) const { return m_types.at(static_cast<std::size_t>(axis)); }
  QLineEdit* valuesEdit(int axis) const { return m_values.at(static_cast<std::size_t>(axis)); }
  QCheckBox* keepImagesCheck() const { return m_keepImages; }
  QCheckBox* legendCheck() const { return m_legend; }
  QComboBox* zLayoutCombo() const { return m_zLayout; }
  QPushButton* runButton() const { return m_run; }
  QPushButton* cancelButton() const { return m_cancel; }
  QString messageText() const;
  XyzPlotRun* currentRun() const;  // the last plot started; null before the first

 public Q_SLOTS:
  // Checks the axes against the form and queues the plot; false, with the reason shown,
  // when it cannot run.
  bool run();

 Q_SIGNALS:
  // The grid is saved (one file, or one per Z value) and `grid` is the first of them.
  void gridSaved(const QStringList& paths, const QImage& grid);
  void message(const QString& text);  // for the main window's status line

 private:
  void showMessage(const QString& text, bool error = false);
  void setRunning(bool running);
  void updatePlaceholder(int axis);

  GenerationQueue* m_queue;
  JobSource m_source;
  CheckpointFinder m_findCheckpoint;
  std::array<QComboBox*, 3> m_types{};
  std::array<QLineEdit*, 3> m_values{};
  QCheckBox* m_keepImages;
  QCheckBox* m_legend;
  QComboBox* m_zLayout;
  QPushButton* m_run;
  QPushButton* m_cancel;
  QLabel* m_message;
  QPointer<XyzPlotRun> m_current;
};

}  // namespace latent::ui
