#pragma once

// CLIP text encoder as in transformers' CLIPTextModel (models/clip/modeling_clip.py).
// Parameter paths equal the keys of a diffusers folder's text_encoder/model.safetensors
// (`text_model.encoder.layers.0.self_attn.q_proj.weight`, ...).

#include <torch/torch.h>

#include <QJsonObject>
#include <string>
#include <vector>

namespace latent::models {

enum class CLIPActivation { QuickGelu, Gelu };

// text_encoder/config.json; the defaults are SD 1.x's (openai/clip-vit-large-patch14).
struct CLIPTextConfig {
  int64_t vocab_size = 49408;
  int64_t hidden_size = 768;
  int64_t intermediate_size = 3072;
  int64_t num_hidden_layers = 12;
  int64_t num_attention_heads = 12;
  int64_t max_position_embeddings = 77;
  CLIPActivation hidden_act = CLIPActivation::QuickGelu;
  double layer_norm_eps = 1e-5;
  // Only used to locate the pooled token; 2 is the legacy value that means "argmax of ids".
  int64_t eos_token_id = 2;

  // Missing keys keep their defaults; wrong types or values throw latent::Error naming `source`.
  static CLIPTextConfig from_json(const QJsonObject& json,
                                  const std::string& source = "config.json");
  static CLIPTextConfig from_file(const std::string& path);
};

struct CLIPTextOutput {
  torch::Tensor last_hidden_state;           // [B, N, D], after final_layer_norm
  torch::Tensor pooler_output;               // [B, D], last_hidden_state at the end token
  std::vector<torch::Tensor> hidden_states;  // embeddings + one per layer (when requested)
};

struct CLIPAttentionImpl : torch::nn::Module {
  CLIPAttentionImpl(int64_t embed_dim, int64_t num_heads);
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& causal_mask);

  int64_t num_heads;
  torch::nn::Linear q_proj{nullptr}, k_proj{nullptr}, v_proj{nullptr}, out_proj{nullptr};
};
TORCH_MODULE(CLIPAttention);

struct CLIPMLPImpl : torch::nn::Module {
  explicit CLIPMLPImpl(const CLIPTextConfig& config);
  torch::Tensor forward(const torch::Tensor& x);

  CLIPActivation activation;
  torch::nn::Linear fc1{nullptr}, fc2{nullptr};
};
TORCH_MODULE(CLIPMLP);

struct CLIPEncoderLayerImpl : torch::nn::Module {
  explicit CLIPEncoderLayerImpl(const CLIPTextConfig& config);
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& causal_mask);

  CLIPAttention self_attn{nullptr};
  torch::nn::LayerNorm layer_norm1{nullptr}, layer_norm2{nullptr};
  CLIPMLP mlp{nullptr};
};
TORCH_MODULE(CLIPEncoderLayer);

struct CLIPTextEmbeddingsImpl : torch::nn::Module {
  explicit CLIPTextEmbeddingsImpl(const CLIPTextConfig& config);
  torch::Tensor forward(const torch::Tensor& input_ids);

  // position_ids (0..max-1) is not registered: some files carry it, others do not.
  torch::nn::Embedding token_embedding{nullptr}, position_embedding{nullptr};
};
TORCH_MODULE(CLIPTextEmbeddings);

struct CLIPEncoderImpl : torch::nn::Module {
  explicit CLIPEncoderImpl(const CLIPTextConfig& config);

  torch::nn::ModuleList layers{nullptr};
};
TORCH_MODULE(CLIPEncoder);

struct CLIPTextTransformerImpl : torch::nn::Module {
  explicit CLIPTextTransformerImpl(const CLIPTextConfig& config);

  CLIPTextEmbeddings embeddings{nullptr};
  CLIPEncoder encoder{nullptr};
  torch::nn::LayerNorm final_layer_norm{nullptr};
};
TORCH_MODULE(CLIPTextTransformer);

struct CLIPTextModelImpl : torch::nn::Module {
  explicit CLIPTextModelImpl(const CLIPTextConfig& config = {});

  // The prompt embedding used by Stable Diffusion: input_ids [B, N] (int64, N <= 77)
  // → [B, N, D]. clip_skip = k > 0 returns final_layer_norm(hidden_states[-(k+1)]),
  // diffusers' meaning (k = 1 uses the output of the second-to-last layer).
  torch::Tensor forward(const torch::Tensor& input_ids, int64_t clip_skip = 0);

  // Full output: last_hidden_state, pooler_output, and all L+1 hidden states when
  // `output_hidden_states` is set.
  CLIPTextOutput forward_full(const torch::Tensor& input_ids, bool output_hidden_states = false);

  // Token embeddings of input_ids [B, N] (before position embeddings): [B, N, D]. With
  // forward_embeds, callers can replace some of them (textual inversion).
  torch::Tensor token_embeddings(const torch::Tensor& input_ids);

  // forward() from token embeddings [B, N, D] instead of ids; forward_embeds(
  // token_embeddings(ids), k) equals forward(ids, k) exactly.
  torch::Tensor forward_embeds(const torch::Tensor& token_embeds, int64_t clip_skip = 0);

  const CLIPTextConfig& config() const { return config_; }

  CLIPTextTransformer text_model{nullptr};

 private:
  // Runs the embeddings and the first `num_layers` encoder layers.
  torch::Tensor run_layers(const torch::Tensor& input_ids, int64_t num_layers,
                           std::vector<torch::Tensor>* hidden_states);
  // Runs the first `num_layers` encoder layers on embeddings h [B, N, D].
  torch::Tensor run_encoder(torch::Tensor h, int64_t num_layers,
                            std::vector<torch::Tensor>* hidden_states);
  // input_ids as int64 on the weights' device, after checking shape and range.
  torch::Tensor checked_ids(const torch::Tensor& input_ids) const;
  void check_clip_skip(int64_t clip_skip) const;

  CLIPTextConfig config_;
};
TORCH_MODULE(CLIPTextModel);

}  // namespace latent::models
