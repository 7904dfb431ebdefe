#include "ui/result_summary.h"

#include <QCoreApplication>
#include <QStringList>

namespace latent::ui {

QString loraSummary(const std::vector<api::AppliedLora>& loras) {
  if (loras.empty()) return {};
  QStringList parts;
  for (const api::AppliedLora& lora : loras) {
    QString part = QStringLiteral("%1 %2")
                       .arg(QString::fromStdString(lora.name))
                       .arg(lora.multiplier, 0, 'g', 3);
    if (lora.from_prompt) part += QCoreApplication::translate("MainWindow", " (from the prompt)");
    parts << part;
  }
  return QCoreApplication::translate("MainWindow", "LoRA: %1")
      .arg(parts.join(QStringLiteral(", ")));
}

}  // namespace latent::ui
