// diffusers models/controlnets/controlnet.py: ControlNetModel and
// ControlNetConditioningEmbedding.
#include "core/models/controlnet_model.h"

#include <QJsonArray>

#include "core/models/config_json.h"
#include "core/util/error.h"

namespace latent::models {
namespace {

namespace cj = config_json;

// The keys only ControlNetModel has; the rest of its config reads as a UNet's.
constexpr const char* kControlNetKeys[] = {
    "conditioning_channels", "conditioning_embedding_out_channels",
    "controlnet_conditioning_channel_order", "global_pool_conditions",
    "addition_embed_type_num_heads"};

const char* down_name(UNetDownBlockType type) {
  return type == UNetDownBlockType::CrossAttnDownBlock2D ? "CrossAttnDownBlock2D" : "DownBlock2D";
}
const char* up_name(UNetDownBlockType type) {
  return type == UNetDownBlockType::CrossAttnDownBlock2D ? "CrossAttnUpBlock2D" : "UpBlock2D";
}

// Up blocks mirroring the down blocks, so that the UNet config reader accepts the lists.
QJsonArray mirrored_up_types(const QJsonObject& json, const std::string& source) {
  QJsonArray up;
  const auto down = cj::get_string_list(
      json, "down_block_types",
      {"CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"},
      source);
  for (auto it = down.rbegin(); it != down.rend(); ++it)
    up.append(*it == "CrossAttnDownBlock2D" ? "CrossAttnUpBlock2D" : "UpBlock2D");
  return up;
}

torch::nn::Conv2d conv3x3(int64_t in, int64_t out, int64_t stride = 1) {
  return torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, 3).padding(1).stride(stride));
}

torch::nn::Conv2d conv1x1(int64_t channels) {
  return torch::nn::Conv2d(torch::nn::Conv2dOptions(channels, channels, 1));
}

}  // namespace

ControlNetConfig ControlNetConfig::from_json(const QJsonObject& json, const std::string& source) {
  const std::string cls = cj::get_string(json, "_class_name", "ControlNetModel", source);
  if (cls != "ControlNetModel")
    throw Error(source + ": \"_class_name\" is \"" + cls +
                "\", not a ControlNet (\"ControlNetModel\")");
  if (cj::get_bool(json, "global_pool_conditions", false, source))
    throw Error(source +
                ": \"global_pool_conditions\" = true (a shuffle-type ControlNet) is not supported");
  ControlNetConfig c;
  const std::string order =
      cj::get_string(json, "controlnet_conditioning_channel_order", "rgb", source);
  if (order != "rgb" && order != "bgr")
    throw Error(source + ": \"controlnet_conditioning_channel_order\" = \"" + order +
                "\" must be \"rgb\" or \"bgr\"");
  c.bgr = order == "bgr";
  c.conditioning_channels = cj::get_int(json, "conditioning_channels", 3, source);
  c.conditioning_embedding_out_channels = cj::get_int_list(
      json, "conditioning_embedding_out_channels", c.conditioning_embedding_out_channels, source);
  if (c.conditioning_channels <= 0 || c.conditioning_embedding_out_channels.empty())
    throw Error(source +
                ": \"conditioning_channels\" and \"conditioning_embedding_out_channels\" "
                "must be positive and not empty");
  for (int64_t ch : c.conditioning_embedding_out_channels)
    if (ch <= 0) throw Error(source + ": \"conditioning_embedding_out_channels\" must be positive");

  QJsonObject unet = json;
  for (const char* key : kControlNetKeys) unet.remove(QLatin1String(key));
  unet.insert("_class_name", "UNet2DConditionModel");
  unet.insert("up_block_types", mirrored_up_types(json, source));
  unet.insert("out_channels",
              unet.value("in_channels").isUndefined() ? QJsonValue(4) : unet.value("in_channels"));
  c.unet = UNet2DConditionConfig::from_json(unet, source);
  return c;
}

ControlNetConfig ControlNetConfig::from_file(const std::string& path) {
  return from_json(cj::read_file(path), path);
}

ControlNetConfig ControlNetConfig::from_unet(const UNet2DConditionConfig& unet) {
  ControlNetConfig c;
  c.unet = unet;
  c.unet.in_channels = unet.out_channels;
  return c;
}

int64_t ControlNetConfig::num_down_residuals() const {
  int64_t n = 1;  // conv_in's output
  const size_t blocks = unet.block_out_channels.size();
  for (size_t i = 0; i < blocks; ++i) n += unet.layers_per_block[i] + (i + 1 < blocks ? 1 : 0);
  return n;
}

QJsonObject ControlNetConfig::unet_layout_json() const {
  QJsonArray down, up, channels, layers;
  for (auto type : unet.down_block_types) down.append(down_name(type));
  for (auto it = unet.down_block_types.rbegin(); it != unet.down_block_types.rend(); ++it)
    up.append(up_name(*it));
  for (int64_t ch : unet.block_out_channels) channels.append(static_cast<qint64>(ch));
  for (int64_t n : unet.layers_per_block) layers.append(static_cast<qint64>(n));
  QJsonObject json{{"down_block_types", down},
                   {"up_block_types", up},
                   {"block_out_channels", channels},
                   {"layers_per_block", layers}};
  if (!unet.has_mid_block) json.insert("mid_block_type", QJsonValue());
  if (unet.text_time_embedding) json.insert("addition_embed_type", "text_time");
  return json;
}

ControlNetConditioningEmbeddingImpl::ControlNetConditioningEmbeddingImpl(
    int64_t embedding_channels, int64_t conditioning_channels, const std::vector<int64_t>& out) {
  conv_in = register_module("conv_in", conv3x3(conditioning_channels, out.front()));
  auto list = register_module("blocks", torch::nn::ModuleList());
  for (size_t i = 0; i + 1 < out.size(); ++i) {
    for (auto conv : {conv3x3(out[i], out[i]), conv3x3(out[i], out[i + 1], 2)}) {
      list->push_back(conv);
      blocks.push_back(conv);
    }
  }
  conv_out = register_module("conv_out", conv3x3(out.back(), embedding_channels));
}

torch::Tensor ControlNetConditioningEmbeddingImpl::forward(const torch::Tensor& conditioning) {
  auto x = torch::silu(conv_in->forward(conditioning));
  for (auto& conv : blocks) x = torch::silu(conv->forward(x));
  return conv_out->forward(x);
}

ControlNetModelImpl::ControlNetModelImpl(const ControlNetConfig& c) : config(c) {
  const UNet2DConditionConfig& u = c.unet;
  if (u.text_time_embedding || u.time_cond_proj_dim > 0)
    throw Error(
        "ControlNetModel: added embeddings (SDXL's \"text_time\", LCM's guidance "
        "embedding) are not supported");
  const size_t n = u.block_out_channels.size();
  const int64_t ch0 = u.block_out_channels.front();
  conv_in = register_module(
      "conv_in", torch::nn::Conv2d(torch::nn::Conv2dOptions(u.in_channels, ch0, u.conv_in_kernel)
                                       .padding((u.conv_in_kernel - 1) / 2)));
  time_embedding = register_module("time_embedding", TimestepEmbedding(ch0, u.time_embed_dim()));
  controlnet_cond_embedding =
      register_module("controlnet_cond_embedding",
                      ControlNetConditioningEmbedding(ch0, c.conditioning_channels,
                                                      c.conditioning_embedding_out_channels));

  auto down_list = register_module("down_blocks", torch::nn::ModuleList());
  auto zero_convs = register_module("controlnet_down_blocks", torch::nn::ModuleList());
  const auto add_zero_conv = [&](int64_t channels) {
    auto conv = conv1x1(channels);
    zero_convs->push_back(conv);
    controlnet_down_blocks.push_back(conv);
  };
  add_zero_conv(ch0);
  for (size_t i = 0; i < n; ++i) {
    auto block = make_unet_down_block(u, i);
    down_list->push_back(block);
    down_blocks.push_back(block);
    const int64_t skips = u.layers_per_block[i] + (i + 1 < n ? 1 : 0);
    for (int64_t k = 0; k < skips; ++k) add_zero_conv(u.block_out_channels[i]);
  }
  if (!u.has_mid_block) throw Error("ControlNetModel: a ControlNet needs its middle block");
  mid_block = register_module("mid_block", make_unet_mid_block(u));
  controlnet_mid_block =
      register_module("controlnet_mid_block", conv1x1(u.block_out_channels.back()));
}

torch::Tensor ControlNetModelImpl::hint_embedding(const torch::Tensor& controlnet_cond) {
  const auto& w = conv_in->weight;
  auto cond = controlnet_cond.to(w.device(), w.scalar_type());
  if (config.bgr) cond = cond.flip({1});
  return controlnet_cond_embedding->forward(cond);
}

UNetResiduals ControlNetModelImpl::forward(const torch::Tensor& sample,
                                           const torch::Tensor& timestep,
                                           const torch::Tensor& encoder_hidden_states,
                                           const torch::Tensor& controlnet_cond,
                                           double conditioning_scale, bool guess_mode) {
  const UNet2DConditionConfig& u = config.unet;
  if (sample.dim() != 4 || sample.size(1) != u.in_channels)
    throw Error("ControlNet: sample must be [B, " + std::to_string(u.in_channels) +
                ", h, w], got " + c10::str(sample.sizes()));
  const int64_t batch = sample.size(0);
  if (encoder_hidden_states.dim() != 3 || encoder_hidden_states.size(0) != batch)
    throw Error("ControlNet: encoder_hidden_states must be [" + std::to_string(batch) +
                ", N, D], got " + c10::str(encoder_hidden_states.sizes()));
  if (controlnet_cond.dim() != 4 || controlnet_cond.size(0) != batch ||
      controlnet_cond.size(1) != config.conditioning_channels)
    throw Error("ControlNet: the control image must be [" + std::to_string(batch) + ", " +
                std::to_string(config.conditioning_channels) + ", H, W], got " +
                c10::str(controlnet_cond.sizes()));
  const auto& w = conv_in->weight;
  const auto t = timestep.to(w.device(), torch::kFloat32).reshape({-1}).expand({batch});
  const auto t_emb =
      timestep_embedding(t, u.block_out_channels.front(), u.flip_sin_to_cos, u.freq_shift);
  const auto temb = time_embedding->forward(t_emb.to(w.scalar_type()));
  const auto context = encoder_hidden_states.to(w.device(), w.scalar_type());

  auto h = conv_in->forward(sample.to(w.device(), w.scalar_type()));
  const auto hint = hint_embedding(controlnet_cond);
  if (hint.sizes() != h.sizes())
    throw Error("ControlNet: the control image " + c10::str(controlnet_cond.sizes()) +
                " does not encode to the latents' size " + c10::str(h.sizes()) +
                ": it must be 8 times the latent width and height");
  h = h + hint;
  std::vector<torch::Tensor> skips{h};
  for (auto& block : down_blocks) h = block->forward(h, temb, context, skips);
  h = mid_block->forward(h, temb, context);

  UNetResiduals out;
  for (size_t k = 0; k < skips.size(); ++k)
    out.down.push_back(controlnet_down_blocks[k]->forward(skips[k]));
  out.mid = controlnet_mid_block->forward(h);
  if (guess_mode) {
    // torch.logspace(-1, 0, n + 1) in float32, times the scale: weaker for the shallow skips.
    const auto n = static_cast<int64_t>(out.down.size());
    const auto scales =
        torch::logspace(-1, 0, n + 1, 10.0,
                        torch::TensorOptions().dtype(torch::kFloat32).device(w.device())) *
        conditioning_scale;
    for (int64_t k = 0; k < n; ++k) out.down[k] = out.down[k] * scales[k];
    out.mid = out.mid * scales[n];
  } else {
    for (auto& r : out.down) r = r * conditioning_scale;
    out.mid = out.mid * conditioning_scale;
  }
  return out;
}

}  // namespace latent::models
