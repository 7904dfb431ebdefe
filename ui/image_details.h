#pragma once

// One image of the gallery, large, with its parameters and what can be done with it. An
// image from elsewhere (another program's, dropped here or opened) shows the same way, with
// the program that made it and what of its settings Latent Studio cannot restore.

#include <QWidget>

class QLabel;
class QMimeData;
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
  // The program that wrote the shown image's settings ("ComfyUI"); empty when none.
  QString source() const { return m_source; }
  // The note listing what "Use these settings" leaves out; empty when it restores everything.
  QString unmappedNote() const;
  // Image files (PNG, JPEG, WebP) among dragged data; the first is shown when dropped.
  static QString imageFileIn(const QMimeData* data);

 public Q_SLOTS:
  void openImage();
  void showInFolder();
  bool moveToTrash();
  void copyPrompt();

 Q_SIGNALS:
  void useSettingsRequested(const QString& path);
  void sendToImageRequested(const QString& path);  // start image to image from it
  void upscaleRequested(const QString& path);      // make it larger (the Upscale dialog)
  void trashed(const QString& path);
  void message(const QString& text);

 protected:
  void resizeEvent(QResizeEvent* event) override;
  void dragEnterEvent(QDragEnterEvent* event) override;
  void dropEvent(QDropEvent* event) override;

 private:
  void updatePicture();

  QString m_path;
  QImage m_image;
  QString m_prompt;
  QString m_source;
  QLabel* m_picture;
  QLabel* m_caption;
  QPlainTextEdit* m_parameters;
  QLabel* m_unmapped;
  QList<QPushButton*> m_actions;
};

}  // namespace latent::ui
