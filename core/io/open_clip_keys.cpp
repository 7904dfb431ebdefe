#include "core/io/open_clip_keys.h"

#include <QJsonArray>
#include <cctype>
#include <cmath>
#include <optional>

#include "core/util/error.h"

namespace latent::io {
namespace {

bool starts_with(const std::string& s, const std::string& prefix) {
  return s.size() >= prefix.size() && s.compare(0, prefix.size(), prefix) == 0;
}

const std::string kBlocks = "transformer.resblocks.";

// Renames inside one residual block, by leading segments.
struct Rename {
  const char* open_clip;
  const char* transformers;
};
constexpr Rename kBlockRenames[] = {
    {"ln_1.", "layer_norm1."},
    {"ln_2.", "layer_norm2."},
    {"attn.out_proj.", "self_attn.out_proj."},
    {"mlp.c_fc.", "mlp.fc1."},
    {"mlp.c_proj.", "mlp.fc2."},
};

// The tensors of one block; the fused in_proj pair becomes q/k/v.
constexpr const char* kBlockTensors[] = {
    "ln_1.weight",         "ln_1.bias",         "ln_2.weight",          "ln_2.bias",
    "attn.in_proj_weight", "attn.in_proj_bias", "attn.out_proj.weight", "attn.out_proj.bias",
    "mlp.c_fc.weight",     "mlp.c_fc.bias",     "mlp.c_proj.weight",    "mlp.c_proj.bias",
};

int64_t layer_count(const QJsonObject& config, const std::string& source) {
  const QJsonValue v = config.value(QLatin1String("num_hidden_layers"));
  if (v.isUndefined() || v.isNull()) return 12;  // transformers' CLIPTextConfig default
  if (!v.isDouble() || std::floor(v.toDouble()) != v.toDouble() || v.toDouble() < 1 ||
      v.toDouble() > 1000)
    throw Error(source +
                ": the text encoder config's \"num_hidden_layers\" must be a positive integer");
  return static_cast<int64_t>(v.toDouble());
}

bool has_projection(const QJsonObject& config) {
  for (const QJsonValue& name : config.value(QLatin1String("architectures")).toArray())
    if (name.toString() == QLatin1String("CLIPTextModelWithProjection")) return true;
  return false;
}

// A key inside residual block `layer`: "transformer.resblocks.<layer>.<rest>".
struct BlockKey {
  std::string layer;
  std::string rest;
};

std::optional<BlockKey> block_key(const std::string& name) {
  if (!starts_with(name, kBlocks)) return std::nullopt;
  const std::size_t dot = name.find('.', kBlocks.size());
  if (dot == std::string::npos || dot == kBlocks.size()) return std::nullopt;
  const std::string layer = name.substr(kBlocks.size(), dot - kBlocks.size());
  for (char c : layer)
    if (!std::isdigit(static_cast<unsigned char>(c))) return std::nullopt;
  return BlockKey{layer, name.substr(dot + 1)};
}

bool is_in_proj(const BlockKey& key) {
  return key.rest == "attn.in_proj_weight" || key.rest == "attn.in_proj_bias";
}

// q, k and v stacked along the rows ([3h, h] or [3h]), as nn.MultiheadAttention keeps them.
void split_in_proj(const torch::Tensor& fused, const BlockKey& block, const std::string& key,
                   const std::string& source, TensorMap& out) {
  if (fused.dim() < 1 || fused.size(0) % 3 != 0)
    throw Error("'" + source + "': " + key + " has " +
                std::to_string(fused.dim() ? fused.size(0) : 0) +
                " rows; the query, key and value projections it stacks need a multiple of 3");
  const int64_t rows = fused.size(0) / 3;
  const std::string target = "text_model.encoder.layers." + block.layer + ".self_attn.";
  const char* leaf = block.rest == "attn.in_proj_weight" ? ".weight" : ".bias";
  const char* parts[] = {"q_proj", "k_proj", "v_proj"};
  for (int64_t i = 0; i < 3; ++i)
    out.emplace(target + parts[i] + leaf, fused.narrow(0, i * rows, rows));
}

// The transformers name of a key that only changes its name; nullopt for any other.
std::optional<std::string> renamed(const std::string& name) {
  if (name == "token_embedding.weight") return "text_model.embeddings.token_embedding.weight";
  if (name == "positional_embedding") return "text_model.embeddings.position_embedding.weight";
  if (starts_with(name, "ln_final.")) return "text_model.final_layer_norm." + name.substr(9);
  const auto block = block_key(name);
  if (!block) return std::nullopt;
  for (const Rename& r : kBlockRenames) {
    const std::string from = r.open_clip;
    if (starts_with(block->rest, from))
      return "text_model.encoder.layers." + block->layer + "." + r.transformers +
             block->rest.substr(from.size());
  }
  return std::nullopt;
}

// OpenCLIP multiplies x @ P with P [hidden, projection]; transformers' Linear keeps P's
// transpose.
torch::Tensor projection_weight(const torch::Tensor& p, const std::string& key,
                                const std::string& source) {
  if (p.dim() != 2)
    throw Error("'" + source + "': " + key + " must be a matrix [hidden, projection]; it has " +
                std::to_string(p.dim()) + " dimensions");
  return p.t();
}

}  // namespace

ConvertedOpenClip convert_open_clip_text_encoder(const TensorMap& tensors,
                                                 const std::string& prefix,
                                                 const QJsonObject& config, const std::string& path,
                                                 const std::string& config_source) {
  std::vector<std::string> required = {"token_embedding.weight", "positional_embedding",
                                       "ln_final.weight", "ln_final.bias"};
  if (has_projection(config)) required.push_back("text_projection");
  const int64_t layers = layer_count(config, config_source);
  for (int64_t i = 0; i < layers; ++i)
    for (const char* part : kBlockTensors)
      required.push_back(kBlocks + std::to_string(i) + "." + part);
  std::vector<std::string> missing;
  for (const auto& name : required)
    if (!tensors.count(prefix + name)) missing.push_back(prefix + name);
  if (!missing.empty()) {
    std::string list;
    for (std::size_t i = 0; i < missing.size() && i < 5; ++i) list += (i ? ", " : "") + missing[i];
    if (missing.size() > 5) list += ", ...";
    throw Error("'" + path + "' lacks " + std::to_string(missing.size()) +
                " tensors of its OpenCLIP text encoder (" + prefix + "*): the config from " +
                config_source + " gives it " + std::to_string(layers) + " layers, which need " +
                list);
  }

  ConvertedOpenClip out;
  for (auto it = tensors.lower_bound(prefix); it != tensors.end() && starts_with(it->first, prefix);
       ++it) {
    const std::string& key = it->first;
    const std::string name = key.substr(prefix.size());
    const auto block = block_key(name);
    if (name == "logit_scale") continue;  // CLIP's temperature for comparing text with images
    if (name == "text_projection") {
      // A CLIPTextModel (SD 2.x's encoder, which conditions on hidden states only) has no
      // projection to load it into; diffusers leaves it out as well.
      if (!has_projection(config)) continue;
      out.weights.emplace("text_projection.weight", projection_weight(it->second, key, path));
    } else if (block && is_in_proj(*block)) {
      split_in_proj(it->second, *block, key, path, out.weights);
    } else if (const auto target = renamed(name)) {
      out.weights.emplace(*target, it->second);
    } else {
      out.unmatched.push_back(key);
    }
  }
  return out;
}

}  // namespace latent::io
