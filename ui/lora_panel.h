#pragma once

// The LoRA panel: every .safetensors file of the LoRA folder with a checkbox and a
// multiplier. The checked ones go into LoraSettings::adapters of the request, and the
// folder becomes LoraSettings::folder so that <lora:NAME:M> tags in the prompt resolve there.
// Changing the set never reloads the model: the engine swaps LoRAs on the loaded one.
// LoRAs made for another model family than the chosen model's are listed last, greyed
// out, with the reason; they are never part of the request.

#include <QHash>
#include <QString>
#include <QStringList>
#include <QWidget>

#include <optional>
#include <vector>

#include "core/api/generation_request.h"
#include "core/io/lora_family.h"

class QCheckBox;
class QDoubleSpinBox;
class QFileSystemWatcher;
class QLabel;
class QLineEdit;
class QSlider;
class QTimer;
class QVBoxLayout;

namespace latent::ui {

class LoraPanel : public QWidget {
  Q_OBJECT

 public:
  explicit LoraPanel(QWidget* parent = nullptr);

  QString folder() const { return m_folder; }
  void setFolder(const QString& folder);  // lists it at once and watches it

  // `base` with its LoraSettings filled in: the folder, the checked LoRAs, allow_partial.
  api::GenerationRequest request(const api::GenerationRequest& base) const;
  std::vector<api::LoraSpec> checkedLoras() const;
  // Checks exactly these, with their multipliers. A LoRA is found by its path, else by its
  // name in the folder; one that exists elsewhere gets a row of its own. Returns the names
  // of those that could not be found.
  QStringList setCheckedLoras(const std::vector<api::LoraSpec>& loras);

  // The rows, for tests and for the window's summary.
  int count() const { return static_cast<int>(m_rows.size()); }
  int rowOf(const QString& name) const;  // -1 when not listed
  QString nameAt(int row) const { return m_rows.at(row).name; }
  QString pathAt(int row) const { return m_rows.at(row).path; }
  QCheckBox* checkBoxAt(int row) const { return m_rows.at(row).check; }
  QSlider* sliderAt(int row) const { return m_rows.at(row).slider; }
  QDoubleSpinBox* multiplierAt(int row) const { return m_rows.at(row).multiplier; }
  QLineEdit* folderEdit() const { return m_folderEdit; }
  // Apply the fitting part of a LoRA that has keys this model lacks (with a warning) instead
  // of refusing it: LoraSettings::allow_partial.
  QCheckBox* partialCheck() const { return m_partial; }
  QString messageText() const;
  // Why the LoRA in `row` does not fit the chosen model; empty when it does.
  QString misfitAt(int row) const { return m_rows.at(row).misfit; }

  // The chosen model's family (nullopt: not known, every LoRA is offered).
  void setModelFamily(std::optional<io::ModelFamily> family);

  // Generations on a server use its LoRA folder: with names (its /sdapi/v1/loras), the panel
  // lists those instead of the local folder, and the checked ones go into the request by
  // name; nullopt lists the local folder again.
  void setServerLoras(const std::optional<QStringList>& names);
  bool showsServerLoras() const { return m_serverLoras.has_value(); }

  static constexpr double kSliderMin = -2.0;
  static constexpr double kSliderMax = 2.0;
  static constexpr double kStep = 0.05;

 public Q_SLOTS:
  void refresh();  // lists the folder again, keeping what was checked
  void chooseFolder();

 Q_SIGNALS:
  void changed();

 private:
  struct Row {
    QString name;
    QString path;
    bool outside = false;  // restored from an image, not in the folder
    QString misfit;        // why it cannot be applied to the chosen model; empty: it can
    QWidget* widget = nullptr;
    QCheckBox* check = nullptr;
    QSlider* slider = nullptr;
    QDoubleSpinBox* multiplier = nullptr;
    QLabel* reason = nullptr;
  };
  struct RowState {
    bool checked = false;
    double multiplier = 1.0;
  };

  Row makeRow(const QString& name, const QString& path, bool outside, const RowState& state);
  // Lists the folder anew with these states (by path), plus rows for `outsidePaths`.
  void rebuild(const QHash<QString, RowState>& states, const QStringList& outsidePaths);
  QHash<QString, RowState> currentStates() const;
  void watchFolder();
  // Why `path` does not fit the chosen family (read once per version of the file).
  QString misfitOf(const QString& path);
  QString listSummary() const;

  QString m_folder;
  QLineEdit* m_folderEdit;
  QLabel* m_message;
  QCheckBox* m_partial;
  QWidget* m_list;
  QVBoxLayout* m_listLayout;
  QFileSystemWatcher* m_watcher;
  QTimer* m_refreshTimer;  // folder changes arrive in bursts while a file is copied
  std::vector<Row> m_rows;
  std::optional<io::ModelFamily> m_family;
  std::optional<QStringList> m_serverLoras;
  QString m_listError;  // why the folder could not be listed
  QHash<QString, std::pair<QString, io::LoraFamilyEvidence>> m_families;  // path → (stamp, family)
};

}  // namespace latent::ui
