#include "core/pipeline/control_request.h"

#include <cmath>
#include <cstdio>

#include "core/control/preprocessors.h"
#include "core/image/image_prep.h"
#include "core/pipeline/control_image.h"
#include "core/util/error.h"

namespace latent::pipeline {
namespace {

std::string number_text(double value) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%g", value);
  return buffer;
}

// "stretch", "crop", "fill" → the picture-fitting modes; throws for anything else.
image::ResizeMode fit_mode(const std::string& name, const std::string& unit) {
  if (name == "stretch") return image::ResizeMode::resize;
  if (name == "crop") return image::ResizeMode::crop;
  if (name == "fill") return image::ResizeMode::pad;
  throw Error(unit + ": resize mode \"" + name + "\" is not one of stretch, crop, fill");
}

}  // namespace

std::vector<api::ControlUnit> enabled_control_units(const api::GenerationRequest& request) {
  std::vector<api::ControlUnit> units;
  for (const auto& unit : request.control_units)
    if (unit.enabled) units.push_back(unit);
  return units;
}

void validate_control_units(const api::GenerationRequest& request) {
  if (request.control_units.size() > static_cast<size_t>(kMaxControlUnits))
    throw Error(std::to_string(request.control_units.size()) +
                " ControlNet units are too many: use at most " + std::to_string(kMaxControlUnits));
  for (size_t i = 0; i < request.control_units.size(); ++i) {
    const api::ControlUnit& unit = request.control_units[i];
    if (!unit.enabled) continue;
    const std::string name = "ControlNet unit " + std::to_string(i + 1);
    if (unit.model_path.empty()) throw Error(name + " names no ControlNet model");
    if (!unit.given()) throw Error(name + " has no control picture");
    if (!(std::isfinite(unit.weight) && unit.weight >= 0 && unit.weight <= 10))
      throw Error(name + ": weight " + number_text(unit.weight) + " is out of range: use 0 to 10");
    if (!(unit.guidance_start >= 0 && unit.guidance_start < unit.guidance_end &&
          unit.guidance_end <= 1))
      throw Error(name + ": start " + number_text(unit.guidance_start) + " and end " +
                  number_text(unit.guidance_end) +
                  " must be fractions of the steps with 0 <= start < end <= 1");
    const control::PreprocessorInfo& info = control::preprocessor_info(unit.preprocessor);
    for (const auto& [value, label, low, high] :
         {std::tuple{unit.threshold_a, info.a_label, info.a_min, info.a_max},
          std::tuple{unit.threshold_b, info.b_label, info.b_min, info.b_max}}) {
      if (!std::isfinite(value) || label.empty() || value < 0) continue;  // negative: the default
      if (value < low || value > high)
        throw Error(name + ": the " + info.name + " preprocessor's " + label + " " +
                    number_text(value) + " is out of range: use " + number_text(low) + " to " +
                    number_text(high));
    }
    if (!std::isfinite(unit.threshold_a) || !std::isfinite(unit.threshold_b))
      throw Error(name + ": the preprocessor's thresholds must be finite numbers");
    (void)fit_mode(unit.resize_mode, name);
  }
}

cv::Mat control_picture(const api::ControlUnit& unit) {
  if (!unit.image_path.empty()) return image::load_image_rgb(unit.image_path);
  if (unit.image && !unit.image->empty()) return image::image_to_mat(*unit.image);
  throw Error("the ControlNet unit has no control picture");
}

cv::Mat control_mask(const api::GenerationRequest& request) {
  if (!request.mask.path.empty()) return image::load_mask(request.mask.path);
  if (request.mask.given()) return image::rgb_to_luma(image::image_to_mat(*request.mask.pixels));
  return {};
}

cv::Mat control_map(const api::ControlUnit& unit, int width, int height, const cv::Mat& mask) {
  const image::ResizeMode mode = fit_mode(unit.resize_mode, "the ControlNet unit");
  const control::PreprocessSettings settings{unit.preprocessor, unit.threshold_a, unit.threshold_b};
  cv::Mat picture = control_picture(unit);
  if (control::preprocessor_info(unit.preprocessor).name == "inpaint") {
    // The condition marks masked pixels with −1: made at the size, from the fitted picture.
    if (mask.empty())
      throw Error("the inpaint preprocessor needs a mask (white = the area to repaint)");
    const cv::Mat fitted = image::fit_image(picture, width, height, mode);
    const cv::Mat fitted_mask = image::fit_mask(
        image::resize_lanczos(mask, picture.cols, picture.rows), width, height, mode);
    return control::preprocess(fitted, settings, fitted_mask);
  }
  const cv::Mat map = control::preprocess(picture, settings);
  if (mode == image::ResizeMode::resize) return map;  // stretched as diffusers does, later
  return image::fit_image(map, width, height, mode);
}

ControlParams control_params(const api::GenerationRequest& request,
                             const std::vector<models::ControlNetModel>& nets,
                             const cv::Mat& mask) {
  ControlParams control;
  control.guess_mode = request.control_guess_mode;
  const auto units = enabled_control_units(request);
  if (units.size() != nets.size())
    throw Error("ControlNet: one loaded net per enabled unit is needed");
  const int width = request.size.width;
  const int height = request.size.height;
  for (size_t i = 0; i < units.size(); ++i) {
    ControlNetUnit unit;
    unit.net = nets[i];
    unit.image = control_image_tensor(control_map(units[i], width, height, mask), width, height);
    unit.scale = units[i].weight;
    unit.start = units[i].guidance_start;
    unit.end = units[i].guidance_end;
    control.units.push_back(unit);
  }
  return control;
}

}  // namespace latent::pipeline
