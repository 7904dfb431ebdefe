#include "ui/model_picker.h"

#include <QComboBox>
#include <QDateTime>
#include <QDir>
#include <QDoubleSpinBox>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QSignalBlocker>
#include <QTimer>
#include <QToolButton>

#include <exception>

#include "core/util/starter_model.h"

namespace latent::ui {
namespace {

void selectData(QComboBox* combo, const QString& value) {
  const int index = combo->findData(value);
  if (index >= 0) combo->setCurrentIndex(index);
}

// What changes when a model's files are replaced: a file's size and time, or for a folder
// the times of its index and its configs.
QString filesStamp(const QString& path) {
  const QFileInfo info(path);
  if (!info.exists()) return {};
  if (!info.isDir()) return QStringLiteral("%1:%2").arg(info.size()).arg(info.lastModified().toMSecsSinceEpoch());
  const QDir dir(path);
  QString stamp;
  for (const char* name : {"model_index.json", "unet/config.json", "text_encoder/config.json", "scheduler/scheduler_config.json"})
    stamp += QString::number(QFileInfo(dir.filePath(QLatin1String(name))).lastModified().toMSecsSinceEpoch()) + u':';
  return stamp;
}

QString familyLabel(io::ModelFamily family) { return QString::fromStdString(io::family_name(family)); }

}  // namespace

ModelPicker::ModelPicker(QWidget* parent)
    : QWidget(parent),
      m_path(new QComboBox(this)),
      m_device(new QComboBox(this)),
      m_precision(new QComboBox(this)),
      m_weights(new QComboBox(this)),
      m_family(new QLabel(this)),
      m_predictionRow(new QWidget(this)),
      m_prediction(new QComboBox(m_predictionRow)),
      m_refinerRow(new QWidget(this)),
      m_refiner(new PathChoice(tr("None"), tr("Open an SDXL refiner checkpoint (.safetensors)"),
                               tr("Open an SDXL refiner diffusers folder"),
                               tr("Checkpoints (*.safetensors);;All files (*)"), m_refinerRow)),
      m_refinerSwitch(new QDoubleSpinBox(m_refinerRow)),
      m_refinerNote(new QLabel(this)),
      m_probeTimer(new QTimer(this)) {
  m_path->setObjectName(QStringLiteral("modelPath"));
  m_device->setObjectName(QStringLiteral("device"));
  m_precision->setObjectName(QStringLiteral("precision"));
  m_weights->setObjectName(QStringLiteral("weights"));
  m_family->setObjectName(QStringLiteral("modelFamily"));
  m_prediction->setObjectName(QStringLiteral("prediction"));
  m_refiner->combo()->setObjectName(QStringLiteral("refiner"));
  m_refinerSwitch->setObjectName(QStringLiteral("refinerSwitch"));
  m_refinerNote->setObjectName(QStringLiteral("refinerNote"));
  m_path->setEditable(true);
  m_path->setInsertPolicy(QComboBox::NoInsert);
  m_path->setSizeAdjustPolicy(QComboBox::AdjustToMinimumContentsLengthWithIcon);
  m_path->setMinimumContentsLength(12);
  m_path->setItemDelegate(new NoteDelegate(m_path));
  m_path->lineEdit()->setPlaceholderText(util::starter_model_available()
                                             ? tr("The %1 (64x64), or a checkpoint or diffusers folder")
                                                   .arg(QString::fromUtf8(util::kStarterModelLabel))
                                             : tr("A .safetensors checkpoint or a diffusers folder"));
  for (QLabel* note : {m_family, m_refinerNote}) {
    note->setWordWrap(true);
    note->setSizePolicy(QSizePolicy::Ignored, QSizePolicy::Preferred);
    note->setTextInteractionFlags(Qt::TextSelectableByMouse);
  }

  m_device->addItem(tr("CPU"), QStringLiteral("cpu"));
  m_device->addItem(tr("GPU (CUDA)"), QStringLiteral("cuda"));
  m_precision->addItem(tr("fp32 (exact)"), QStringLiteral("fp32"));
  m_precision->addItem(tr("bf16 (half the memory)"), QStringLiteral("bf16"));
  m_precision->addItem(tr("fp16 (GPU)"), QStringLiteral("fp16"));
  // How the UNet's and text encoders' weights are held (LoadOptions::weights).
  m_weights->addItem(tr("As stored"), QStringLiteral("auto"));
  m_weights->addItem(tr("Full"), QStringLiteral("full"));
  m_weights->addItem(tr("8-bit (less memory)"), QStringLiteral("int8"));
  m_weights->setToolTip(tr("8-bit weights hold the UNet and text encoders in half the memory of bf16, "
                           "computed in the precision beside; \"as stored\" keeps a model written with "
                           "8-bit weights (latentstudio-cli convert) that way and others full"));

  auto* file = new QToolButton(this);
  file->setText(tr("File…"));
  file->setToolTip(tr("Open a single-file checkpoint (.safetensors)"));
  auto* folder = new QToolButton(this);
  folder->setText(tr("Folder…"));
  folder->setToolTip(tr("Open a diffusers model folder"));
  connect(file, &QToolButton::clicked, this, &ModelPicker::chooseFile);
  connect(folder, &QToolButton::clicked, this, &ModelPicker::chooseFolder);

  // What a Stable Diffusion 2.x single file predicts: its weights cannot tell.
  m_prediction->addItem(tr("As its configs say"), QString());
  m_prediction->addItem(tr("v-prediction (768 models)"), QStringLiteral("v_prediction"));
  m_prediction->addItem(tr("epsilon (512 base models)"), QStringLiteral("epsilon"));
  m_prediction->setToolTip(tr("What this Stable Diffusion 2.x checkpoint was trained to predict: "
                              "the 768 models predict v, the 512 base models the noise (epsilon)"));
  auto* predictionLayout = new QHBoxLayout(m_predictionRow);
  predictionLayout->setContentsMargins(0, 0, 0, 0);
  predictionLayout->addWidget(m_prediction, 1);

  // The refiner: shown for an SDXL base only, the one family that can hand over to one.
  m_refiner->setToolTip(tr("An SDXL refiner that takes over from the base for the last steps"));
  m_refiner->setNoteProvider([this](const QString& path) { return familyOf(path); });
  const api::RefinerSettings refinerDefaults;
  m_refinerSwitch->setRange(0.01, 0.99);
  m_refinerSwitch->setSingleStep(0.05);
  m_refinerSwitch->setDecimals(2);
  m_refinerSwitch->setValue(refinerDefaults.switch_at);
  m_refinerSwitch->setPrefix(tr("switch at "));
  m_refinerSwitch->setToolTip(tr("Fraction of the steps the base takes before the refiner continues"));
  auto* refinerLayout = new QHBoxLayout(m_refinerRow);
  refinerLayout->setContentsMargins(0, 0, 0, 0);
  refinerLayout->addWidget(m_refiner, 1);
  refinerLayout->addWidget(m_refinerSwitch);

  auto* pathRow = new QHBoxLayout;
  pathRow->addWidget(m_path, 1);
  pathRow->addWidget(file);
  pathRow->addWidget(folder);
  auto* runRow = new QHBoxLayout;
  runRow->addWidget(m_device, 1);
  runRow->addWidget(m_precision, 1);
  m_form = new QFormLayout(this);
  m_form->setContentsMargins(0, 0, 0, 0);
  m_form->addRow(tr("Model"), pathRow);
  m_form->addRow(QString(), m_family);
  m_form->addRow(tr("Predicts"), m_predictionRow);
  m_form->addRow(tr("Refiner"), m_refinerRow);
  m_form->addRow(QString(), m_refinerNote);
  // Device and precision; "Run on" is the choice of this computer or a server (run_on_panel.h).
  m_form->addRow(tr("Compute"), runRow);
  m_form->addRow(tr("Weights"), m_weights);  // under the precision they are computed in

  // Typing a path reads it after a pause; confirming it or picking from the list counts as
  // the person's choice.
  m_probeTimer->setSingleShot(true);
  m_probeTimer->setInterval(250);
  connect(m_probeTimer, &QTimer::timeout, this, &ModelPicker::probeChosenModel);
  connect(m_path, &QComboBox::currentTextChanged, this, [this] { scheduleProbe(false); });
  connect(m_path, qOverload<int>(&QComboBox::activated), this, [this] { scheduleProbe(true); });
  connect(m_path->lineEdit(), &QLineEdit::returnPressed, this, [this] { scheduleProbe(true); });
  connect(m_prediction, qOverload<int>(&QComboBox::activated), this, [this] { scheduleProbe(true); });

  connect(m_path, &QComboBox::currentTextChanged, this, &ModelPicker::changed);
  connect(m_device, qOverload<int>(&QComboBox::currentIndexChanged), this, &ModelPicker::changed);
  connect(m_precision, qOverload<int>(&QComboBox::currentIndexChanged), this, &ModelPicker::changed);
  connect(m_weights, qOverload<int>(&QComboBox::currentIndexChanged), this, &ModelPicker::changed);
  connect(m_prediction, qOverload<int>(&QComboBox::currentIndexChanged), this, &ModelPicker::changed);
  connect(m_refiner, &PathChoice::changed, this, [this] {
    showRefinerState();
    Q_EMIT changed();
  });
  connect(m_refiner, &PathChoice::chosen, this, &ModelPicker::refinerChosen);
  connect(m_refinerSwitch, qOverload<double>(&QDoubleSpinBox::valueChanged), this, &ModelPicker::changed);
  probeChosenModel();
}

api::LoadOptions ModelPicker::options() const {
  api::LoadOptions options = optionsFor(modelPath());
  options.device = m_device->currentData().toString().toStdString();
  options.dtype = m_precision->currentData().toString().toStdString();
  options.weights = m_weights->currentData().toString().toStdString();
  return options;
}

api::LoadOptions ModelPicker::optionsFor(const QString& path) const {
  api::LoadOptions options;
  options.model_path = path.toStdString();
  // No model chosen: the bundled starter model, trained by the project on coloured shapes.
  if (options.model_path.empty() && util::starter_model_available()) options.model_path = util::starter_model_dir();
  options.config_dir = m_configDir;
  // Asked only where the files cannot tell; elsewhere the model's own configs decide.
  if (m_summary && m_summary->prediction_is_a_choice && path == modelPath())
    options.prediction = prediction().toStdString();
  return options;
}

void ModelPicker::setOptions(const api::LoadOptions& options) {
  m_configDir = options.config_dir;
  setPrediction(QString::fromStdString(options.prediction));
  setModelPath(QString::fromStdString(options.model_path));
  selectData(m_device, QString::fromStdString(options.device));
  selectData(m_precision, QString::fromStdString(options.dtype));
  selectData(m_weights, QString::fromStdString(options.weights));
}

QString ModelPicker::modelPath() const { return m_path->currentText().trimmed(); }

void ModelPicker::setModelPath(const QString& path) {
  const int index = m_path->findText(path);
  if (index >= 0) {
    m_path->setCurrentIndex(index);
  } else {
    m_path->setEditText(path);
  }
  // Set by the program (settings, an image's metadata): read at once, not after a pause.
  m_probeTimer->stop();
  probeChosenModel();
}

QString ModelPicker::prediction() const { return m_prediction->currentData().toString(); }

void ModelPicker::setPrediction(const QString& prediction) {
  selectData(m_prediction, prediction);
  m_probeTimer->stop();
  probeChosenModel();
}

QString ModelPicker::familyOf(const QString& path) {
  const Probe read = probe(path);
  return read.summary ? familyLabel(read.summary->family) : tr("cannot be opened");
}

void ModelPicker::setRecentModels(const QStringList& paths) {
  const QString current = modelPath();
  const QSignalBlocker block(m_path);
  m_path->clear();
  for (const QString& path : paths) {
    m_path->addItem(path, path);
    m_path->setItemData(m_path->count() - 1, QDir::toNativeSeparators(path), Qt::ToolTipRole);
    m_path->setItemData(m_path->count() - 1, familyOf(path), kFamilyRole);
  }
  const int index = m_path->findText(current);
  if (index >= 0) m_path->setCurrentIndex(index);
  else m_path->setEditText(current);
}

void ModelPicker::setRecentRefiners(const QStringList& paths) {
  m_refiner->setRecent(paths);
  showRefinerState();
}

api::RefinerSettings ModelPicker::refiner() const {
  api::RefinerSettings refiner;
  refiner.switch_at = m_refinerSwitch->value();
  if (m_summary && m_summary->family == io::ModelFamily::sdxl_base) refiner.path = refinerPath().toStdString();
  return refiner;
}

void ModelPicker::setRefiner(const api::RefinerSettings& refiner) {
  m_refiner->setPath(QString::fromStdString(refiner.path));
  m_refinerSwitch->setValue(refiner.switch_at);
  showRefinerState();
}

ModelPicker::Probe ModelPicker::probe(const api::LoadOptions& options) {
  const QString path = QString::fromStdString(options.model_path);
  const QString key = QStringList{path, QString::fromStdString(options.config_dir),
                                  QString::fromStdString(options.prediction)}
                          .join(QChar(u'\n'));
  const QString stamp = filesStamp(path);
  const auto known = m_probes.constFind(key);
  if (known != m_probes.constEnd() && !stamp.isEmpty() && known->first == stamp) return known->second;
  Probe read;
  try {
    read.summary = pipeline::probe_model(options);
  } catch (const std::exception& error) {
    read.error = QString::fromUtf8(error.what());
  }
  if (!stamp.isEmpty()) m_probes.insert(key, {stamp, read});
  return read;
}

void ModelPicker::scheduleProbe(bool byUser) {
  m_probeByUser = m_probeByUser || byUser;
  m_probeTimer->start();
}

void ModelPicker::probeNow() {
  if (m_probeTimer->isActive()) {
    m_probeTimer->stop();
    probeChosenModel();
  }
}

void ModelPicker::probeChosenModel() {
  const bool byUser = m_probeByUser;
  m_probeByUser = false;
  api::LoadOptions options = optionsFor(modelPath());
  // Whether the prediction is the person's to choose is known only once the files are read.
  options.prediction.clear();
  Probe read = options.model_path.empty() ? Probe{} : probe(options);
  if (read.summary && read.summary->prediction_is_a_choice && !prediction().isEmpty()) {
    options.prediction = prediction().toStdString();
    read = probe(options);
  }
  m_summary = read.summary;
  if (m_summary) {
    const pipeline::ModelDefaults& d = m_summary->defaults;
    QString text = tr("%1 · made for %2 × %3").arg(familyLabel(m_summary->family)).arg(d.width).arg(d.height);
    if (m_summary->prediction == "v_prediction") text += tr(" · predicts v");
    m_family->setText(text);
  } else {
    m_family->setText(read.error);
  }
  m_form->setRowVisible(m_family, !m_family->text().isEmpty());
  m_form->setRowVisible(m_predictionRow, m_summary && m_summary->prediction_is_a_choice);
  const int index = m_path->findText(modelPath());
  if (index >= 0) m_path->setItemData(index, m_summary ? familyLabel(m_summary->family) : tr("cannot be opened"), kFamilyRole);
  showRefinerState();
  Q_EMIT modelProbed(byUser);
}

void ModelPicker::showRefinerState() {
  const bool base = m_summary && m_summary->family == io::ModelFamily::sdxl_base;
  m_form->setRowVisible(m_refinerRow, base);
  QString note;
  const QString path = refinerPath();
  if (base && !path.isEmpty()) {
    const Probe read = probe(path);
    if (!read.summary)
      note = read.error;
    else if (read.summary->family != io::ModelFamily::sdxl_refiner)
      note = tr("This is a %1 model, not an SDXL refiner.").arg(familyLabel(read.summary->family));
  }
  m_refinerNote->setText(note);
  m_form->setRowVisible(m_refinerNote, !note.isEmpty());
}

QString ModelPicker::familyText() const { return m_family->text(); }

QString ModelPicker::refinerNote() const { return m_refinerNote->text(); }

void ModelPicker::chooseFile() {
  const QString path = QFileDialog::getOpenFileName(this, tr("Open a checkpoint"), QFileInfo(modelPath()).path(),
                                                    tr("Checkpoints (*.safetensors);;All files (*)"));
  if (path.isEmpty()) return;
  setModelPath(path);
  scheduleProbe(true);
  Q_EMIT modelChosen(path);
}

void ModelPicker::chooseFolder() {
  const QString path = QFileDialog::getExistingDirectory(this, tr("Open a diffusers model folder"), modelPath());
  if (path.isEmpty()) return;
  setModelPath(path);
  scheduleProbe(true);
  Q_EMIT modelChosen(path);
}

}  // namespace latent::ui
