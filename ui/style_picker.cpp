#include "ui/style_picker.h"

#include <QMenu>

#include "core/text/prompt_styles.h"
#include "ui/styles_dialog.h"

namespace latent::ui {

StylePicker::StylePicker(QWidget* parent) : QToolButton(parent), m_menu(new QMenu(this)) {
  setObjectName(QStringLiteral("stylePicker"));
  setPopupMode(QToolButton::InstantPopup);
  setMenu(m_menu);
  rebuildMenu();
}

void StylePicker::setFile(const QString& path) {
  m_file = path;
  m_names.clear();
  QString problem;
  try {
    for (const auto& style : text::read_styles_file(path.toStdString())) m_names << QString::fromStdString(style.name);
  } catch (const std::exception& error) {
    problem = QString::fromUtf8(error.what());
  }
  QStringList kept;
  for (const QString& name : m_chosen)
    if (m_names.contains(name)) kept << name;
  m_chosen = kept;
  setToolTip(problem.isEmpty() ? tr("Saved styles from %1").arg(path) : problem);
  rebuildMenu();
  Q_EMIT changed();
}

void StylePicker::setChosen(const QStringList& names) {
  m_chosen.clear();
  for (const QString& name : names)
    if (m_names.contains(name) && !m_chosen.contains(name)) m_chosen << name;
  rebuildMenu();
  Q_EMIT changed();
}

api::GenerationRequest StylePicker::styled(const api::GenerationRequest& request) const {
  if (m_chosen.isEmpty()) return request;
  std::vector<std::string> names;
  for (const QString& name : m_chosen) names.push_back(name.toStdString());
  const auto styles = text::read_styles_file(m_file.toStdString());
  const auto prompts = text::apply_styles(request.prompt, request.negative_prompt, styles, names);
  api::GenerationRequest out = request;
  out.prompt = prompts.prompt;
  out.negative_prompt = prompts.negative_prompt;
  return out;
}

void StylePicker::editStyles() {
  StylesDialog dialog(m_file, window());
  connect(&dialog, &StylesDialog::saved, this, [this] { setFile(m_file); });
  dialog.exec();
}

void StylePicker::rebuildMenu() {
  m_menu->clear();
  for (const QString& name : m_names) {
    QAction* action = m_menu->addAction(name);
    action->setCheckable(true);
    action->setChecked(m_chosen.contains(name));
    connect(action, &QAction::toggled, this, [this, name](bool on) {
      if (on && !m_chosen.contains(name)) m_chosen << name;
      if (!on) m_chosen.removeAll(name);
      updateText();
      Q_EMIT changed();
    });
  }
  if (m_names.isEmpty()) m_menu->addAction(tr("No saved styles yet"))->setEnabled(false);
  m_menu->addSeparator();
  QAction* edit = m_menu->addAction(tr("&Edit styles…"), this, &StylePicker::editStyles);
  edit->setObjectName(QStringLiteral("editStyles"));
  updateText();
}

void StylePicker::updateText() {
  setText(m_chosen.isEmpty() ? tr("Styles") : tr("Styles: %1").arg(m_chosen.join(", ")));
}

}  // namespace latent::ui
