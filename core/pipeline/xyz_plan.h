#pragma once

// The X/Y/Z plot: up to three axes, each a setting and the values it takes, and every
// combination of them as an ordinary generation request, so that each picture is made and
// saved exactly as a single generation with those settings would be. The grid picture that
// shows them together is core/image/grid_image.h's.
// Reference: AUTOMATIC1111 stable-diffusion-webui scripts/xyz_grid.py (axis labels, value
// syntax, "Prompt S/R", the order of the runs, the grid's metadata fields).
// Free of LibTorch: the command-line tool, the GUI and the fuzzer share it.

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "core/api/generation_request.h"
#include "core/image/png_metadata.h"

namespace latent::pipeline {

enum class AxisType {
  nothing,
  seed,
  steps,
  guidance,
  sampler,
  prompt_sr,  // search and replace: the first value is the text to find, each value replaces it
  lora_multiplier,
  checkpoint,
  strength,  // image to image (or the hires fix's second pass)
  clip_skip,
};

struct AxisTypeInfo {
  AxisType type;
  const char* name;   // the command line's, as its options name the setting: "guidance"
  const char* label;  // the web UI's, written in the legend and the metadata: "CFG Scale"
};

// Every axis type, "Nothing" first.
const std::vector<AxisTypeInfo>& axis_types();
const AxisTypeInfo& axis_type_info(AxisType type);
// By name or label, in any case ("cfg scale", "guidance"); throws latent::Error listing the names.
AxisType parse_axis_type(const std::string& name);

// One value of an axis, as it is applied and as the legend shows it.
struct AxisValue {
  int64_t whole = 0;    // seed, steps, clip skip
  double number = 0;    // guidance, strength, LoRA multiplier
  std::string text;     // sampler (our name), prompt S/R replacement, checkpoint path
  std::string label;    // "Steps: 20", "DPM++ 2M Karras", "model-b"
};

struct Axis {
  AxisType type = AxisType::nothing;
  std::string values_text;  // as typed, for the metadata's "X Values"
  std::vector<AxisValue> values;  // one (and nothing in it) for AxisType::nothing

  int size() const { return static_cast<int>(values.size()); }
};

// One axis as the person gives it: a type and the values text.
struct AxisSpec {
  AxisType type = AxisType::nothing;
  std::string values;
};

// What checking the values needs from the program that runs the plot.
struct XyzContext {
  std::vector<std::string> samplers;  // the engine's names (pipeline::sampler_names())
  // The model a checkpoint value names (a path, or a name the program knows); empty when
  // there is none. Without one: find_checkpoint_near.
  std::function<std::string(const std::string& value)> find_checkpoint;
  // A seed for each -1 of a seed axis (the web UI's "random"); without one, std::random_device.
  std::function<uint64_t()> random_seed;
  // Checks one combination's request as the engine would (pipeline::validate_request);
  // throws latent::Error. Optional: the plan's own checks cover what the axes parse.
  std::function<void(const api::GenerationRequest&)> validate_request;
};

// A combination: its place in the grid and the request and model that make its picture.
struct XyzCell {
  int x = 0;
  int y = 0;
  int z = 0;
  api::GenerationRequest request;
  std::string model_path;
};

struct XyzPlan {
  Axis x;
  Axis y;
  Axis z;
  api::GenerationRequest base;
  std::string base_model;

  int cell_count() const { return x.size() * y.size() * z.size(); }
  // Where cell (x, y, z) sits in grid order: X fastest, then Y, then Z.
  int grid_index(int ix, int iy, int iz) const { return ix + x.size() * (iy + y.size() * iz); }
  // The request and model of one combination.
  XyzCell cell(int ix, int iy, int iz) const;
  // Every combination in the order it runs: the axis that is costly to change (a
  // checkpoint: a model load) outermost, then Z, Y and X, X changing fastest.
  std::vector<XyzCell> cells_in_run_order() const;
  // The legend's texts of an axis: "" for each value of a nothing axis.
  std::vector<std::string> labels(const Axis& axis) const;
  // "Steps: 20, Euler": the legend's texts of a combination's values, for messages.
  std::string describe(const XyzCell& cell) const;
};

// The largest grid, in megapixels, as the web UI's img_max_size_mp bounds it.
constexpr int kMaxGridMegapixels = 200;

// Parses and checks every value of every axis before anything runs: numbers that are not
// numbers, unknown samplers, missing checkpoints, a search text that is not in the prompt,
// a LoRA multiplier with no (or several) LoRAs to apply it to, a strength without a
// starting picture, the same setting on two axes, a grid too large; and, with
// context.validate_request, every combination's request. Throws latent::Error naming the
// axis ("X axis (Steps)") and the value.
XyzPlan make_xyz_plan(const api::GenerationRequest& base, const std::string& base_model, const AxisSpec& x,
                      const AxisSpec& y, const AxisSpec& z, const XyzContext& context);

// A checkpoint value as the command line reads it: a file or folder that exists, else a
// file or folder of that name (with or without .safetensors) beside `base_model`; empty
// when neither.
std::string find_checkpoint_near(const std::string& value, const std::string& base_model);

// The fields the web UI writes into a grid's parameters: "Script: X/Y/Z plot", "X Type",
// "X Values" (as typed), "Fixed X Values" for a seed axis (the seeds -1 became), and the
// same for Y and Z, for the axes that are not Nothing.
std::vector<std::pair<std::string, std::string>> xyz_script_fields(const XyzPlan& plan);

// The grid picture's metadata, as the web UI gives a grid: the `parameters` text of its first
// picture (`first_picture`'s chunks; empty when that one failed) with the script's fields
// added, and that picture's settings JSON, so that "use these settings" restores it.
image::TextChunks xyz_grid_metadata(const image::TextChunks& first_picture, const XyzPlan& plan);

}  // namespace latent::pipeline
