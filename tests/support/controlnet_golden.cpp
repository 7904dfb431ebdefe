#include "tests/support/controlnet_golden.h"

#include <map>
#include <memory>

#include "tests/support/golden.h"

namespace latent::test {

const GoldenSet& controlnet_set() {
  static const GoldenSet set("controlnet");
  return set;
}

QString controlnet_file(const QString& relative) {
  return data_path("controlnet/golden/" + relative);
}

pipeline::LoadedControlNet& golden_controlnet(const QString& name, const QString& model,
                                              bool single_file) {
  static std::map<QString, std::unique_ptr<pipeline::LoadedControlNet>> loaded;
  auto& slot = loaded[name + "|" + model + (single_file ? "|file" : "|folder")];
  if (!slot) {
    const QJsonObject entry =
        controlnet_set().index().value("models").toObject().value(name).toObject();
    const QString relative =
        entry.value(single_file ? "single_file" : "diffusers_folder").toString();
    auto& bundle = golden_model(model);
    slot = pipeline::load_controlnet(controlnet_set().data_file(relative).toStdString(),
                                     bundle.unet->config, bundle.family, bundle.device,
                                     torch::kFloat32);
  }
  return *slot;
}

}  // namespace latent::test
