#include "ui/model_picker.h"

#include <QApplication>
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
#include <QPainter>
#include <QSignalBlocker>
#include <QStyledItemDelegate>
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

// Draws a list entry as its path with the model's family, dimmed, at the right edge.
class FamilyDelegate : public QStyledItemDelegate {
 public:
  using QStyledItemDelegate::QStyledItemDelegate;

  void paint(QPainter* painter, const QStyleOptionViewItem& option, const QModelIndex& index) const override {
    QStyleOptionViewItem opt(option);
    initStyleOption(&opt, index);
    const QString text = opt.text;
    const QString family = index.data(ModelPicker::kFamilyRole).toString();
    opt.text.clear();
    const QStyle* style = opt.widget ? opt.widget->style() : QApplication::style();
    style->drawControl(QStyle::CE_ItemViewItem, &opt, painter, opt.widget);

    const QRect area = style->subElementRect(QStyle::SE_ItemViewItemText, &opt, opt.widget);
    const int familyWidth = family.isEmpty() ? 0 : opt.fontMetrics.horizontalAdvance(family) + kGap;
    const bool selected = opt.state & QStyle::State_Selected;
    QColor color = opt.palette.color(QPalette::Normal, selected ? QPalette::HighlightedText : QPalette::Text);
    painter->save();
    painter->setPen(color);
    const QRect textArea = area.adjusted(0, 0, -familyWidth, 0);
    painter->drawText(textArea, Qt::AlignLeft | Qt::AlignVCenter,
                      opt.fontMetrics.elidedText(text, Qt::ElideMiddle, textArea.width()));
    if (!family.isEmpty()) {
      color.setAlpha(150);
      painter->setPen(color);
      painter->drawText(area, Qt::AlignRight | Qt::AlignVCenter, family);
    }
    painter->restore();
  }

  QSize sizeHint(const QStyleOptionViewItem& option, const QModelIndex& index) const override {
    QSize size = QStyledItemDelegate::sizeHint(option, index);
    const QString family = index.data(ModelPicker::kFamilyRole).toString();
    if (!family.isEmpty()) size.rwidth() += option.fontMetrics.horizontalAdvance(family) + kGap;
    return size;
  }

 private:
  static constexpr int kGap = 16;
};

// What changes when a model's files are replaced: a file's size and time, or for a folder
// the times of its index and its UNet's config.
QString filesStamp(const QString& path) {
  const QFileInfo info(path);
  if (!info.exists()) return {};
  if (!info.isDir()) return QStringLiteral("%1:%2").arg(info.size()).arg(info.lastModified().toMSecsSinceEpoch());
  const QDir dir(path);
  QString stamp;
  for (const char* name : {"model_index.json", "unet/config.json", "text_encoder/config.json"})
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
      m_family(new QLabel(this)),
      m_refinerRow(new QWidget(this)),
      m_refiner(new QComboBox(m_refinerRow)),
      m_refinerSwitch(new QDoubleSpinBox(m_refinerRow)),
      m_refinerNote(new QLabel(this)),
      m_probeTimer(new QTimer(this)) {
  m_path->setObjectName(QStringLiteral("modelPath"));
  m_device->setObjectName(QStringLiteral("device"));
  m_precision->setObjectName(QStringLiteral("precision"));
  m_family->setObjectName(QStringLiteral("modelFamily"));
  m_refiner->setObjectName(QStringLiteral("refiner"));
  m_refinerSwitch->setObjectName(QStringLiteral("refinerSwitch"));
  m_refinerNote->setObjectName(QStringLiteral("refinerNote"));
  m_path->setEditable(true);
  m_path->setInsertPolicy(QComboBox::NoInsert);
  m_path->setSizeAdjustPolicy(QComboBox::AdjustToMinimumContentsLengthWithIcon);
  m_path->setMinimumContentsLength(12);
  m_path->setItemDelegate(new FamilyDelegate(m_path));
  m_path->lineEdit()->setPlaceholderText(util::starter_model_available()
                                             ? tr("The %1 (64x64), or a checkpoint or diffusers folder")
                                                   .arg(QString::fromUtf8(util::kStarterModelLabel))
                                             : tr("A .safetensors checkpoint or a diffusers folder"));
  m_family->setWordWrap(true);
  m_family->setSizePolicy(QSizePolicy::Ignored, QSizePolicy::Preferred);
  m_family->setTextInteractionFlags(Qt::TextSelectableByMouse);

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

  // The refiner: shown for an SDXL base only, the one family that can hand over to one.
  m_refiner->setItemDelegate(new FamilyDelegate(m_refiner));
  m_refiner->setSizeAdjustPolicy(QComboBox::AdjustToMinimumContentsLengthWithIcon);
  m_refiner->setMinimumContentsLength(8);
  m_refiner->addItem(tr("None"), QString());
  m_refiner->setToolTip(tr("An SDXL refiner that takes over from the base for the last steps"));
  const api::RefinerSettings refinerDefaults;
  m_refinerSwitch->setRange(0.01, 0.99);
  m_refinerSwitch->setSingleStep(0.05);
  m_refinerSwitch->setDecimals(2);
  m_refinerSwitch->setValue(refinerDefaults.switch_at);
  m_refinerSwitch->setPrefix(tr("switch at "));
  m_refinerSwitch->setToolTip(tr("Fraction of the steps the base takes before the refiner continues"));
  auto* refinerFile = new QToolButton(m_refinerRow);
  refinerFile->setText(tr("File…"));
  refinerFile->setToolTip(tr("Open an SDXL refiner checkpoint (.safetensors)"));
  auto* refinerFolder = new QToolButton(m_refinerRow);
  refinerFolder->setText(tr("Folder…"));
  refinerFolder->setToolTip(tr("Open an SDXL refiner diffusers folder"));
  connect(refinerFile, &QToolButton::clicked, this, &ModelPicker::chooseRefinerFile);
  connect(refinerFolder, &QToolButton::clicked, this, &ModelPicker::chooseRefinerFolder);
  auto* refinerLayout = new QHBoxLayout(m_refinerRow);
  refinerLayout->setContentsMargins(0, 0, 0, 0);
  refinerLayout->addWidget(m_refiner, 1);
  refinerLayout->addWidget(m_refinerSwitch);
  refinerLayout->addWidget(refinerFile);
  refinerLayout->addWidget(refinerFolder);
  m_refinerNote->setWordWrap(true);
  m_refinerNote->setSizePolicy(QSizePolicy::Ignored, QSizePolicy::Preferred);

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
  layout->addRow(QString(), m_family);
  layout->addRow(tr("Refiner"), m_refinerRow);
  layout->addRow(QString(), m_refinerNote);
  layout->addRow(tr("Run on"), runRow);

  // Typing a path reads it after a pause; confirming it or picking from the list counts as
  // the person's choice.
  m_probeTimer->setSingleShot(true);
  m_probeTimer->setInterval(250);
  connect(m_probeTimer, &QTimer::timeout, this, &ModelPicker::probeChosenModel);
  connect(m_path, &QComboBox::currentTextChanged, this, [this] { scheduleProbe(false); });
  connect(m_path, qOverload<int>(&QComboBox::activated), this, [this] { scheduleProbe(true); });
  connect(m_path->lineEdit(), &QLineEdit::returnPressed, this, [this] { scheduleProbe(true); });

  connect(m_path, &QComboBox::currentTextChanged, this, &ModelPicker::changed);
  connect(m_device, qOverload<int>(&QComboBox::currentIndexChanged), this, &ModelPicker::changed);
  connect(m_precision, qOverload<int>(&QComboBox::currentIndexChanged), this, &ModelPicker::changed);
  connect(m_refiner, qOverload<int>(&QComboBox::currentIndexChanged), this, [this] {
    showRefinerState();
    Q_EMIT changed();
  });
  connect(m_refinerSwitch, qOverload<double>(&QDoubleSpinBox::valueChanged), this, &ModelPicker::changed);
  probeChosenModel();
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
  // Set by the program (settings, an image's metadata): read at once, not after a pause.
  m_probeTimer->stop();
  probeChosenModel();
}

void ModelPicker::fillPathList(QComboBox* combo, const QStringList& paths, const QString& keep,
                               const std::function<QString(const QString&)>& familyOf) {
  const QSignalBlocker block(combo);
  for (const QString& path : paths) {
    combo->addItem(path, path);
    combo->setItemData(combo->count() - 1, QDir::toNativeSeparators(path), Qt::ToolTipRole);
    combo->setItemData(combo->count() - 1, familyOf(path), kFamilyRole);
  }
  if (!keep.isNull()) {
    const int index = combo->findData(keep);
    if (index >= 0) combo->setCurrentIndex(index);
  }
}

void ModelPicker::setRecentModels(const QStringList& paths) {
  const QString current = modelPath();
  {
    const QSignalBlocker block(m_path);
    m_path->clear();
  }
  fillPathList(m_path, paths, QString(), [this](const QString& path) {
    const Probe read = probe(path, m_configDir);
    return read.summary ? familyLabel(read.summary->family) : tr("cannot be opened");
  });
  const QSignalBlocker block(m_path);
  setModelPath(current);
}

void ModelPicker::setRecentRefiners(const QStringList& paths) {
  const QString current = refinerPath();
  {
    const QSignalBlocker block(m_refiner);
    while (m_refiner->count() > 1) m_refiner->removeItem(1);
  }
  fillPathList(m_refiner, paths, current, [this](const QString& path) {
    const Probe read = probe(path, std::string());
    return read.summary ? familyLabel(read.summary->family) : tr("cannot be opened");
  });
  showRefinerState();
}

QString ModelPicker::refinerPath() const { return m_refiner->currentData().toString(); }

api::RefinerSettings ModelPicker::refiner() const {
  api::RefinerSettings refiner;
  refiner.switch_at = m_refinerSwitch->value();
  if (m_summary && m_summary->family == io::ModelFamily::sdxl_base) refiner.path = refinerPath().toStdString();
  return refiner;
}

void ModelPicker::setRefiner(const api::RefinerSettings& refiner) {
  const QString path = QString::fromStdString(refiner.path);
  if (!path.isEmpty() && m_refiner->findData(path) < 0) {
    const Probe read = probe(path, std::string());
    m_refiner->addItem(path, path);
    m_refiner->setItemData(m_refiner->count() - 1,
                           read.summary ? familyLabel(read.summary->family) : tr("cannot be opened"), kFamilyRole);
  }
  selectData(m_refiner, path);
  m_refinerSwitch->setValue(refiner.switch_at);
  showRefinerState();
}

ModelPicker::Probe ModelPicker::probe(const QString& path, const std::string& configDir) {
  const QString key = path + QChar(u'\n') + QString::fromStdString(configDir);
  const QString stamp = filesStamp(path);
  const auto known = m_probes.constFind(key);
  if (known != m_probes.constEnd() && !stamp.isEmpty() && known->first == stamp) return known->second;
  Probe read;
  try {
    read.summary = pipeline::probe_model(path.toStdString(), configDir);
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
  const std::string path = options().model_path;
  const Probe read = path.empty() ? Probe{std::nullopt, QString()} : probe(QString::fromStdString(path), m_configDir);
  m_summary = read.summary;
  if (m_summary) {
    const pipeline::ModelDefaults& d = m_summary->defaults;
    m_family->setText(tr("%1 · made for %2 × %3").arg(familyLabel(m_summary->family)).arg(d.width).arg(d.height));
  } else {
    m_family->setText(read.error);
  }
  m_family->setVisible(!m_family->text().isEmpty());
  const int index = m_path->findText(modelPath());
  if (index >= 0) m_path->setItemData(index, m_summary ? familyLabel(m_summary->family) : tr("cannot be opened"), kFamilyRole);
  showRefinerState();
  Q_EMIT modelProbed(byUser);
}

void ModelPicker::showRefinerState() {
  const bool base = m_summary && m_summary->family == io::ModelFamily::sdxl_base;
  m_refinerRow->setVisible(base);
  QString note;
  const QString path = refinerPath();
  if (base && !path.isEmpty()) {
    const Probe read = probe(path, std::string());
    if (!read.summary)
      note = read.error;
    else if (read.summary->family != io::ModelFamily::sdxl_refiner)
      note = tr("This is a %1 model, not an SDXL refiner.").arg(familyLabel(read.summary->family));
  }
  m_refinerNote->setText(note);
  m_refinerNote->setVisible(!note.isEmpty());
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

void ModelPicker::chooseRefinerFile() {
  const QString path = QFileDialog::getOpenFileName(this, tr("Open an SDXL refiner"), QFileInfo(refinerPath()).path(),
                                                    tr("Checkpoints (*.safetensors);;All files (*)"));
  if (path.isEmpty()) return;
  setRefiner({path.toStdString(), m_refinerSwitch->value()});
  Q_EMIT refinerChosen(path);
}

void ModelPicker::chooseRefinerFolder() {
  const QString path = QFileDialog::getExistingDirectory(this, tr("Open an SDXL refiner folder"), refinerPath());
  if (path.isEmpty()) return;
  setRefiner({path.toStdString(), m_refinerSwitch->value()});
  Q_EMIT refinerChosen(path);
}

}  // namespace latent::ui
