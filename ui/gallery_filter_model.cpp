#include "ui/gallery_filter_model.h"

#include <algorithm>

#include "ui/gallery_model.h"

namespace latent::ui {

GalleryFilterModel::GalleryFilterModel(GalleryModel* source, QObject* parent)
    : QAbstractProxyModel(parent), m_source(source) {
  QAbstractProxyModel::setSourceModel(source);
  connect(source, &QAbstractItemModel::rowsInserted, this, &GalleryFilterModel::onRowsInserted);
  connect(source, &QAbstractItemModel::rowsAboutToBeRemoved, this, &GalleryFilterModel::onRowsAboutToBeRemoved);
  connect(source, &QAbstractItemModel::rowsRemoved, this, &GalleryFilterModel::onRowsRemoved);
  connect(source, &QAbstractItemModel::dataChanged, this, &GalleryFilterModel::onDataChanged);
  // The gallery model only inserts, removes, changes and resets; anything else starts over.
  connect(source, &QAbstractItemModel::modelAboutToBeReset, this, &GalleryFilterModel::beginResetModel);
  connect(source, &QAbstractItemModel::modelReset, this, &GalleryFilterModel::onSourceReset);
  connect(source, &QAbstractItemModel::layoutAboutToBeChanged, this, &GalleryFilterModel::beginResetModel);
  connect(source, &QAbstractItemModel::layoutChanged, this, &GalleryFilterModel::onSourceReset);
  m_rows = matchingRows(nullptr);
}

bool GalleryFilterModel::accepts(int sourceRow) const {
  return m_folded.isEmpty() || m_source->rowMatches(sourceRow, m_folded);
}

int GalleryFilterModel::position(int sourceRow) const {
  return int(std::lower_bound(m_rows.begin(), m_rows.end(), sourceRow) - m_rows.begin());
}

void GalleryFilterModel::setFilterText(const QString& text) {
  if (text == m_text) return;
  const QByteArray folded = text.toCaseFolded().toUtf8();
  // Typing on narrows the set: only the rows shown now can still match.
  const bool narrowing = !m_folded.isEmpty() && folded.contains(m_folded);
  m_text = text;
  m_folded = folded;
  showRows(matchingRows(narrowing ? &m_rows : nullptr));
}

void GalleryFilterModel::showRows(std::vector<int> rows) {
  if (rows == m_rows) return;
  Q_EMIT layoutAboutToBeChanged({}, QAbstractItemModel::NoLayoutChangeHint);
  const QModelIndexList before = persistentIndexList();
  QList<int> sourceRows;
  for (const QModelIndex& index : before) sourceRows.append(m_rows[size_t(index.row())]);
  m_rows = std::move(rows);
  QModelIndexList after;
  for (qsizetype i = 0; i < before.size(); ++i) {
    const int row = position(sourceRows[i]);
    const bool shown = row < int(m_rows.size()) && m_rows[size_t(row)] == sourceRows[i];
    after.append(shown ? index(row, before[i].column()) : QModelIndex());
  }
  changePersistentIndexList(before, after);
  Q_EMIT layoutChanged({}, QAbstractItemModel::NoLayoutChangeHint);
}

std::vector<int> GalleryFilterModel::matchingRows(const std::vector<int>* among) const {
  std::vector<int> rows;
  if (among) {
    for (const int row : *among)
      if (accepts(row)) rows.push_back(row);
  } else {
    rows.reserve(size_t(m_source->rowCount()));
    for (int row = 0, count = m_source->rowCount(); row < count; ++row)
      if (accepts(row)) rows.push_back(row);
  }
  return rows;
}

void GalleryFilterModel::onSourceReset() {
  m_rows = matchingRows(nullptr);
  endResetModel();
}

void GalleryFilterModel::onRowsInserted(const QModelIndex& parent, int first, int last) {
  if (parent.isValid()) return;
  const int count = last - first + 1;
  const int at = position(first);
  for (auto row = m_rows.begin() + at; row != m_rows.end(); ++row) *row += count;
  std::vector<int> added;
  for (int row = first; row <= last; ++row)
    if (accepts(row)) added.push_back(row);
  if (added.empty()) return;
  beginInsertRows({}, at, at + int(added.size()) - 1);
  m_rows.insert(m_rows.begin() + at, added.begin(), added.end());
  endInsertRows();
}

void GalleryFilterModel::onRowsAboutToBeRemoved(const QModelIndex& parent, int first, int last) {
  if (parent.isValid()) return;
  const int from = position(first), to = position(last + 1);
  if (from == to) return;
  beginRemoveRows({}, from, to - 1);
  m_rows.erase(m_rows.begin() + from, m_rows.begin() + to);
  endRemoveRows();
}

void GalleryFilterModel::onRowsRemoved(const QModelIndex& parent, int first, int last) {
  if (parent.isValid()) return;
  const int count = last - first + 1;
  for (auto row = m_rows.begin() + position(first); row != m_rows.end(); ++row) *row -= count;
}

void GalleryFilterModel::onDataChanged(const QModelIndex& topLeft, const QModelIndex& bottomRight,
                                       const QList<int>& roles) {
  if (!topLeft.isValid() || topLeft.parent().isValid()) return;
  for (int row = topLeft.row(); row <= bottomRight.row(); ++row) {
    // What the model learns about a picture (its prompts) can bring it into the filter or out.
    const int at = position(row);
    const bool shown = at < int(m_rows.size()) && m_rows[size_t(at)] == row;
    const bool wanted = accepts(row);
    if (shown && wanted) {
      Q_EMIT dataChanged(index(at, 0), index(at, 0), roles);
    } else if (wanted) {
      beginInsertRows({}, at, at);
      m_rows.insert(m_rows.begin() + at, row);
      endInsertRows();
    } else if (shown) {
      beginRemoveRows({}, at, at);
      m_rows.erase(m_rows.begin() + at);
      endRemoveRows();
    }
  }
}

QModelIndex GalleryFilterModel::index(int row, int column, const QModelIndex& parent) const {
  if (parent.isValid() || row < 0 || row >= int(m_rows.size()) || column != 0) return {};
  return createIndex(row, column);
}

QModelIndex GalleryFilterModel::parent(const QModelIndex&) const { return {}; }

int GalleryFilterModel::rowCount(const QModelIndex& parent) const {
  return parent.isValid() ? 0 : int(m_rows.size());
}

int GalleryFilterModel::columnCount(const QModelIndex& parent) const { return parent.isValid() ? 0 : 1; }

bool GalleryFilterModel::hasChildren(const QModelIndex& parent) const { return rowCount(parent) > 0; }

QModelIndex GalleryFilterModel::mapToSource(const QModelIndex& proxyIndex) const {
  if (!proxyIndex.isValid() || proxyIndex.model() != this || proxyIndex.row() >= int(m_rows.size())) return {};
  return m_source->index(m_rows[size_t(proxyIndex.row())], proxyIndex.column());
}

QModelIndex GalleryFilterModel::mapFromSource(const QModelIndex& sourceIndex) const {
  if (!sourceIndex.isValid() || sourceIndex.model() != m_source) return {};
  const int at = position(sourceIndex.row());
  if (at >= int(m_rows.size()) || m_rows[size_t(at)] != sourceIndex.row()) return {};
  return index(at, sourceIndex.column());
}

}  // namespace latent::ui
