#pragma once

// The ControlNet dock: up to three units, each with a ControlNet model (folder or
// .safetensors), a control picture (chosen or dropped on the unit), a preprocessor with its
// two parameters and a live preview of the map it makes (which can be saved), a weight,
// start and end, and an enable box; plus guess mode for all. Enabled units go into
// GenerationRequest::control_units; "use these settings" restores them (setRequest).

#include <QImage>
#include <QString>
#include <QWidget>
#include <array>

#include "core/api/generation_request.h"

class QCheckBox;
class QComboBox;
class QDoubleSpinBox;
class QGroupBox;
class QLabel;
class QLineEdit;
class QSlider;

namespace latent::ui {

class ControlPanel : public QWidget {
  Q_OBJECT

 public:
  static constexpr int kUnits = 3;

  explicit ControlPanel(QWidget* parent = nullptr);

  // `base` with the enabled units as its control units and the guess mode set.
  api::GenerationRequest request(const api::GenerationRequest& base) const;
  // Shows the request's units (the first kUnits of them) and guess mode; the other units
  // are cleared and disabled.
  void setRequest(const api::GenerationRequest& request);

  // The widgets of unit `i`, for tests and the window.
  QCheckBox* enableBox(int i) const { return m_units[i].enable; }
  QLineEdit* modelEdit(int i) const { return m_units[i].model; }
  QLineEdit* imageEdit(int i) const { return m_units[i].image; }
  QComboBox* preprocessorCombo(int i) const { return m_units[i].preprocessor; }
  QDoubleSpinBox* aSpin(int i) const { return m_units[i].a; }
  QDoubleSpinBox* bSpin(int i) const { return m_units[i].b; }
  QLabel* aLabel(int i) const { return m_units[i].aLabel; }
  QLabel* bLabel(int i) const { return m_units[i].bLabel; }
  QComboBox* resizeCombo(int i) const { return m_units[i].resize; }
  QSlider* weightSlider(int i) const { return m_units[i].weightSlider; }
  QDoubleSpinBox* weightSpin(int i) const { return m_units[i].weight; }
  QDoubleSpinBox* startSpin(int i) const { return m_units[i].start; }
  QDoubleSpinBox* endSpin(int i) const { return m_units[i].end; }
  QLabel* previewLabel(int i) const { return m_units[i].preview; }
  QCheckBox* guessModeBox() const { return m_guessMode; }

  // Unit i's map as the preprocessor makes it from the picture (null without a picture,
  // or when the preprocessor refuses it: previewMessage says why).
  QImage mapPreview(int i) const { return m_units[i].map; }
  QString previewMessage(int i) const;
  // Writes unit i's map as PNG; false (with the reason in `error`) when there is none or
  // the file cannot be written.
  bool saveMap(int i, const QString& path, QString* error = nullptr) const;
  // Enabled units (those that go into the request).
  int enabledCount() const;
  // What a file dropped at `at` (panel coordinates) does: a folder or .safetensors becomes
  // the model of the unit under it (else of the first), any other file its picture; the
  // unit is enabled.
  void dropFile(const QString& path, const QPoint& at);

 public Q_SLOTS:
  void updatePreview(int i);  // makes unit i's map anew

 Q_SIGNALS:
  void changed();

 protected:
  void dragEnterEvent(QDragEnterEvent* event) override;
  void dropEvent(QDropEvent* event) override;

 private:
  struct Unit {
    QGroupBox* box = nullptr;
    QCheckBox* enable = nullptr;
    QLineEdit* model = nullptr;
    QLineEdit* image = nullptr;
    QComboBox* preprocessor = nullptr;
    QLabel* aLabel = nullptr;
    QDoubleSpinBox* a = nullptr;
    QLabel* bLabel = nullptr;
    QDoubleSpinBox* b = nullptr;
    QComboBox* resize = nullptr;
    QSlider* weightSlider = nullptr;
    QDoubleSpinBox* weight = nullptr;
    QDoubleSpinBox* start = nullptr;
    QDoubleSpinBox* end = nullptr;
    QLabel* preview = nullptr;
    QImage map;
    QString message;
  };

  QGroupBox* buildUnit(int i);
  void showParameters(int i);  // labels and ranges of the chosen preprocessor
  api::ControlUnit unitSettings(int i) const;
  void chooseModel(int i);
  void choosePicture(int i);
  void saveMapAs(int i);

  std::array<Unit, kUnits> m_units;
  QCheckBox* m_guessMode = nullptr;
};

}  // namespace latent::ui
