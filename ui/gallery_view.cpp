#include "ui/gallery_view.h"

#include <QItemSelectionModel>
#include <QLineEdit>
#include <QListView>
#include <QMenu>
#include <QSplitter>
#include <QVBoxLayout>

#include <memory>

#include "ui/gallery_model.h"
#include "ui/image_details.h"

namespace latent::ui {

GalleryView::GalleryView(GalleryModel* model, QWidget* parent)
    : QWidget(parent),
      m_model(model),
      m_filter(new GalleryFilterModel(model, this)),
      m_filterEdit(new QLineEdit(this)),
      m_list(new QListView(this)),
      m_details(new ImageDetails(this)),
      m_splitter(new QSplitter(Qt::Vertical, this)) {
  setObjectName(QStringLiteral("gallery"));

  m_filterEdit->setObjectName(QStringLiteral("galleryFilter"));
  m_filterEdit->setPlaceholderText(tr("Filter by prompt"));
  m_filterEdit->setClearButtonEnabled(true);
  connect(m_filterEdit, &QLineEdit::textChanged, m_filter, &GalleryFilterModel::setFilterText);

  const int cell = GalleryModel::kThumbnailSize * 5 / 8;
  m_list->setObjectName(QStringLiteral("galleryList"));
  m_list->setModel(m_filter);
  m_list->setViewMode(QListView::IconMode);
  m_list->setIconSize(QSize(cell, cell));
  m_list->setGridSize(QSize(cell + 8, cell + 8));
  m_list->setResizeMode(QListView::Adjust);
  m_list->setMovement(QListView::Static);
  m_list->setUniformItemSizes(true);
  m_list->setSelectionMode(QAbstractItemView::SingleSelection);
  m_list->setSpacing(2);

  connect(m_list->selectionModel(), &QItemSelectionModel::currentChanged, this, [this](const QModelIndex& current) {
    const QString path = current.data(GalleryModel::PathRole).toString();
    m_details->showImage(path);
    Q_EMIT currentPathChanged(path);
  });
  connect(m_details, &ImageDetails::useSettingsRequested, this, &GalleryView::useSettingsRequested);
  connect(m_details, &ImageDetails::sendToImageRequested, this, &GalleryView::sendToImageRequested);
  connect(m_details, &ImageDetails::upscaleRequested, this, &GalleryView::upscaleRequested);

  // The thumbnail's own menu: the actions that start something new from an image.
  m_list->setContextMenuPolicy(Qt::CustomContextMenu);
  connect(m_list, &QListView::customContextMenuRequested, this, [this](const QPoint& pos) {
    const QString path = m_list->indexAt(pos).data(GalleryModel::PathRole).toString();
    if (path.isEmpty()) return;
    std::unique_ptr<QMenu> menu(contextMenu(path));
    menu->exec(m_list->viewport()->mapToGlobal(pos));
  });

  auto* top = new QWidget(this);
  auto* topLayout = new QVBoxLayout(top);
  topLayout->setContentsMargins(0, 0, 0, 0);
  topLayout->addWidget(m_filterEdit);
  topLayout->addWidget(m_list);
  m_splitter->setObjectName(QStringLiteral("gallerySplitter"));
  m_splitter->addWidget(top);
  m_splitter->addWidget(m_details);
  m_splitter->setStretchFactor(0, 1);
  m_splitter->setStretchFactor(1, 1);
  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(0, 0, 0, 0);
  layout->addWidget(m_splitter);
}

void GalleryView::selectPath(const QString& path) {
  const int row = m_model->rowOfPath(path);
  if (row < 0) return;
  const QModelIndex index = m_filter->mapFromSource(m_model->index(row));
  if (index.isValid()) m_list->setCurrentIndex(index);
}

QString GalleryView::currentPath() const { return m_details->path(); }

QMenu* GalleryView::contextMenu(const QString& path) {
  auto* menu = new QMenu(this);
  menu->addAction(tr("Use these settings"), this, [this, path] { Q_EMIT useSettingsRequested(path); });
  menu->addAction(tr("Send to image to image"), this, [this, path] { Q_EMIT sendToImageRequested(path); });
  menu->addAction(tr("Upscale…"), this, [this, path] { Q_EMIT upscaleRequested(path); });
  return menu;
}

}  // namespace latent::ui
