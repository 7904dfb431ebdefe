#include "ui/token_counter.h"

#include <QRegularExpression>

#include <exception>

#include "core/text/clip_tokenizer.h"
#include "core/util/resources.h"

namespace latent::ui {

TokenCounter::TokenCounter() {
  try {
    m_tokenizer = std::make_unique<text::ClipTokenizer>(
        text::ClipTokenizer::from_folder(util::resource_path("tokenizer")));
  } catch (const std::exception&) {
    m_tokenizer.reset();
  }
}

TokenCounter::~TokenCounter() = default;

int TokenCounter::count(const QString& prompt) const {
  if (m_tokenizer) {
    try {
      return static_cast<int>(m_tokenizer->encode(prompt.toStdString()).size());
    } catch (const std::exception&) {
    }
  }
  static const QRegularExpression words(QStringLiteral("\\w+|[^\\w\\s]"));
  int n = 0;
  for (auto it = words.globalMatch(prompt); it.hasNext(); it.next()) ++n;
  return n;
}

}  // namespace latent::ui
