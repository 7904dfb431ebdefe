#include "ui/mask_canvas.h"

#include <QKeyEvent>
#include <QMouseEvent>
#include <QPainter>
#include <QPainterPath>

namespace latent::ui {
namespace {

const QColor kMaskColour(255, 40, 90);
constexpr double kMaskOpacity = 0.55;

}  // namespace

MaskCanvas::MaskCanvas(QWidget* parent) : QWidget(parent) {
  setObjectName(QStringLiteral("maskCanvas"));
  setMouseTracking(true);  // for the brush outline
  setFocusPolicy(Qt::StrongFocus);
  setMinimumSize(160, 160);
  setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Expanding);
}

void MaskCanvas::setPicture(const QImage& picture) {
  m_picture = picture;
  if (picture.isNull()) {
    m_mask = QImage();
  } else {
    m_mask = QImage(picture.size(), QImage::Format_Grayscale8);
    m_mask.fill(0);
  }
  m_undo.clear();
  m_stroking = false;
  Q_EMIT undoAvailable(false);
  maskEdited();
}

bool MaskCanvas::hasMask() const {
  for (int y = 0; y < m_mask.height(); ++y) {
    const uchar* row = m_mask.constScanLine(y);
    for (int x = 0; x < m_mask.width(); ++x)
      if (row[x] != 0) return true;
  }
  return false;
}

void MaskCanvas::setBrushSize(int pixels) {
  m_brushSize = qMax(1, pixels);
  update();
}

void MaskCanvas::setErasing(bool erasing) { m_erasing = erasing; }

void MaskCanvas::setPaintingEnabled(bool enabled) {
  m_paintingEnabled = enabled;
  m_stroking = false;
  setCursor(enabled ? Qt::CrossCursor : Qt::ArrowCursor);
  update();
}

void MaskCanvas::undo() {
  if (m_undo.isEmpty()) return;
  m_mask = m_undo.takeLast();
  if (m_undo.isEmpty()) Q_EMIT undoAvailable(false);
  maskEdited();
}

void MaskCanvas::clear() {
  if (m_mask.isNull() || !hasMask()) return;
  pushUndo();
  m_mask.fill(0);
  maskEdited();
}

void MaskCanvas::pushUndo() {
  m_undo.append(m_mask.copy());
  while (m_undo.size() > kMaxUndo) m_undo.removeFirst();
  Q_EMIT undoAvailable(true);
}

QRectF MaskCanvas::pictureRect() const {
  if (m_picture.isNull()) return {};
  QSizeF size = m_picture.size();
  size.scale(QSizeF(rect().size()), Qt::KeepAspectRatio);
  return QRectF(QPointF((width() - size.width()) / 2, (height() - size.height()) / 2), size);
}

QPointF MaskCanvas::toPicture(const QPointF& widgetPos) const {
  const QRectF target = pictureRect();
  if (target.isEmpty()) return {};
  const double scale = m_picture.width() / target.width();
  return (widgetPos - target.topLeft()) * scale;
}

QPointF MaskCanvas::toWidget(const QPointF& picturePos) const {
  const QRectF target = pictureRect();
  if (target.isEmpty()) return {};
  const double scale = target.width() / m_picture.width();
  return target.topLeft() + picturePos * scale;
}

void MaskCanvas::strokeTo(const QPointF& picturePos) {
  QPainter painter(&m_mask);
  // A hard edge: the mask's feathering is the engine's "mask blur", applied once, at its size.
  painter.setRenderHint(QPainter::Antialiasing, false);
  painter.setPen(QPen(m_strokeErases ? Qt::black : Qt::white, m_brushSize, Qt::SolidLine,
                      Qt::RoundCap, Qt::RoundJoin));
  if (picturePos == m_lastPoint) {
    painter.setPen(Qt::NoPen);
    painter.setBrush(m_strokeErases ? Qt::black : Qt::white);
    const double radius = m_brushSize / 2.0;
    painter.drawEllipse(picturePos, radius, radius);
  } else {
    painter.drawLine(m_lastPoint, picturePos);
  }
  painter.end();
  m_lastPoint = picturePos;
  maskEdited();
}

void MaskCanvas::maskEdited() {
  if (m_mask.isNull()) {
    m_overlay = QImage();
  } else {
    m_overlay = QImage(m_mask.size(), QImage::Format_ARGB32_Premultiplied);
    m_overlay.fill(kMaskColour);
    m_overlay.setAlphaChannel(m_mask);  // grey values become alpha
  }
  update();
  Q_EMIT maskChanged();
}

void MaskCanvas::paintEvent(QPaintEvent*) {
  QPainter painter(this);
  painter.fillRect(rect(), palette().color(QPalette::Dark));
  if (m_picture.isNull()) {
    painter.setPen(palette().color(QPalette::BrightText));
    painter.drawText(rect().adjusted(12, 12, -12, -12), Qt::AlignCenter | Qt::TextWordWrap,
                     tr("Drop a picture here, or choose one with \"Open picture…\""));
    return;
  }
  const QRectF target = pictureRect();
  painter.setRenderHint(QPainter::SmoothPixmapTransform);
  painter.drawImage(target, m_picture);
  if (!m_overlay.isNull()) {
    painter.setOpacity(kMaskOpacity);
    painter.drawImage(target, m_overlay);
    painter.setOpacity(1.0);
  }
  if (m_paintingEnabled && m_cursor.x() >= 0) {
    const double radius = m_brushSize / 2.0 * target.width() / m_picture.width();
    painter.setRenderHint(QPainter::Antialiasing);
    painter.setPen(QPen(Qt::white, 1.5));
    painter.setBrush(Qt::NoBrush);
    painter.drawEllipse(m_cursor, radius, radius);
    painter.setPen(QPen(Qt::black, 1, Qt::DotLine));
    painter.drawEllipse(m_cursor, radius, radius);
  }
}

void MaskCanvas::mousePressEvent(QMouseEvent* event) {
  const bool paintButton = event->button() == Qt::LeftButton || event->button() == Qt::RightButton;
  if (!m_paintingEnabled || m_mask.isNull() || !paintButton || m_stroking) {
    QWidget::mousePressEvent(event);
    return;
  }
  pushUndo();
  m_stroking = true;
  m_strokeErases = m_erasing || event->button() == Qt::RightButton;
  m_lastPoint = toPicture(event->position());
  strokeTo(m_lastPoint);
  event->accept();
}

void MaskCanvas::mouseMoveEvent(QMouseEvent* event) {
  m_cursor = event->position();
  if (m_stroking) {
    strokeTo(toPicture(event->position()));
  } else {
    update();
  }
}

void MaskCanvas::mouseReleaseEvent(QMouseEvent* event) {
  if (m_stroking) {
    strokeTo(toPicture(event->position()));
    m_stroking = false;
  }
}

void MaskCanvas::keyPressEvent(QKeyEvent* event) {
  if (event->matches(QKeySequence::Undo)) {
    undo();
    event->accept();
    return;
  }
  QWidget::keyPressEvent(event);
}

void MaskCanvas::leaveEvent(QEvent* event) {
  m_cursor = QPointF(-1, -1);
  update();
  QWidget::leaveEvent(event);
}

}  // namespace latent::ui
