#include "ui/gallery_model.h"

#include <QDir>
#include <QFileInfo>
#include <QFileSystemWatcher>
#include <QPainter>
#include <QTimer>

#include <algorithm>

namespace latent::ui {
namespace {

constexpr int kCacheKiB = 256 * 1024;

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

}  // namespace

GalleryModel::GalleryModel(QObject* parent)
    : QAbstractListModel(parent),
      m_loader(new ThumbnailLoader(kThumbnailSize, this)),
      m_watcher(new QFileSystemWatcher(this)),
      m_rescan(new QTimer(this)),
      m_thumbnails(kCacheKiB),
      m_brokenIcon(placeholderIcon(kThumbnailSize, true)),
      m_loadingIcon(placeholderIcon(kThumbnailSize, false)) {
  connect(m_loader, &ThumbnailLoader::loaded, this, &GalleryModel::onLoaded);
  m_rescan->setSingleShot(true);
  m_rescan->setInterval(150);  // files often arrive in bursts: list the folder once per burst
  connect(m_rescan, &QTimer::timeout, this, &GalleryModel::refresh);
  connect(m_watcher, &QFileSystemWatcher::directoryChanged, m_rescan, qOverload<>(&QTimer::start));
}

GalleryModel::~GalleryModel() = default;

QStringList GalleryModel::imageNameFilters() {
  return {QStringLiteral("*.png"), QStringLiteral("*.jpg"), QStringLiteral("*.jpeg"), QStringLiteral("*.webp")};
}

bool GalleryModel::newerFirst(const Entry& a, const Entry& b) {
  if (a.modified != b.modified) return a.modified > b.modified;
  return a.path > b.path;
}

void GalleryModel::setFolder(const QString& folder) {
  const QString clean = folder.isEmpty() ? QString() : QDir::cleanPath(QDir(folder).absolutePath());
  if (clean == m_folder) {
    refresh();
    return;
  }
  beginResetModel();
  m_folder = clean;
  m_entries.clear();
  m_thumbnails.clear();
  endResetModel();
  watchFolder();
  refresh();
  Q_EMIT folderChanged(m_folder);
}

void GalleryModel::watchFolder() {
  const QStringList watched = m_watcher->directories();
  if (!watched.isEmpty()) m_watcher->removePaths(watched);
  if (!m_folder.isEmpty() && QFileInfo(m_folder).isDir()) m_watcher->addPath(m_folder);
}

void GalleryModel::refresh() {
  if (!m_folder.isEmpty() && m_watcher->directories().isEmpty()) watchFolder();  // the folder may be new
  QList<Entry> found;
  if (!m_folder.isEmpty()) {
    const QFileInfoList files = QDir(m_folder).entryInfoList(imageNameFilters(), QDir::Files | QDir::Readable);
    for (const QFileInfo& file : files) {
      Entry entry;
      entry.path = file.absoluteFilePath();
      entry.modified = file.lastModified();
      entry.size = file.size();
      found.append(entry);
    }
  }
  QHash<QString, const Entry*> byPath;
  for (const Entry& entry : found) byPath.insert(entry.path, &entry);

  // Gone or changed files leave; changed ones come back below as new.
  for (int row = static_cast<int>(m_entries.size()) - 1; row >= 0; --row) {
    const Entry& old = m_entries[row];
    const Entry* now = byPath.value(old.path);
    if (now && now->modified == old.modified && now->size == old.size) {
      byPath.remove(old.path);
      continue;
    }
    beginRemoveRows({}, row, row);
    m_thumbnails.remove(old.path);
    m_entries.removeAt(row);
    endRemoveRows();
  }
  QList<Entry> added;
  for (const Entry* entry : std::as_const(byPath)) added.append(*entry);
  std::sort(added.begin(), added.end(), newerFirst);
  for (const Entry& entry : added) {
    const auto position = std::lower_bound(m_entries.begin(), m_entries.end(), entry, newerFirst);
    const int row = static_cast<int>(position - m_entries.begin());
    beginInsertRows({}, row, row);
    m_entries.insert(row, entry);
    endInsertRows();
    m_loader->request(entry.path);
  }
}

void GalleryModel::onLoaded(const ImageInfo& info) {
  const int row = rowOfPath(info.path);
  if (row < 0) return;
  Entry& entry = m_entries[row];
  entry.loaded = true;
  entry.broken = info.broken;
  entry.prompt = info.prompt;
  entry.negativePrompt = info.negativePrompt;
  entry.parameters = info.parametersText;
  entry.imageSize = info.imageSize;
  if (!info.thumbnail.isNull()) {
    auto* pixmap = new QPixmap(QPixmap::fromImage(info.thumbnail));
    m_thumbnails.insert(info.path, pixmap, qMax<qsizetype>(1, info.thumbnail.sizeInBytes() / 1024));
  }
  const QModelIndex changed = index(row);
  Q_EMIT dataChanged(changed, changed);
}

int GalleryModel::rowCount(const QModelIndex& parent) const {
  return parent.isValid() ? 0 : static_cast<int>(m_entries.size());
}

QVariant GalleryModel::data(const QModelIndex& index, int role) const {
  if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid)) return {};
  const Entry& entry = m_entries[index.row()];
  switch (role) {
    case FileNameRole:
      return QFileInfo(entry.path).fileName();
    case Qt::ToolTipRole:
      if (entry.broken) return tr("%1 cannot be read as an image").arg(QFileInfo(entry.path).fileName());
      return entry.prompt.isEmpty() ? QFileInfo(entry.path).fileName() : entry.prompt;
    case Qt::DecorationRole: {
      if (entry.broken) return m_brokenIcon;
      if (const QPixmap* pixmap = m_thumbnails.object(entry.path)) return *pixmap;
      // Not read yet, or pushed out of the cache: read it (again) in the background.
      if (entry.loaded) m_loader->request(entry.path);
      return m_loadingIcon;
    }
    case PathRole:
      return entry.path;
    case ModifiedRole:
      return entry.modified;
    case PromptRole:
      return entry.prompt;
    case NegativePromptRole:
      return entry.negativePrompt;
    case ParametersRole:
      return entry.parameters;
    case ImageSizeRole:
      return entry.imageSize;
    case BrokenRole:
      return entry.broken;
    case LoadedRole:
      return entry.loaded;
    case SearchTextRole:
      return entry.prompt + QLatin1Char('\n') + entry.negativePrompt + QLatin1Char('\n') +
             QFileInfo(entry.path).fileName();
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
  return names;
}

QString GalleryModel::pathAt(int row) const {
  return row >= 0 && row < m_entries.size() ? m_entries[row].path : QString();
}

int GalleryModel::rowOfPath(const QString& path) const {
  for (int row = 0; row < m_entries.size(); ++row)
    if (m_entries[row].path == path) return row;
  return -1;
}

}  // namespace latent::ui
