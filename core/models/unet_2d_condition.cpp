// diffusers models/unets/unet_2d_condition.py UNet2DConditionModel (the SD 1.x/2.x and SDXL
// subset) and models/embeddings.py get_timestep_embedding / TimestepEmbedding.
#include "core/models/unet_2d_condition.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonValue>
#include <cmath>

#include "core/models/config_json.h"
#include "core/models/norms.h"
#include "core/util/error.h"

namespace latent::models {
namespace {

namespace cj = config_json;

std::string describe(const QJsonValue& value) {
  if (value.isString()) return "\"" + value.toString().toStdString() + "\"";
  if (value.isBool()) return value.toBool() ? "true" : "false";
  if (value.isDouble()) return QString::number(value.toDouble()).toStdString();
  if (value.isArray())
    return QJsonDocument(value.toArray()).toJson(QJsonDocument::Compact).toStdString();
  if (value.isObject())
    return QJsonDocument(value.toObject()).toJson(QJsonDocument::Compact).toStdString();
  return "null";
}

[[noreturn]] void unsupported(const std::string& source, const char* key, const QJsonValue& value,
                              const std::string& expected) {
  throw Error(source + ": \"" + key + "\" = " + describe(value) +
              " is not supported by this UNet (expected " + expected + ")");
}

bool is_set(const QJsonObject& json, const char* key) {
  const QJsonValue v = json.value(QLatin1String(key));
  return !v.isUndefined() && !v.isNull();
}

// Features of diffusers' UNet2DConditionModel that SD 1.x/2.x and SDXL never use.
void refuse_unsupported(const QJsonObject& json, const std::string& source) {
  for (const char* key :
       {"class_embed_type", "num_class_embeds", "encoder_hid_dim",
        "encoder_hid_dim_type", "timestep_post_act", "time_embedding_act_fn",
        "cross_attention_norm", "reverse_transformer_layers_per_block"}) {
    if (is_set(json, key)) unsupported(source, key, json.value(QLatin1String(key)), "null");
  }
  const std::pair<const char*, const char*> fixed_strings[] = {
      {"act_fn", "silu"},
      {"time_embedding_type", "positional"},
      {"resnet_time_scale_shift", "default"},
      {"attention_type", "default"},
      {"_class_name", "UNet2DConditionModel"}};
  for (const auto& [key, expected] : fixed_strings) {
    if (cj::get_string(json, key, expected, source) != expected)
      unsupported(source, key, json.value(QLatin1String(key)), std::string("\"") + expected + "\"");
  }
  // class_embeddings_concat doubles the ResNets' embedding width for a class embedding.
  for (const char* key :
       {"dual_cross_attention", "resnet_skip_time_act", "class_embeddings_concat"}) {
    if (cj::get_bool(json, key, false, source))
      unsupported(source, key, json.value(QLatin1String(key)), "false");
  }
}

// SDXL's added embedding (diffusers _set_add_embedding, "text_time"): add_time_proj =
// Timesteps(addition_time_embed_dim, flip_sin_to_cos, freq_shift) and add_embedding =
// TimestepEmbedding(projection_class_embeddings_input_dim, time_embed_dim). diffusers builds
// them whatever the widths say and fails at the first call when one is missing; here a
// config without both widths is refused.
void read_addition_embedding(const QJsonObject& json, const std::string& source,
                             UNet2DConditionConfig& c) {
  if (!is_set(json, "addition_embed_type")) return;
  const QJsonValue type = json.value(QLatin1String("addition_embed_type"));
  if (cj::get_string(json, "addition_embed_type", "", source) != "text_time")
    unsupported(source, "addition_embed_type", type, "null or \"text_time\"");
  for (const char* key : {"addition_time_embed_dim", "projection_class_embeddings_input_dim"}) {
    if (!is_set(json, key) || cj::get_int(json, key, 0, source) <= 0)
      throw Error(source + ": \"addition_embed_type\" = \"text_time\" needs a positive \"" + key +
                  "\", got " + describe(json.value(QLatin1String(key))));
  }
  c.text_time_embedding = true;
  c.addition_time_embed_dim = cj::get_int(json, "addition_time_embed_dim", 0, source);
  c.projection_class_embeddings_input_dim =
      cj::get_int(json, "projection_class_embeddings_input_dim", 0, source);
}

// A value that is either one number for every block or a list with one per block.
std::vector<int64_t> per_block_ints(const QJsonObject& json, const char* key,
                                    const std::vector<int64_t>& fallback, size_t blocks,
                                    const std::string& source) {
  const QJsonValue v = json.value(QLatin1String(key));
  std::vector<int64_t> out;
  if (v.isUndefined() || v.isNull()) {
    out = fallback.size() == blocks ? fallback : std::vector<int64_t>(blocks, fallback.front());
  } else if (v.isArray()) {
    for (const QJsonValue& item : v.toArray()) {
      if (item.isArray()) unsupported(source, key, v, "an integer or a list of integers");
    }
    out = cj::get_int_list(json, key, fallback, source);
    if (out.size() != blocks)
      throw Error(source + ": \"" + key + "\" = " + describe(v) +
                  " must have one entry per down block (" + std::to_string(blocks) + ")");
  } else {
    out.assign(blocks, cj::get_int(json, key, fallback.front(), source));
  }
  for (int64_t x : out) {
    if (x <= 0) throw Error(source + ": \"" + key + "\" = " + describe(v) + " must be positive");
  }
  return out;
}

std::vector<bool> per_block_bools(const QJsonObject& json, const char* key, size_t blocks,
                                  const std::string& source) {
  const QJsonValue v = json.value(QLatin1String(key));
  if (!v.isArray()) return std::vector<bool>(blocks, cj::get_bool(json, key, false, source));
  std::vector<bool> out;
  for (const QJsonValue& item : v.toArray()) {
    if (!item.isBool())
      throw Error(source + ": \"" + key + "\" must be true, false or a list of them");
    out.push_back(item.toBool());
  }
  if (out.size() != blocks)
    throw Error(source + ": \"" + key + "\" = " + describe(v) +
                " must have one entry per down block (" + std::to_string(blocks) + ")");
  return out;
}

torch::Tensor to_compute(const torch::Tensor& t, const torch::Tensor& like) {
  return t.to(like.device(), like.scalar_type());
}

bool given(const UNetAddedConditions* added) {
  return added && (added->text_embeds.defined() || added->time_ids.defined());
}

// diffusers raises when a "text_time" UNet is called without text_embeds or time_ids; a UNet
// without the added embedding would ignore them, which here is refused instead: they can
// only come from a pipeline that mistook the model for SDXL.
void check_added_conditions(const UNet2DConditionConfig& c, const UNetAddedConditions* added) {
  if (!c.text_time_embedding) {
    if (given(added))
      throw Error(
          "UNet: text_embeds and time_ids (SDXL's added conditions) were given, but this UNet "
          "has no added embedding (its config's \"addition_embed_type\" is null)");
    return;
  }
  if (!added || !added->text_embeds.defined() || !added->time_ids.defined())
    throw Error(
        "UNet: this UNet's config has \"addition_embed_type\" = \"text_time\" (SDXL), so it "
        "needs text_embeds (the pooled text embedding) and time_ids; " +
        std::string(!given(added)                   ? "neither was given"
                    : !added->text_embeds.defined() ? "text_embeds is missing"
                                                    : "time_ids is missing"));
  const auto& text = added->text_embeds;
  const auto& ids = added->time_ids;
  if (text.dim() != 2 || ids.dim() != 2 || text.size(0) != ids.size(0))
    throw Error("UNet: text_embeds must be [B, P] and time_ids [B, n], got " +
                c10::str(text.sizes()) + " and " + c10::str(ids.sizes()));
  const int64_t width = text.size(1) + ids.size(1) * c.addition_time_embed_dim;
  if (width != c.projection_class_embeddings_input_dim)
    throw Error(
        "UNet: add_embedding takes " + std::to_string(c.projection_class_embeddings_input_dim) +
        " values (\"projection_class_embeddings_input_dim\"), but " + std::to_string(text.size(1)) +
        " from text_embeds and " + std::to_string(ids.size(1)) + " time ids × " +
        std::to_string(c.addition_time_embed_dim) + " make " + std::to_string(width));
}

// skips[i] += down[i], as diffusers adds a ControlNet's down residuals to the down
// blocks' outputs before the up blocks read them. `expected` is the skips of a full pass;
// a shallow pass (forward_shallow) has made only the first of them.
void add_residuals(std::vector<torch::Tensor>& skips, const std::vector<torch::Tensor>& down,
                   int64_t expected) {
  if (static_cast<int64_t>(down.size()) != expected)
    throw Error("UNet: " + std::to_string(down.size()) + " down residuals given for " +
                std::to_string(expected) + " skip connections");
  for (size_t i = 0; i < skips.size(); ++i) {
    if (down[i].sizes() != skips[i].sizes())
      throw Error("UNet: down residual " + std::to_string(i) + " is " + c10::str(down[i].sizes()) +
                  ", the skip connection is " + c10::str(skips[i].sizes()));
    skips[i] = skips[i] + to_compute(down[i], skips[i]);
  }
}

}  // namespace

UNet2DConditionConfig UNet2DConditionConfig::from_json(const QJsonObject& json,
                                                       const std::string& source) {
  refuse_unsupported(json, source);
  UNet2DConditionConfig c;
  c.in_channels = cj::get_int(json, "in_channels", c.in_channels, source);
  c.out_channels = cj::get_int(json, "out_channels", c.out_channels, source);
  c.sample_size = cj::get_int(json, "sample_size", c.sample_size, source);
  c.center_input_sample = cj::get_bool(json, "center_input_sample", c.center_input_sample, source);
  c.flip_sin_to_cos = cj::get_bool(json, "flip_sin_to_cos", c.flip_sin_to_cos, source);
  c.freq_shift = cj::get_double(json, "freq_shift", c.freq_shift, source);
  c.downsample_padding = cj::get_int(json, "downsample_padding", c.downsample_padding, source);
  c.mid_block_scale_factor =
      cj::get_double(json, "mid_block_scale_factor", c.mid_block_scale_factor, source);
  c.resnet_out_scale_factor =
      cj::get_double(json, "resnet_out_scale_factor", c.resnet_out_scale_factor, source);
  c.norm_eps = cj::get_double(json, "norm_eps", c.norm_eps, source);
  c.use_linear_projection =
      cj::get_bool(json, "use_linear_projection", c.use_linear_projection, source);
  c.upcast_attention = cj::get_bool(json, "upcast_attention", c.upcast_attention, source);
  c.conv_in_kernel = cj::get_int(json, "conv_in_kernel", c.conv_in_kernel, source);
  c.conv_out_kernel = cj::get_int(json, "conv_out_kernel", c.conv_out_kernel, source);
  c.time_embedding_dim = cj::get_int(json, "time_embedding_dim", c.time_embedding_dim, source);
  read_addition_embedding(json, source, c);
  c.time_cond_proj_dim = cj::get_int(json, "time_cond_proj_dim", 0, source);
  if (c.time_cond_proj_dim < 0) throw Error(source + ": \"time_cond_proj_dim\" must be positive or null");

  const QJsonValue groups = json.value(QLatin1String("norm_num_groups"));
  if (groups.isNull()) unsupported(source, "norm_num_groups", groups, "a number of groups");
  c.norm_num_groups = cj::get_int(json, "norm_num_groups", c.norm_num_groups, source);

  const QJsonValue mid = json.value(QLatin1String("mid_block_type"));
  if (mid.isNull()) {
    c.has_mid_block = false;
  } else if (cj::get_string(json, "mid_block_type", "UNetMidBlock2DCrossAttn", source) !=
             "UNetMidBlock2DCrossAttn") {
    unsupported(source, "mid_block_type", mid, "\"UNetMidBlock2DCrossAttn\" or null");
  }

  if (is_set(json, "down_block_types")) {
    c.down_block_types.clear();
    for (const auto& name : cj::get_string_list(json, "down_block_types", {}, source)) {
      if (name == "CrossAttnDownBlock2D")
        c.down_block_types.push_back(UNetDownBlockType::CrossAttnDownBlock2D);
      else if (name == "DownBlock2D")
        c.down_block_types.push_back(UNetDownBlockType::DownBlock2D);
      else
        unsupported(source, "down_block_types", QJsonValue(QString::fromStdString(name)),
                    "\"CrossAttnDownBlock2D\" or \"DownBlock2D\"");
    }
  }
  if (is_set(json, "up_block_types")) {
    c.up_block_types.clear();
    for (const auto& name : cj::get_string_list(json, "up_block_types", {}, source)) {
      if (name == "CrossAttnUpBlock2D")
        c.up_block_types.push_back(UNetUpBlockType::CrossAttnUpBlock2D);
      else if (name == "UpBlock2D")
        c.up_block_types.push_back(UNetUpBlockType::UpBlock2D);
      else
        unsupported(source, "up_block_types", QJsonValue(QString::fromStdString(name)),
                    "\"CrossAttnUpBlock2D\" or \"UpBlock2D\"");
    }
  }
  c.block_out_channels = cj::get_int_list(json, "block_out_channels", c.block_out_channels, source);
  const size_t n = c.down_block_types.size();
  if (n == 0) throw Error(source + ": \"down_block_types\" must not be empty");
  if (c.up_block_types.size() != n || c.block_out_channels.size() != n)
    throw Error(source +
                ": \"down_block_types\", \"up_block_types\" and \"block_out_channels\" must "
                "have the same length (" +
                std::to_string(n) + ", " + std::to_string(c.up_block_types.size()) + ", " +
                std::to_string(c.block_out_channels.size()) + ")");

  c.layers_per_block = per_block_ints(json, "layers_per_block", {2}, n, source);
  c.transformer_layers_per_block =
      per_block_ints(json, "transformer_layers_per_block", {1}, n, source);
  c.cross_attention_dim = per_block_ints(json, "cross_attention_dim", {768}, n, source);
  // diffusers: num_attention_heads = num_attention_heads or attention_head_dim.
  c.num_attention_heads = is_set(json, "num_attention_heads")
                              ? per_block_ints(json, "num_attention_heads", {8}, n, source)
                              : per_block_ints(json, "attention_head_dim", {8}, n, source);
  c.only_cross_attention = per_block_bools(json, "only_cross_attention", n, source);

  for (size_t i = 0; i < n; ++i) {
    const int64_t ch = c.block_out_channels[i];
    if (ch <= 0 || c.norm_num_groups <= 0 || ch % c.norm_num_groups != 0)
      throw Error(source + ": \"block_out_channels\" entry " + std::to_string(ch) +
                  " must be a positive multiple of \"norm_num_groups\" (" +
                  std::to_string(c.norm_num_groups) + ")");
    if (c.num_attention_heads[i] > ch)
      throw Error(source + ": " + std::to_string(c.num_attention_heads[i]) +
                  " attention heads do not fit " + std::to_string(ch) + " channels");
  }
  for (const auto& [key, k] : {std::pair<const char*, int64_t>{"conv_in_kernel", c.conv_in_kernel},
                               {"conv_out_kernel", c.conv_out_kernel}}) {
    if (k <= 0 || k % 2 == 0)
      throw Error(source + ": \"" + key + "\" = " + std::to_string(k) +
                  " must be a positive odd number");
  }
  for (const auto& [key, v] : {std::pair<const char*, int64_t>{"in_channels", c.in_channels},
                               {"out_channels", c.out_channels}}) {
    if (v <= 0) throw Error(source + ": \"" + key + "\" must be positive");
  }
  if (c.time_embedding_dim < 0) throw Error(source + ": \"time_embedding_dim\" must be positive");
  if (c.downsample_padding < 0) throw Error(source + ": \"downsample_padding\" must be 0 or more");
  return c;
}

UNet2DConditionConfig UNet2DConditionConfig::from_file(const std::string& path) {
  return from_json(cj::read_file(path), path);
}

torch::Tensor timestep_embedding(const torch::Tensor& timesteps, int64_t dim, bool flip_sin_to_cos,
                                 double freq_shift, int64_t max_period) {
  const int64_t half = dim / 2;
  const auto opts = torch::TensorOptions().dtype(torch::kFloat32).device(timesteps.device());
  auto exponent = torch::arange(0, half, opts) * (-std::log(static_cast<double>(max_period)));
  exponent = exponent / (static_cast<double>(half) - freq_shift);
  const auto freqs = torch::exp(exponent);                                            // [half]
  const auto args = timesteps.to(torch::kFloat32).unsqueeze(1) * freqs.unsqueeze(0);  // [B, half]
  auto emb = flip_sin_to_cos ? torch::cat({torch::cos(args), torch::sin(args)}, -1)
                             : torch::cat({torch::sin(args), torch::cos(args)}, -1);  // [B, 2·half]
  if (dim % 2 == 1)
    emb = torch::nn::functional::pad(emb, torch::nn::functional::PadFuncOptions({0, 1}));
  return emb;
}

torch::Tensor guidance_scale_embedding(const torch::Tensor& w, int64_t dim) {
  // diffusers, in float32: w·1000; exp(arange(half) · −log(10000)/(half − 1)); [sin | cos].
  const int64_t half = dim / 2;
  const auto scaled = w.to(torch::kFloat32).reshape({-1}) * 1000.0;
  const auto step = torch::log(torch::tensor(10000.0f)) / static_cast<double>(half - 1);
  const auto freqs = torch::exp(torch::arange(half, torch::kFloat32) * -step);
  const auto args = scaled.unsqueeze(1) * freqs.to(scaled.device()).unsqueeze(0);  // [B, half]
  auto emb = torch::cat({torch::sin(args), torch::cos(args)}, 1);
  if (dim % 2 == 1)
    emb = torch::nn::functional::pad(emb, torch::nn::functional::PadFuncOptions({0, 1}));
  return emb;
}

TimestepEmbeddingImpl::TimestepEmbeddingImpl(int64_t in_channels, int64_t time_embed_dim,
                                             int64_t cond_proj_dim) {
  linear_1 = register_module("linear_1", torch::nn::Linear(in_channels, time_embed_dim));
  linear_2 = register_module("linear_2", torch::nn::Linear(time_embed_dim, time_embed_dim));
  if (cond_proj_dim > 0)
    cond_proj = register_module(
        "cond_proj", torch::nn::Linear(torch::nn::LinearOptions(cond_proj_dim, in_channels).bias(false)));
}

torch::Tensor TimestepEmbeddingImpl::forward(const torch::Tensor& x, const torch::Tensor& condition) {
  auto input = x;
  if (condition.defined()) {
    if (!cond_proj)
      throw Error("UNet: a guidance embedding (timestep_cond) was given, but this UNet has no "
                  "\"time_cond_proj_dim\" in its config");
    input = x + cond_proj->forward(condition.to(x.device(), x.scalar_type()));
  }
  return linear_2->forward(torch::silu(linear_1->forward(input)));
}

UNetBlockOptions unet_block_options(const UNet2DConditionConfig& c) {
  UNetBlockOptions base;
  base.temb_channels = c.time_embed_dim();
  base.resnet_eps = c.norm_eps;
  base.resnet_groups = c.norm_num_groups;
  base.output_scale_factor = c.resnet_out_scale_factor;
  base.downsample_padding = c.downsample_padding;
  base.use_linear_projection = c.use_linear_projection;
  base.upcast_attention = c.upcast_attention;
  return base;
}

std::shared_ptr<UNetDownBlock> make_unet_down_block(const UNet2DConditionConfig& c, size_t i) {
  UNetBlockOptions o = unet_block_options(c);
  o.in_channels = i == 0 ? c.block_out_channels[0] : c.block_out_channels[i - 1];
  o.out_channels = c.block_out_channels[i];
  o.num_layers = c.layers_per_block[i];
  o.add_sampler = i + 1 < c.block_out_channels.size();
  o.transformer_layers = c.transformer_layers_per_block[i];
  o.num_heads = c.num_attention_heads[i];
  o.cross_attention_dim = c.cross_attention_dim[i];
  o.only_cross_attention = c.only_cross_attention[i];
  if (c.down_block_types[i] == UNetDownBlockType::CrossAttnDownBlock2D)
    return std::make_shared<CrossAttnDownBlock2D>(o);
  return std::make_shared<DownBlock2D>(o);
}

std::shared_ptr<UNetMidBlock2DCrossAttn> make_unet_mid_block(const UNet2DConditionConfig& c) {
  UNetBlockOptions o = unet_block_options(c);
  o.in_channels = o.out_channels = c.block_out_channels.back();
  o.num_layers = 1;
  o.output_scale_factor = c.mid_block_scale_factor;
  o.transformer_layers = c.transformer_layers_per_block.back();
  o.num_heads = c.num_attention_heads.back();
  o.cross_attention_dim = c.cross_attention_dim.back();
  return std::make_shared<UNetMidBlock2DCrossAttn>(o);
}

UNetCut default_deep_cut(const UNet2DConditionConfig& c) {
  for (size_t i = 0; i < c.down_block_types.size(); ++i)
    if (c.down_block_types[i] == UNetDownBlockType::CrossAttnDownBlock2D)
      return {static_cast<int64_t>(i), 1};
  return {0, 1};
}

UNet2DConditionModelImpl::UNet2DConditionModelImpl(const UNet2DConditionConfig& c)
    : config(c), deep_cut(default_deep_cut(c)) {
  namespace nn = torch::nn;
  const size_t n = c.block_out_channels.size();
  if (n == 0 || c.down_block_types.size() != n || c.up_block_types.size() != n ||
      c.layers_per_block.size() != n || c.transformer_layers_per_block.size() != n ||
      c.num_attention_heads.size() != n || c.cross_attention_dim.size() != n ||
      c.only_cross_attention.size() != n)
    throw Error("UNet2DConditionModel: every per-block config list needs one entry per block (" +
                std::to_string(n) + ")");
  const int64_t ch0 = c.block_out_channels[0];
  const int64_t time_embed_dim = c.time_embed_dim();

  conv_in =
      register_module("conv_in", nn::Conv2d(nn::Conv2dOptions(c.in_channels, ch0, c.conv_in_kernel)
                                                .padding((c.conv_in_kernel - 1) / 2)));
  time_embedding = register_module("time_embedding",
                                   TimestepEmbedding(ch0, time_embed_dim, c.time_cond_proj_dim));
  if (c.text_time_embedding) {
    if (c.addition_time_embed_dim <= 0 || c.projection_class_embeddings_input_dim <= 0)
      throw Error("UNet2DConditionModel: the \"text_time\" embedding needs positive widths");
    add_embedding =
        register_module("add_embedding",
                        TimestepEmbedding(c.projection_class_embeddings_input_dim, time_embed_dim));
  }

  const UNetBlockOptions base = unet_block_options(c);
  auto down_list = register_module("down_blocks", nn::ModuleList());
  for (size_t i = 0; i < n; ++i) {
    auto block = make_unet_down_block(c, i);
    down_list->push_back(block);
    down_blocks.push_back(block);
  }
  if (c.has_mid_block) mid_block = register_module("mid_block", make_unet_mid_block(c));

  auto up_list = register_module("up_blocks", nn::ModuleList());
  int64_t out_ch = c.block_out_channels.back();
  for (size_t i = 0; i < n; ++i) {
    const size_t r = n - 1 - i;  // the down block this up block mirrors
    UNetBlockOptions o = base;
    o.prev_output_channels = out_ch;
    out_ch = c.block_out_channels[r];
    o.out_channels = out_ch;
    o.in_channels = c.block_out_channels[r == 0 ? 0 : r - 1];
    o.num_layers = c.layers_per_block[r] + 1;
    o.add_sampler = i + 1 < n;
    o.transformer_layers = c.transformer_layers_per_block[r];
    o.num_heads = c.num_attention_heads[r];
    o.cross_attention_dim = c.cross_attention_dim[r];
    o.only_cross_attention = c.only_cross_attention[r];
    std::shared_ptr<UNetUpBlock> block;
    if (c.up_block_types[i] == UNetUpBlockType::CrossAttnUpBlock2D)
      block = std::make_shared<CrossAttnUpBlock2D>(o);
    else
      block = std::make_shared<UpBlock2D>(o);
    up_list->push_back(block);
    up_blocks.push_back(block);
    if (o.add_sampler) ++num_upsamplers;
  }

  conv_norm_out = register_module(
      "conv_norm_out", nn::GroupNorm(nn::GroupNormOptions(c.norm_num_groups, ch0).eps(c.norm_eps)));
  conv_out = register_module("conv_out",
                             nn::Conv2d(nn::Conv2dOptions(ch0, c.out_channels, c.conv_out_kernel)
                                            .padding((c.conv_out_kernel - 1) / 2)));
}

torch::Tensor UNet2DConditionModelImpl::forward(const torch::Tensor& sample,
                                                const torch::Tensor& timestep,
                                                const torch::Tensor& encoder_hidden_states,
                                                const UNetResiduals* residuals,
                                                const UNetAddedConditions* added,
                                                const torch::Tensor& timestep_cond) {
  return run(sample, timestep, encoder_hidden_states, residuals, added, timestep_cond, nullptr, nullptr);
}

torch::Tensor UNet2DConditionModelImpl::forward_keeping_deep(
    const torch::Tensor& sample, const torch::Tensor& timestep, const torch::Tensor& encoder_hidden_states,
    torch::Tensor& deep, const UNetResiduals* residuals, const UNetAddedConditions* added,
    const torch::Tensor& timestep_cond) {
  return run(sample, timestep, encoder_hidden_states, residuals, added, timestep_cond, &deep, nullptr);
}

torch::Tensor UNet2DConditionModelImpl::forward_shallow(
    const torch::Tensor& sample, const torch::Tensor& timestep, const torch::Tensor& encoder_hidden_states,
    const torch::Tensor& deep, const UNetResiduals* residuals, const UNetAddedConditions* added,
    const torch::Tensor& timestep_cond) {
  if (!deep.defined()) throw Error("UNet: a shallow pass needs the deep features of a full pass");
  return run(sample, timestep, encoder_hidden_states, residuals, added, timestep_cond, nullptr, &deep);
}

size_t UNet2DConditionModelImpl::deep_cut_block() const {
  const auto n = static_cast<int64_t>(down_blocks.size());
  if (deep_cut.level < 0 || deep_cut.level >= n || deep_cut.layers < 1 ||
      deep_cut.layers > down_blocks[deep_cut.level]->num_layers())
    throw Error("UNet: no cut after " + std::to_string(deep_cut.layers) + " layers of down block " +
                std::to_string(deep_cut.level) + " in a UNet of " + std::to_string(n) + " levels");
  return static_cast<size_t>(n - 1 - deep_cut.level);
}

int64_t UNet2DConditionModelImpl::deep_cut_layer() const {
  // The mirroring up block reads its down block's skips in reverse, then the one made before
  // it: its last `layers` + 1 layers read the skips the shallow path makes.
  return up_blocks[deep_cut_block()]->num_resnets() - (deep_cut.layers + 1);
}

int64_t UNet2DConditionModelImpl::num_skips() const {
  int64_t n = 1;  // conv_in's
  for (size_t i = 0; i < down_blocks.size(); ++i)
    n += down_blocks[i]->num_layers() + (i + 1 < down_blocks.size() ? 1 : 0);
  return n;
}

torch::Tensor UNet2DConditionModelImpl::run(const torch::Tensor& sample, const torch::Tensor& timestep,
                                            const torch::Tensor& encoder_hidden_states,
                                            const UNetResiduals* residuals, const UNetAddedConditions* added,
                                            const torch::Tensor& timestep_cond, torch::Tensor* keep_deep,
                                            const torch::Tensor* reuse_deep) {
  if (sample.dim() != 4 || sample.size(1) != config.in_channels)
    throw Error("UNet: sample must be [B, " + std::to_string(config.in_channels) + ", H, W], got " +
                c10::str(sample.sizes()));
  const int64_t batch = sample.size(0);
  if (encoder_hidden_states.dim() != 3 || encoder_hidden_states.size(0) != batch)
    throw Error("UNet: encoder_hidden_states must be [" + std::to_string(batch) + ", N, D], got " +
                c10::str(encoder_hidden_states.sizes()));
  if (timestep.numel() != 1 && !(timestep.dim() == 1 && timestep.size(0) == batch))
    throw Error("UNet: timestep must be one value or one per sample (" + std::to_string(batch) +
                "), got " + c10::str(timestep.sizes()));
  const auto temb = embedding(timestep, batch, added, timestep_cond);  // [B, time_embed_dim]

  const auto& w = conv_in->weight;  // compute dtype and device
  auto x = to_compute(sample, w);
  const auto context = to_compute(encoder_hidden_states, w);
  if (config.center_input_sample) x = x * 2.0 - 1.0;

  // Odd latent sizes: the upsamplers must reproduce the skip tensors' sizes.
  const int64_t factor = int64_t{1} << num_upsamplers;
  const bool forward_upsample_size = x.size(2) % factor != 0 || x.size(3) % factor != 0;

  auto h = conv_in->forward(x);  // [B, C0, H, W]
  std::vector<torch::Tensor> skips{h};
  const size_t cut_block = keep_deep || reuse_deep ? deep_cut_block() : 0;
  const int64_t cut_layer = keep_deep || reuse_deep ? deep_cut_layer() : 0;
  if (reuse_deep) {
    const auto level = static_cast<size_t>(deep_cut.level);
    for (size_t i = 0; i < level; ++i) h = down_blocks[i]->forward(h, temb, context, skips);
    (void)down_blocks[level]->forward_layers(h, temb, context, skips, deep_cut.layers);
  } else {
    for (auto& block : down_blocks) h = block->forward(h, temb, context, skips);
  }
  if (residuals && !residuals->down.empty()) add_residuals(skips, residuals->down, num_skips());
  if (reuse_deep) {
    const auto& shallow_skip = skips.back();
    if (reuse_deep->dim() != 4 || reuse_deep->size(0) != batch || reuse_deep->size(2) != shallow_skip.size(2) ||
        reuse_deep->size(3) != shallow_skip.size(3))
      throw Error("UNet: the deep features kept are " + c10::str(reuse_deep->sizes()) +
                  ", this pass needs a batch of " + std::to_string(batch) + " at " +
                  std::to_string(shallow_skip.size(2)) + "x" + std::to_string(shallow_skip.size(3)));
    h = to_compute(*reuse_deep, w);
  } else {
    if (mid_block) h = mid_block->forward(h, temb, context);
    if (residuals && residuals->mid.defined()) h = h + to_compute(residuals->mid, w);
  }
  // A shallow pass starts at the cut; a full one runs every layer, keeping the deep features
  // where the cut is when asked to.
  for (size_t i = reuse_deep ? cut_block : 0; i < up_blocks.size(); ++i) {
    auto& block = *up_blocks[i];
    const int64_t first = reuse_deep && i == cut_block ? cut_layer : 0;
    std::optional<std::vector<int64_t>> upsample_size;
    const auto remaining = static_cast<int64_t>(skips.size()) - (block.num_resnets() - first);
    if (forward_upsample_size && i + 1 < up_blocks.size() && remaining >= 1) {
      const auto& skip = skips[remaining - 1];
      upsample_size = std::vector<int64_t>{skip.size(2), skip.size(3)};
    }
    if (keep_deep && i == cut_block) {
      h = block.forward_layers(h, temb, context, skips, 0, cut_layer);
      *keep_deep = h;
      h = block.forward_layers(h, temb, context, skips, cut_layer, block.num_resnets());
    } else {
      h = block.forward_layers(h, temb, context, skips, first, block.num_resnets());
    }
    h = block.upsample(h, upsample_size);
  }
  h = conv_out->forward(group_norm_silu(conv_norm_out, h));  // [B, out, H, W], channels-last with CL weights
  return h.to(sample.scalar_type()).contiguous();
}

torch::Tensor UNet2DConditionModelImpl::time_proj(const torch::Tensor& timestep,
                                                  int64_t batch) const {
  const auto t =
      timestep.to(conv_in->weight.device(), torch::kFloat32).reshape({-1}).expand({batch});
  return timestep_embedding(t, config.block_out_channels[0], config.flip_sin_to_cos,
                            config.freq_shift);  // [B, C0]
}

torch::Tensor UNet2DConditionModelImpl::add_time_proj(const torch::Tensor& time_ids) const {
  // diffusers: self.add_time_proj(time_ids.flatten()), the ids as float32 timesteps.
  const auto ids = time_ids.to(conv_in->weight.device(), torch::kFloat32).flatten();  // [B·n]
  return timestep_embedding(ids, config.addition_time_embed_dim, config.flip_sin_to_cos,
                            config.freq_shift);  // [B·n, d]
}

torch::Tensor UNet2DConditionModelImpl::add_embeds(const UNetAddedConditions& added) const {
  check_added_conditions(config, &added);
  const auto& w = conv_in->weight;
  const int64_t batch = added.text_embeds.size(0);
  const auto time_embeds = add_time_proj(added.time_ids).reshape({batch, -1});  // [B, n·d]
  // diffusers: torch.concat([text_embeds, time_embeds], dim=-1).to(emb.dtype): the pooled
  // text first, joined in the promoted dtype (float32 for half text), then cast.
  return torch::cat({added.text_embeds.to(w.device()), time_embeds}, -1).to(w.scalar_type());
}

torch::Tensor UNet2DConditionModelImpl::embedding(const torch::Tensor& timestep, int64_t batch,
                                                  const UNetAddedConditions* added,
                                                  const torch::Tensor& timestep_cond) {
  check_added_conditions(config, added);
  if (timestep_cond.defined() &&
      (timestep_cond.dim() != 2 || timestep_cond.size(0) != batch ||
       timestep_cond.size(1) != config.time_cond_proj_dim))
    throw Error("UNet: timestep_cond must be [" + std::to_string(batch) + ", " +
                std::to_string(config.time_cond_proj_dim) + "], got " + c10::str(timestep_cond.sizes()));
  if (config.text_time_embedding && added->text_embeds.size(0) != batch)
    throw Error("UNet: text_embeds and time_ids need one row per sample (" + std::to_string(batch) +
                "), got " + c10::str(added->text_embeds.sizes()));
  const auto t_emb = time_proj(timestep, batch).to(conv_in->weight.scalar_type());  // [B, C0]
  const auto emb = time_embedding->forward(t_emb, timestep_cond);  // [B, time_embed_dim]
  if (!config.text_time_embedding) return emb;
  // diffusers: aug_emb = self.add_embedding(add_embeds); emb = emb + aug_emb.
  return emb + add_embedding->forward(add_embeds(*added));
}

}  // namespace latent::models
