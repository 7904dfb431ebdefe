#include "ui/gallery_model.h"

#include <QDir>
#include <QFileInfo>
#include <QFileSystemWatcher>
#include <QPainter>
#include <QTimer>

#include <algorithm>
#include <iterator>

#include "ui/folder_listing.h"
#include "ui/image_metadata.h"

namespace latent::ui {
namespace {

// Thumbnails kept in memory (160×160 at 4 bytes a pixel: about 490 of them, three screens'
// worth in a large window); the rest of a large folder's thumbnails wait in the on-disk cache.
constexpr int kCacheKiB = 48 * 1024;
// Past this many separate runs of inserted or removed rows, one reset is cheaper for the
// views than a signal per run.
constexpr int kMaxRuns = 64;

QPixmap placeholderIcon(int size, bool broken) {
  QPixmap pixmap(size, size);
  pixmap.fill(QColor(broken ? 0x5a3a3a : 0x3a3a3a));
  QPainter painter(&pixmap);
  painter.setPen(QPen(QColor(broken ? 0xe07070 : 0x909090), 3));
  const QRect box(size / 4, size / 4, size / 2, size / 2);
  if (broken) {
    painter.drawLine(box.topLeft(), box.bottomRight());
    painter.drawLine(box.topRight(), box.bottomLeft());
  } else {
    painter.drawRect(box);
  }
  return pixmap;
}

QString fileNameOf(const QString& path) { return path.mid(path.lastIndexOf(QLatin1Char('/')) + 1); }

QStringList imageSuffixes() {
  QStringList suffixes = GalleryModel::imageNameFilters();
  for (QString& suffix : suffixes) suffix.remove(0, 1);  // "*.png" -> ".png"
  return suffixes;
}

}  // namespace

GalleryModel::GalleryModel(QObject* parent)
    : QAbstractListModel(parent),
      m_cacheFolder(defaultGalleryCacheFolder()),
      m_loader(new ThumbnailLoader(kThumbnailSize, this)),
      m_watcher(new QFileSystemWatcher(this)),
      m_rescan(new QTimer(this)),
      m_indexSave(new QTimer(this)),
      m_thumbnails(kCacheKiB),
      m_brokenIcon(placeholderIcon(kThumbnailSize, true)),
      m_loadingIcon(placeholderIcon(kThumbnailSize, false)) {
  m_loader->setCache(ThumbnailCache::within(m_cacheFolder, kThumbnailSize));
  connect(m_loader, &ThumbnailLoader::loaded, this, &GalleryModel::onLoaded);
  m_rescan->setSingleShot(true);
  m_rescan->setInterval(150);  // files often arrive in bursts: list the folder once per burst
  connect(m_rescan, &QTimer::timeout, this, &GalleryModel::refresh);
  connect(m_watcher, &QFileSystemWatcher::directoryChanged, m_rescan, qOverload<>(&QTimer::start));
  m_indexSave->setSingleShot(true);
  m_indexSave->setInterval(2000);  // while a folder is being read, the index is written every 2 s
  connect(m_indexSave, &QTimer::timeout, this, &GalleryModel::saveIndex);
  m_indexWriter.setMaxThreadCount(1);
}

GalleryModel::~GalleryModel() {
  saveIndex();
  m_indexWriter.waitForDone();
}

QStringList GalleryModel::imageNameFilters() {
  return {QStringLiteral("*.png"), QStringLiteral("*.jpg"), QStringLiteral("*.jpeg"), QStringLiteral("*.webp")};
}

bool GalleryModel::newerFirst(const Entry& a, const Entry& b) {
  if (a.file.modifiedMs != b.file.modifiedMs) return a.file.modifiedMs > b.file.modifiedMs;
  return a.file.path > b.file.path;
}

void GalleryModel::setCacheFolder(const QString& folder) {
  m_cacheFolder = folder;
  m_loader->setCache(ThumbnailCache::within(folder, kThumbnailSize));
}

void GalleryModel::setFolder(const QString& folder) {
  const QString clean = folder.isEmpty() ? QString() : QDir::cleanPath(QDir(folder).absolutePath());
  if (clean == m_folder) {
    refresh();
    return;
  }
  saveIndex();  // what was learnt about the folder being left
  m_loader->clear();
  beginResetModel();
  m_folder = clean;
  m_entries.clear();
  m_rows.clear();
  m_thumbnails.clear();
  endResetModel();
  for (IndexedImage& image : readGalleryIndex(galleryIndexFile(m_cacheFolder, m_folder), m_folder))
    m_indexed.insert(image.fileName, std::move(image));
  watchFolder();
  refresh();
  m_indexed.clear();  // new and changed files from now on are read
  Q_EMIT folderChanged(m_folder);
}

void GalleryModel::watchFolder() {
  const QStringList watched = m_watcher->directories();
  if (!watched.isEmpty()) m_watcher->removePaths(watched);
  if (!m_folder.isEmpty() && QFileInfo(m_folder).isDir()) m_watcher->addPath(m_folder);
}

GalleryModel::Entry GalleryModel::entryFor(const FileStamp& file) const {
  Entry entry;
  entry.file = file;
  const auto indexed = m_indexed.constFind(fileNameOf(file.path));
  if (indexed != m_indexed.cend() && indexed->size == file.size && indexed->modifiedMs == file.modifiedMs) {
    entry.loaded = true;
    entry.broken = indexed->broken;
    entry.imageSize = indexed->imageSize;
    entry.prompt = indexed->prompt;
    entry.negativePrompt = indexed->negativePrompt;
  }
  setSearchText(entry);
  return entry;
}

void GalleryModel::setSearchText(Entry& entry) {
  entry.searchText = (QString::fromUtf8(entry.prompt) + QLatin1Char('\n') + QString::fromUtf8(entry.negativePrompt) +
                      QLatin1Char('\n') + fileNameOf(entry.file.path))
                         .toCaseFolded()
                         .toUtf8();
}

void GalleryModel::refresh() {
  if (!m_folder.isEmpty() && m_watcher->directories().isEmpty()) watchFolder();  // the folder may be new
  const std::vector<FileStamp> files = listFiles(m_folder, imageSuffixes());

  // Files as they were keep their rows; gone and changed ones leave, and changed ones come
  // back as new.
  std::vector<bool> keep(m_entries.size(), false), listed(m_entries.size(), false);
  std::vector<Entry> added;
  for (const FileStamp& file : files) {
    const int row = m_rows.value(file.path, -1);
    if (row >= 0) listed[size_t(row)] = true;
    if (row >= 0 && m_entries[size_t(row)].file == file)
      keep[size_t(row)] = true;
    else
      added.push_back(entryFor(file));
  }
  QStringList gone;
  for (size_t row = 0; row < m_entries.size(); ++row)
    if (!listed[row]) gone.append(m_entries[row].file.path);
  const bool removing = std::find(keep.begin(), keep.end(), false) != keep.end();
  if (!removing && added.empty()) return;

  if (removing) removeEntries(keep);
  const bool adding = !added.empty();
  insertEntries(std::move(added));
  indexRows();
  m_loader->forget(gone);
  if (removing) indexChanged();
  if (adding) {
    // Newest first: what is at the top of the view is read first.
    for (const Entry& entry : m_entries)
      if (!entry.loaded) m_loader->request(entry.file, true, ThumbnailLoader::Priority::Background);
  }
}

void GalleryModel::removeEntries(const std::vector<bool>& keep) {
  int runs = 0;
  for (size_t row = 0; row < keep.size(); ++row)
    if (!keep[row] && (row == 0 || keep[row - 1])) ++runs;
  for (size_t row = 0; row < keep.size(); ++row)
    if (!keep[row]) m_thumbnails.remove(m_entries[row].file.path);
  if (runs > kMaxRuns) {
    beginResetModel();
    size_t kept = 0;
    for (size_t row = 0; row < keep.size(); ++row)
      if (keep[row]) m_entries[kept++] = std::move(m_entries[row]);
    m_entries.resize(kept);
    endResetModel();
    return;
  }
  // From the last run back, so that the rows of earlier runs keep their numbers.
  for (int row = int(keep.size()) - 1; row >= 0;) {
    if (keep[size_t(row)]) {
      --row;
      continue;
    }
    const int last = row;
    while (row >= 0 && !keep[size_t(row)]) --row;
    beginRemoveRows({}, row + 1, last);
    m_entries.erase(m_entries.begin() + row + 1, m_entries.begin() + last + 1);
    endRemoveRows();
  }
}

void GalleryModel::insertEntries(std::vector<Entry> added) {
  if (added.empty()) return;
  std::sort(added.begin(), added.end(), newerFirst);
  // Where each new entry goes among the present ones; entries going to one place form a run.
  std::vector<size_t> at(added.size());
  int runs = 0;
  for (size_t i = 0, row = 0; i < added.size(); ++i) {
    while (row < m_entries.size() && newerFirst(m_entries[row], added[i])) ++row;
    at[i] = row;
    if (i == 0 || at[i] != at[i - 1]) ++runs;
  }
  if (runs > kMaxRuns) {
    beginResetModel();
    std::vector<Entry> merged;
    merged.reserve(m_entries.size() + added.size());
    std::merge(std::make_move_iterator(m_entries.begin()), std::make_move_iterator(m_entries.end()),
               std::make_move_iterator(added.begin()), std::make_move_iterator(added.end()),
               std::back_inserter(merged), newerFirst);
    m_entries = std::move(merged);
    endResetModel();
    return;
  }
  // From the last run back, so that the places of earlier runs stay where they were.
  for (size_t end = added.size(); end > 0;) {
    size_t begin = end - 1;
    while (begin > 0 && at[begin - 1] == at[end - 1]) --begin;
    const int row = int(at[begin]);
    beginInsertRows({}, row, row + int(end - begin) - 1);
    m_entries.insert(m_entries.begin() + row, std::make_move_iterator(added.begin() + begin),
                     std::make_move_iterator(added.begin() + end));
    endInsertRows();
    end = begin;
  }
}

void GalleryModel::indexRows() {
  m_rows.clear();
  m_rows.reserve(qsizetype(m_entries.size()));
  for (size_t row = 0; row < m_entries.size(); ++row) m_rows.insert(m_entries[row].file.path, int(row));
}

void GalleryModel::onLoaded(const ImageInfo& info) {
  const int row = rowOfPath(info.file.path);
  if (row < 0) return;
  Entry& entry = m_entries[size_t(row)];
  if (info.file != entry.file) {
    m_rescan->start();  // the file changed after it was listed: list it again, then read it again
    return;
  }
  if (info.hasMetadata) {
    entry.loaded = true;
    entry.broken = info.broken;
    entry.prompt = info.prompt.toUtf8();
    entry.negativePrompt = info.negativePrompt.toUtf8();
    entry.imageSize = info.imageSize;
    setSearchText(entry);
    indexChanged();
  }
  if (!info.thumbnail.isNull()) {
    auto* pixmap = new QPixmap(QPixmap::fromImage(info.thumbnail));
    m_thumbnails.insert(info.file.path, pixmap, qMax<qsizetype>(1, info.thumbnail.sizeInBytes() / 1024));
  }
  const QModelIndex changed = index(row);
  Q_EMIT dataChanged(changed, changed);
}

void GalleryModel::indexChanged() {
  m_indexDirty = true;
  if (!m_indexSave->isActive()) m_indexSave->start();
}

void GalleryModel::saveIndex() {
  m_indexSave->stop();
  const QString file = galleryIndexFile(m_cacheFolder, m_folder);
  if (!m_indexDirty || file.isEmpty()) return;
  m_indexDirty = false;
  QList<IndexedImage> images;
  images.reserve(qsizetype(m_entries.size()));
  for (const Entry& entry : m_entries)
    if (entry.loaded)
      images.append({fileNameOf(entry.file.path), entry.file.size, entry.file.modifiedMs, entry.broken,
                     entry.imageSize, entry.prompt, entry.negativePrompt});
  m_indexWriter.start([file, folder = m_folder, images] { writeGalleryIndex(file, folder, images); });
}

int GalleryModel::rowCount(const QModelIndex& parent) const {
  return parent.isValid() ? 0 : int(m_entries.size());
}

QVariant GalleryModel::data(const QModelIndex& index, int role) const {
  if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid)) return {};
  const Entry& entry = m_entries[size_t(index.row())];
  switch (role) {
    case FileNameRole:
      return fileNameOf(entry.file.path);
    case Qt::ToolTipRole:
      if (entry.broken) return tr("%1 cannot be read as an image").arg(fileNameOf(entry.file.path));
      return entry.prompt.isEmpty() ? fileNameOf(entry.file.path) : QString::fromUtf8(entry.prompt);
    case Qt::DecorationRole: {
      if (entry.broken) return m_brokenIcon;
      if (const QPixmap* pixmap = m_thumbnails.object(entry.file.path)) return *pixmap;
      // Shown but not in memory: read it (from the cache, most often) before anything else.
      m_loader->request(entry.file, !entry.loaded, ThumbnailLoader::Priority::Visible);
      return m_loadingIcon;
    }
    case PathRole:
      return entry.file.path;
    case ModifiedRole:
      return QDateTime::fromMSecsSinceEpoch(entry.file.modifiedMs);
    case PromptRole:
      return QString::fromUtf8(entry.prompt);
    case NegativePromptRole:
      return QString::fromUtf8(entry.negativePrompt);
    case ParametersRole:
      return readImageSettings(entry.file.path, {}).parametersText;
    case ImageSizeRole:
      return entry.imageSize;
    case BrokenRole:
      return entry.broken;
    case LoadedRole:
      return entry.loaded;
    case SearchTextRole:
      return QString::fromUtf8(entry.prompt) + QLatin1Char('\n') + QString::fromUtf8(entry.negativePrompt) +
             QLatin1Char('\n') + fileNameOf(entry.file.path);
    case ThumbnailReadyRole:
      return m_thumbnails.contains(entry.file.path);
    default:
      return {};
  }
}

QHash<int, QByteArray> GalleryModel::roleNames() const {
  QHash<int, QByteArray> names = QAbstractListModel::roleNames();
  names.insert(PathRole, "path");
  names.insert(FileNameRole, "fileName");
  names.insert(ModifiedRole, "modified");
  names.insert(PromptRole, "prompt");
  names.insert(NegativePromptRole, "negativePrompt");
  names.insert(ParametersRole, "parameters");
  names.insert(ImageSizeRole, "imageSize");
  names.insert(BrokenRole, "broken");
  names.insert(LoadedRole, "loaded");
  names.insert(SearchTextRole, "searchText");
  names.insert(ThumbnailReadyRole, "thumbnailReady");
  return names;
}

QString GalleryModel::pathAt(int row) const {
  return row >= 0 && row < int(m_entries.size()) ? m_entries[size_t(row)].file.path : QString();
}

int GalleryModel::rowOfPath(const QString& path) const { return m_rows.value(path, -1); }

bool GalleryModel::rowMatches(int row, const QByteArray& foldedText) const {
  return row >= 0 && row < int(m_entries.size()) && m_entries[size_t(row)].searchText.contains(foldedText);
}

}  // namespace latent::ui
