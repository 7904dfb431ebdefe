#include "control_options.h"

#include <QFileInfo>
#include <QRegularExpression>

#include "core/control/control_spec.h"
#include "core/control/preprocessors.h"
#include "core/util/error.h"

using latent::Error;

namespace {

std::string preprocessorList() {
  std::string names;
  for (const auto& p : latent::control::preprocessors())
    names += (names.empty() ? "" : ", ") + p.name;
  return names;
}

}  // namespace

OptionList ControlOptions::options() const {
  return {
      {"control",
       "A ControlNet guiding the picture (repeat for several, their residuals summed): "
       "model=PATH,image=FILE[,scale=S][,start=A][,end=B][,preprocess=NAME][,low=L][,high=H]"
       "[,threshold=T][,resize=stretch|crop|fill]. PATH is a diffusers folder or an original "
       ".safetensors file; NAME one of " +
           QString::fromStdString(preprocessorList()) +
           " (default none); scale defaults to 0.8 for image to image and 1 otherwise, as in "
           "diffusers; start and end are fractions of the steps (default 0 and 1). Without "
           "--width/--height the first control picture's size rounded down to 8 is used.",
       "UNIT"},
      {"control-guess-mode",
       "ControlNets see the prompt only and weaken their shallow residuals (diffusers' "
       "guess_mode; the web UI's \"ControlNet is more important\")."},
  };
}

void ControlOptions::read(const QCommandLineParser& parser,
                          latent::api::GenerationRequest& request) const {
  const QStringList values = parser.values("control");
  request.control_guess_mode = parser.isSet("control-guess-mode");
  if (values.isEmpty() && request.control_guess_mode)
    throw Error("--control-guess-mode needs --control");
  const bool imageToImage = request.init.given() && !request.mask.given();
  for (const QString& value : values) {
    latent::api::ControlUnit unit = latent::control::parse_control_spec(value.toStdString());
    if (!value.contains(QRegularExpression("(^|,)scale="))) unit.weight = imageToImage ? 0.8 : 1.0;
    for (const auto& [what, path] :
         {std::pair{"model", unit.model_path}, std::pair{"image", unit.image_path}})
      if (!QFileInfo::exists(QString::fromStdString(path)))
        throw Error(std::string("--control: the ") + what + " '" + path + "' does not exist");
    request.control_units.push_back(unit);
  }
}
