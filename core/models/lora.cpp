#include "core/models/lora.h"

#include <QCryptographicHash>
#include <QDateTime>
#include <QFile>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>

#include <algorithm>
#include <cmath>
#include <regex>
#include <set>

#include "core/io/lora_family.h"
#include "core/io/safetensors.h"
#include "core/schedulers/random.h"
#include "core/util/error.h"

namespace latent::models {
namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

template <typename Holder>
void collect_weights(Holder& module, std::map<std::string, torch::Tensor>& out) {
  for (const auto& item : module->named_modules("", /*include_self=*/false)) {
    if (auto* linear = item.value()->template as<torch::nn::Linear>()) {
      out[item.key()] = linear->weight;
    } else if (auto* conv = item.value()->template as<torch::nn::Conv2d>()) {
      out[item.key()] = conv->weight;
    }
  }
}

std::vector<std::string> keys_of(const std::map<std::string, torch::Tensor>& map) {
  std::vector<std::string> out;
  for (const auto& entry : map) out.push_back(entry.first);
  return out;
}

std::string shape_text(at::IntArrayRef shape) {
  std::string out = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) out += (i ? ", " : "") + std::to_string(shape[i]);
  return out + "]";
}

std::string examples(const std::vector<std::string>& items, std::size_t count = 3) {
  std::string out;
  for (std::size_t i = 0; i < items.size() && i < count; ++i) out += (i ? ", " : "") + items[i];
  if (items.size() > count) out += ", ... (" + std::to_string(items.size() - count) + " more)";
  return out;
}

// PEFT's scaling from the `lora_adapter_metadata` that diffusers' save_lora_weights
// writes: lora_alpha (or alpha_pattern's entry) over the rank, or over √rank with rsLoRA.
struct PeftScaling {
  double alpha = 0;
  bool rslora = false;
  std::vector<std::pair<std::regex, double>> alpha_pattern;
  bool present = false;

  double scale(const std::string& module, int64_t rank) const {
    double a = alpha;
    for (const auto& [pattern, value] : alpha_pattern)
      if (std::regex_match(module, pattern)) {
        a = value;
        break;
      }
    return a / (rslora ? std::sqrt(static_cast<double>(rank)) : static_cast<double>(rank));
  }
};

PeftScaling peft_scaling(const QJsonObject& metadata, const std::string& component,
                         const std::string& path) {
  PeftScaling out;
  const QString prefix = QString::fromStdString(component) + ".";
  const QJsonValue alpha = metadata.value(prefix + "lora_alpha");
  if (!alpha.isDouble()) return out;
  out.present = true;
  out.alpha = alpha.toDouble();
  out.rslora = metadata.value(prefix + "use_rslora").toBool(false);
  const QJsonObject patterns = metadata.value(prefix + "alpha_pattern").toObject();
  for (auto it = patterns.begin(); it != patterns.end(); ++it) {
    // PEFT matches a pattern against the end of the module path ("^…" anchors it).
    std::string key = it.key().toStdString();
    const bool anchored = !key.empty() && key[0] == '^';
    if (anchored) key.erase(0, 1);
    try {
      out.alpha_pattern.emplace_back(std::regex((anchored ? "(?:" : "(?:.*\\.)?(?:") + key + ")"),
                                     it.value().toDouble());
    } catch (const std::regex_error&) {
      throw Error("LoRA '" + path + "': the alpha pattern '" + it.key().toStdString() +
                  "' in its metadata is not a valid regular expression");
    }
  }
  return out;
}

// The shape ΔW has before it is laid onto the weight; throws when the factors'
// ranks do not match one another or a tensor has a dimension count no adapter has.
std::vector<int64_t> natural_shape(const LoraLayer& layer, const std::string& path) {
  auto get = [&](const char* role) -> const torch::Tensor* {
    const auto it = layer.tensors.find(role);
    return it == layer.tensors.end() ? nullptr : &it->second;
  };
  auto bad = [&](const std::string& what) {
    return Error("LoRA '" + path + "': module " + layer.file_module + " is malformed: " + what);
  };
  auto need_dims = [&](const torch::Tensor* t, const char* role, std::initializer_list<int64_t> dims) {
    if (!t) throw bad(std::string("it has no ") + role + " tensor");
    for (int64_t d : dims)
      if (t->dim() == d) return;
    throw bad(std::string(role) + " has shape " + shape_text(t->sizes()));
  };
  auto pointwise = [&](const torch::Tensor& t) { return t.dim() == 2 || (t.size(2) == 1 && t.size(3) == 1); };
  switch (layer.kind) {
    case LoraKind::LoRA: {
      const auto* down = get("down");
      const auto* up = get("up");
      const auto* mid = get("mid");
      need_dims(down, "down", {2, 4});
      need_dims(up, "up", {2, 4});
      if (!pointwise(*up)) throw bad("up has shape " + shape_text(up->sizes()));
      const int64_t rank = down->size(0);
      if (mid) {
        need_dims(mid, "mid", {4});
        if (!pointwise(*down) || mid->size(1) != rank || mid->size(0) != up->size(1))
          throw bad("down " + shape_text(down->sizes()) + ", mid " + shape_text(mid->sizes()) +
                    " and up " + shape_text(up->sizes()) + " do not chain");
        return {up->size(0), down->size(1), mid->size(2), mid->size(3)};
      }
      if (up->size(1) != rank)
        throw bad("down " + shape_text(down->sizes()) + " and up " + shape_text(up->sizes()) +
                  " have different ranks");
      if (down->dim() == 4) return {up->size(0), down->size(1), down->size(2), down->size(3)};
      return {up->size(0), down->size(1)};
    }
    case LoraKind::LoHa: {
      std::vector<int64_t> shapes[2];
      for (int i = 0; i < 2; ++i) {
        const std::string n = std::to_string(i + 1);
        const auto* a = get(("hada_w" + n + "_a").c_str());
        const auto* b = get(("hada_w" + n + "_b").c_str());
        const auto* t = get(("hada_t" + n).c_str());
        need_dims(a, "hada_w_a", {2});
        need_dims(b, "hada_w_b", {2});
        if (t) {
          need_dims(t, "hada_t", {4});
          if (t->size(0) != a->size(0) || t->size(1) != b->size(0)) throw bad("hada factors do not chain");
          shapes[i] = {a->size(1), b->size(1), t->size(2), t->size(3)};
        } else {
          if (a->size(1) != b->size(0)) throw bad("hada factors do not chain");
          shapes[i] = {a->size(0), b->size(1)};
        }
      }
      if (shapes[0] != shapes[1]) throw bad("its two Hadamard factors have different shapes");
      return shapes[0];
    }
    case LoraKind::LoKr: {
      std::vector<int64_t> w1;
      std::vector<int64_t> w2;
      if (const auto* t = get("lokr_w1")) {
        need_dims(t, "lokr_w1", {2});
        w1 = t->sizes().vec();
      } else {
        const auto* a = get("lokr_w1_a");
        const auto* b = get("lokr_w1_b");
        need_dims(a, "lokr_w1_a", {2});
        need_dims(b, "lokr_w1_b", {2});
        if (a->size(1) != b->size(0)) throw bad("lokr_w1_a and lokr_w1_b do not chain");
        w1 = {a->size(0), b->size(1)};
      }
      if (const auto* t = get("lokr_w2")) {
        need_dims(t, "lokr_w2", {2, 4});
        w2 = t->sizes().vec();
      } else {
        const auto* a = get("lokr_w2_a");
        const auto* b = get("lokr_w2_b");
        need_dims(a, "lokr_w2_a", {2});
        need_dims(b, "lokr_w2_b", {2});
        if (const auto* t2 = get("lokr_t2")) {
          need_dims(t2, "lokr_t2", {4});
          if (t2->size(0) != a->size(0) || t2->size(1) != b->size(0)) throw bad("lokr_w2 factors do not chain");
          w2 = {a->size(1), b->size(1), t2->size(2), t2->size(3)};
        } else {
          if (a->size(1) != b->size(0)) throw bad("lokr_w2_a and lokr_w2_b do not chain");
          w2 = {a->size(0), b->size(1)};
        }
      }
      std::vector<int64_t> out = {w1[0] * w2[0], w1[1] * w2[1]};
      if (w2.size() == 4) out.insert(out.end(), {w2[2], w2[3]});
      return out;
    }
    case LoraKind::Full: {
      const auto* diff = get("diff");
      if (!diff) throw bad("it has no diff tensor");
      return diff->sizes().vec();
    }
  }
  return {};
}

// Same output rows, same number of inputs per row, and the same kernel when both
// have one: a linear delta fits a 1x1 convolution (SD 1.x proj_in) and vice versa.
bool fits(const std::vector<int64_t>& delta, at::IntArrayRef weight) {
  if (delta.size() < 2 || weight.size() < 2 || delta[0] != weight[0]) return false;
  int64_t delta_in = 1;
  int64_t weight_in = 1;
  for (std::size_t i = 1; i < delta.size(); ++i) delta_in *= delta[i];
  for (std::size_t i = 1; i < weight.size(); ++i) weight_in *= weight[i];
  if (delta_in != weight_in) return false;
  if (delta.size() == 4 && weight.size() == 4) return delta[1] == weight[1] && delta[2] == weight[2];
  return true;
}

int64_t rank_of(const LoraLayer& layer, bool* has_rank) {
  *has_rank = true;
  auto size0 = [&](const char* role) -> int64_t {
    const auto it = layer.tensors.find(role);
    return it == layer.tensors.end() ? 0 : it->second.size(0);
  };
  switch (layer.kind) {
    case LoraKind::LoRA:
      return size0("down");
    case LoraKind::LoHa:
      return size0("hada_w1_b");
    case LoraKind::LoKr:
      if (size0("lokr_w2_b")) return size0("lokr_w2_b");
      if (size0("lokr_w1_b")) return size0("lokr_w1_b");
      break;
    case LoraKind::Full:
      break;
  }
  *has_rank = false;  // no rank: alpha does not apply (scale 1), as ComfyUI reads these
  return 1;
}

// What the modules the model has no place for suggest the file was made for. The
// other-architecture guesses are for models of one text encoder; the SDXL refiner, which
// has only the second, gets told so.
std::string file_hint(const std::vector<std::string>& unmatched_modules, const LoraTargets& targets) {
  if (targets.family && io::is_sdxl(*targets.family)) {
    if (targets.text_encoders.count("text_encoder")) return {};
    const auto first = std::find_if(unmatched_modules.begin(), unmatched_modules.end(), [](const std::string& m) {
      return m.rfind("lora_te1_", 0) == 0 || m.rfind("text_encoder.", 0) == 0;
    });
    if (first == unmatched_modules.end()) return {};
    return "the " + io::family_name(*targets.family) + " has no first text encoder for " + *first;
  }
  return io::LoraKeyMap::architecture_hint(unmatched_modules);
}

const char* unsupported_reason(const std::string& role) {
  if (role == "dora_scale") return "DoRA (weight-decomposed LoRA) is not supported";
  if (role == "up_bias" || role == "diff_b") return "bias deltas are not supported";
  return nullptr;
}

torch::Tensor f32(const torch::Tensor& t, torch::Device device) {
  return t.to(device, torch::kFloat32);
}

// LyCORIS' Tucker rebuild: Σ_ij t[i,j,k,l]·b[j,r]·a[i,p] -> [p, r, k, l].
torch::Tensor tucker(const torch::Tensor& t, const torch::Tensor& b, const torch::Tensor& a) {
  return torch::einsum("ijkl,jr,ip->prkl", {t, b, a});
}

}  // namespace

const torch::Tensor* LoraTargets::weight(const io::LoraKeyTarget& target) const {
  const std::map<std::string, torch::Tensor>* map = &unet;
  if (target.component == io::Component::TextEncoder) {
    const auto encoder = text_encoders.find(target.text_encoder);
    if (encoder == text_encoders.end()) return nullptr;
    map = &encoder->second;
  }
  const auto it = map->find(target.module);
  return it == map->end() ? nullptr : &it->second;
}

QJsonObject unet_layout_json(const UNet2DConditionConfig& config) {
  QJsonObject json;
  QJsonArray down;
  for (auto t : config.down_block_types)
    down.append(t == UNetDownBlockType::CrossAttnDownBlock2D ? "CrossAttnDownBlock2D" : "DownBlock2D");
  QJsonArray up;
  for (auto t : config.up_block_types)
    up.append(t == UNetUpBlockType::CrossAttnUpBlock2D ? "CrossAttnUpBlock2D" : "UpBlock2D");
  QJsonArray channels;
  for (auto c : config.block_out_channels) channels.append(static_cast<double>(c));
  QJsonArray layers;
  for (auto n : config.layers_per_block) layers.append(static_cast<double>(n));
  json["down_block_types"] = down;
  json["up_block_types"] = up;
  json["block_out_channels"] = channels;
  json["layers_per_block"] = layers;
  json["mid_block_type"] = config.has_mid_block ? QJsonValue("UNetMidBlock2DCrossAttn") : QJsonValue();
  return json;
}

LoraTargets lora_targets(UNet2DConditionModel& unet, const NamedTextEncoders& text_encoders,
                         std::optional<io::ModelFamily> family) {
  LoraTargets targets;
  targets.family = family;
  collect_weights(unet, targets.unet);
  std::map<std::string, std::vector<std::string>> text_encoder_modules;
  for (auto [name, encoder] : text_encoders) {
    collect_weights(encoder, targets.text_encoders[name]);
    text_encoder_modules[name] = keys_of(targets.text_encoders[name]);
  }
  targets.keys = std::make_shared<io::LoraKeyMap>(keys_of(targets.unet), text_encoder_modules,
                                                  unet_layout_json(unet->config));
  return targets;
}

LoraTargets lora_targets(UNet2DConditionModel& unet, CLIPTextModel& text_encoder) {
  return lora_targets(unet, {{"text_encoder", text_encoder}}, std::nullopt);
}

std::string lora_file_hash(const std::string& path) {
  QFile file(QString::fromStdString(path));
  if (!file.open(QIODevice::ReadOnly)) throw Error("cannot read LoRA file '" + path + "'");
  unsigned char length_bytes[8];
  if (file.read(reinterpret_cast<char*>(length_bytes), 8) != 8)
    throw Error("LoRA file '" + path + "' is too short to be a safetensors file");
  uint64_t header_length = 0;
  for (int i = 7; i >= 0; --i) header_length = (header_length << 8) | length_bytes[i];
  if (header_length > static_cast<uint64_t>(file.size()) - 8 || !file.seek(static_cast<qint64>(8 + header_length)))
    throw Error("LoRA file '" + path + "' has a header longer than the file");
  QCryptographicHash hash(QCryptographicHash::Sha256);
  if (!hash.addData(&file)) throw Error("cannot read LoRA file '" + path + "'");
  return hash.result().toHex().left(12).toStdString();
}

LoraFile read_lora_file(const std::string& path, const LoraTargets& targets) {
  const QFileInfo info(QString::fromStdString(path));
  if (!info.exists()) throw Error("LoRA file '" + path + "' does not exist");
  if (!info.isFile()) throw Error("LoRA '" + path + "' is not a file");
  if (info.suffix().compare("safetensors", Qt::CaseInsensitive) != 0)
    throw Error("LoRA '" + path + "': only .safetensors LoRA files can be read");
  const io::SafetensorsFile file(path);

  LoraFile out;
  out.path = path;
  out.name = info.completeBaseName().toStdString();
  out.file_size = info.size();
  out.modified_ms = info.lastModified().toMSecsSinceEpoch();
  out.key_count = file.tensors().size();

  QJsonObject adapter_metadata;
  const auto meta = file.metadata().find("lora_adapter_metadata");
  if (meta != file.metadata().end())
    adapter_metadata = QJsonDocument::fromJson(QByteArray::fromStdString(meta->second)).object();
  // PEFT's settings per part of the model, by the part's folder name.
  std::map<std::string, PeftScaling> peft;
  peft["unet"] = peft_scaling(adapter_metadata, "unet", path);
  for (const auto& entry : targets.text_encoders)
    peft[entry.first] = peft_scaling(adapter_metadata, entry.first, path);

  // module as the file spells it -> role -> tensor name
  std::map<std::string, std::map<std::string, std::string>> groups;
  for (const auto& tensor : file.tensors()) {
    const auto parts = io::split_lora_key(tensor.name);
    if (!parts) {
      out.unmatched.push_back(tensor.name);
      continue;
    }
    auto& roles = groups[parts->module];
    if (!roles.emplace(parts->role, tensor.name).second)
      throw Error("LoRA '" + path + "': tensors '" + roles[parts->role] + "' and '" + tensor.name +
                  "' are both the " + parts->role + " factor of " + parts->module);
  }

  std::vector<std::string> unmatched_modules;
  std::vector<std::string> mismatched;
  struct MissingAlpha {
    std::size_t layer;
    std::string up_name;
    int64_t rank;
  };
  std::vector<MissingAlpha> without_alpha;
  std::map<std::string, std::string> claimed;  // "owner/module" -> file module
  for (const auto& [module, roles] : groups) {
    const auto target = targets.keys->translate(module);
    const torch::Tensor* weight = target ? targets.weight(*target) : nullptr;
    if (!weight) {
      unmatched_modules.push_back(module);
      for (const auto& entry : roles) out.unmatched.push_back(entry.second);
      continue;
    }
    const char* reason = nullptr;
    for (const auto& entry : roles)
      if ((reason = unsupported_reason(entry.first))) break;
    if (reason) {
      out.unsupported.push_back(module + ": " + reason);
      continue;
    }
    const std::string slot = target->owner() + "/" + target->module;
    const auto [it, fresh] = claimed.emplace(slot, module);
    if (!fresh)
      throw Error("LoRA '" + path + "': modules " + it->second + " and " + module + " both change " + slot);

    LoraLayer layer;
    layer.target = *target;
    layer.file_module = module;
    if (roles.count("down") || roles.count("up")) layer.kind = LoraKind::LoRA;
    else if (roles.count("hada_w1_a")) layer.kind = LoraKind::LoHa;
    else if (roles.count("lokr_w1") || roles.count("lokr_w1_a")) layer.kind = LoraKind::LoKr;
    else if (roles.count("diff")) layer.kind = LoraKind::Full;
    else throw Error("LoRA '" + path + "': module " + module + " has an alpha but no weights");
    for (const auto& [role, name] : roles)
      if (role != "alpha") layer.tensors[role] = file.tensor(name);

    const std::vector<int64_t> shape = natural_shape(layer, path);
    if (!fits(shape, weight->sizes())) {
      mismatched.push_back(module + " gives " + shape_text(shape) + " for the weight " + layer.target.module +
                           " " + shape_text(weight->sizes()));
      continue;
    }
    bool has_rank = false;
    const int64_t rank = rank_of(layer, &has_rank);
    if (roles.count("alpha")) {
      const torch::Tensor alpha = file.tensor(roles.at("alpha"));
      if (alpha.numel() != 1)
        throw Error("LoRA '" + path + "': " + roles.at("alpha") + " must hold one number");
      const double a = alpha.to(torch::kFloat64).reshape({}).item<double>();
      if (!std::isfinite(a)) throw Error("LoRA '" + path + "': " + roles.at("alpha") + " is not a finite number");
      if (has_rank && rank > 0) layer.scale = a / static_cast<double>(rank);
    } else if (layer.kind == LoraKind::LoRA && rank > 0) {
      const PeftScaling& settings = peft.at(layer.target.owner());
      if (settings.present) layer.scale = settings.scale(layer.target.module, rank);
      else if (module.rfind("lora_", 0) != 0 && roles.count("up"))
        without_alpha.push_back({out.layers.size(), roles.at("up"), rank});
    }
    out.matched_keys += roles.size();
    out.layers.push_back(std::move(layer));
  }

  // A diffusers-layout file that records no alpha: diffusers (get_peft_kwargs) takes the
  // rank of each component's first up factor, in key order, as lora_alpha for all of its
  // modules, so a module of another rank r is scaled by that rank / r (1 when all agree).
  for (const auto& part : peft) {
    const std::string& owner = part.first;
    const MissingAlpha* first = nullptr;
    for (const auto& entry : without_alpha)
      if (out.layers[entry.layer].target.owner() == owner && (!first || entry.up_name < first->up_name))
        first = &entry;
    for (const auto& entry : without_alpha)
      if (out.layers[entry.layer].target.owner() == owner)
        out.layers[entry.layer].scale = static_cast<double>(first->rank) / static_cast<double>(entry.rank);
  }

  const std::string counts = std::to_string(out.matched_keys) + " of " + std::to_string(out.key_count) +
                             " keys match this model";
  // The family the names say first: a LoRA for another family is refused as such, with
  // whatever else does not fit, even when some of its modules happen to fit.
  if (targets.family) {
    std::vector<std::string> modules;
    for (const auto& group : groups) modules.push_back(group.first);
    const io::LoraFamilyEvidence made_for = io::lora_family(modules, file.metadata());
    if (!io::lora_fits_family(made_for.family, *targets.family)) {
      std::string detail = counts;
      if (!mismatched.empty())
        detail += ", and " + std::to_string(mismatched.size()) + " of its modules do not fit this model's weights (" +
                  examples(mismatched, 2) + ")";
      throw Error("LoRA '" + path + "' is a LoRA for " + made_for.name + " (" + made_for.reason +
                  "); the loaded model is " + io::family_name(*targets.family) +
                  ". It was made for another model: " + detail + ". Nothing was applied.");
    }
  }
  out.hint = file_hint(unmatched_modules, targets);
  if (!mismatched.empty()) {
    // Names cannot tell a Stable Diffusion 1.x LoRA from a 2.x one (their modules are the
    // same); the widths do, and a kohya file's metadata may say which it was trained for.
    std::string which;
    if (targets.family) {
      std::vector<std::string> modules;
      for (const auto& group : groups) modules.push_back(group.first);
      const std::string made_for = io::lora_family(modules, file.metadata()).name;
      which = " than this " + io::family_name(*targets.family) + " one" +
              (made_for.empty() || made_for == io::family_name(*targets.family) ? ""
                                                                                 : " (its metadata says " + made_for + ")");
    }
    throw Error("LoRA '" + path + "' was made for another model" + which + ": " + std::to_string(mismatched.size()) +
                " of its modules do not fit this model's weights (" + examples(mismatched, 2) +
                "); " + counts + ". Stable Diffusion 2.x LoRAs are 1024 wide and SDXL LoRAs 2048 where " +
                "SD 1.x has 768. Nothing was applied.");
  }
  if (out.layers.empty()) {
    throw Error("LoRA '" + path + "' does not fit this model: " + counts + "; unmatched keys: " +
                examples(out.unmatched) + (out.hint.empty() ? "" : "; " + out.hint) +
                (out.unsupported.empty() ? "" : "; " + examples(out.unsupported)) + ". Nothing was applied.");
  }
  out.hash = lora_file_hash(path);
  return out;
}

std::string check_lora_fit(const LoraFile& file, bool allow_partial) {
  if (file.complete()) return {};
  const std::string& hint = file.hint;
  std::string what = std::to_string(file.matched_keys) + " of " + std::to_string(file.key_count) +
                     " keys match this model";
  if (!file.unmatched.empty())
    what += "; " + std::to_string(file.unmatched.size()) + " do not, e.g. " + examples(file.unmatched);
  if (!file.unsupported.empty())
    what += "; " + std::to_string(file.unsupported.size()) + " modules cannot be applied: " +
            examples(file.unsupported, 2);
  if (!hint.empty()) what += "; " + hint;
  if (!allow_partial)
    throw Error("LoRA '" + file.path + "' does not fit this model: " + what +
                ". Nothing was applied; allow partial LoRAs (--lora-partial) to apply the part that fits.");
  return "LoRA '" + file.name + "' applied in part: " + what;
}

torch::Tensor lora_delta(const LoraLayer& layer, at::IntArrayRef weight_shape, torch::Device device) {
  auto t = [&](const char* role) { return f32(layer.tensors.at(role), device); };
  auto has = [&](const char* role) { return layer.tensors.count(role) > 0; };
  torch::Tensor delta;
  switch (layer.kind) {
    case LoraKind::LoRA: {
      torch::Tensor down = t("down").flatten(1);  // [r, in·kh·kw]
      const torch::Tensor up = t("up").flatten(1);  // [out, r]
      if (has("mid")) down = torch::einsum("abkl,bc->ackl", {t("mid"), down}).flatten(1);
      delta = up.mm(down);  // [out, in·kh·kw]
      break;
    }
    case LoraKind::LoHa: {
      auto factor = [&](const std::string& n) {
        const auto a = t(("hada_w" + n + "_a").c_str());
        const auto b = t(("hada_w" + n + "_b").c_str());
        const std::string core = "hada_t" + n;
        return has(core.c_str()) ? tucker(t(core.c_str()), b, a) : a.mm(b);
      };
      delta = factor("1") * factor("2");
      break;
    }
    case LoraKind::LoKr: {
      torch::Tensor w1 = has("lokr_w1") ? t("lokr_w1") : t("lokr_w1_a").mm(t("lokr_w1_b"));
      torch::Tensor w2;
      if (has("lokr_w2")) w2 = t("lokr_w2");
      else if (has("lokr_t2")) w2 = tucker(t("lokr_t2"), t("lokr_w2_b"), t("lokr_w2_a"));
      else w2 = t("lokr_w2_a").mm(t("lokr_w2_b"));
      if (w2.dim() == 4) w1 = w1.unsqueeze(2).unsqueeze(3);
      delta = torch::kron(w1, w2);
      break;
    }
    case LoraKind::Full:
      delta = t("diff");
      break;
  }
  return delta.reshape(weight_shape);
}

void merge_lora_deltas(const torch::Tensor& base, const std::vector<std::pair<const LoraLayer*, double>>& contributions,
                       torch::Tensor& out) {
  bool started = out.is_same(base);  // in place: base already is the running sum
  for (const auto& [layer, factor] : contributions) {
    if (layer->kind == LoraKind::LoRA && !layer->tensors.count("mid")) {
      const auto up = f32(layer->tensors.at("up"), out.device()).flatten(1);      // [out, r]
      const auto down = f32(layer->tensors.at("down"), out.device()).flatten(1);  // [r, in·kh·kw]
      if (started) out.addmm_(up, down, 1.0, factor);
      else torch::addmm_out(out, base, up, down, 1.0, factor);
    } else {
      const auto delta = lora_delta(*layer, out.sizes(), out.device());
      if (started) out.add_(delta, factor);
      else torch::add_out(out, base, delta, factor);
    }
    started = true;
  }
  if (!started) out.copy_(base);
}

std::vector<std::pair<std::string, torch::Tensor>> random_kohya_lora(const LoraTargets& targets,
                                                                     int64_t rank, double alpha,
                                                                     bool locon, uint64_t seed,
                                                                     float stddev) {
  static const char* const kTransformerLayers[] = {".proj_in", ".proj_out", ".to_q", ".to_k", ".to_v",
                                                   ".to_out.0", ".ff.net.0.proj", ".ff.net.2"};
  static const char* const kResnetLayers[] = {".conv1", ".conv2", ".time_emb_proj", ".conv_shortcut"};
  at::Generator generator = schedulers::make_cpu_generator(seed);
  std::vector<std::pair<std::string, torch::Tensor>> out;
  auto add = [&](const std::string& prefix, const std::string& path, const torch::Tensor& weight) {
    const std::string name = prefix + io::underscored(path);
    const int64_t in = weight.size(1);
    std::vector<int64_t> down_shape = {rank, in};
    std::vector<int64_t> up_shape = {weight.size(0), rank};
    if (weight.dim() == 4) {
      down_shape.insert(down_shape.end(), {weight.size(2), weight.size(3)});
      up_shape.insert(up_shape.end(), {1, 1});
    }
    out.emplace_back(name + ".lora_down.weight", schedulers::randn_cpu(down_shape, generator) * stddev);
    out.emplace_back(name + ".lora_up.weight", schedulers::randn_cpu(up_shape, generator) * stddev);
    out.emplace_back(name + ".alpha", torch::tensor(static_cast<float>(alpha)));
  };
  for (const auto& [path, weight] : targets.unet) {
    bool wanted = false;
    if (contains(path, ".attentions."))
      for (const char* layer : kTransformerLayers) wanted = wanted || ends_with(path, layer);
    if (locon && contains(path, ".resnets."))
      for (const char* layer : kResnetLayers) wanted = wanted || ends_with(path, layer);
    if (locon && (ends_with(path, "downsamplers.0.conv") || ends_with(path, "upsamplers.0.conv"))) wanted = true;
    if (wanted) add("lora_unet_", path, weight);
  }
  // kohya's prefixes: lora_te_ for a model's only text encoder, lora_te1_ and lora_te2_ beside
  // SDXL's text_encoder_2.
  const bool two_encoders = targets.text_encoders.count("text_encoder_2") > 0;
  for (const auto& [encoder, modules] : targets.text_encoders) {
    const std::string prefix = !two_encoders ? "lora_te_" : encoder == "text_encoder" ? "lora_te1_" : "lora_te2_";
    for (const auto& [path, weight] : modules)
      if (contains(path, ".self_attn.") || contains(path, ".mlp.")) add(prefix, path, weight);
  }
  return out;
}

}  // namespace latent::models
