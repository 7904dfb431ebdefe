#include "ui/lora_panel.h"

#include <QCheckBox>
#include <QDateTime>
#include <QDir>
#include <QDoubleSpinBox>
#include <QFileDialog>
#include <QFileInfo>
#include <QFileSystemWatcher>
#include <QGridLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QScrollArea>
#include <QSignalBlocker>
#include <QSlider>
#include <QTimer>
#include <QToolButton>
#include <QVBoxLayout>
#include <algorithm>
#include <cmath>
#include <exception>

#include "core/pipeline/model_probe.h"
#include "core/text/lora_prompt.h"

namespace latent::ui {
namespace {

int sliderPosition(double multiplier) { return int(std::lround(multiplier / LoraPanel::kStep)); }

QString absolutePath(const QString& path) { return QFileInfo(path).absoluteFilePath(); }

}  // namespace

LoraPanel::LoraPanel(QWidget* parent)
    : QWidget(parent),
      m_folderEdit(new QLineEdit(this)),
      m_message(new QLabel(this)),
      m_partial(new QCheckBox(tr("Apply LoRAs that fit this model only in part"), this)),
      m_list(new QWidget(this)),
      m_listLayout(new QVBoxLayout(m_list)),
      m_watcher(new QFileSystemWatcher(this)),
      m_refreshTimer(new QTimer(this)) {
  setObjectName(QStringLiteral("loraPanel"));
  m_folderEdit->setObjectName(QStringLiteral("loraFolder"));
  m_folderEdit->setPlaceholderText(tr("Folder of LoRA files (.safetensors)"));
  m_message->setObjectName(QStringLiteral("loraMessage"));
  m_message->setWordWrap(true);
  m_message->setSizePolicy(QSizePolicy::Ignored, QSizePolicy::Preferred);
  connect(m_folderEdit, &QLineEdit::editingFinished, this, [this] {
    if (m_folderEdit->text() != m_folder) {
      setFolder(m_folderEdit->text());
      Q_EMIT changed();
    }
  });

  m_partial->setObjectName(QStringLiteral("loraPartial"));
  m_partial->setToolTip(
      tr("Off: a LoRA with layers this model lacks is refused. "
         "On: its matching layers are applied, with a warning."));
  connect(m_partial, &QCheckBox::toggled, this, [this] { Q_EMIT changed(); });

  auto* choose = new QToolButton(this);
  choose->setText(tr("Folder…"));
  choose->setToolTip(tr("Choose the folder that holds your LoRA files"));
  connect(choose, &QToolButton::clicked, this, &LoraPanel::chooseFolder);
  auto* reload = new QToolButton(this);
  reload->setObjectName(QStringLiteral("loraRefresh"));
  reload->setText(tr("Refresh"));
  reload->setToolTip(tr("List the folder again (it is also watched for new files)"));
  connect(reload, &QToolButton::clicked, this, &LoraPanel::refresh);

  m_listLayout->setContentsMargins(0, 0, 0, 0);
  m_listLayout->addStretch(1);
  auto* scroll = new QScrollArea(this);
  scroll->setWidget(m_list);
  scroll->setWidgetResizable(true);
  scroll->setFrameShape(QFrame::NoFrame);
  scroll->setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);

  auto* folderRow = new QHBoxLayout;
  folderRow->addWidget(m_folderEdit, 1);
  folderRow->addWidget(choose);
  folderRow->addWidget(reload);
  auto* layout = new QVBoxLayout(this);
  layout->addLayout(folderRow);
  layout->addWidget(m_message);
  layout->addWidget(scroll, 1);
  layout->addWidget(m_partial);

  m_refreshTimer->setSingleShot(true);
  m_refreshTimer->setInterval(300);
  connect(m_refreshTimer, &QTimer::timeout, this, &LoraPanel::refresh);
  connect(m_watcher, &QFileSystemWatcher::directoryChanged, m_refreshTimer,
          qOverload<>(&QTimer::start));
  setFolder(QString());
}

void LoraPanel::setFolder(const QString& folder) {
  m_folder = folder;
  {
    const QSignalBlocker block(m_folderEdit);
    m_folderEdit->setText(folder);
  }
  watchFolder();
  rebuild(currentStates(), {});
}

void LoraPanel::chooseFolder() {
  const QString dir = QFileDialog::getExistingDirectory(this, tr("LoRA folder"), m_folder);
  if (dir.isEmpty()) return;
  setFolder(dir);
  Q_EMIT changed();
}

void LoraPanel::refresh() {
  QStringList outside;
  for (const Row& row : m_rows)
    if (row.outside && row.check->isChecked()) outside << row.path;
  rebuild(currentStates(), outside);
}

void LoraPanel::watchFolder() {
  if (!m_watcher->directories().isEmpty()) m_watcher->removePaths(m_watcher->directories());
  if (!m_folder.isEmpty() && QFileInfo(m_folder).isDir()) m_watcher->addPath(m_folder);
}

QHash<QString, LoraPanel::RowState> LoraPanel::currentStates() const {
  QHash<QString, RowState> states;
  for (const Row& row : m_rows)
    states.insert(row.path, {row.check->isChecked(), row.multiplier->value()});
  return states;
}

void LoraPanel::rebuild(const QHash<QString, RowState>& states, const QStringList& outsidePaths) {
  for (Row& row : m_rows) delete row.widget;
  m_rows.clear();

  m_listError.clear();
  if (m_serverLoras) {
    for (const QString& name : *m_serverLoras) m_rows.push_back(makeRow(name, name, false, states.value(name)));
  } else if (!m_folder.isEmpty()) {
    try {
      for (const text::LoraFileEntry& entry : text::list_lora_files(m_folder.toStdString())) {
        const QString path = QString::fromStdString(entry.path);
        m_rows.push_back(
            makeRow(QString::fromStdString(entry.name), path, false, states.value(path)));
      }
    } catch (const std::exception& error) {
      m_listError = QString::fromUtf8(error.what());
    }
  }
  for (const QString& path : outsidePaths) {
    if (std::any_of(m_rows.begin(), m_rows.end(), [&](const Row& r) { return r.path == path; }))
      continue;
    RowState state = states.value(path);
    state.checked = true;
    m_rows.push_back(makeRow(QFileInfo(path).completeBaseName(), path, true, state));
  }
  // Those that fit the model first, in the folder's order; the others after them.
  std::stable_partition(m_rows.begin(), m_rows.end(), [](const Row& row) { return row.misfit.isEmpty(); });
  for (int i = 0; i < count(); ++i) m_listLayout->insertWidget(i, m_rows[i].widget);
  m_message->setText(listSummary());
}

QString LoraPanel::listSummary() const {
  if (m_serverLoras) return m_rows.empty() ? tr("The server offers no LoRAs.") : tr("%n LoRA(s) on the server", nullptr, count());
  if (m_folder.isEmpty()) return tr("Choose the folder that holds your LoRA files.");
  if (!m_listError.isEmpty()) return m_listError;
  if (m_rows.empty()) return tr("No .safetensors files in this folder.");
  const auto misfits = std::count_if(m_rows.begin(), m_rows.end(), [](const Row& row) { return !row.misfit.isEmpty(); });
  const QString files = count() == 1 ? tr("1 LoRA file") : tr("%1 LoRA files").arg(count());
  if (misfits == 0) return files;
  return tr("%1; %2 made for another model family (greyed out)").arg(files).arg(misfits);
}

void LoraPanel::setServerLoras(const std::optional<QStringList>& names) {
  if (names == m_serverLoras) return;
  // What was checked stays checked where the other list has it too (by name).
  QHash<QString, RowState> states;
  for (const Row& row : m_rows) states.insert(row.name, {row.check->isChecked(), row.multiplier->value()});
  m_serverLoras = names;
  m_folderEdit->setEnabled(!names);
  QHash<QString, RowState> byPath;
  if (names) {
    byPath = states;
  } else if (!m_folder.isEmpty()) {
    try {
      for (const text::LoraFileEntry& entry : text::list_lora_files(m_folder.toStdString()))
        byPath.insert(QString::fromStdString(entry.path), states.value(QString::fromStdString(entry.name)));
    } catch (const std::exception&) {
    }
  }
  rebuild(byPath, {});
  Q_EMIT changed();
}

void LoraPanel::setModelFamily(std::optional<io::ModelFamily> family) {
  if (family == m_family) return;
  m_family = family;
  refresh();
}

QString LoraPanel::misfitOf(const QString& path) {
  if (!m_family) return {};
  const QFileInfo info(path);
  const QString stamp = QStringLiteral("%1:%2").arg(info.size()).arg(info.lastModified().toMSecsSinceEpoch());
  auto known = m_families.find(path);
  if (known == m_families.end() || known->first != stamp) {
    io::LoraFamilyEvidence family;
    // A file that cannot be read is offered anyway: using it reports why it cannot be read.
    try {
      family = pipeline::probe_lora(path.toStdString());
    } catch (const std::exception&) {
    }
    known = m_families.insert(path, {stamp, family});
  }
  const std::string misfit = pipeline::lora_misfit(known->second, *m_family);
  if (misfit.empty()) return {};
  QString text = QString::fromStdString(misfit);
  text[0] = text[0].toUpper();
  return text + u'.';
}

LoraPanel::Row LoraPanel::makeRow(const QString& name, const QString& path, bool outside,
                                  const RowState& state) {
  Row row;
  row.name = name;
  row.path = path;
  row.outside = outside;
  row.widget = new QWidget(m_list);
  row.check = new QCheckBox(outside ? tr("%1 (outside the folder)").arg(name) : name, row.widget);
  row.check->setObjectName(QStringLiteral("lora:") + name);
  row.check->setToolTip(QDir::toNativeSeparators(path));
  row.slider = new QSlider(Qt::Horizontal, row.widget);
  row.slider->setRange(sliderPosition(kSliderMin), sliderPosition(kSliderMax));
  row.multiplier = new QDoubleSpinBox(row.widget);
  // Beyond the slider's reach for the rare LoRA that wants it; negative values invert a LoRA.
  row.multiplier->setRange(-5.0, 5.0);
  row.multiplier->setSingleStep(kStep);
  row.multiplier->setDecimals(2);
  row.multiplier->setToolTip(tr("Multiplier: 1 = as trained, 0 = off, negative = the opposite"));
  row.multiplier->setValue(state.multiplier);
  row.slider->setValue(sliderPosition(row.multiplier->value()));
  row.check->setChecked(state.checked);

  QSlider* slider = row.slider;
  QDoubleSpinBox* spin = row.multiplier;
  connect(slider, &QSlider::valueChanged, spin, [slider, spin](int position) {
    if (sliderPosition(spin->value()) != position) spin->setValue(position * kStep);
  });
  connect(spin, qOverload<double>(&QDoubleSpinBox::valueChanged), slider, [slider](double value) {
    const QSignalBlocker block(slider);
    slider->setValue(sliderPosition(value));
  });
  connect(spin, qOverload<double>(&QDoubleSpinBox::valueChanged), this,
          [this] { Q_EMIT changed(); });
  connect(row.check, &QCheckBox::toggled, this, [this] { Q_EMIT changed(); });

  auto* layout = new QGridLayout(row.widget);
  layout->setContentsMargins(0, 2, 0, 2);
  layout->addWidget(row.check, 0, 0, 1, 2);
  layout->addWidget(row.slider, 1, 0);
  layout->addWidget(row.multiplier, 1, 1);
  layout->setColumnStretch(0, 1);

  row.misfit = misfitOf(path);
  if (!row.misfit.isEmpty()) {
    row.reason = new QLabel(row.misfit, row.widget);
    row.reason->setObjectName(QStringLiteral("loraMisfit:") + name);
    row.reason->setWordWrap(true);
    row.reason->setSizePolicy(QSizePolicy::Ignored, QSizePolicy::Preferred);
    layout->addWidget(row.reason, 2, 0, 1, 2);
    for (QWidget* control : {static_cast<QWidget*>(row.check), static_cast<QWidget*>(row.slider),
                             static_cast<QWidget*>(row.multiplier), static_cast<QWidget*>(row.reason)}) {
      control->setEnabled(false);
      control->setToolTip(row.misfit);
    }
  }
  return row;
}

api::GenerationRequest LoraPanel::request(const api::GenerationRequest& base) const {
  api::GenerationRequest r = base;
  r.loras.folder = m_folder.toStdString();  // kept on a server too (which resolves tags in its own)
  r.loras.adapters = checkedLoras();
  r.loras.allow_partial = m_partial->isChecked();
  return r;
}

std::vector<api::LoraSpec> LoraPanel::checkedLoras() const {
  std::vector<api::LoraSpec> out;
  for (const Row& row : m_rows)
    if (row.check->isChecked() && row.misfit.isEmpty())
      out.push_back({row.path.toStdString(), row.multiplier->value()});
  return out;
}

QStringList LoraPanel::setCheckedLoras(const std::vector<api::LoraSpec>& loras) {
  QHash<QString, RowState> states = currentStates();
  for (RowState& state : states) state.checked = false;
  QStringList outside;
  QStringList missing;
  for (const api::LoraSpec& spec : loras) {
    const QString path = QString::fromStdString(spec.path);
    const RowState wanted{true, spec.multiplier};
    if (states.contains(path)) {
      states[path] = wanted;
      continue;
    }
    // Another machine or a moved file: the same name in this folder will do.
    const int row = rowOf(QFileInfo(path).completeBaseName());
    if (row >= 0 && !m_rows[row].outside) {
      states[m_rows[row].path] = wanted;
    } else if (QFileInfo(path).isFile()) {
      const QString absolute = absolutePath(path);
      states[absolute] = wanted;
      outside << absolute;
    } else {
      missing << QFileInfo(path).completeBaseName();
    }
  }
  rebuild(states, outside);
  Q_EMIT changed();
  return missing;
}

int LoraPanel::rowOf(const QString& name) const {
  for (int i = 0; i < count(); ++i)
    if (m_rows[i].name == name) return i;
  return -1;
}

QString LoraPanel::messageText() const { return m_message->text(); }

}  // namespace latent::ui
