#pragma once

// From a request's control units to what the pipelines run: the checks made before any work,
// and each unit's control map (its picture preprocessed and fitted to the size) as the
// ControlNet takes it.

#include <torch/torch.h>

#include <opencv2/core.hpp>
#include <vector>

#include "core/api/generation_request.h"
#include "core/pipeline/control_guidance.h"

namespace latent::pipeline {

// The most units one request may name.
constexpr int kMaxControlUnits = 8;

// Checks every enabled unit: a model and a picture named, a known preprocessor with
// parameters in range, a known resize mode, a finite weight from 0 to 10, and
// 0 ≤ start < end ≤ 1. Throws latent::Error naming the unit and the value.
void validate_control_units(const api::GenerationRequest& request);

// The enabled units, in order.
std::vector<api::ControlUnit> enabled_control_units(const api::GenerationRequest& request);

// A unit's picture: its file, or its pixels; 8-bit RGB.
cv::Mat control_picture(const api::ControlUnit& unit);

// The request's mask (its file or pixels) as one 8-bit channel, for the inpaint
// preprocessor; empty without one.
cv::Mat control_mask(const api::GenerationRequest& request);

// The unit's map at width×height before it becomes a tensor: preprocessed at the picture's
// size and fitted by the resize mode ("stretch" is left to control_image_tensor, which
// resizes as diffusers does). The inpaint preprocessor fits the picture and `mask` (one
// 8-bit channel, white = repaint; required for it) first and makes its map at the size.
cv::Mat control_map(const api::ControlUnit& unit, int width, int height, const cv::Mat& mask = {});

// The run's ControlParams: one unit per enabled unit with `nets[i]` as its net.
ControlParams control_params(const api::GenerationRequest& request,
                             const std::vector<models::ControlNetModel>& nets,
                             const cv::Mat& mask = {});

}  // namespace latent::pipeline
