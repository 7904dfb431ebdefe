#include "ui/sampler_items.h"

#include <QComboBox>

#include "core/image/parameters_text.h"
#include "core/pipeline/engine.h"

namespace latent::ui {

QString samplerLabel(const std::string& name) {
  const auto [webui, schedule] = image::webui_sampler_name(name);
  return schedule.empty() ? QString::fromStdString(webui)
                          : QStringLiteral("%1 %2").arg(QString::fromStdString(webui), QString::fromStdString(schedule));
}

void addSamplerItems(QComboBox* combo) {
  for (const std::string& name : pipeline::sampler_names())
    combo->addItem(samplerLabel(name), QString::fromStdString(name));
}

}  // namespace latent::ui
