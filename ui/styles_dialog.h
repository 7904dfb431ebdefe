#pragma once

// The styles editor: the styles of a styles.csv file (the web UI's format, see
// core/text/prompt_styles.h) in a list, the chosen one's name, prompt and negative prompt in
// fields below it; Add, Delete, and Save, which replaces the file in one step (a failed
// save says why and leaves the file as it was). A file that cannot be read is shown as such
// and not overwritten.

#include <QDialog>

#include <vector>

#include "core/text/prompt_styles.h"

class QLabel;
class QLineEdit;
class QListWidget;
class QPlainTextEdit;
class QPushButton;

namespace latent::ui {

class StylesDialog : public QDialog {
  Q_OBJECT

 public:
  explicit StylesDialog(const QString& path, QWidget* parent = nullptr);

  const std::vector<text::PromptStyle>& styles() const { return m_styles; }
  // Writes the styles to the file; false (with the reason shown) when that fails.
  bool save();

  QListWidget* list() const { return m_list; }
  QLineEdit* nameEdit() const { return m_name; }
  QPlainTextEdit* promptEdit() const { return m_prompt; }
  QPlainTextEdit* negativeEdit() const { return m_negative; }
  QPushButton* addButton() const { return m_add; }
  QPushButton* deleteButton() const { return m_delete; }
  QPushButton* saveButton() const { return m_save; }
  QString errorText() const;

 Q_SIGNALS:
  void saved();

 private:
  void showStyle(int row);
  void addStyle();
  void deleteStyle();
  void rename(const QString& name);
  void showError(const QString& message);

  QString m_path;
  std::vector<text::PromptStyle> m_styles;
  QListWidget* m_list;
  QLineEdit* m_name;
  QPlainTextEdit* m_prompt;
  QPlainTextEdit* m_negative;
  QPushButton* m_add;
  QPushButton* m_delete;
  QPushButton* m_save;
  QLabel* m_error;
  bool m_showing = false;   // filling the fields from a style: their edits are not changes
  bool m_readable = true;   // the file could be read (else it is never overwritten)
};

}  // namespace latent::ui
