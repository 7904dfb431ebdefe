#include "core/pipeline/xyz_plan.h"

#include <QDir>
#include <QFileInfo>

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <random>

#include "core/image/parameters_text.h"
#include "core/image/settings_json.h"
#include "core/pipeline/request_validation.h"
#include "core/pipeline/xyz_values.h"
#include "core/text/lora_prompt.h"
#include "core/util/error.h"

namespace latent::pipeline {
namespace {

// At most this many combinations in one plot (each is a whole generation).
constexpr int kMaxCells = 10000;

const std::vector<AxisTypeInfo> kAxisTypes = {
    {AxisType::nothing, "nothing", "Nothing"},
    {AxisType::seed, "seed", "Seed"},
    {AxisType::steps, "steps", "Steps"},
    {AxisType::guidance, "guidance", "CFG Scale"},
    {AxisType::sampler, "sampler", "Sampler"},
    {AxisType::prompt_sr, "prompt-sr", "Prompt S/R"},
    {AxisType::lora_multiplier, "lora-multiplier", "LoRA multiplier"},
    {AxisType::checkpoint, "checkpoint", "Checkpoint name"},
    {AxisType::strength, "strength", "Denoising"},
    {AxisType::clip_skip, "clip-skip", "Clip skip"},
};

std::string lower(std::string text) {
  for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

// Changing the model means loading it: such an axis runs outermost.
int cost_of(AxisType type) { return type == AxisType::checkpoint ? 1 : 0; }

std::string with_label(AxisType type, const std::string& value) {
  return std::string(axis_type_info(type).label) + ": " + value;
}

// "DPM++ 2M Karras" for "dpmpp_2m_karras".
std::string sampler_label(const std::string& name) {
  const auto [webui, schedule] = image::webui_sampler_name(name);
  return schedule.empty() ? webui : webui + " " + schedule;
}

std::string join(const std::vector<std::string>& items, const std::string& separator) {
  std::string out;
  for (const std::string& item : items) out += (out.empty() ? "" : separator) + item;
  return out;
}

std::string replace_all(std::string text, const std::string& from, const std::string& to) {
  if (from.empty()) return text;
  for (std::size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size()))
    text.replace(at, from.size(), to);
  return text;
}

// The prompt's <lora:...> tags count as LoRAs only where a LoRA folder resolves them.
std::vector<text::PromptLora> prompt_loras(const api::GenerationRequest& r) {
  if (r.loras.folder.empty()) return {};
  return text::extract_lora_tags(r.prompt).loras;
}

// The one LoRA a multiplier axis changes: a prompt tag or an adapter. Throws when there is
// not exactly one.
void check_one_lora(const api::GenerationRequest& r) {
  const std::size_t tags = prompt_loras(r).size();
  const std::size_t adapters = r.loras.adapters.size();
  if (tags + adapters == 1) return;
  throw Error("it changes the multiplier of one LoRA, and the request has " + std::to_string(tags + adapters) +
              " (" + std::to_string(tags) + " <lora:...> tags in the prompt, " + std::to_string(adapters) +
              " chosen LoRAs); use Prompt S/R on a <lora:NAME:MULTIPLIER> tag to vary one of several");
}

void set_lora_multiplier(api::GenerationRequest& r, double multiplier) {
  const auto tags = prompt_loras(r);
  if (tags.empty()) {
    if (!r.loras.adapters.empty()) r.loras.adapters.front().multiplier = multiplier;
    return;
  }
  const std::string& tag = tags.front().tag;
  const std::string kind = tag.substr(1, tag.find(':') - 1);  // "lora" or "lyco"
  const std::size_t at = r.prompt.find(tag);
  r.prompt.replace(at, tag.size(), "<" + kind + ":" + tags.front().name + ":" + format_axis_number(multiplier) + ">");
}

uint64_t fresh_seed() {
  std::random_device device;
  const uint64_t high = device();
  return ((high << 32) | device()) >> 1;  // below 2^63, as a random --seed is
}

// The name of a model file or folder, as the legend shows it.
std::string model_label(const std::string& path) {
  const QFileInfo info(QString::fromStdString(path));
  return (info.isDir() ? info.fileName() : info.completeBaseName()).toStdString();
}

std::vector<AxisValue> parse_values(AxisType type, const std::string& text, const api::GenerationRequest& base,
                                    const std::string& base_model, const XyzContext& context) {
  std::vector<AxisValue> out;
  const auto whole = [&](int64_t low, int64_t high, const std::string& range) {
    for (const int64_t v : whole_number_values(text)) {
      if (v < low || v > high) throw Error("'" + std::to_string(v) + "' is out of range: use " + range);
      AxisValue value;
      value.whole = v;
      value.label = with_label(type, std::to_string(v));
      out.push_back(value);
    }
  };
  const auto number = [&] {
    for (const double v : number_values(text)) {
      AxisValue value;
      value.number = v;
      value.label = with_label(type, format_axis_number(v));
      out.push_back(value);
    }
  };
  switch (type) {
    case AxisType::nothing:
      out.push_back({});
      return out;
    case AxisType::seed:
      whole(-1, INT64_MAX, "0 or more, or -1 for a random seed");
      for (AxisValue& value : out) {
        if (value.whole != -1) continue;
        value.whole = static_cast<int64_t>(context.random_seed ? context.random_seed() : fresh_seed());
        value.label = with_label(type, std::to_string(value.whole));
      }
      break;
    case AxisType::steps: whole(1, kMaxSteps, "1 to " + std::to_string(kMaxSteps)); break;
    case AxisType::clip_skip: whole(1, 100, "1 (the last layer) to 100"); break;
    case AxisType::guidance: number(); break;
    case AxisType::lora_multiplier:
      check_one_lora(base);
      number();
      break;
    case AxisType::strength:
      if (!has_init_image(base) && !base.second_pass.enabled)
        throw Error("it needs a starting picture (image to image) or the hires fix, whose strength it sets");
      number();
      for (const AxisValue& value : out)
        if (value.number < 0 || value.number > 1)
          throw Error("'" + format_axis_number(value.number) + "' is out of range: use 0 to 1");
      break;
    case AxisType::sampler:
      for (const std::string& item : split_axis_values(text)) {
        const auto known = std::find_if(context.samplers.begin(), context.samplers.end(), [&](const std::string& name) {
          return lower(item) == lower(name) || lower(item) == lower(sampler_label(name));
        });
        if (known == context.samplers.end())
          throw Error("'" + item + "' is not a sampler: use one of " + join(context.samplers, ", ") +
                      " or their web UI names (\"DPM++ 2M Karras\")");
        AxisValue value;
        value.text = *known;
        value.label = sampler_label(*known);
        out.push_back(value);
      }
      break;
    case AxisType::prompt_sr:
      for (const std::string& item : split_axis_values(text)) {
        AxisValue value;
        value.text = item;
        value.label = item;
        out.push_back(value);
      }
      if (!out.empty()) {
        const std::string& search = out.front().text;
        const bool found = base.prompt.find(search) != std::string::npos ||
                           base.negative_prompt.find(search) != std::string::npos;
        if (!found)
          throw Error("'" + search + "' (the first value, the text each value replaces) is in neither the prompt "
                      "nor the negative prompt");
      }
      break;
    case AxisType::checkpoint:
      for (const std::string& item : split_axis_values(text)) {
        AxisValue value;
        value.text = context.find_checkpoint ? context.find_checkpoint(item) : find_checkpoint_near(item, base_model);
        if (value.text.empty())
          throw Error("'" + item + "' is not a model: no such file or folder, here or beside the model");
        value.label = model_label(value.text);
        out.push_back(value);
      }
      break;
  }
  if (out.empty()) throw Error("it has no values");
  return out;
}

// Sets one axis's value in a combination's request.
void apply(const Axis& axis, const AxisValue& value, api::GenerationRequest& r, std::string& model) {
  switch (axis.type) {
    case AxisType::nothing: break;
    case AxisType::seed: r.sampling.seed = static_cast<uint64_t>(value.whole); break;
    case AxisType::steps: r.sampling.steps = static_cast<int>(value.whole); break;
    case AxisType::clip_skip: r.sampling.clip_skip = static_cast<int>(value.whole); break;
    case AxisType::guidance: r.sampling.guidance_scale = value.number; break;
    case AxisType::sampler: r.sampling.sampler = value.text; break;
    case AxisType::lora_multiplier: set_lora_multiplier(r, value.number); break;
    case AxisType::checkpoint: model = value.text; break;
    case AxisType::strength:
      if (has_init_image(r)) r.init.strength = value.number;
      else r.second_pass.denoising_strength = value.number;
      break;
    case AxisType::prompt_sr: {
      // As the web UI: every occurrence, in the prompt and the negative prompt alike.
      const std::string& search = axis.values.front().text;
      r.prompt = replace_all(r.prompt, search, value.text);
      r.negative_prompt = replace_all(r.negative_prompt, search, value.text);
      break;
    }
  }
}

// "X axis (Steps)": how errors name an axis.
std::string axis_name(char letter, AxisType type) {
  return std::string(1, letter) + " axis (" + axis_type_info(type).label + ")";
}

}  // namespace

const std::vector<AxisTypeInfo>& axis_types() { return kAxisTypes; }

const AxisTypeInfo& axis_type_info(AxisType type) {
  for (const AxisTypeInfo& info : kAxisTypes)
    if (info.type == type) return info;
  return kAxisTypes.front();
}

AxisType parse_axis_type(const std::string& name) {
  std::string wanted = lower(name);
  std::replace(wanted.begin(), wanted.end(), '_', '-');
  std::vector<std::string> names;
  for (const AxisTypeInfo& info : kAxisTypes) {
    if (wanted == info.name || wanted == lower(info.label)) return info.type;
    names.push_back(info.name);
  }
  throw Error("unknown axis type '" + name + "': use " + join(names, ", ") + " (or the web UI's labels)");
}

XyzCell XyzPlan::cell(int ix, int iy, int iz) const {
  XyzCell out{ix, iy, iz, base, base_model};
  apply(x, x.values.at(ix), out.request, out.model_path);
  apply(y, y.values.at(iy), out.request, out.model_path);
  apply(z, z.values.at(iz), out.request, out.model_path);
  return out;
}

std::vector<XyzCell> XyzPlan::cells_in_run_order() const {
  // Outer to inner: Z, Y, X, with a costly axis moved outermost (a stable sort keeps the rest).
  struct Loop {
    const Axis* axis;
    int index;
  };
  std::array<Loop, 3> loops{{{&z, 2}, {&y, 1}, {&x, 0}}};
  std::stable_sort(loops.begin(), loops.end(),
                   [](const Loop& a, const Loop& b) { return cost_of(a.axis->type) > cost_of(b.axis->type); });
  std::vector<XyzCell> out;
  out.reserve(static_cast<std::size_t>(cell_count()));
  std::array<int, 3> at{};
  for (at[loops[0].index] = 0; at[loops[0].index] < loops[0].axis->size(); ++at[loops[0].index])
    for (at[loops[1].index] = 0; at[loops[1].index] < loops[1].axis->size(); ++at[loops[1].index])
      for (at[loops[2].index] = 0; at[loops[2].index] < loops[2].axis->size(); ++at[loops[2].index])
        out.push_back(cell(at[0], at[1], at[2]));
  return out;
}

std::vector<std::string> XyzPlan::labels(const Axis& axis) const {
  std::vector<std::string> out;
  for (const AxisValue& value : axis.values) out.push_back(value.label);
  return out;
}

std::string XyzPlan::describe(const XyzCell& cell) const {
  std::vector<std::string> parts;
  const std::array<std::pair<const Axis*, int>, 3> places{{{&x, cell.x}, {&y, cell.y}, {&z, cell.z}}};
  for (const auto& [axis, index] : places)
    if (axis->type != AxisType::nothing) parts.push_back(axis->values.at(static_cast<std::size_t>(index)).label);
  return join(parts, ", ");
}

XyzPlan make_xyz_plan(const api::GenerationRequest& base, const std::string& base_model, const AxisSpec& x,
                      const AxisSpec& y, const AxisSpec& z, const XyzContext& context) {
  XyzPlan plan;
  plan.base = base;
  plan.base_model = base_model;
  const std::array<std::pair<char, const AxisSpec*>, 3> specs{{{'X', &x}, {'Y', &y}, {'Z', &z}}};
  const std::array<Axis*, 3> axes{&plan.x, &plan.y, &plan.z};
  for (std::size_t i = 0; i < specs.size(); ++i) {
    const auto [letter, spec] = specs[i];
    for (std::size_t j = 0; j < i; ++j)
      if (spec->type != AxisType::nothing && specs[j].second->type == spec->type)
        throw Error(std::string(1, specs[j].first) + " and " + letter + " axes both vary " +
                    axis_type_info(spec->type).label + ": give each setting one axis");
    Axis& axis = *axes[i];
    axis.type = spec->type;
    axis.values_text = spec->type == AxisType::nothing ? "" : spec->values;
    try {
      axis.values = parse_values(spec->type, spec->values, base, base_model, context);
    } catch (const Error& error) {
      throw Error(axis_name(letter, spec->type) + ": " + error.what());
    }
  }
  const int64_t cells = static_cast<int64_t>(plan.x.size()) * plan.y.size() * plan.z.size();
  if (cells > kMaxCells)
    throw Error("the plot has " + std::to_string(cells) + " combinations; one plot runs at most " +
                std::to_string(kMaxCells));
  const double megapixels = static_cast<double>(cells) * base.size.width * base.size.height * base.size.batch_size / 1e6;
  if (megapixels > kMaxGridMegapixels)
    throw Error("the grid would be " + std::to_string(static_cast<int64_t>(megapixels)) +
                " megapixels; the largest is " + std::to_string(kMaxGridMegapixels) + ": use fewer values or a smaller size");
  if (context.validate_request) {
    for (const XyzCell& cell : plan.cells_in_run_order()) {
      try {
        context.validate_request(cell.request);
      } catch (const Error& error) {
        throw Error("the combination \"" + plan.describe(cell) + "\" is refused: " + error.what());
      }
    }
  }
  return plan;
}

std::string find_checkpoint_near(const std::string& value, const std::string& base_model) {
  const QString given = QString::fromStdString(value);
  if (given.isEmpty()) return {};
  if (QFileInfo::exists(given)) return QFileInfo(given).absoluteFilePath().toStdString();
  const QDir beside = QFileInfo(QString::fromStdString(base_model)).absoluteDir();
  for (const QString& name : {given, given + QStringLiteral(".safetensors")})
    if (!base_model.empty() && QFileInfo::exists(beside.filePath(name))) return beside.filePath(name).toStdString();
  return {};
}

std::vector<std::pair<std::string, std::string>> xyz_script_fields(const XyzPlan& plan) {
  std::vector<std::pair<std::string, std::string>> fields{{"Script", "X/Y/Z plot"}};
  const std::array<std::pair<std::string, const Axis*>, 3> axes{{{"X", &plan.x}, {"Y", &plan.y}, {"Z", &plan.z}}};
  for (const auto& [letter, axis] : axes) {
    if (axis->type == AxisType::nothing) continue;
    fields.push_back({letter + " Type", axis_type_info(axis->type).label});
    fields.push_back({letter + " Values", axis->values_text});
    if (axis->type == AxisType::seed) {
      std::vector<std::string> seeds;
      for (const AxisValue& value : axis->values) seeds.push_back(std::to_string(value.whole));
      fields.push_back({"Fixed " + letter + " Values", join(seeds, ", ")});
    }
  }
  return fields;
}

image::TextChunks xyz_grid_metadata(const image::TextChunks& first_picture, const XyzPlan& plan) {
  std::string parameters;
  std::string settings;
  for (const auto& [key, text] : first_picture) {
    if (key == image::kParametersChunk) parameters = text;
    if (key == image::kSettingsChunk) settings = text;
  }
  image::ParsedParameters parsed;
  if (parameters.empty()) {  // the first picture failed: the plot's own prompts
    parsed.prompt = plan.base.prompt;
    parsed.negative_prompt = plan.base.negative_prompt;
  } else {
    parsed = image::parse_parameters(parameters);
  }
  for (const auto& field : xyz_script_fields(plan)) parsed.fields.push_back(field);
  image::TextChunks chunks{{image::kParametersChunk, parsed.to_text()}};
  if (!settings.empty()) chunks.push_back({image::kSettingsChunk, settings});
  return chunks;
}

}  // namespace latent::pipeline
