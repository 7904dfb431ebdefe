#include "ui/init_image_panel.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDir>
#include <QDoubleSpinBox>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QImageReader>
#include <QLabel>
#include <QMimeData>
#include <QSignalBlocker>
#include <QSlider>
#include <QSpinBox>
#include <QToolButton>
#include <QUrl>
#include <QVBoxLayout>
#include <algorithm>
#include <cmath>

#include "ui/image_conversion.h"
#include "ui/mask_canvas.h"

namespace latent::ui {
namespace {

constexpr int kStrengthSliderScale = 100;  // the slider moves in steps of 0.01

struct ResizeChoice {
  const char* mode;  // InitImageSettings::resize_mode
  const char* label;
};
constexpr ResizeChoice kResizeChoices[] = {
    {"resize", QT_TRANSLATE_NOOP("InitImagePanel", "Stretch to the size")},
    {"crop", QT_TRANSLATE_NOOP("InitImagePanel", "Crop to fill")},
    {"pad", QT_TRANSLATE_NOOP("InitImagePanel", "Fit with padding")},
};

QString localImagePath(const QMimeData* data) {
  if (!data || !data->hasUrls()) return {};
  for (const QUrl& url : data->urls()) {
    if (!url.isLocalFile()) continue;
    const QString path = url.toLocalFile();
    if (QFileInfo(path).isFile() && !QImageReader::imageFormat(path).isEmpty()) return path;
  }
  return {};
}

}  // namespace

InitImagePanel::InitImagePanel(QWidget* parent)
    : QWidget(parent),
      m_mode(new QComboBox(this)),
      m_source(new QLabel(this)),
      m_strengthSlider(new QSlider(Qt::Horizontal, this)),
      m_strength(new QDoubleSpinBox(this)),
      m_stepsNote(new QLabel(this)),
      m_resize(new QComboBox(this)),
      m_maskGroup(new QGroupBox(tr("Inpainting mask"), this)),
      m_brush(new QSpinBox(this)),
      m_erase(new QToolButton(this)),
      m_undo(new QToolButton(this)),
      m_clearMask(new QToolButton(this)),
      m_maskBlur(new QSpinBox(this)),
      m_fullRes(new QCheckBox(tr("Inpaint the masked area at full resolution"), this)),
      m_padding(new QSpinBox(this)),
      m_canvas(new MaskCanvas(this)) {
  setObjectName(QStringLiteral("initImagePanel"));
  m_mode->setObjectName(QStringLiteral("imageMode"));
  m_mode->addItem(tr("Text to image"), int(ImageMode::Text));
  m_mode->addItem(tr("Image to image"), int(ImageMode::Image));
  m_mode->addItem(tr("Inpaint"), int(ImageMode::Inpaint));
  m_mode->setToolTip(
      tr("Start from noise, from the picture, or repaint only the painted part of the picture"));
  m_source->setObjectName(QStringLiteral("initImageSource"));
  m_source->setSizePolicy(QSizePolicy::Ignored, QSizePolicy::Preferred);

  auto* open = new QToolButton(this);
  open->setObjectName(QStringLiteral("openInitImage"));
  open->setText(tr("Open picture…"));
  connect(open, &QToolButton::clicked, this, &InitImagePanel::choosePicture);
  auto* useSize = new QToolButton(this);
  useSize->setObjectName(QStringLiteral("useInitImageSize"));
  useSize->setText(tr("Use its size"));
  useSize->setToolTip(tr("Set the output size to the picture's, rounded to multiples of 8"));
  connect(useSize, &QToolButton::clicked, this, [this] {
    const QSize size = picture().size();
    if (size.isEmpty()) return;
    Q_EMIT sizeWanted(
        QSize(std::max(64, size.width() / 8 * 8), std::max(64, size.height() / 8 * 8)));
  });
  auto* remove = new QToolButton(this);
  remove->setText(tr("Remove"));
  remove->setToolTip(tr("Forget the picture"));
  connect(remove, &QToolButton::clicked, this, &InitImagePanel::clearPicture);

  m_strength->setObjectName(QStringLiteral("strength"));
  m_strength->setRange(0.0, 1.0);
  m_strength->setSingleStep(0.05);
  m_strength->setDecimals(2);
  m_strength->setToolTip(
      tr("How much of the picture is repainted: 0 keeps it, 1 repaints it from noise"));
  m_strengthSlider->setRange(0, kStrengthSliderScale);
  connect(m_strengthSlider, &QSlider::valueChanged, this, [this](int v) {
    if (std::lround(m_strength->value() * kStrengthSliderScale) != v)
      m_strength->setValue(double(v) / kStrengthSliderScale);
  });
  connect(m_strength, qOverload<double>(&QDoubleSpinBox::valueChanged), this, [this](double v) {
    const QSignalBlocker block(m_strengthSlider);
    m_strengthSlider->setValue(int(std::lround(v * kStrengthSliderScale)));
    setSteps(m_steps);
  });
  m_stepsNote->setObjectName(QStringLiteral("strengthSteps"));

  m_resize->setObjectName(QStringLiteral("resizeMode"));
  for (const ResizeChoice& choice : kResizeChoices)
    m_resize->addItem(tr(choice.label), QString::fromLatin1(choice.mode));
  m_resize->setToolTip(tr("How the picture is fitted to the output size"));

  m_brush->setObjectName(QStringLiteral("brushSize"));
  m_brush->setRange(1, 512);
  m_brush->setSuffix(tr(" px"));
  m_brush->setToolTip(tr("Brush diameter, in picture pixels"));
  connect(m_brush, qOverload<int>(&QSpinBox::valueChanged), m_canvas, &MaskCanvas::setBrushSize);
  m_erase->setObjectName(QStringLiteral("eraseMask"));
  m_erase->setText(tr("Erase"));
  m_erase->setCheckable(true);
  m_erase->setToolTip(
      tr("Checked: the left button erases the mask. The right button always erases."));
  connect(m_erase, &QToolButton::toggled, m_canvas, &MaskCanvas::setErasing);
  m_undo->setObjectName(QStringLiteral("undoMask"));
  m_undo->setText(tr("Undo"));
  m_undo->setToolTip(tr("Undo the last stroke (Ctrl+Z on the canvas)"));
  m_undo->setEnabled(false);
  connect(m_undo, &QToolButton::clicked, m_canvas, &MaskCanvas::undo);
  connect(m_canvas, &MaskCanvas::undoAvailable, m_undo, &QToolButton::setEnabled);
  m_clearMask->setObjectName(QStringLiteral("clearMask"));
  m_clearMask->setText(tr("Clear"));
  m_clearMask->setToolTip(tr("Empty the mask"));
  connect(m_clearMask, &QToolButton::clicked, m_canvas, &MaskCanvas::clear);
  m_maskBlur->setObjectName(QStringLiteral("maskBlur"));
  m_maskBlur->setRange(0, 64);
  m_maskBlur->setSuffix(tr(" px"));
  m_maskBlur->setToolTip(tr("Feathering of the mask's edge, so the repainted part blends in"));
  m_fullRes->setObjectName(QStringLiteral("inpaintFullRes"));
  m_fullRes->setToolTip(
      tr("Cut out the masked area with some context, repaint it at the output size "
         "and paste it back: more detail for small areas"));
  m_padding->setObjectName(QStringLiteral("inpaintPadding"));
  m_padding->setRange(0, 256);
  m_padding->setSuffix(tr(" px"));
  m_padding->setToolTip(tr("Context kept around the masked area"));
  connect(m_fullRes, &QCheckBox::toggled, m_padding, &QSpinBox::setEnabled);

  auto* pictureRow = new QHBoxLayout;
  pictureRow->addWidget(open);
  pictureRow->addWidget(useSize);
  pictureRow->addWidget(remove);
  pictureRow->addStretch(1);
  auto* strengthRow = new QHBoxLayout;
  strengthRow->addWidget(m_strengthSlider, 1);
  strengthRow->addWidget(m_strength);
  auto* form = new QFormLayout;
  form->addRow(tr("&Mode"), m_mode);
  form->addRow(tr("Picture"), pictureRow);
  form->addRow(QString(), m_source);
  form->addRow(tr("Strength"), strengthRow);
  form->addRow(QString(), m_stepsNote);
  form->addRow(tr("&Fit"), m_resize);

  auto* brushRow = new QHBoxLayout;
  brushRow->addWidget(new QLabel(tr("Brush"), this));
  brushRow->addWidget(m_brush);
  brushRow->addWidget(m_erase);
  brushRow->addWidget(m_undo);
  brushRow->addWidget(m_clearMask);
  brushRow->addStretch(1);
  auto* maskForm = new QFormLayout;
  maskForm->addRow(tr("Mask &blur"), m_maskBlur);
  maskForm->addRow(m_fullRes);
  maskForm->addRow(tr("&Padding"), m_padding);
  auto* maskLayout = new QVBoxLayout(m_maskGroup);
  maskLayout->addLayout(brushRow);
  maskLayout->addLayout(maskForm);

  auto* layout = new QVBoxLayout(this);
  layout->addLayout(form);
  layout->addWidget(m_maskGroup);
  layout->addWidget(m_canvas, 1);

  setRequest(api::GenerationRequest{});
  m_brush->setValue(m_canvas->brushSize());
  setPicture(QImage());
  updateModeWidgets();

  const auto emitChanged = [this] { Q_EMIT changed(); };
  connect(m_mode, qOverload<int>(&QComboBox::currentIndexChanged), this, [this] {
    updateModeWidgets();
    Q_EMIT changed();
  });
  connect(m_strength, qOverload<double>(&QDoubleSpinBox::valueChanged), this, emitChanged);
  connect(m_resize, qOverload<int>(&QComboBox::currentIndexChanged), this, emitChanged);
  connect(m_brush, qOverload<int>(&QSpinBox::valueChanged), this, emitChanged);
  connect(m_maskBlur, qOverload<int>(&QSpinBox::valueChanged), this, emitChanged);
  connect(m_fullRes, &QCheckBox::toggled, this, emitChanged);
  connect(m_padding, qOverload<int>(&QSpinBox::valueChanged), this, emitChanged);
}

ImageMode InitImagePanel::mode() const {
  return static_cast<ImageMode>(m_mode->currentData().toInt());
}

void InitImagePanel::setMode(ImageMode mode) {
  m_mode->setCurrentIndex(m_mode->findData(int(mode)));
}

void InitImagePanel::updateModeWidgets() {
  const ImageMode current = mode();
  m_maskGroup->setVisible(current == ImageMode::Inpaint);
  m_canvas->setPaintingEnabled(current == ImageMode::Inpaint);
  setSteps(m_steps);
}

bool InitImagePanel::loadPicture(const QString& path) {
  QImageReader reader(path);
  reader.setAutoTransform(true);  // as the camera held it
  const QImage image = reader.read();
  if (image.isNull()) {
    Q_EMIT message(tr("Cannot open %1 as a picture: %2")
                       .arg(QDir::toNativeSeparators(path), reader.errorString()));
    return false;
  }
  setPicture(image, QFileInfo(path).absoluteFilePath());
  return true;
}

void InitImagePanel::setPicture(const QImage& picture, const QString& path) {
  m_path = picture.isNull() ? QString() : path;
  m_canvas->setPicture(picture.isNull() ? QImage()
                                        : picture.convertToFormat(QImage::Format_RGB888));
  if (picture.isNull()) {
    m_source->setText(tr("No picture"));
  } else {
    const QString name = path.isEmpty() ? tr("the picture") : QFileInfo(path).fileName();
    m_source->setText(tr("%1, %2 × %3").arg(name).arg(picture.width()).arg(picture.height()));
    m_source->setToolTip(QDir::toNativeSeparators(path));
  }
  // Bringing a picture in means using it.
  if (!picture.isNull() && mode() == ImageMode::Text) setMode(ImageMode::Image);
  Q_EMIT changed();
}

QImage InitImagePanel::picture() const { return m_canvas->picture(); }

void InitImagePanel::clearPicture() {
  setPicture(QImage());
  setMode(ImageMode::Text);
}

void InitImagePanel::choosePicture() {
  const QString start = m_path.isEmpty() ? QString() : QFileInfo(m_path).absolutePath();
  const QString path = QFileDialog::getOpenFileName(
      this, tr("Starting picture"), start,
      tr("Pictures (*.png *.jpg *.jpeg *.webp *.bmp *.tif *.tiff);;All files (*)"));
  if (!path.isEmpty()) loadPicture(path);
}

api::GenerationRequest InitImagePanel::request(const api::GenerationRequest& base) const {
  api::GenerationRequest r = base;
  r.init.strength = m_strength->value();
  r.init.resize_mode = m_resize->currentData().toString().toStdString();
  r.mask.blur = m_maskBlur->value();
  r.mask.only_masked = m_fullRes->isChecked();
  r.mask.only_masked_padding = m_padding->value();
  r.init.path.clear();
  r.init.pixels.reset();
  r.mask.path.clear();
  r.mask.pixels.reset();
  if (mode() == ImageMode::Text || picture().isNull()) return r;
  // The pixels as shown, not the file: what is on screen is what gets repainted.
  r.init.pixels = toApiImage(picture());
  if (mode() == ImageMode::Inpaint) r.mask.pixels = toApiImage(m_canvas->mask());
  return r;
}

void InitImagePanel::setRequest(const api::GenerationRequest& r) {
  m_strength->setValue(r.init.strength);
  const int resize = m_resize->findData(QString::fromStdString(r.init.resize_mode));
  if (resize >= 0) m_resize->setCurrentIndex(resize);
  m_maskBlur->setValue(r.mask.blur);
  m_fullRes->setChecked(r.mask.only_masked);
  m_padding->setValue(r.mask.only_masked_padding);
  m_padding->setEnabled(r.mask.only_masked);
}

QString InitImagePanel::problem() const {
  if (mode() == ImageMode::Text) return {};
  if (picture().isNull())
    return tr(
        "Image to image needs a starting picture: drop one on the window or choose \"Open "
        "picture…\".");
  if (mode() == ImageMode::Inpaint && !m_canvas->hasMask())
    return tr("The mask is empty: paint over the part of the picture to repaint.");
  return {};
}

void InitImagePanel::setSteps(int steps) {
  m_steps = steps;
  if (mode() == ImageMode::Text || steps <= 0) {
    m_stepsNote->clear();
    return;
  }
  // The engine starts part way down the schedule, as diffusers does: int(steps × strength).
  const int run = std::min(steps, static_cast<int>(steps * m_strength->value()));
  m_stepsNote->setText(tr("Runs %1 of %2 steps").arg(run).arg(steps));
}

QString InitImagePanel::stepsText() const { return m_stepsNote->text(); }

bool InitImagePanel::hasPicture(const QMimeData* data) {
  return data && (data->hasImage() || !localImagePath(data).isEmpty());
}

bool InitImagePanel::takeMimeData(const QMimeData* data) {
  if (!data) return false;
  const QString path = localImagePath(data);
  if (!path.isEmpty()) return loadPicture(path);
  if (data->hasImage()) {
    const QImage image = qvariant_cast<QImage>(data->imageData());
    if (image.isNull()) return false;
    setPicture(image);
    return true;
  }
  return false;
}

}  // namespace latent::ui
