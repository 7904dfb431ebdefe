#pragma once

// The gallery's prompt filter: the rows of a GalleryModel whose prompts or file name contain
// the typed text, ignoring case, in the model's order. Built for folders of tens of thousands
// of pictures: a keystroke is one substring search per row in text the model folded once
// (only among the rows still shown when the text grew), and the view hears of the new set of
// rows as one layout change rather than as one removal per gap between matches.

#include <QAbstractProxyModel>

#include <vector>

namespace latent::ui {

class GalleryModel;

class GalleryFilterModel : public QAbstractProxyModel {
  Q_OBJECT

 public:
  explicit GalleryFilterModel(GalleryModel* source, QObject* parent = nullptr);

  void setFilterText(const QString& text);
  QString filterText() const { return m_text; }

  QModelIndex index(int row, int column, const QModelIndex& parent = {}) const override;
  QModelIndex parent(const QModelIndex& child) const override;
  int rowCount(const QModelIndex& parent = {}) const override;
  int columnCount(const QModelIndex& parent = {}) const override;
  bool hasChildren(const QModelIndex& parent = {}) const override;
  QModelIndex mapToSource(const QModelIndex& proxyIndex) const override;
  QModelIndex mapFromSource(const QModelIndex& sourceIndex) const override;

 private:
  bool accepts(int sourceRow) const;
  // The source rows that match, among `among` (ascending) or among all when it is null.
  std::vector<int> matchingRows(const std::vector<int>* among) const;
  int position(int sourceRow) const;  // the first shown row at or after `sourceRow`
  void showRows(std::vector<int> rows);
  void onRowsInserted(const QModelIndex& parent, int first, int last);
  void onRowsAboutToBeRemoved(const QModelIndex& parent, int first, int last);
  void onRowsRemoved(const QModelIndex& parent, int first, int last);
  void onDataChanged(const QModelIndex& topLeft, const QModelIndex& bottomRight, const QList<int>& roles);
  void onSourceReset();

  GalleryModel* m_source;
  QString m_text;
  QByteArray m_folded;      // m_text, case-folded, in UTF-8 as the model keeps its text
  std::vector<int> m_rows;  // the source rows shown, ascending
};

}  // namespace latent::ui
