#include "ui/token_counter.h"

#include <QRegularExpression>

#include <algorithm>
#include <exception>

#include "core/text/clip_tokenizer.h"
#include "core/text/prompt_chunks.h"
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

TokenCount TokenCounter::count(const QString& prompt) const {
  if (m_tokenizer) {
    const auto stats = text::prompt_stats(*m_tokenizer, prompt.toStdString());
    return {stats.tokens, stats.chunks};
  }
  static const QRegularExpression words(QStringLiteral("\\w+|[^\\w\\s]"));
  int n = 0;
  for (auto it = words.globalMatch(prompt); it.hasNext(); it.next()) ++n;
  return {n, (std::max(n, 1) + kLimit - 1) / kLimit};
}

}  // namespace latent::ui
