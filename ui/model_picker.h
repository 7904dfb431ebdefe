#pragma once

// Which model to run and how: a checkpoint file or diffusers folder (with the recent
// ones at hand), the device and the precision.

#include <QStringList>
#include <QWidget>

#include "core/api/load_options.h"

class QComboBox;

namespace latent::ui {

class ModelPicker : public QWidget {
  Q_OBJECT

 public:
  explicit ModelPicker(QWidget* parent = nullptr);

  api::LoadOptions options() const;
  void setOptions(const api::LoadOptions& options);
  QString modelPath() const;
  void setModelPath(const QString& path);

  void setRecentModels(const QStringList& paths);

  QComboBox* pathCombo() const { return m_path; }
  QComboBox* deviceCombo() const { return m_device; }
  QComboBox* precisionCombo() const { return m_precision; }

 public Q_SLOTS:
  void chooseFile();
  void chooseFolder();

 Q_SIGNALS:
  void changed();
  void modelChosen(const QString& path);

 private:
  QComboBox* m_path;
  QComboBox* m_device;
  QComboBox* m_precision;
  std::string m_configDir;
};

}  // namespace latent::ui
