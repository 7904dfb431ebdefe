#include "ui/styles_dialog.h"

#include <QDialogButtonBox>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QListWidget>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QVBoxLayout>

#include <algorithm>

namespace latent::ui {
namespace {

QPlainTextEdit* makeEditor(const QString& name, const QString& placeholder, QWidget* parent) {
  auto* edit = new QPlainTextEdit(parent);
  edit->setObjectName(name);
  edit->setPlaceholderText(placeholder);
  edit->setTabChangesFocus(true);
  edit->setMinimumHeight(50);
  return edit;
}

}  // namespace

StylesDialog::StylesDialog(const QString& path, QWidget* parent)
    : QDialog(parent),
      m_path(path),
      m_list(new QListWidget(this)),
      m_name(new QLineEdit(this)),
      m_prompt(makeEditor(QStringLiteral("stylePrompt"), tr("Added to the prompt; {prompt} stands for it"), this)),
      m_negative(makeEditor(QStringLiteral("styleNegative"), tr("Added to the negative prompt"), this)),
      m_add(new QPushButton(tr("&Add"), this)),
      m_delete(new QPushButton(tr("&Delete"), this)),
      m_save(new QPushButton(tr("&Save"), this)),
      m_error(new QLabel(this)) {
  setWindowTitle(tr("Styles"));
  m_list->setObjectName(QStringLiteral("styleList"));
  m_name->setObjectName(QStringLiteral("styleName"));
  m_add->setObjectName(QStringLiteral("addStyle"));
  m_delete->setObjectName(QStringLiteral("deleteStyle"));
  m_save->setObjectName(QStringLiteral("saveStyles"));
  m_error->setObjectName(QStringLiteral("stylesError"));
  m_error->setWordWrap(true);
  m_error->setStyleSheet(QStringLiteral("color: #c0392b;"));
  m_error->hide();

  auto* fileLabel = new QLabel(tr("File: %1").arg(path), this);
  fileLabel->setTextInteractionFlags(Qt::TextSelectableByMouse);
  auto* listButtons = new QHBoxLayout;
  listButtons->addWidget(m_add);
  listButtons->addWidget(m_delete);
  listButtons->addStretch();
  auto* form = new QFormLayout;
  form->addRow(tr("&Name"), m_name);
  form->addRow(tr("&Prompt"), m_prompt);
  form->addRow(tr("N&egative prompt"), m_negative);
  auto* buttons = new QDialogButtonBox(QDialogButtonBox::Close, this);
  buttons->addButton(m_save, QDialogButtonBox::AcceptRole);
  auto* layout = new QVBoxLayout(this);
  layout->addWidget(fileLabel);
  layout->addWidget(m_list, 1);
  layout->addLayout(listButtons);
  layout->addLayout(form);
  layout->addWidget(m_error);
  layout->addWidget(buttons);

  try {
    m_styles = text::read_styles_file(path.toStdString());
  } catch (const std::exception& error) {
    // Saving now would replace a file we could not read with an empty one.
    showError(QString::fromUtf8(error.what()));
    m_readable = false;
    m_save->setEnabled(false);
  }
  for (const auto& style : m_styles) m_list->addItem(QString::fromStdString(style.name));

  connect(m_list, &QListWidget::currentRowChanged, this, &StylesDialog::showStyle);
  connect(m_add, &QPushButton::clicked, this, &StylesDialog::addStyle);
  connect(m_delete, &QPushButton::clicked, this, &StylesDialog::deleteStyle);
  connect(m_name, &QLineEdit::textEdited, this, &StylesDialog::rename);
  connect(m_prompt, &QPlainTextEdit::textChanged, this, [this] {
    const int row = m_list->currentRow();
    if (!m_showing && row >= 0) m_styles[static_cast<std::size_t>(row)].prompt = m_prompt->toPlainText().toStdString();
  });
  connect(m_negative, &QPlainTextEdit::textChanged, this, [this] {
    const int row = m_list->currentRow();
    if (!m_showing && row >= 0)
      m_styles[static_cast<std::size_t>(row)].negative_prompt = m_negative->toPlainText().toStdString();
  });
  connect(m_save, &QPushButton::clicked, this, [this] {
    if (save()) accept();
  });
  connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
  m_list->setCurrentRow(m_styles.empty() ? -1 : 0);
  showStyle(m_list->currentRow());
}

QString StylesDialog::errorText() const { return m_error->isHidden() ? QString() : m_error->text(); }

void StylesDialog::showError(const QString& message) {
  m_error->setText(message);
  m_error->setVisible(!message.isEmpty());
}

void StylesDialog::showStyle(int row) {
  const bool any = row >= 0 && static_cast<std::size_t>(row) < m_styles.size();
  m_showing = true;
  m_name->setText(any ? QString::fromStdString(m_styles[static_cast<std::size_t>(row)].name) : QString());
  m_prompt->setPlainText(any ? QString::fromStdString(m_styles[static_cast<std::size_t>(row)].prompt) : QString());
  m_negative->setPlainText(any ? QString::fromStdString(m_styles[static_cast<std::size_t>(row)].negative_prompt)
                               : QString());
  m_showing = false;
  for (QWidget* field : {static_cast<QWidget*>(m_name), static_cast<QWidget*>(m_prompt),
                         static_cast<QWidget*>(m_negative), static_cast<QWidget*>(m_delete)})
    field->setEnabled(any);
}

void StylesDialog::addStyle() {
  const auto taken = [this](const std::string& name) {
    return std::any_of(m_styles.begin(), m_styles.end(), [&name](const auto& s) { return s.name == name; });
  };
  std::string name = tr("New style").toStdString();
  for (int n = 2; taken(name); ++n) name = tr("New style %1").arg(n).toStdString();
  m_styles.push_back({name, "", ""});
  m_list->addItem(QString::fromStdString(name));
  m_list->setCurrentRow(m_list->count() - 1);
  m_name->setFocus();
  m_name->selectAll();
}

void StylesDialog::deleteStyle() {
  const int row = m_list->currentRow();
  if (row < 0) return;
  m_styles.erase(m_styles.begin() + row);
  delete m_list->takeItem(row);
  showStyle(m_list->currentRow());
}

void StylesDialog::rename(const QString& typed) {
  const int row = m_list->currentRow();
  if (row < 0) return;
  const std::string name = typed.trimmed().toStdString();
  // A name is how prompts and the command line pick a style: it must be there and be unique,
  // and a leading '#' would make the web UI read the row as a comment.
  QString problem;
  if (name.empty()) problem = tr("A style needs a name.");
  else if (name[0] == '#') problem = tr("A name may not start with #: the web UI reads such rows as comments.");
  for (std::size_t i = 0; i < m_styles.size() && problem.isEmpty(); ++i)
    if (static_cast<int>(i) != row && m_styles[i].name == name)
      problem = tr("There is already a style named '%1'.").arg(QString::fromStdString(name));
  showError(problem);
  m_save->setEnabled(m_readable && problem.isEmpty());
  if (!problem.isEmpty()) return;
  m_styles[static_cast<std::size_t>(row)].name = name;
  m_list->item(row)->setText(QString::fromStdString(name));
}

bool StylesDialog::save() {
  try {
    text::write_styles_file(m_path.toStdString(), m_styles);
  } catch (const std::exception& error) {
    showError(tr("The styles were not saved: %1").arg(QString::fromUtf8(error.what())));
    return false;
  }
  showError({});
  Q_EMIT saved();
  return true;
}

}  // namespace latent::ui
