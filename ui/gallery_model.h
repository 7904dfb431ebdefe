#pragma once

// The output folder as a list: newest first, thumbnails and metadata read off the GUI
// thread and cached, kept current by a file-system watcher. Files that cannot be
// decoded stay in the list, marked broken.

#include <QAbstractListModel>
#include <QCache>
#include <QDateTime>
#include <QPixmap>
#include <QSize>
#include <QStringList>

#include "ui/thumbnail_loader.h"

class QFileSystemWatcher;
class QTimer;

namespace latent::ui {

class GalleryModel : public QAbstractListModel {
  Q_OBJECT

 public:
  enum Role {
    PathRole = Qt::UserRole + 1,
    FileNameRole,
    ModifiedRole,
    PromptRole,
    NegativePromptRole,
    ParametersRole,
    ImageSizeRole,
    BrokenRole,
    LoadedRole,      // thumbnail and metadata have been read
    SearchTextRole,  // what the prompt filter matches: prompts and file name
  };

  static constexpr int kThumbnailSize = 160;

  explicit GalleryModel(QObject* parent = nullptr);
  ~GalleryModel() override;

  void setFolder(const QString& folder);
  QString folder() const { return m_folder; }

  int rowCount(const QModelIndex& parent = {}) const override;
  QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
  QHash<int, QByteArray> roleNames() const override;

  QString pathAt(int row) const;
  int rowOfPath(const QString& path) const;
  static QStringList imageNameFilters();

 public Q_SLOTS:
  // Re-reads the folder listing now (the watcher calls it after a short delay).
  void refresh();

 Q_SIGNALS:
  void folderChanged(const QString& folder);

 private:
  struct Entry {
    QString path;
    QDateTime modified;
    qint64 size = 0;
    bool loaded = false;
    bool broken = false;
    QString prompt;
    QString negativePrompt;
    QString parameters;
    QSize imageSize;
  };

  void onLoaded(const ImageInfo& info);
  void watchFolder();
  static bool newerFirst(const Entry& a, const Entry& b);

  QString m_folder;
  QList<Entry> m_entries;
  ThumbnailLoader* m_loader;
  QFileSystemWatcher* m_watcher;
  QTimer* m_rescan;
  mutable QCache<QString, QPixmap> m_thumbnails;  // cost in KiB
  QPixmap m_brokenIcon;
  QPixmap m_loadingIcon;
};

}  // namespace latent::ui
