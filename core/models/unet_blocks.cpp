// diffusers models/unets/unet_2d_blocks.py: CrossAttnDownBlock2D, DownBlock2D,
// UNetMidBlock2DCrossAttn, UpBlock2D, CrossAttnUpBlock2D.
#include "core/models/unet_blocks.h"

#include "core/util/error.h"

namespace latent::models {
namespace {

ResnetBlock2D make_resnet(const UNetBlockOptions& o, int64_t in, int64_t out) {
  ResnetBlock2DOptions r;
  r.in_channels = in;
  r.out_channels = out;
  r.temb_channels = o.temb_channels;
  r.groups = o.resnet_groups;
  r.eps = o.resnet_eps;
  r.output_scale_factor = o.output_scale_factor;
  return ResnetBlock2D(r);
}

Transformer2DModel make_transformer(const UNetBlockOptions& o, int64_t channels) {
  Transformer2DOptions t;
  t.heads = o.num_heads;
  t.head_dim = channels / o.num_heads;
  t.in_channels = channels;
  t.num_layers = o.transformer_layers;
  t.cross_attention_dim = o.cross_attention_dim;
  t.norm_num_groups = o.resnet_groups;
  t.use_linear_projection = o.use_linear_projection;
  t.only_cross_attention = o.only_cross_attention;
  t.upcast_attention = o.upcast_attention;
  return Transformer2DModel(t);
}

// Registers `modules` under `name` as a ModuleList (names name.0, name.1, ...).
template <typename Holder>
void register_list(torch::nn::Module& owner, const std::string& name,
                   const std::vector<Holder>& modules) {
  auto list = owner.register_module(name, torch::nn::ModuleList());
  for (const auto& m : modules) list->push_back(m);
}

// Down blocks: resnet i maps in (i = 0) or out channels to out channels.
std::vector<ResnetBlock2D> down_resnets(const UNetBlockOptions& o) {
  std::vector<ResnetBlock2D> resnets;
  for (int64_t i = 0; i < o.num_layers; ++i)
    resnets.push_back(make_resnet(o, i == 0 ? o.in_channels : o.out_channels, o.out_channels));
  return resnets;
}

// Up blocks: resnet i sees the running tensor (prev_output_channels for i = 0) concatenated
// with a skip of out channels, or of in_channels for the last one.
std::vector<ResnetBlock2D> up_resnets(const UNetBlockOptions& o) {
  std::vector<ResnetBlock2D> resnets;
  for (int64_t i = 0; i < o.num_layers; ++i) {
    const int64_t skip = i == o.num_layers - 1 ? o.in_channels : o.out_channels;
    const int64_t running = i == 0 ? o.prev_output_channels : o.out_channels;
    resnets.push_back(make_resnet(o, running + skip, o.out_channels));
  }
  return resnets;
}

Downsample2D register_downsampler(torch::nn::Module& owner, const UNetBlockOptions& o) {
  if (!o.add_sampler) return Downsample2D(nullptr);
  Downsample2D d(o.out_channels, o.downsample_padding);
  auto list = owner.register_module("downsamplers", torch::nn::ModuleList());
  list->push_back(d);
  return d;
}

Upsample2D register_upsampler(torch::nn::Module& owner, const UNetBlockOptions& o) {
  if (!o.add_sampler) return Upsample2D(nullptr);
  Upsample2D u(o.out_channels);
  auto list = owner.register_module("upsamplers", torch::nn::ModuleList());
  list->push_back(u);
  return u;
}

torch::Tensor pop_concat(const torch::Tensor& x, std::vector<torch::Tensor>& skips) {
  if (skips.empty()) throw Error("UNet up block: ran out of skip connections");
  auto h = torch::cat({x, skips.back()}, 1);  // [B, C + C_skip, H, W]
  skips.pop_back();
  return h;
}

void check_layers(int64_t first, int64_t end, int64_t layers) {
  if (first < 0 || first > end || end > layers)
    throw Error("UNet block: layers " + std::to_string(first) + " to " + std::to_string(end) +
                " asked of a block of " + std::to_string(layers));
}

}  // namespace

torch::Tensor UNetDownBlock::forward(const torch::Tensor& x, const torch::Tensor& temb,
                                     const torch::Tensor& context, std::vector<torch::Tensor>& skips) {
  auto h = forward_layers(x, temb, context, skips, num_layers());
  if (downsampler_) {
    h = downsampler_->forward(h);
    skips.push_back(h);
  }
  return h;
}

torch::Tensor UNetUpBlock::forward(const torch::Tensor& x, const torch::Tensor& temb,
                                   const torch::Tensor& context, std::vector<torch::Tensor>& skips,
                                   const std::optional<std::vector<int64_t>>& upsample_size) {
  return upsample(forward_layers(x, temb, context, skips, 0, num_resnets()), upsample_size);
}

torch::Tensor UNetUpBlock::upsample(const torch::Tensor& x,
                                    const std::optional<std::vector<int64_t>>& upsample_size) {
  return upsampler_ ? upsampler_->forward(x, upsample_size) : x;
}

DownBlock2D::DownBlock2D(const UNetBlockOptions& o) : resnets_(down_resnets(o)) {
  register_list(*this, "resnets", resnets_);
  downsampler_ = register_downsampler(*this, o);
}

torch::Tensor DownBlock2D::forward_layers(const torch::Tensor& x, const torch::Tensor& temb,
                                          const torch::Tensor& /*context*/,
                                          std::vector<torch::Tensor>& skips, int64_t count) {
  check_layers(0, count, num_layers());
  auto h = x;
  for (int64_t i = 0; i < count; ++i) {
    h = resnets_[i]->forward(h, temb);
    skips.push_back(h);
  }
  return h;
}

CrossAttnDownBlock2D::CrossAttnDownBlock2D(const UNetBlockOptions& o) : resnets_(down_resnets(o)) {
  for (int64_t i = 0; i < o.num_layers; ++i)
    attentions_.push_back(make_transformer(o, o.out_channels));
  register_list(*this, "resnets", resnets_);
  register_list(*this, "attentions", attentions_);
  downsampler_ = register_downsampler(*this, o);
}

torch::Tensor CrossAttnDownBlock2D::forward_layers(const torch::Tensor& x, const torch::Tensor& temb,
                                                   const torch::Tensor& context,
                                                   std::vector<torch::Tensor>& skips, int64_t count) {
  check_layers(0, count, num_layers());
  auto h = x;
  for (int64_t i = 0; i < count; ++i) {
    h = resnets_[i]->forward(h, temb);
    h = attentions_[i]->forward(h, context);
    skips.push_back(h);
  }
  return h;
}

UpBlock2D::UpBlock2D(const UNetBlockOptions& o) : resnets_(up_resnets(o)) {
  register_list(*this, "resnets", resnets_);
  upsampler_ = register_upsampler(*this, o);
}

torch::Tensor UpBlock2D::forward_layers(const torch::Tensor& x, const torch::Tensor& temb,
                                        const torch::Tensor& /*context*/,
                                        std::vector<torch::Tensor>& skips, int64_t first, int64_t end) {
  check_layers(first, end, num_resnets());
  auto h = x;
  for (int64_t i = first; i < end; ++i) h = resnets_[i]->forward(pop_concat(h, skips), temb);
  return h;
}

CrossAttnUpBlock2D::CrossAttnUpBlock2D(const UNetBlockOptions& o) : resnets_(up_resnets(o)) {
  for (int64_t i = 0; i < o.num_layers; ++i)
    attentions_.push_back(make_transformer(o, o.out_channels));
  register_list(*this, "resnets", resnets_);
  register_list(*this, "attentions", attentions_);
  upsampler_ = register_upsampler(*this, o);
}

torch::Tensor CrossAttnUpBlock2D::forward_layers(const torch::Tensor& x, const torch::Tensor& temb,
                                                 const torch::Tensor& context, std::vector<torch::Tensor>& skips,
                                                 int64_t first, int64_t end) {
  check_layers(first, end, num_resnets());
  auto h = x;
  for (int64_t i = first; i < end; ++i) {
    h = resnets_[i]->forward(pop_concat(h, skips), temb);
    h = attentions_[i]->forward(h, context);
  }
  return h;
}

UNetMidBlock2DCrossAttn::UNetMidBlock2DCrossAttn(const UNetBlockOptions& o) {
  resnets_.push_back(make_resnet(o, o.in_channels, o.in_channels));
  for (int64_t i = 0; i < o.num_layers; ++i) {
    attentions_.push_back(make_transformer(o, o.in_channels));
    resnets_.push_back(make_resnet(o, o.in_channels, o.in_channels));
  }
  register_list(*this, "attentions", attentions_);
  register_list(*this, "resnets", resnets_);
}

torch::Tensor UNetMidBlock2DCrossAttn::forward(const torch::Tensor& x, const torch::Tensor& temb,
                                               const torch::Tensor& context) {
  auto h = resnets_[0]->forward(x, temb);
  for (size_t i = 0; i < attentions_.size(); ++i) {
    h = attentions_[i]->forward(h, context);
    h = resnets_[i + 1]->forward(h, temb);
  }
  return h;
}

}  // namespace latent::models
