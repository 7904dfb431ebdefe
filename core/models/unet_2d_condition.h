#pragma once

// diffusers models/unets/unet_2d_condition.py UNet2DConditionModel, in the subset SD 1.x/2.x
// and SDXL use: positional time embedding, SDXL's "text_time" added embedding, no class
// embeddings, cross-attention down/mid/up blocks.

#include <torch/torch.h>

#include <QJsonObject>
#include <memory>
#include <string>
#include <vector>

#include "core/models/unet_blocks.h"

namespace latent::models {

enum class UNetDownBlockType { CrossAttnDownBlock2D, DownBlock2D };
enum class UNetUpBlockType { UpBlock2D, CrossAttnUpBlock2D };

// unet/config.json; the defaults are SD 1.5's. Per-block lists have one entry per down
// block, in down-block order (up blocks use them reversed, as diffusers does).
struct UNet2DConditionConfig {
  int64_t in_channels = 4;
  int64_t out_channels = 4;
  int64_t sample_size = 64;
  bool center_input_sample = false;
  bool flip_sin_to_cos = true;
  double freq_shift = 0.0;
  std::vector<UNetDownBlockType> down_block_types = {
      UNetDownBlockType::CrossAttnDownBlock2D, UNetDownBlockType::CrossAttnDownBlock2D,
      UNetDownBlockType::CrossAttnDownBlock2D, UNetDownBlockType::DownBlock2D};
  bool has_mid_block = true;  // UNetMidBlock2DCrossAttn, or none (mid_block_type null)
  std::vector<UNetUpBlockType> up_block_types = {
      UNetUpBlockType::UpBlock2D, UNetUpBlockType::CrossAttnUpBlock2D,
      UNetUpBlockType::CrossAttnUpBlock2D, UNetUpBlockType::CrossAttnUpBlock2D};
  std::vector<int64_t> block_out_channels = {320, 640, 1280, 1280};
  std::vector<int64_t> layers_per_block = {2, 2, 2, 2};
  std::vector<int64_t> transformer_layers_per_block = {1, 1, 1, 1};
  // Heads per block: num_attention_heads, or attention_head_dim when that is null (the SD 1.x
  // legacy meaning of attention_head_dim is the number of heads).
  std::vector<int64_t> num_attention_heads = {8, 8, 8, 8};
  std::vector<int64_t> cross_attention_dim = {768, 768, 768, 768};
  std::vector<bool> only_cross_attention = {false, false, false, false};
  int64_t downsample_padding = 1;
  double mid_block_scale_factor = 1.0;
  double resnet_out_scale_factor = 1.0;
  int64_t norm_num_groups = 32;
  double norm_eps = 1e-5;
  bool use_linear_projection = false;
  bool upcast_attention = false;
  int64_t conv_in_kernel = 3;
  int64_t conv_out_kernel = 3;
  int64_t time_embedding_dim = 0;  // 0: 4 × block_out_channels[0]
  // addition_embed_type "text_time" (SDXL): the pooled text embedding and the sinusoidal
  // embeddings (addition_time_embed_dim wide) of the size and crop ids go through
  // add_embedding, whose input is projection_class_embeddings_input_dim wide, and join the
  // time embedding. Without it both widths are 0.
  bool text_time_embedding = false;
  int64_t addition_time_embed_dim = 0;
  int64_t projection_class_embeddings_input_dim = 0;
  // LCM-distilled UNets (time_cond_proj_dim): a guidance-scale embedding this wide is
  // projected (time_embedding.cond_proj) and added to the timestep's before linear_1.
  // 0 = none.
  int64_t time_cond_proj_dim = 0;

  // Missing keys keep their defaults; features this model does not implement (class
  // embeddings, addition embeddings other than "text_time", other block types, ...) throw
  // latent::Error naming `source`, the key and its value.
  static UNet2DConditionConfig from_json(const QJsonObject& json,
                                         const std::string& source = "config.json");
  static UNet2DConditionConfig from_file(const std::string& path);

  // The ResNets' embedding width: time_embedding_dim, or 4 × block_out_channels[0].
  int64_t time_embed_dim() const {
    return time_embedding_dim > 0 ? time_embedding_dim : block_out_channels.front() * 4;
  }
};

// The blocks as the UNet builds them from its config, for the networks that share them
// (ControlNetModel's down and mid blocks are the UNet's, with their own weights): the
// options every block shares, down block `i`, and the cross-attention middle block.
UNetBlockOptions unet_block_options(const UNet2DConditionConfig& config);
std::shared_ptr<UNetDownBlock> make_unet_down_block(const UNet2DConditionConfig& config, size_t i);
std::shared_ptr<UNetMidBlock2DCrossAttn> make_unet_mid_block(const UNet2DConditionConfig& config);

// Sinusoidal timestep embedding (diffusers embeddings.py get_timestep_embedding):
// timesteps [B] float32 -> [B, dim] float32, [sin, cos] or [cos, sin] when flipped.
torch::Tensor timestep_embedding(const torch::Tensor& timesteps, int64_t dim, bool flip_sin_to_cos,
                                 double freq_shift, int64_t max_period = 10000);

// diffusers' get_guidance_scale_embedding (LatentConsistencyModelPipeline): w [B] float32
// -> [B, dim] float32, [sin | cos] of w·1000 at the timestep embedding's frequencies
// (base 10000, spaced over dim/2 − 1), zero-padded when dim is odd.
torch::Tensor guidance_scale_embedding(const torch::Tensor& w, int64_t dim);

// linear_1 -> SiLU -> linear_2; with `cond_proj_dim` > 0, cond_proj(condition) (a Linear
// without bias) is added to the input first, as diffusers' TimestepEmbedding does.
struct TimestepEmbeddingImpl : torch::nn::Module {
  TimestepEmbeddingImpl(int64_t in_channels, int64_t time_embed_dim, int64_t cond_proj_dim = 0);
  // [B, in] (+ condition [B, cond_proj_dim]) -> [B, time_embed_dim]
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& condition = {});

  torch::nn::Linear linear_1{nullptr};
  torch::nn::Linear linear_2{nullptr};
  torch::nn::Linear cond_proj{nullptr};
};
TORCH_MODULE(TimestepEmbedding);

// Tensors added inside the UNet, as diffusers' down_block_additional_residuals and
// mid_block_additional_residual (what a ControlNet produces): one per skip connection, in
// the order the down blocks make them, and one for the middle block's output.
struct UNetResiduals {
  std::vector<torch::Tensor> down;
  torch::Tensor mid;
};

// Where the step cache (core/pipeline/step_cache.h) splits the UNet, as DeepCache's
// cache_layer_id and cache_block_id say: the shallow path runs the down blocks above
// `level` and the first `layers` layers of down block `level`, then the up block that
// mirrors it from the layer that reads their last skip on, and the up blocks after it.
struct UNetCut {
  int64_t level = 0;
  int64_t layers = 1;
};

// The cut a UNet starts with: after the first layer of the first down block with
// cross-attention. For SD 1.x and 2.x that is DeepCache's own branch 0 (the first layer of
// the first block); where the first block has no attention (SDXL, the starter model) the
// shallow path would never read the prompt, and on the starter model that cost eval-shapes
// 40 points of accuracy at an interval of 3 (91% → 51% on seen pairs, 26 levels of mean
// difference) where this cut lost none (1.7 levels).
UNetCut default_deep_cut(const UNet2DConditionConfig& config);

// SDXL's added conditions, diffusers' added_cond_kwargs for addition_embed_type "text_time".
struct UNetAddedConditions {
  torch::Tensor text_embeds;  // [B, P] pooled text embedding (text_encoder_2's text_embeds)
  torch::Tensor time_ids;     // [B, n] size, crop (and aesthetic score) ids, any real dtype
};

struct UNet2DConditionModelImpl : torch::nn::Module {
  explicit UNet2DConditionModelImpl(const UNet2DConditionConfig& config);

  // sample [B, in_channels, H, W]; timestep 0-dim, [1] or [B], any real or integer dtype;
  // encoder_hidden_states [B, N, cross_attention_dim]. Computes in the dtype and on the
  // device of the weights; returns the noise prediction [B, out_channels, H, W] in the
  // dtype of `sample`. `residuals`, when given, are added to the skips and the middle
  // block's output. `added` is required when the config has the "text_time" embedding
  // (SDXL) and refused otherwise; a struct whose tensors are both undefined counts as absent.
  // `timestep_cond` [B, time_cond_proj_dim] is an LCM-distilled UNet's guidance embedding
  // (guidance_scale_embedding); optional there, as in diffusers, and refused elsewhere.
  torch::Tensor forward(const torch::Tensor& sample, const torch::Tensor& timestep,
                        const torch::Tensor& encoder_hidden_states,
                        const UNetResiduals* residuals = nullptr,
                        const UNetAddedConditions* added = nullptr,
                        const torch::Tensor& timestep_cond = {});

  // DeepCache's split of the network at `deep_cut` (Ma et al. 2023, "DeepCache: Accelerating
  // Diffusion Models for Free"; core/pipeline/step_cache.h runs it). The shallow path is
  // conv_in, the down layers above the cut, the up layers below it and the output
  // convolution; everything between is the deep part, whose result, the input of up block
  // deep_cut_block()'s layer deep_cut_layer(), changes little from one step to the next.
  //
  // forward() that also hands back the deep features (the result is forward()'s, bit for bit).
  torch::Tensor forward_keeping_deep(const torch::Tensor& sample, const torch::Tensor& timestep,
                                     const torch::Tensor& encoder_hidden_states, torch::Tensor& deep,
                                     const UNetResiduals* residuals = nullptr,
                                     const UNetAddedConditions* added = nullptr,
                                     const torch::Tensor& timestep_cond = {});
  // The shallow path alone, with `deep` kept by an earlier call over a batch of the same size:
  // forward()'s result exactly when `deep` came from the same inputs. Of `residuals`, those of
  // the skips the shallow path makes apply; the others reached `deep` when it was computed.
  torch::Tensor forward_shallow(const torch::Tensor& sample, const torch::Tensor& timestep,
                                const torch::Tensor& encoder_hidden_states, const torch::Tensor& deep,
                                const UNetResiduals* residuals = nullptr,
                                const UNetAddedConditions* added = nullptr,
                                const torch::Tensor& timestep_cond = {});
  // The up block and its layer that the deep features enter; throw latent::Error for a cut
  // this UNet does not have.
  size_t deep_cut_block() const;
  int64_t deep_cut_layer() const;

  // The stages of diffusers' conditioning on time, each as diffusers names its output.
  // time_proj: the sinusoidal embedding of `timestep` (as forward takes it) for `batch`
  // samples, [B, block_out_channels[0]] float32.
  torch::Tensor time_proj(const torch::Tensor& timestep, int64_t batch) const;
  // add_time_proj: the sinusoidal embedding of every id, time_ids [B, n] -> [B·n, d] float32.
  torch::Tensor add_time_proj(const torch::Tensor& time_ids) const;
  // add_embeds: [B, P + n·d], the pooled text embedding first, in the dtype of the weights.
  torch::Tensor add_embeds(const UNetAddedConditions& added) const;
  // emb, what every ResNet receives: time_embedding(time_proj), plus
  // add_embedding(add_embeds) with the "text_time" embedding. [B, time_embed_dim].
  torch::Tensor embedding(const torch::Tensor& timestep, int64_t batch,
                          const UNetAddedConditions* added,
                          const torch::Tensor& timestep_cond = {});

  UNet2DConditionConfig config;
  int64_t num_upsamplers = 0;
  torch::nn::Conv2d conv_in{nullptr};
  TimestepEmbedding time_embedding{nullptr};
  TimestepEmbedding add_embedding{nullptr};  // "text_time" only (add_embedding.linear_1, ...)
  std::vector<std::shared_ptr<UNetDownBlock>> down_blocks;  // registered as down_blocks.N
  std::shared_ptr<UNetMidBlock2DCrossAttn> mid_block;       // null without a mid block
  std::vector<std::shared_ptr<UNetUpBlock>> up_blocks;      // registered as up_blocks.N
  torch::nn::GroupNorm conv_norm_out{nullptr};
  torch::nn::Conv2d conv_out{nullptr};
  UNetCut deep_cut;  // the step cache's split: default_deep_cut(config)

 private:
  // The one body of forward, forward_keeping_deep (keep_deep set) and forward_shallow
  // (reuse_deep set).
  torch::Tensor run(const torch::Tensor& sample, const torch::Tensor& timestep,
                    const torch::Tensor& encoder_hidden_states, const UNetResiduals* residuals,
                    const UNetAddedConditions* added, const torch::Tensor& timestep_cond,
                    torch::Tensor* keep_deep, const torch::Tensor* reuse_deep);
  int64_t num_skips() const;  // skip connections a full pass makes
};
TORCH_MODULE(UNet2DConditionModel);

}  // namespace latent::models
