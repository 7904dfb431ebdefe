#include "ui/control_settings.h"

#include <QSettings>

namespace latent::ui {

void writeControlUnits(QSettings& s, const api::GenerationRequest& r) {
  s.beginGroup(QStringLiteral("controlnet"));
  s.setValue("guessMode", r.control_guess_mode);
  s.remove(QStringLiteral("units"));  // a shorter list must not keep the old tail
  s.beginWriteArray(QStringLiteral("units"), static_cast<int>(r.control_units.size()));
  for (int i = 0; i < static_cast<int>(r.control_units.size()); ++i) {
    const api::ControlUnit& unit = r.control_units[i];
    s.setArrayIndex(i);
    s.setValue("model", QString::fromStdString(unit.model_path));
    s.setValue("image", QString::fromStdString(unit.image_path));
    s.setValue("preprocessor", QString::fromStdString(unit.preprocessor));
    s.setValue("thresholdA", unit.threshold_a);
    s.setValue("thresholdB", unit.threshold_b);
    s.setValue("resizeMode", QString::fromStdString(unit.resize_mode));
    s.setValue("weight", unit.weight);
    s.setValue("start", unit.guidance_start);
    s.setValue("end", unit.guidance_end);
    s.setValue("enabled", unit.enabled);
  }
  s.endArray();
  s.endGroup();
}

void readControlUnits(QSettings& s, api::GenerationRequest& r) {
  const api::ControlUnit d;
  s.beginGroup(QStringLiteral("controlnet"));
  r.control_guess_mode = s.value("guessMode", false).toBool();
  r.control_units.clear();
  const int count = s.beginReadArray(QStringLiteral("units"));
  for (int i = 0; i < count; ++i) {
    s.setArrayIndex(i);
    api::ControlUnit unit;
    unit.model_path = s.value("model").toString().toStdString();
    unit.image_path = s.value("image").toString().toStdString();
    unit.preprocessor =
        s.value("preprocessor", QString::fromStdString(d.preprocessor)).toString().toStdString();
    unit.threshold_a = s.value("thresholdA", d.threshold_a).toDouble();
    unit.threshold_b = s.value("thresholdB", d.threshold_b).toDouble();
    unit.resize_mode =
        s.value("resizeMode", QString::fromStdString(d.resize_mode)).toString().toStdString();
    unit.weight = s.value("weight", d.weight).toDouble();
    unit.guidance_start = s.value("start", d.guidance_start).toDouble();
    unit.guidance_end = s.value("end", d.guidance_end).toDouble();
    unit.enabled = s.value("enabled", d.enabled).toBool();
    r.control_units.push_back(unit);
  }
  s.endArray();
  s.endGroup();
}

}  // namespace latent::ui
