#include "ui/image_details.h"

#include <QClipboard>
#include <QDesktopServices>
#include <QFile>
#include <QFileInfo>
#include <QGridLayout>
#include <QGuiApplication>
#include <QImageReader>
#include <QLabel>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QUrl>
#include <QVBoxLayout>

#include "ui/image_metadata.h"

namespace latent::ui {

ImageDetails::ImageDetails(QWidget* parent)
    : QWidget(parent), m_picture(new QLabel(this)), m_caption(new QLabel(this)), m_parameters(new QPlainTextEdit(this)) {
  setObjectName(QStringLiteral("imageDetails"));
  m_picture->setAlignment(Qt::AlignCenter);
  m_picture->setMinimumSize(96, 96);
  m_picture->setSizePolicy(QSizePolicy::Ignored, QSizePolicy::Ignored);
  m_caption->setTextInteractionFlags(Qt::TextSelectableByMouse);
  m_caption->setWordWrap(true);
  m_parameters->setObjectName(QStringLiteral("imageParameters"));
  m_parameters->setReadOnly(true);
  m_parameters->setMaximumHeight(110);

  auto addAction = [this](const QString& text, const QString& name, auto slot) {
    auto* button = new QPushButton(text, this);
    button->setObjectName(name);
    connect(button, &QPushButton::clicked, this, slot);
    m_actions.append(button);
    return button;
  };
  addAction(tr("&Use these settings"), QStringLiteral("useSettings"), [this] { Q_EMIT useSettingsRequested(m_path); });
  addAction(tr("To image to image"), QStringLiteral("sendToImage"), [this] { Q_EMIT sendToImageRequested(m_path); });
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
  layout->addLayout(buttons);
  showImage({});
}

void ImageDetails::showImage(const QString& path) {
  m_path = path;
  m_image = QImage();
  m_prompt.clear();
  QString parameters;
  if (!path.isEmpty()) {
    QImageReader reader(path);
    reader.setAutoTransform(true);
    m_image = reader.read();
    const RestoredSettings settings = readImageSettings(path, {});
    if (settings.found) {
      m_prompt = QString::fromStdString(settings.request.prompt);
      parameters = settings.parametersText;
      if (parameters.isEmpty()) parameters = m_prompt;
    }
    m_caption->setText(m_image.isNull()
                           ? tr("%1 — cannot be read as an image").arg(QFileInfo(path).fileName())
                           : tr("%1 — %2 × %3").arg(QFileInfo(path).fileName()).arg(m_image.width()).arg(m_image.height()));
  } else {
    m_caption->setText(tr("Select an image to see how it was made."));
  }
  m_parameters->setPlainText(parameters);
  for (QPushButton* button : std::as_const(m_actions)) button->setEnabled(!path.isEmpty());
  updatePicture();
}

QString ImageDetails::parametersText() const { return m_parameters->toPlainText(); }

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
