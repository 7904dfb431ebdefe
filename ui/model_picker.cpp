#include "ui/model_picker.h"

#include <QComboBox>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLineEdit>
#include <QSignalBlocker>
#include <QToolButton>

#include "core/util/starter_model.h"

namespace latent::ui {
namespace {

void selectData(QComboBox* combo, const QString& value) {
  const int index = combo->findData(value);
  if (index >= 0) combo->setCurrentIndex(index);
}

}  // namespace

ModelPicker::ModelPicker(QWidget* parent)
    : QWidget(parent), m_path(new QComboBox(this)), m_device(new QComboBox(this)), m_precision(new QComboBox(this)) {
  m_path->setObjectName(QStringLiteral("modelPath"));
  m_device->setObjectName(QStringLiteral("device"));
  m_precision->setObjectName(QStringLiteral("precision"));
  m_path->setEditable(true);
  m_path->setInsertPolicy(QComboBox::NoInsert);
  m_path->setSizeAdjustPolicy(QComboBox::AdjustToMinimumContentsLengthWithIcon);
  m_path->setMinimumContentsLength(12);
  m_path->lineEdit()->setPlaceholderText(util::starter_model_available()
                                             ? tr("The %1 (64x64), or a checkpoint or diffusers folder")
                                                   .arg(QString::fromUtf8(util::kStarterModelLabel))
                                             : tr("A .safetensors checkpoint or a diffusers folder"));

  m_device->addItem(tr("CPU"), QStringLiteral("cpu"));
  m_device->addItem(tr("GPU (CUDA)"), QStringLiteral("cuda"));
  m_precision->addItem(tr("fp32 (exact)"), QStringLiteral("fp32"));
  m_precision->addItem(tr("bf16 (half the memory)"), QStringLiteral("bf16"));
  m_precision->addItem(tr("fp16 (GPU)"), QStringLiteral("fp16"));

  auto* file = new QToolButton(this);
  file->setText(tr("File…"));
  file->setToolTip(tr("Open a single-file checkpoint (.safetensors)"));
  auto* folder = new QToolButton(this);
  folder->setText(tr("Folder…"));
  folder->setToolTip(tr("Open a diffusers model folder"));
  connect(file, &QToolButton::clicked, this, &ModelPicker::chooseFile);
  connect(folder, &QToolButton::clicked, this, &ModelPicker::chooseFolder);

  auto* pathRow = new QHBoxLayout;
  pathRow->addWidget(m_path, 1);
  pathRow->addWidget(file);
  pathRow->addWidget(folder);
  auto* runRow = new QHBoxLayout;
  runRow->addWidget(m_device, 1);
  runRow->addWidget(m_precision, 1);
  auto* layout = new QFormLayout(this);
  layout->setContentsMargins(0, 0, 0, 0);
  layout->addRow(tr("Model"), pathRow);
  layout->addRow(tr("Run on"), runRow);

  connect(m_path, &QComboBox::currentTextChanged, this, &ModelPicker::changed);
  connect(m_device, qOverload<int>(&QComboBox::currentIndexChanged), this, &ModelPicker::changed);
  connect(m_precision, qOverload<int>(&QComboBox::currentIndexChanged), this, &ModelPicker::changed);
}

api::LoadOptions ModelPicker::options() const {
  api::LoadOptions options;
  options.model_path = modelPath().toStdString();
  // No model chosen: the bundled starter model, trained by the project on coloured shapes.
  if (options.model_path.empty() && util::starter_model_available()) options.model_path = util::starter_model_dir();
  options.config_dir = m_configDir;
  options.device = m_device->currentData().toString().toStdString();
  options.dtype = m_precision->currentData().toString().toStdString();
  return options;
}

void ModelPicker::setOptions(const api::LoadOptions& options) {
  m_configDir = options.config_dir;
  setModelPath(QString::fromStdString(options.model_path));
  selectData(m_device, QString::fromStdString(options.device));
  selectData(m_precision, QString::fromStdString(options.dtype));
}

QString ModelPicker::modelPath() const { return m_path->currentText().trimmed(); }

void ModelPicker::setModelPath(const QString& path) {
  const int index = m_path->findText(path);
  if (index >= 0) {
    m_path->setCurrentIndex(index);
  } else {
    m_path->setEditText(path);
  }
}

void ModelPicker::setRecentModels(const QStringList& paths) {
  const QString current = modelPath();
  const QSignalBlocker block(m_path);
  m_path->clear();
  for (const QString& path : paths) {
    m_path->addItem(path, path);
    m_path->setItemData(m_path->count() - 1, path, Qt::ToolTipRole);
  }
  setModelPath(current);
}

void ModelPicker::chooseFile() {
  const QString path = QFileDialog::getOpenFileName(this, tr("Open a checkpoint"), QFileInfo(modelPath()).path(),
                                                    tr("Checkpoints (*.safetensors);;All files (*)"));
  if (path.isEmpty()) return;
  setModelPath(path);
  Q_EMIT modelChosen(path);
}

void ModelPicker::chooseFolder() {
  const QString path = QFileDialog::getExistingDirectory(this, tr("Open a diffusers model folder"), modelPath());
  if (path.isEmpty()) return;
  setModelPath(path);
  Q_EMIT modelChosen(path);
}

}  // namespace latent::ui
