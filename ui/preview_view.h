#pragma once

// The picture being made: the latest preview or the finished images of a batch,
// laid out in a grid and scaled to fit.

#include <QImage>
#include <QList>
#include <QWidget>

namespace latent::ui {

class PreviewView : public QWidget {
  Q_OBJECT

 public:
  explicit PreviewView(QWidget* parent = nullptr);

  void setImages(const QList<QImage>& images);
  const QList<QImage>& images() const { return m_images; }
  void setPlaceholderText(const QString& text);
  void clear();

  QSize sizeHint() const override;
  QSize minimumSizeHint() const override;

 protected:
  void paintEvent(QPaintEvent* event) override;

 private:
  QList<QImage> m_images;
  QString m_placeholder;
};

}  // namespace latent::ui
