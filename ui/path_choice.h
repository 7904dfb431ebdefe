#pragma once

// A choice of a file or folder among the recent ones, with "none" first: the refiner, the
// VAE, the preview decoder. Beside each path the list can show a note (a model's family),
// dimmed at the right edge; File… and Folder… open the dialogs.

#include <QStringList>
#include <QStyledItemDelegate>
#include <QWidget>

#include <functional>

class QComboBox;

namespace latent::ui {

// Draws a list entry as its text with the note of kNoteRole, dimmed, at the right edge.
class NoteDelegate : public QStyledItemDelegate {
 public:
  using QStyledItemDelegate::QStyledItemDelegate;
  static constexpr int kNoteRole = Qt::UserRole + 1;

  void paint(QPainter* painter, const QStyleOptionViewItem& option, const QModelIndex& index) const override;
  QSize sizeHint(const QStyleOptionViewItem& option, const QModelIndex& index) const override;
};

class PathChoice : public QWidget {
  Q_OBJECT

 public:
  // `noneLabel` names the first entry ("None", "The model's own"); the titles are the
  // dialogs'; `fileFilter` the file dialog's filter.
  PathChoice(const QString& noneLabel, const QString& fileTitle, const QString& folderTitle,
             const QString& fileFilter, QWidget* parent = nullptr);

  // The chosen path; empty for the first entry.
  QString path() const;
  // Selects `path`, adding it to the list when it is not there; empty selects "none".
  void setPath(const QString& path);
  // The entries after "none", keeping the choice.
  void setRecent(const QStringList& paths);
  // What to show beside each path (e.g. a model's family); applied to the entries now and
  // to those added later.
  void setNoteProvider(std::function<QString(const QString&)> noteOf);

  QComboBox* combo() const { return m_combo; }

 public Q_SLOTS:
  void chooseFile();
  void chooseFolder();

 Q_SIGNALS:
  void changed();               // another entry was selected, by the person or the program
  void chosen(const QString& path);  // picked in a dialog (for the recent list)

 private:
  int addPath(const QString& path);

  QComboBox* m_combo;
  QString m_fileTitle;
  QString m_folderTitle;
  QString m_fileFilter;
  std::function<QString(const QString&)> m_noteOf;
};

}  // namespace latent::ui
