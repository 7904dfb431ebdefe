#pragma once

// The style picker beside the prompt: a button whose menu lists the saved styles of the
// styles file (checkable, applied in the order they were checked) and opens the styles
// editor. The chosen styles are applied to a request's prompts when it is made, as the web
// UI applies them: the prompt boxes keep what was typed.

#include <QStringList>
#include <QToolButton>

#include "core/api/generation_request.h"

class QMenu;

namespace latent::ui {

class StylePicker : public QToolButton {
  Q_OBJECT

 public:
  explicit StylePicker(QWidget* parent = nullptr);

  QString file() const { return m_file; }
  // Reads the style names of `path` (a missing file has none; an unreadable one is reported
  // in the tooltip). Chosen styles that are still there stay chosen.
  void setFile(const QString& path);
  QStringList styleNames() const { return m_names; }
  QStringList chosen() const { return m_chosen; }
  void setChosen(const QStringList& names);

  // The request with the chosen styles applied to its prompt and negative prompt. Throws
  // latent::Error when the file no longer has one of them.
  api::GenerationRequest styled(const api::GenerationRequest& request) const;

  // Opens the styles editor on the file; the menu follows what it saves.
  void editStyles();

 Q_SIGNALS:
  void changed();

 private:
  void rebuildMenu();
  void updateText();

  QString m_file;
  QStringList m_names;
  QStringList m_chosen;  // in the order they were checked
  QMenu* m_menu;
};

}  // namespace latent::ui
