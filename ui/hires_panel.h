#pragma once

// The "Hires fix" group: draw at the set size, upscale (a latent mode, Lanczos or an
// upscaler network file) by a factor or to a size, and repaint at a denoising strength with
// some steps, optionally with another sampler and prompts. It fills
// GenerationRequest::second_pass; "use these settings" restores it. Below the group, the
// upscaler folder, whose networks join the upscaler list (and the gallery's Upscale dialog).

#include <QWidget>

#include "core/api/generation_request.h"

class QComboBox;
class QDoubleSpinBox;
class QGroupBox;
class QLineEdit;
class QPlainTextEdit;
class QRadioButton;
class QSpinBox;

namespace latent::ui {

class UpscalerFolder;

class HiresPanel : public QWidget {
  Q_OBJECT

 public:
  explicit HiresPanel(QWidget* parent = nullptr);

  // `base` with its second pass as the panel shows it (off when the group is unchecked).
  api::GenerationRequest request(const api::GenerationRequest& base) const;
  // Shows the request's second pass; an upscaler file not in the list is added to it.
  void setRequest(const api::GenerationRequest& request);

  // The widgets, for tests and the window.
  QGroupBox* group() const { return m_group; }
  QComboBox* upscalerCombo() const { return m_upscaler; }
  QRadioButton* byFactorButton() const { return m_byFactor; }
  QRadioButton* toSizeButton() const { return m_toSize; }
  QDoubleSpinBox* scaleSpin() const { return m_scale; }
  QSpinBox* widthSpin() const { return m_width; }
  QSpinBox* heightSpin() const { return m_height; }
  QSpinBox* stepsSpin() const { return m_steps; }
  QDoubleSpinBox* strengthSpin() const { return m_strength; }
  // "Use same sampler" (data "") or a sampler of the engine's.
  QComboBox* samplerCombo() const { return m_sampler; }
  QPlainTextEdit* promptEdit() const { return m_prompt; }
  QPlainTextEdit* negativePromptEdit() const { return m_negativePrompt; }
  QLineEdit* folderEdit() const { return m_folderEdit; }
  UpscalerFolder* upscalerFolder() const { return m_folder; }

  QString folder() const;
  void setFolder(const QString& folder);

 public Q_SLOTS:
  // Asks for an upscaler network file and selects it.
  void chooseUpscalerFile();
  void chooseFolder();

 Q_SIGNALS:
  void changed();

 private:
  void updateEnabled();

  QGroupBox* m_group;
  QComboBox* m_upscaler;
  QRadioButton* m_byFactor;
  QRadioButton* m_toSize;
  QDoubleSpinBox* m_scale;
  QSpinBox* m_width;
  QSpinBox* m_height;
  QSpinBox* m_steps;
  QDoubleSpinBox* m_strength;
  QComboBox* m_sampler;
  QPlainTextEdit* m_prompt;
  QPlainTextEdit* m_negativePrompt;
  QLineEdit* m_folderEdit;
  UpscalerFolder* m_folder;
};

}  // namespace latent::ui
