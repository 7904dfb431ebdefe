#pragma once

// Which model to run and how: a checkpoint file or diffusers folder (with the recent
// ones at hand, each shown with its family), the device and the precision; what a
// Stable Diffusion 2.x single file predicts, which only the person can say; and for an SDXL
// base the refiner that finishes its pictures and the point where it takes over.
//
// The family is read from the files as the engine reads them (pipeline::probe_model), a
// moment after the path changes, without loading any weights.

#include <QHash>
#include <QStringList>
#include <QWidget>

#include <optional>
#include <utility>

#include "core/api/generation_request.h"
#include "core/api/load_options.h"
#include "core/pipeline/model_probe.h"
#include "ui/path_choice.h"

class QComboBox;
class QDoubleSpinBox;
class QFormLayout;
class QLabel;
class QTimer;

namespace latent::ui {

class ModelPicker : public QWidget {
  Q_OBJECT

 public:
  explicit ModelPicker(QWidget* parent = nullptr);

  api::LoadOptions options() const;
  void setOptions(const api::LoadOptions& options);
  QString modelPath() const;
  void setModelPath(const QString& path);
  // LoadOptions::prediction: "" (as the configs say), "v_prediction" or "epsilon".
  QString prediction() const;
  void setPrediction(const QString& prediction);

  void setRecentModels(const QStringList& paths);
  void setRecentRefiners(const QStringList& paths);

  // The refiner and switch point for the request: no refiner unless the model is an SDXL
  // base and one is chosen.
  api::RefinerSettings refiner() const;
  void setRefiner(const api::RefinerSettings& refiner);
  QString refinerPath() const { return m_refiner->path(); }

  // What the chosen model is, once read; nullopt while it cannot be read (the reason is in
  // familyText()).
  const std::optional<pipeline::ModelSummary>& summary() const { return m_summary; }
  // Reads the chosen model now instead of after the short pause that typing gets.
  void probeNow();

  QComboBox* pathCombo() const { return m_path; }
  QComboBox* deviceCombo() const { return m_device; }
  QComboBox* precisionCombo() const { return m_precision; }
  QComboBox* weightsCombo() const { return m_weights; }
  QComboBox* predictionCombo() const { return m_prediction; }
  PathChoice* refinerChoice() const { return m_refiner; }
  QDoubleSpinBox* refinerSwitchSpin() const { return m_refinerSwitch; }
  QWidget* refinerRow() const { return m_refinerRow; }
  QString familyText() const;
  QString refinerNote() const;

  // Item data role of the path list that holds each model's family, as shown beside it.
  static constexpr int kFamilyRole = NoteDelegate::kNoteRole;

 public Q_SLOTS:
  void chooseFile();
  void chooseFolder();

 Q_SIGNALS:
  void changed();
  void modelChosen(const QString& path);
  void refinerChosen(const QString& path);
  // The chosen model was read anew: its family and size are in summary(). `byUser` when
  // the person chose it (a file dialog, the list, the path typed and confirmed), false when
  // settings or an image's metadata set it.
  void modelProbed(bool byUser);

 private:
  struct Probe {
    std::optional<pipeline::ModelSummary> summary;
    QString error;
  };
  // Reads (or recalls, while the files are unchanged) what a model is.
  Probe probe(const api::LoadOptions& options);
  Probe probe(const QString& path) { return probe(optionsFor(path)); }
  api::LoadOptions optionsFor(const QString& path) const;
  QString familyOf(const QString& path);
  void scheduleProbe(bool byUser);
  void probeChosenModel();
  void showRefinerState();

  QComboBox* m_path;
  QComboBox* m_device;
  QComboBox* m_precision;
  QComboBox* m_weights;
  QFormLayout* m_form = nullptr;  // rows shown only where they apply hide with their labels
  QLabel* m_family;
  QWidget* m_predictionRow;
  QComboBox* m_prediction;
  QWidget* m_refinerRow;
  PathChoice* m_refiner;
  QDoubleSpinBox* m_refinerSwitch;
  QLabel* m_refinerNote;
  QTimer* m_probeTimer;
  bool m_probeByUser = false;
  std::string m_configDir;
  std::optional<pipeline::ModelSummary> m_summary;
  QHash<QString, std::pair<QString, Probe>> m_probes;  // options → (files' stamp, what was read)
};

}  // namespace latent::ui
