#pragma once

// The gallery's "Upscale…": which upscaler (Lanczos or a network of the upscaler folder; the
// latent ones need a hires fix's latents) and by how much. Choosing a network sets its own
// factor; another factor runs the network, then Lanczos to the size, as the web UI does.

#include <QDialog>
#include <QSize>

#include "ui/generation_job.h"

class QComboBox;
class QDoubleSpinBox;
class QLabel;

namespace latent::ui {

class UpscalerFolder;

class UpscaleDialog : public QDialog {
  Q_OBJECT

 public:
  // `folder` (may be null) supplies the networks; it must outlive the dialog.
  UpscaleDialog(const QString& sourcePath, UpscalerFolder* folder, QWidget* parent = nullptr);

  UpscaleJob job() const;
  // Selects the upscaler a job names (lanczos or a file) and the factor.
  void setJob(const UpscaleJob& job);

  QComboBox* upscalerCombo() const { return m_upscaler; }
  QDoubleSpinBox* scaleSpin() const { return m_scale; }
  QString sizeText() const;

 private:
  void fillUpscalers();
  void upscalerChosen();
  void updateSize();

  QString m_source;
  QSize m_sourceSize;
  UpscalerFolder* m_folder;
  QComboBox* m_upscaler;
  QDoubleSpinBox* m_scale;
  QLabel* m_size;
};

}  // namespace latent::ui
