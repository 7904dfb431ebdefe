#include "ui/control_panel.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QDragEnterEvent>
#include <QDropEvent>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QMimeData>
#include <QPixmap>
#include <QPushButton>
#include <QSlider>
#include <QVBoxLayout>
#include <cmath>

#include "core/control/preprocessors.h"
#include "core/image/image_prep.h"
#include "ui/image_conversion.h"

namespace latent::ui {
namespace {

constexpr int kPreviewSide = 160;
constexpr int kWeightSteps = 100;  // slider steps per 1.0 of weight
constexpr double kMaxWeight = 2.0;

// The resize modes as the web UI names them, and as the request does.
const std::pair<const char*, const char*> kResizeModes[] = {
    {"Just resize (stretch)", "stretch"}, {"Crop and resize", "crop"}, {"Resize and fill", "fill"}};

QDoubleSpinBox* fractionSpin(double value) {
  auto* spin = new QDoubleSpinBox;
  spin->setRange(0.0, 1.0);
  spin->setSingleStep(0.05);
  spin->setDecimals(2);
  spin->setValue(value);
  return spin;
}

bool isModelFile(const QFileInfo& info) {
  return info.isDir() || info.suffix().compare("safetensors", Qt::CaseInsensitive) == 0;
}

}  // namespace

ControlPanel::ControlPanel(QWidget* parent) : QWidget(parent) {
  setAcceptDrops(true);
  auto* layout = new QVBoxLayout(this);
  auto* intro =
      new QLabel(tr("ControlNets steer the composition with a control picture: edges, a "
                    "scribble, a tile. Drop a picture or a ControlNet on a unit."));
  intro->setWordWrap(true);
  layout->addWidget(intro);
  for (int i = 0; i < kUnits; ++i) layout->addWidget(buildUnit(i));
  m_guessMode = new QCheckBox(tr("Guess mode (ControlNet is more important)"));
  m_guessMode->setToolTip(
      tr("The ControlNets see the prompt only, not the negative prompt, and "
         "their fine-detail residuals are weakened (diffusers' guess_mode)."));
  connect(m_guessMode, &QCheckBox::toggled, this, &ControlPanel::changed);
  layout->addWidget(m_guessMode);
  layout->addStretch();
}

QGroupBox* ControlPanel::buildUnit(int i) {
  Unit& u = m_units[i];
  u.box = new QGroupBox(tr("Unit %1").arg(i + 1));
  auto* form = new QFormLayout(u.box);
  u.enable = new QCheckBox(tr("Enable"));
  form->addRow(u.enable);

  const auto pathRow = [&](QLineEdit*& edit, const QString& placeholder, auto choose) {
    auto* row = new QHBoxLayout;
    edit = new QLineEdit;
    edit->setPlaceholderText(placeholder);
    auto* browse = new QPushButton(tr("…"));
    browse->setMaximumWidth(32);
    connect(browse, &QPushButton::clicked, this, [this, i, choose] { (this->*choose)(i); });
    row->addWidget(edit, 1);
    row->addWidget(browse);
    return row;
  };
  form->addRow(tr("Model"), pathRow(u.model, tr("ControlNet folder or .safetensors"),
                                    &ControlPanel::chooseModel));
  form->addRow(tr("Picture"), pathRow(u.image, tr("control picture (drop one here)"),
                                      &ControlPanel::choosePicture));

  u.preprocessor = new QComboBox;
  for (const auto& p : control::preprocessors()) {
    u.preprocessor->addItem(QString::fromStdString(p.name), QString::fromStdString(p.name));
    u.preprocessor->setItemData(u.preprocessor->count() - 1, QString::fromStdString(p.description),
                                Qt::ToolTipRole);
  }
  form->addRow(tr("Preprocessor"), u.preprocessor);
  u.aLabel = new QLabel;
  u.a = new QDoubleSpinBox;
  form->addRow(u.aLabel, u.a);
  u.bLabel = new QLabel;
  u.b = new QDoubleSpinBox;
  form->addRow(u.bLabel, u.b);
  u.resize = new QComboBox;
  for (const auto& [label, name] : kResizeModes)
    u.resize->addItem(tr(label), QString::fromLatin1(name));
  form->addRow(tr("Resize mode"), u.resize);

  auto* weightRow = new QHBoxLayout;
  u.weightSlider = new QSlider(Qt::Horizontal);
  u.weightSlider->setRange(0, static_cast<int>(kMaxWeight * kWeightSteps));
  u.weight = new QDoubleSpinBox;
  u.weight->setRange(0.0, kMaxWeight);
  u.weight->setSingleStep(0.05);
  u.weight->setValue(1.0);
  u.weightSlider->setValue(kWeightSteps);
  weightRow->addWidget(u.weightSlider, 1);
  weightRow->addWidget(u.weight);
  form->addRow(tr("Weight"), weightRow);
  connect(u.weightSlider, &QSlider::valueChanged, u.weight,
          [w = u.weight](int v) { w->setValue(static_cast<double>(v) / kWeightSteps); });
  connect(u.weight, qOverload<double>(&QDoubleSpinBox::valueChanged), u.weightSlider,
          [s = u.weightSlider](double v) {
            s->setValue(static_cast<int>(std::lround(v * kWeightSteps)));
          });
  u.start = fractionSpin(0.0);
  u.end = fractionSpin(1.0);
  auto* window = new QHBoxLayout;
  window->addWidget(new QLabel(tr("Start")));
  window->addWidget(u.start);
  window->addWidget(new QLabel(tr("End")));
  window->addWidget(u.end);
  form->addRow(tr("Steps"), window);

  u.preview = new QLabel;
  u.preview->setMinimumSize(kPreviewSide / 2, kPreviewSide / 2);
  u.preview->setAlignment(Qt::AlignCenter);
  auto* save = new QPushButton(tr("Save map…"));
  connect(save, &QPushButton::clicked, this, [this, i] { saveMapAs(i); });
  auto* previewRow = new QVBoxLayout;
  previewRow->addWidget(u.preview);
  previewRow->addWidget(save, 0, Qt::AlignLeft);
  form->addRow(tr("Map"), previewRow);

  showParameters(i);
  connect(u.preprocessor, &QComboBox::currentIndexChanged, this, [this, i] {
    showParameters(i);
    updatePreview(i);
  });
  for (QDoubleSpinBox* spin : {u.a, u.b})
    connect(spin, qOverload<double>(&QDoubleSpinBox::valueChanged), this,
            [this, i] { updatePreview(i); });
  connect(u.image, &QLineEdit::editingFinished, this, [this, i] { updatePreview(i); });
  connect(u.image, &QLineEdit::textChanged, this, [this, i] { updatePreview(i); });
  for (QLineEdit* edit : {u.model, u.image})
    connect(edit, &QLineEdit::textChanged, this, &ControlPanel::changed);
  for (QDoubleSpinBox* spin : {u.a, u.b, u.weight, u.start, u.end})
    connect(spin, qOverload<double>(&QDoubleSpinBox::valueChanged), this, &ControlPanel::changed);
  for (QComboBox* combo : {u.preprocessor, u.resize})
    connect(combo, &QComboBox::currentIndexChanged, this, &ControlPanel::changed);
  connect(u.enable, &QCheckBox::toggled, this, &ControlPanel::changed);
  updatePreview(i);
  return u.box;
}

void ControlPanel::showParameters(int i) {
  Unit& u = m_units[i];
  const auto& info =
      control::preprocessor_info(u.preprocessor->currentData().toString().toStdString());
  const auto show = [](QLabel* label, QDoubleSpinBox* spin, const std::string& name, double low,
                       double high, double value) {
    label->setVisible(!name.empty());
    spin->setVisible(!name.empty());
    if (name.empty()) return;
    label->setText(QString::fromStdString(name));
    const QSignalBlocker quiet(spin);
    spin->setRange(low, high);
    spin->setDecimals(high - low > 20 ? 0 : 2);
    spin->setValue(value);
  };
  show(u.aLabel, u.a, info.a_label, info.a_min, info.a_max, info.a_default);
  show(u.bLabel, u.b, info.b_label, info.b_min, info.b_max, info.b_default);
}

api::ControlUnit ControlPanel::unitSettings(int i) const {
  const Unit& u = m_units[i];
  api::ControlUnit unit;
  unit.enabled = u.enable->isChecked();
  unit.model_path = u.model->text().trimmed().toStdString();
  unit.image_path = u.image->text().trimmed().toStdString();
  unit.preprocessor = u.preprocessor->currentData().toString().toStdString();
  unit.threshold_a = u.a->isVisibleTo(u.box) ? u.a->value() : -1;
  unit.threshold_b = u.b->isVisibleTo(u.box) ? u.b->value() : -1;
  unit.resize_mode = u.resize->currentData().toString().toStdString();
  unit.weight = u.weight->value();
  unit.guidance_start = u.start->value();
  unit.guidance_end = u.end->value();
  return unit;
}

api::GenerationRequest ControlPanel::request(const api::GenerationRequest& base) const {
  api::GenerationRequest r = base;
  r.control_units.clear();
  for (int i = 0; i < kUnits; ++i)
    if (m_units[i].enable->isChecked()) r.control_units.push_back(unitSettings(i));
  r.control_guess_mode = !r.control_units.empty() && m_guessMode->isChecked();
  return r;
}

void ControlPanel::setRequest(const api::GenerationRequest& request) {
  for (int i = 0; i < kUnits; ++i) {
    Unit& u = m_units[i];
    const api::ControlUnit unit = i < static_cast<int>(request.control_units.size())
                                      ? request.control_units[i]
                                      : api::ControlUnit{};
    const int found = u.preprocessor->findData(QString::fromStdString(unit.preprocessor));
    u.preprocessor->setCurrentIndex(found < 0 ? 0 : found);
    showParameters(i);
    if (unit.threshold_a >= 0) u.a->setValue(unit.threshold_a);
    if (unit.threshold_b >= 0) u.b->setValue(unit.threshold_b);
    const int resize = u.resize->findData(QString::fromStdString(unit.resize_mode));
    u.resize->setCurrentIndex(resize < 0 ? 0 : resize);
    u.weight->setValue(unit.weight);
    u.start->setValue(unit.guidance_start);
    u.end->setValue(unit.guidance_end);
    u.model->setText(QString::fromStdString(unit.model_path));
    u.image->setText(QString::fromStdString(unit.image_path));
    u.enable->setChecked(i < static_cast<int>(request.control_units.size()) && unit.enabled);
    updatePreview(i);
  }
  m_guessMode->setChecked(request.control_guess_mode);
}

void ControlPanel::updatePreview(int i) {
  Unit& u = m_units[i];
  u.map = QImage();
  u.message.clear();
  const QString path = u.image->text().trimmed();
  const std::string name = u.preprocessor->currentData().toString().toStdString();
  if (path.isEmpty()) {
    u.message = tr("no picture");
  } else if (name == "inpaint") {
    u.message = tr("made from the starting picture's mask when generating");
  } else {
    try {
      const api::ControlUnit unit = unitSettings(i);
      const cv::Mat map = control::map_preview(control::preprocess(
          image::load_image_rgb(path.toStdString()), {name, unit.threshold_a, unit.threshold_b}));
      u.map = toQImage(image::mat_to_image(map));
    } catch (const std::exception& error) {
      u.message = QString::fromUtf8(error.what());
    }
  }
  if (u.map.isNull()) {
    u.preview->setPixmap({});
    u.preview->setText(u.message);
    u.preview->setWordWrap(true);
  } else {
    u.preview->setPixmap(QPixmap::fromImage(u.map).scaled(
        kPreviewSide, kPreviewSide, Qt::KeepAspectRatio, Qt::SmoothTransformation));
  }
}

QString ControlPanel::previewMessage(int i) const { return m_units[i].message; }

bool ControlPanel::saveMap(int i, const QString& path, QString* error) const {
  const QImage& map = m_units[i].map;
  const auto fail = [&](const QString& why) {
    if (error) *error = why;
    return false;
  };
  if (map.isNull()) return fail(tr("unit %1 has no map: %2").arg(i + 1).arg(m_units[i].message));
  if (!map.save(path, "PNG")) return fail(tr("cannot write '%1'").arg(path));
  return true;
}

int ControlPanel::enabledCount() const {
  int n = 0;
  for (const Unit& u : m_units) n += u.enable->isChecked() ? 1 : 0;
  return n;
}

void ControlPanel::chooseModel(int i) {
  const QString path =
      QFileDialog::getOpenFileName(this, tr("ControlNet model"), m_units[i].model->text(),
                                   tr("ControlNet (*.safetensors config.json)"));
  if (path.isEmpty()) return;
  // A diffusers folder is chosen by its config.json.
  const QFileInfo info(path);
  m_units[i].model->setText(info.fileName() == "config.json" ? info.absolutePath() : path);
  m_units[i].enable->setChecked(true);
}

void ControlPanel::choosePicture(int i) {
  const QString path =
      QFileDialog::getOpenFileName(this, tr("Control picture"), m_units[i].image->text(),
                                   tr("Pictures (*.png *.jpg *.jpeg *.webp *.bmp)"));
  if (path.isEmpty()) return;
  m_units[i].image->setText(path);
}

void ControlPanel::saveMapAs(int i) {
  const QString path =
      QFileDialog::getSaveFileName(this, tr("Save the map"), {}, tr("PNG (*.png)"));
  if (path.isEmpty()) return;
  QString error;
  if (!saveMap(i, path, &error)) m_units[i].preview->setToolTip(error);
}

void ControlPanel::dragEnterEvent(QDragEnterEvent* event) {
  if (event->mimeData()->hasUrls()) event->acceptProposedAction();
}

void ControlPanel::dropEvent(QDropEvent* event) {
  const QList<QUrl> urls = event->mimeData()->urls();
  if (urls.isEmpty() || !urls.first().isLocalFile()) return;
  dropFile(urls.first().toLocalFile(), event->position().toPoint());
  event->acceptProposedAction();
}

void ControlPanel::dropFile(const QString& path, const QPoint& at) {
  int target = 0;  // the unit under the drop, else the first
  for (int i = 0; i < kUnits; ++i)
    if (m_units[i].box->geometry().contains(at)) target = i;
  const QFileInfo info(path);
  if (isModelFile(info))
    m_units[target].model->setText(info.absoluteFilePath());
  else
    m_units[target].image->setText(info.absoluteFilePath());
  m_units[target].enable->setChecked(true);
}

}  // namespace latent::ui
