#include "ui/path_choice.h"

#include <QApplication>
#include <QComboBox>
#include <QDir>
#include <QFileDialog>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QPainter>
#include <QSignalBlocker>
#include <QToolButton>

namespace latent::ui {
namespace {

constexpr int kNoteGap = 16;

}  // namespace

void NoteDelegate::paint(QPainter* painter, const QStyleOptionViewItem& option, const QModelIndex& index) const {
  QStyleOptionViewItem opt(option);
  initStyleOption(&opt, index);
  const QString text = opt.text;
  const QString note = index.data(kNoteRole).toString();
  opt.text.clear();
  const QStyle* style = opt.widget ? opt.widget->style() : QApplication::style();
  style->drawControl(QStyle::CE_ItemViewItem, &opt, painter, opt.widget);

  const QRect area = style->subElementRect(QStyle::SE_ItemViewItemText, &opt, opt.widget);
  const int noteWidth = note.isEmpty() ? 0 : opt.fontMetrics.horizontalAdvance(note) + kNoteGap;
  const bool selected = opt.state & QStyle::State_Selected;
  QColor color = opt.palette.color(QPalette::Normal, selected ? QPalette::HighlightedText : QPalette::Text);
  painter->save();
  painter->setPen(color);
  const QRect textArea = area.adjusted(0, 0, -noteWidth, 0);
  painter->drawText(textArea, Qt::AlignLeft | Qt::AlignVCenter,
                    opt.fontMetrics.elidedText(text, Qt::ElideMiddle, textArea.width()));
  if (!note.isEmpty()) {
    color.setAlpha(150);
    painter->setPen(color);
    painter->drawText(area, Qt::AlignRight | Qt::AlignVCenter, note);
  }
  painter->restore();
}

QSize NoteDelegate::sizeHint(const QStyleOptionViewItem& option, const QModelIndex& index) const {
  QSize size = QStyledItemDelegate::sizeHint(option, index);
  const QString note = index.data(kNoteRole).toString();
  if (!note.isEmpty()) size.rwidth() += option.fontMetrics.horizontalAdvance(note) + kNoteGap;
  return size;
}

PathChoice::PathChoice(const QString& noneLabel, const QString& fileTitle, const QString& folderTitle,
                       const QString& fileFilter, QWidget* parent)
    : QWidget(parent),
      m_combo(new QComboBox(this)),
      m_fileTitle(fileTitle),
      m_folderTitle(folderTitle),
      m_fileFilter(fileFilter) {
  m_combo->setItemDelegate(new NoteDelegate(m_combo));
  m_combo->setSizeAdjustPolicy(QComboBox::AdjustToMinimumContentsLengthWithIcon);
  m_combo->setMinimumContentsLength(8);
  m_combo->addItem(noneLabel, QString());
  auto* file = new QToolButton(this);
  file->setText(tr("File…"));
  file->setToolTip(fileTitle);
  auto* folder = new QToolButton(this);
  folder->setText(tr("Folder…"));
  folder->setToolTip(folderTitle);
  connect(file, &QToolButton::clicked, this, &PathChoice::chooseFile);
  connect(folder, &QToolButton::clicked, this, &PathChoice::chooseFolder);
  connect(m_combo, qOverload<int>(&QComboBox::currentIndexChanged), this, &PathChoice::changed);
  auto* layout = new QHBoxLayout(this);
  layout->setContentsMargins(0, 0, 0, 0);
  layout->addWidget(m_combo, 1);
  layout->addWidget(file);
  layout->addWidget(folder);
}

QString PathChoice::path() const { return m_combo->currentData().toString(); }

int PathChoice::addPath(const QString& path) {
  m_combo->addItem(QDir::toNativeSeparators(path), path);
  const int index = m_combo->count() - 1;
  m_combo->setItemData(index, QDir::toNativeSeparators(path), Qt::ToolTipRole);
  if (m_noteOf) m_combo->setItemData(index, m_noteOf(path), NoteDelegate::kNoteRole);
  return index;
}

void PathChoice::setPath(const QString& path) {
  int index = m_combo->findData(path);
  if (index < 0) index = addPath(path);
  m_combo->setCurrentIndex(index);
}

void PathChoice::setRecent(const QStringList& paths) {
  const QString current = path();
  {
    const QSignalBlocker block(m_combo);
    while (m_combo->count() > 1) m_combo->removeItem(1);
    for (const QString& recent : paths) addPath(recent);
    if (!current.isEmpty() && m_combo->findData(current) < 0) addPath(current);
    m_combo->setCurrentIndex(std::max(0, m_combo->findData(current)));
  }
}

void PathChoice::setNoteProvider(std::function<QString(const QString&)> noteOf) {
  m_noteOf = std::move(noteOf);
  for (int i = 1; i < m_combo->count(); ++i)
    m_combo->setItemData(i, m_noteOf(m_combo->itemData(i).toString()), NoteDelegate::kNoteRole);
}

void PathChoice::chooseFile() {
  const QString picked = QFileDialog::getOpenFileName(this, m_fileTitle, QFileInfo(path()).path(), m_fileFilter);
  if (picked.isEmpty()) return;
  setPath(picked);
  Q_EMIT chosen(picked);
}

void PathChoice::chooseFolder() {
  const QString picked = QFileDialog::getExistingDirectory(this, m_folderTitle, path());
  if (picked.isEmpty()) return;
  setPath(picked);
  Q_EMIT chosen(picked);
}

}  // namespace latent::ui
