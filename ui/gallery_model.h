#pragma once

// The output folder as a list: newest first, kept current by a file-system watcher. Built for
// folders of tens of thousands of pictures: listing reads no file, only the folder; what each
// picture says (its prompts, its size, whether it decodes) comes from the folder's index
// (gallery_index.h) or is read in the background and added to it; thumbnails are read off
// the GUI thread when a row is shown, from the on-disk cache (thumbnail_cache.h) when it
// holds them, and a bounded number stay in memory. Files that cannot be decoded stay in the
// list, marked broken.

#include <QAbstractListModel>
#include <QCache>
#include <QHash>
#include <QPixmap>
#include <QSize>
#include <QStringList>
#include <QThreadPool>

#include <vector>

#include "ui/file_stamp.h"
#include "ui/gallery_index.h"
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
    ParametersRole,  // read from the file when asked (views never ask): the model keeps only what the filter needs
    ImageSizeRole,
    BrokenRole,
    LoadedRole,          // the file has been read (now or, per the index, before): metadata known, thumbnail cached
    SearchTextRole,      // what the prompt filter matches: prompts and file name
    ThumbnailReadyRole,  // the thumbnail is in memory: DecorationRole gives it, not a placeholder
  };

  static constexpr int kThumbnailSize = 160;

  explicit GalleryModel(QObject* parent = nullptr);
  ~GalleryModel() override;  // writes the index of what was read

  void setFolder(const QString& folder);
  QString folder() const { return m_folder; }
  // Where the folder index and the thumbnails are kept between sessions: by default in the
  // user's cache folder (gallery_index.h); empty keeps nothing. Set it before setFolder().
  void setCacheFolder(const QString& folder);
  QString cacheFolder() const { return m_cacheFolder; }

  int rowCount(const QModelIndex& parent = {}) const override;
  QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
  QHash<int, QByteArray> roleNames() const override;

  QString pathAt(int row) const;
  int rowOfPath(const QString& path) const;
  // Whether the row's prompts or file name contain `foldedText` (QString::toCaseFolded(), in
  // UTF-8): the filter's question, answered from text folded once per picture.
  bool rowMatches(int row, const QByteArray& foldedText) const;
  static QStringList imageNameFilters();

 public Q_SLOTS:
  // Re-reads the folder listing now (the watcher calls it after a short delay).
  void refresh();
  // Writes the folder's index now (it is written by itself a moment after changes).
  void saveIndex();

 Q_SIGNALS:
  void folderChanged(const QString& folder);

 private:
  struct Entry {
    FileStamp file;
    bool loaded = false;
    bool broken = false;
    QSize imageSize;
    // UTF-8: with 20000 pictures, prompts are most of the model's memory.
    QByteArray prompt;
    QByteArray negativePrompt;
    QByteArray searchText;  // prompts and file name, case-folded
  };

  void onLoaded(const ImageInfo& info);
  void watchFolder();
  Entry entryFor(const FileStamp& file) const;
  // Row changes as few signals as the views can take: one per run of neighbouring rows, or
  // one reset when the runs are many.
  void removeEntries(const std::vector<bool>& keep);
  void insertEntries(std::vector<Entry> added);
  void indexRows();
  void indexChanged();
  static void setSearchText(Entry& entry);
  static bool newerFirst(const Entry& a, const Entry& b);

  QString m_folder;
  QString m_cacheFolder;
  std::vector<Entry> m_entries;
  QHash<QString, int> m_rows;                // path -> row
  QHash<QString, IndexedImage> m_indexed;    // the index file's entries, until the first listing
  ThumbnailLoader* m_loader;
  QFileSystemWatcher* m_watcher;
  QTimer* m_rescan;
  QTimer* m_indexSave;
  bool m_indexDirty = false;
  QThreadPool m_indexWriter;  // one thread: index files are written in order, off the GUI thread
  mutable QCache<QString, QPixmap> m_thumbnails;  // cost in KiB
  QPixmap m_brokenIcon;
  QPixmap m_loadingIcon;
};

}  // namespace latent::ui
