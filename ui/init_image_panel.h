#pragma once

// Image to image and inpainting: the mode, the starting picture (opened, dropped or sent
// from the gallery), how much of it is repainted, how it is fitted to the output size,
// and, for inpainting, the mask canvas with its brush and the mask's settings.

#include <QImage>
#include <QString>
#include <QWidget>

#include "core/api/generation_request.h"
#include "ui/generation_settings.h"

class QCheckBox;
class QComboBox;
class QDoubleSpinBox;
class QGroupBox;
class QLabel;
class QMimeData;
class QSlider;
class QSpinBox;
class QToolButton;

namespace latent::ui {

class MaskCanvas;

class InitImagePanel : public QWidget {
  Q_OBJECT

 public:
  explicit InitImagePanel(QWidget* parent = nullptr);

  ImageMode mode() const;
  void setMode(ImageMode mode);

  // Opens a picture file; false (and a message) when it cannot be read.
  bool loadPicture(const QString& path);
  // A picture from elsewhere (the finished result, the clipboard); `path` may be empty.
  void setPicture(const QImage& picture, const QString& path = QString());
  QImage picture() const;
  QString picturePath() const { return m_path; }

  // `base` with the picture fields filled in: strength and the fitting and mask settings
  // always (they persist), the pixels only in image-to-image and inpainting modes.
  api::GenerationRequest request(const api::GenerationRequest& base) const;
  void setRequest(const api::GenerationRequest& request);
  // What stops the current mode from running (no picture, an empty mask); empty when nothing.
  QString problem() const;

  // The number of denoising steps the request asks for, to show how many will run.
  void setSteps(int steps);
  QString stepsText() const;

  // A picture file or image in dragged or pasted data; true when it was taken.
  bool takeMimeData(const QMimeData* data);
  static bool hasPicture(const QMimeData* data);

  MaskCanvas* canvas() const { return m_canvas; }
  QComboBox* modeCombo() const { return m_mode; }
  QSlider* strengthSlider() const { return m_strengthSlider; }
  QDoubleSpinBox* strengthSpin() const { return m_strength; }
  QComboBox* resizeCombo() const { return m_resize; }
  QSpinBox* brushSpin() const { return m_brush; }
  QToolButton* eraseButton() const { return m_erase; }
  QToolButton* undoButton() const { return m_undo; }
  QToolButton* clearMaskButton() const { return m_clearMask; }
  QSpinBox* maskBlurSpin() const { return m_maskBlur; }
  QCheckBox* fullResCheck() const { return m_fullRes; }
  QSpinBox* paddingSpin() const { return m_padding; }

 public Q_SLOTS:
  void choosePicture();
  void clearPicture();

 Q_SIGNALS:
  void changed();
  void sizeWanted(const QSize& size);  // "use the picture's size" for the output
  void message(const QString& text);

 private:
  void updateModeWidgets();

  QString m_path;
  int m_steps = 0;
  QComboBox* m_mode;
  QLabel* m_source;
  QSlider* m_strengthSlider;
  QDoubleSpinBox* m_strength;
  QLabel* m_stepsNote;
  QComboBox* m_resize;
  QGroupBox* m_maskGroup;
  QSpinBox* m_brush;
  QToolButton* m_erase;
  QToolButton* m_undo;
  QToolButton* m_clearMask;
  QSpinBox* m_maskBlur;
  QCheckBox* m_fullRes;
  QSpinBox* m_padding;
  MaskCanvas* m_canvas;
};

}  // namespace latent::ui
