#include "ui/preview_view.h"

#include <QPainter>
#include <QPalette>

#include <cmath>

namespace latent::ui {

PreviewView::PreviewView(QWidget* parent) : QWidget(parent) {
  setObjectName(QStringLiteral("preview"));
  setAttribute(Qt::WA_OpaquePaintEvent);
  setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Expanding);
  m_placeholder = tr("Write a prompt and press Generate");
}

void PreviewView::setImages(const QList<QImage>& images) {
  m_images = images;
  update();
}

void PreviewView::setPlaceholderText(const QString& text) {
  m_placeholder = text;
  if (m_images.isEmpty()) update();
}

void PreviewView::clear() {
  m_images.clear();
  update();
}

QSize PreviewView::sizeHint() const { return {512, 512}; }
QSize PreviewView::minimumSizeHint() const { return {128, 128}; }

void PreviewView::paintEvent(QPaintEvent*) {
  QPainter painter(this);
  painter.fillRect(rect(), palette().color(QPalette::Window).darker(115));
  if (m_images.isEmpty()) {
    painter.setPen(palette().color(QPalette::PlaceholderText));
    painter.drawText(rect().adjusted(16, 16, -16, -16), Qt::AlignCenter | Qt::TextWordWrap, m_placeholder);
    return;
  }
  const int count = static_cast<int>(m_images.size());
  const int columns = static_cast<int>(std::ceil(std::sqrt(double(count))));
  const int rows = (count + columns - 1) / columns;
  constexpr int kGap = 6;
  const QRect area = rect().adjusted(kGap, kGap, -kGap, -kGap);
  const int cellWidth = (area.width() - (columns - 1) * kGap) / columns;
  const int cellHeight = (area.height() - (rows - 1) * kGap) / rows;
  for (int i = 0; i < count; ++i) {
    const QImage& image = m_images[i];
    if (image.isNull()) continue;
    const QRect cell(area.left() + (i % columns) * (cellWidth + kGap), area.top() + (i / columns) * (cellHeight + kGap),
                     cellWidth, cellHeight);
    const QSize size = image.size().scaled(cell.size(), Qt::KeepAspectRatio);
    // Latent-sized approximations are an eighth of the final size: smooth them when blown up.
    painter.setRenderHint(QPainter::SmoothPixmapTransform);
    const QRect target(cell.left() + (cell.width() - size.width()) / 2, cell.top() + (cell.height() - size.height()) / 2,
                       size.width(), size.height());
    painter.drawImage(target, image);
  }
}

}  // namespace latent::ui
