#include "ui/prompt_panel.h"

#include <QEvent>
#include <QHBoxLayout>
#include <QKeyEvent>
#include <QLabel>
#include <QPlainTextEdit>
#include <QTimer>
#include <QVBoxLayout>

#include "ui/style_picker.h"
#include "ui/token_counter.h"

namespace latent::ui {
namespace {

QPlainTextEdit* makeEditor(const QString& placeholder, const QString& name, QWidget* parent) {
  auto* edit = new QPlainTextEdit(parent);
  edit->setObjectName(name);
  edit->setPlaceholderText(placeholder);
  edit->setTabChangesFocus(true);
  edit->setMinimumHeight(60);
  return edit;
}

void showCount(QLabel* label, TokenCount count) {
  // Past 75 tokens the prompt is encoded in several chunks: all of it is read, but each
  // chunk is understood on its own, so say where the boundaries fall.
  const bool over = count.tokens > TokenCounter::kLimit;
  label->setText(over ? QObject::tr("%1/%2 tokens: %3 chunks of 75, each read on its own")
                            .arg(count.tokens).arg(TokenCounter::kLimit * count.chunks).arg(count.chunks)
                      : QObject::tr("%1/%2").arg(count.tokens).arg(TokenCounter::kLimit));
  label->setProperty("overLimit", over);
  label->setStyleSheet(over ? QStringLiteral("color: #c0392b; font-weight: bold;") : QString());
}

}  // namespace

PromptPanel::PromptPanel(QWidget* parent)
    : QWidget(parent),
      m_prompt(makeEditor(tr("Describe the picture (Ctrl+Enter generates)"), QStringLiteral("prompt"), this)),
      m_negative(makeEditor(tr("What to keep out of it"), QStringLiteral("negativePrompt"), this)),
      m_promptCount(new QLabel(this)),
      m_negativeCount(new QLabel(this)),
      m_countTimer(new QTimer(this)),
      m_styles(new StylePicker(this)),
      m_counter(std::make_unique<TokenCounter>()) {
  m_promptCount->setObjectName(QStringLiteral("promptTokenCount"));
  m_negativeCount->setObjectName(QStringLiteral("negativeTokenCount"));
  for (QLabel* label : {m_promptCount, m_negativeCount}) label->setAlignment(Qt::AlignRight);

  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(0, 0, 0, 0);
  auto* promptLabel = new QLabel(tr("&Prompt"), this);
  promptLabel->setBuddy(m_prompt);
  auto* negativeLabel = new QLabel(tr("&Negative prompt"), this);
  negativeLabel->setBuddy(m_negative);
  auto* promptHeader = new QHBoxLayout;
  promptHeader->addWidget(promptLabel);
  promptHeader->addStretch();
  promptHeader->addWidget(m_styles);
  layout->addLayout(promptHeader);
  layout->addWidget(m_prompt, 3);
  layout->addWidget(m_promptCount);
  layout->addWidget(negativeLabel);
  layout->addWidget(m_negative, 2);
  layout->addWidget(m_negativeCount);

  m_countTimer->setSingleShot(true);
  m_countTimer->setInterval(120);
  connect(m_countTimer, &QTimer::timeout, this, &PromptPanel::updateCounters);
  for (QPlainTextEdit* edit : {m_prompt, m_negative}) {
    edit->installEventFilter(this);
    connect(edit, &QPlainTextEdit::textChanged, this, [this] {
      m_countTimer->start();
      Q_EMIT changed();
    });
  }
  connect(m_styles, &StylePicker::changed, this, &PromptPanel::changed);
  updateCounters();
}

PromptPanel::~PromptPanel() = default;

QString PromptPanel::prompt() const { return m_prompt->toPlainText(); }
QString PromptPanel::negativePrompt() const { return m_negative->toPlainText(); }

void PromptPanel::setPrompt(const QString& text) {
  if (text != prompt()) m_prompt->setPlainText(text);
  updateCounters();
}

void PromptPanel::setNegativePrompt(const QString& text) {
  if (text != negativePrompt()) m_negative->setPlainText(text);
  updateCounters();
}

QString PromptPanel::promptCounterText() const { return m_promptCount->text(); }

bool PromptPanel::eventFilter(QObject* watched, QEvent* event) {
  if ((watched == m_prompt || watched == m_negative) &&
      (event->type() == QEvent::KeyPress || event->type() == QEvent::ShortcutOverride)) {
    auto* key = static_cast<QKeyEvent*>(event);
    const bool enter = key->key() == Qt::Key_Return || key->key() == Qt::Key_Enter;
    if (enter && (key->modifiers() & Qt::ControlModifier)) {
      if (event->type() == QEvent::ShortcutOverride) {
        event->accept();  // ours, not the window's shortcut: handled once, on the key press
      } else {
        Q_EMIT generateRequested();
      }
      return true;
    }
  }
  return QWidget::eventFilter(watched, event);
}

void PromptPanel::updateCounters() {
  m_countTimer->stop();
  showCount(m_promptCount, m_counter->count(prompt()));
  showCount(m_negativeCount, m_counter->count(negativePrompt()));
}

}  // namespace latent::ui
