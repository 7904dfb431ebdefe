#include "ui/image_details.h"

#include <QClipboard>
#include <QDesktopServices>
#include <QDragEnterEvent>
#include <QDropEvent>
#include <QFile>
#include <QFileInfo>
#include <QGridLayout>
#include <QGuiApplication>
#include <QImageReader>
#include <QLabel>
#include <QMimeData>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QUrl>
#include <QVBoxLayout>

#include <exception>

#include "core/image/image_prep.h"
#include "ui/image_conversion.h"
#include "ui/image_metadata.h"

namespace latent::ui {
namespace {

// Qt reads PNG and JPEG; WebP (without Qt's image format plugins) through OpenCV.
QImage readPicture(const QString& path) {
  QImageReader reader(path);
  reader.setAutoTransform(true);
  QImage picture = reader.read();
  if (!picture.isNull()) return picture;
  try {
    return toQImage(image::mat_to_image(image::load_image_rgb(path.toStdString())));
  } catch (const std::exception&) {
    return {};
  }
}

}  // namespace

ImageDetails::ImageDetails(QWidget* parent)
    : QWidget(parent),
      m_picture(new QLabel(this)),
      m_caption(new QLabel(this)),
      m_parameters(new QPlainTextEdit(this)),
      m_unmapped(new QLabel(this)) {
  setObjectName(QStringLiteral("imageDetails"));
  setAcceptDrops(true);  // another program's image dropped here shows what it says
  m_picture->setAlignment(Qt::AlignCenter);
  m_picture->setMinimumSize(96, 96);
  m_picture->setSizePolicy(QSizePolicy::Ignored, QSizePolicy::Ignored);
  m_caption->setTextInteractionFlags(Qt::TextSelectableByMouse);
  m_caption->setWordWrap(true);
  m_parameters->setObjectName(QStringLiteral("imageParameters"));
  m_parameters->setReadOnly(true);
  m_parameters->setMaximumHeight(110);
  m_unmapped->setObjectName(QStringLiteral("imageUnmapped"));
  m_unmapped->setWordWrap(true);
  m_unmapped->setTextInteractionFlags(Qt::TextSelectableByMouse);
  m_unmapped->setToolTip(tr("Settings the image's program used that Latent Studio has no counterpart for"));

  auto addAction = [this](const QString& text, const QString& name, auto slot) {
    auto* button = new QPushButton(text, this);
    button->setObjectName(name);
    connect(button, &QPushButton::clicked, this, slot);
    m_actions.append(button);
    return button;
  };
  addAction(tr("&Use these settings"), QStringLiteral("useSettings"), [this] { Q_EMIT useSettingsRequested(m_path); });
  addAction(tr("To image to image"), QStringLiteral("sendToImage"), [this] { Q_EMIT sendToImageRequested(m_path); });
  addAction(tr("Upscale…"), QStringLiteral("upscaleImage"), [this] { Q_EMIT upscaleRequested(m_path); });
  addAction(tr("Open"), QStringLiteral("openImage"), &ImageDetails::openImage);
  addAction(tr("Show in folder"), QStringLiteral("showInFolder"), &ImageDetails::showInFolder);
  addAction(tr("Copy prompt"), QStringLiteral("copyPrompt"), &ImageDetails::copyPrompt);
  addAction(tr("Move to trash"), QStringLiteral("trashImage"), &ImageDetails::moveToTrash);

  auto* buttons = new QGridLayout;
  for (int i = 0; i < m_actions.size(); ++i) buttons->addWidget(m_actions[i], i / 3, i % 3);
  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(0, 0, 0, 0);
  layout->addWidget(m_picture, 1);
  layout->addWidget(m_caption);
  layout->addWidget(m_parameters);
  layout->addWidget(m_unmapped);
  layout->addLayout(buttons);
  showImage({});
}

void ImageDetails::showImage(const QString& path) {
  m_path = path;
  m_image = QImage();
  m_prompt.clear();
  m_source.clear();
  QString parameters;
  QStringList unmapped;
  if (!path.isEmpty()) {
    m_image = readPicture(path);
    const RestoredSettings settings = readImageSettings(path, {});
    if (settings.found) {
      m_prompt = QString::fromStdString(settings.request.prompt);
      m_source = settings.source;
      unmapped = settings.unmapped;
      parameters = settings.parametersText;
      if (parameters.isEmpty()) parameters = m_prompt;
    }
    QString caption = m_image.isNull()
                          ? tr("%1 — cannot be read as an image").arg(QFileInfo(path).fileName())
                          : tr("%1 — %2 × %3").arg(QFileInfo(path).fileName()).arg(m_image.width()).arg(m_image.height());
    if (!m_source.isEmpty()) caption += tr(" — made with %1").arg(m_source);
    m_caption->setText(caption);
  } else {
    m_caption->setText(tr("Select an image to see how it was made."));
  }
  m_parameters->setPlainText(parameters);
  m_unmapped->setText(unmapped.isEmpty() ? QString()
                                         : tr("Not restored by “Use these settings”: %1").arg(unmapped.join(QStringLiteral("; "))));
  m_unmapped->setVisible(!unmapped.isEmpty());
  for (QPushButton* button : std::as_const(m_actions)) button->setEnabled(!path.isEmpty());
  updatePicture();
}

QString ImageDetails::parametersText() const { return m_parameters->toPlainText(); }

QString ImageDetails::unmappedNote() const { return m_unmapped->text(); }

QString ImageDetails::imageFileIn(const QMimeData* data) {
  if (data == nullptr) return {};
  for (const QUrl& url : data->urls()) {
    const QString path = url.toLocalFile();
    const QString suffix = QFileInfo(path).suffix().toLower();
    if (QFileInfo(path).isFile() && (suffix == QLatin1String("png") || suffix == QLatin1String("jpg") ||
                                     suffix == QLatin1String("jpeg") || suffix == QLatin1String("webp")))
      return path;
  }
  return {};
}

void ImageDetails::dragEnterEvent(QDragEnterEvent* event) {
  if (!imageFileIn(event->mimeData()).isEmpty()) event->acceptProposedAction();
}

void ImageDetails::dropEvent(QDropEvent* event) {
  const QString path = imageFileIn(event->mimeData());
  if (path.isEmpty()) return;
  event->acceptProposedAction();
  showImage(path);
}

void ImageDetails::resizeEvent(QResizeEvent* event) {
  QWidget::resizeEvent(event);
  updatePicture();
}

void ImageDetails::updatePicture() {
  if (m_image.isNull()) {
    m_picture->setPixmap({});
    return;
  }
  const QSize box = m_picture->size();
  const bool magnify = box.width() >= 2 * m_image.width() && box.height() >= 2 * m_image.height();
  m_picture->setPixmap(QPixmap::fromImage(m_image.scaled(box, Qt::KeepAspectRatio,
                                                         magnify ? Qt::FastTransformation : Qt::SmoothTransformation)));
}

void ImageDetails::openImage() {
  if (!m_path.isEmpty()) QDesktopServices::openUrl(QUrl::fromLocalFile(m_path));
}

void ImageDetails::showInFolder() {
  if (!m_path.isEmpty()) QDesktopServices::openUrl(QUrl::fromLocalFile(QFileInfo(m_path).absolutePath()));
}

bool ImageDetails::moveToTrash() {
  if (m_path.isEmpty()) return false;
  const QString path = m_path;
  if (!QFile::moveToTrash(path)) {
    Q_EMIT message(tr("Could not move %1 to the trash.").arg(QFileInfo(path).fileName()));
    return false;
  }
  showImage({});
  Q_EMIT trashed(path);
  return true;
}

void ImageDetails::copyPrompt() {
  if (!m_prompt.isEmpty()) QGuiApplication::clipboard()->setText(m_prompt);
}

}  // namespace latent::ui
