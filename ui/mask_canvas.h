#pragma once

// The inpainting mask, painted over the starting picture: white where the picture is to
// be repainted. The mask has the picture's own size, whatever the zoom; the brush size is
// in picture pixels. Left button paints (or erases in erase mode), right button erases;
// every stroke can be undone (Ctrl+Z while the canvas has focus).

#include <QImage>
#include <QList>
#include <QPointF>
#include <QWidget>

namespace latent::ui {

class MaskCanvas : public QWidget {
  Q_OBJECT

 public:
  explicit MaskCanvas(QWidget* parent = nullptr);

  // Shows `picture` with an empty mask and forgets the undo history.
  void setPicture(const QImage& picture);
  QImage picture() const { return m_picture; }

  // Grayscale8, the picture's size: 255 = repaint, 0 = keep. Null without a picture.
  QImage mask() const { return m_mask; }
  bool hasMask() const;  // any pixel to repaint

  int brushSize() const { return m_brushSize; }
  void setBrushSize(int pixels);
  bool isErasing() const { return m_erasing; }
  void setErasing(bool erasing);
  // Off in image-to-image mode: the picture is shown, the mouse paints nothing.
  void setPaintingEnabled(bool enabled);
  bool isPaintingEnabled() const { return m_paintingEnabled; }

  bool canUndo() const { return !m_undo.isEmpty(); }
  static constexpr int kMaxUndo = 50;

  // Where a widget position falls on the picture, and back (for tests and the cursor).
  QPointF toPicture(const QPointF& widgetPos) const;
  QPointF toWidget(const QPointF& picturePos) const;

  QSize sizeHint() const override { return {320, 320}; }

 public Q_SLOTS:
  void undo();
  void clear();  // empties the mask; undoable

 Q_SIGNALS:
  void maskChanged();
  void undoAvailable(bool available);

 protected:
  void paintEvent(QPaintEvent* event) override;
  void mousePressEvent(QMouseEvent* event) override;
  void mouseMoveEvent(QMouseEvent* event) override;
  void mouseReleaseEvent(QMouseEvent* event) override;
  void keyPressEvent(QKeyEvent* event) override;
  void leaveEvent(QEvent* event) override;

 private:
  QRectF pictureRect() const;  // where the picture is drawn, fitted and centred
  void pushUndo();
  void strokeTo(const QPointF& picturePos);
  void maskEdited();

  QImage m_picture;
  QImage m_mask;
  QImage m_overlay;  // the mask as a translucent colour, rebuilt when the mask changes
  QList<QImage> m_undo;
  int m_brushSize = 32;
  bool m_erasing = false;
  bool m_paintingEnabled = true;
  bool m_stroking = false;
  bool m_strokeErases = false;
  QPointF m_lastPoint;       // in picture pixels
  QPointF m_cursor{-1, -1};  // in widget pixels; negative = outside
};

}  // namespace latent::ui
