#pragma once

// The gallery pane: a prompt filter, the grid of thumbnails and the selected image's details.

#include <QWidget>

#include "ui/gallery_filter_model.h"

class QLineEdit;
class QListView;
class QMenu;
class QSplitter;

namespace latent::ui {

class GalleryModel;
class ImageDetails;

class GalleryView : public QWidget {
  Q_OBJECT

 public:
  explicit GalleryView(GalleryModel* model, QWidget* parent = nullptr);

  GalleryModel* model() const { return m_model; }
  GalleryFilterModel* filterModel() const { return m_filter; }
  QListView* listView() const { return m_list; }
  ImageDetails* details() const { return m_details; }
  QLineEdit* filterEdit() const { return m_filterEdit; }
  QSplitter* splitter() const { return m_splitter; }

  void selectPath(const QString& path);
  QString currentPath() const;
  // The thumbnail's context menu for the image at `path`, owned by the caller.
  QMenu* contextMenu(const QString& path);

 Q_SIGNALS:
  void currentPathChanged(const QString& path);
  void useSettingsRequested(const QString& path);
  void sendToImageRequested(const QString& path);
  void upscaleRequested(const QString& path);

 private:
  GalleryModel* m_model;
  GalleryFilterModel* m_filter;
  QLineEdit* m_filterEdit;
  QListView* m_list;
  ImageDetails* m_details;
  QSplitter* m_splitter;
};

}  // namespace latent::ui
