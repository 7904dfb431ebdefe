#pragma once

// One image of the gallery, large, with its parameters and what can be done with it.

#include <QWidget>

class QLabel;
class QPlainTextEdit;
class QPushButton;

namespace latent::ui {

class ImageDetails : public QWidget {
  Q_OBJECT

 public:
  explicit ImageDetails(QWidget* parent = nullptr);

  void showImage(const QString& path);  // empty: nothing selected
  QString path() const { return m_path; }
  QString parametersText() const;

 public Q_SLOTS:
  void openImage();
  void showInFolder();
  bool moveToTrash();
  void copyPrompt();

 Q_SIGNALS:
  void useSettingsRequested(const QString& path);
  void sendToImageRequested(const QString& path);  // start image to image from it
  void trashed(const QString& path);
  void message(const QString& text);

 protected:
  void resizeEvent(QResizeEvent* event) override;

 private:
  void updatePicture();

  QString m_path;
  QImage m_image;
  QString m_prompt;
  QLabel* m_picture;
  QLabel* m_caption;
  QPlainTextEdit* m_parameters;
  QList<QPushButton*> m_actions;
};

}  // namespace latent::ui
