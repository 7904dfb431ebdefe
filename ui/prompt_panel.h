#pragma once

// The prompt and negative-prompt editors, each with a token counter that warns when
// the text passes what CLIP reads. Ctrl+Enter in either asks for a generation.

#include <QWidget>

#include <memory>

class QLabel;
class QPlainTextEdit;
class QTimer;

namespace latent::ui {

class StylePicker;
class TokenCounter;

class PromptPanel : public QWidget {
  Q_OBJECT

 public:
  explicit PromptPanel(QWidget* parent = nullptr);
  ~PromptPanel() override;

  QString prompt() const;
  void setPrompt(const QString& text);
  QString negativePrompt() const;
  void setNegativePrompt(const QString& text);

  QPlainTextEdit* promptEdit() const { return m_prompt; }
  QPlainTextEdit* negativeEdit() const { return m_negative; }
  QString promptCounterText() const;
  // The saved styles beside the prompt (applied when a request is made, not to the text here).
  StylePicker* stylePicker() const { return m_styles; }

 Q_SIGNALS:
  void generateRequested();
  void changed();

 protected:
  bool eventFilter(QObject* watched, QEvent* event) override;

 private:
  void updateCounters();

  QPlainTextEdit* m_prompt;
  QPlainTextEdit* m_negative;
  QLabel* m_promptCount;
  QLabel* m_negativeCount;
  QTimer* m_countTimer;
  StylePicker* m_styles;
  std::unique_ptr<TokenCounter> m_counter;
};

}  // namespace latent::ui
