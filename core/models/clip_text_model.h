#pragma once

// CLIP text encoder as in transformers' CLIPTextModel and CLIPTextModelWithProjection
// (models/clip/modeling_clip.py). Parameter paths equal the keys of a diffusers folder's
// text_encoder/model.safetensors (`text_model.encoder.layers.0.self_attn.q_proj.weight`,
// ..., and `text_projection.weight` for SDXL's text_encoder_2).
//
// Two ways of reading a prompt embedding out of it (k = diffusers' clip_skip):
//   SD 1.x / 2.x  final_layer_norm(hidden_states[-(k+1)]):  forward(ids, k), or
//                 encode(ids, CLIPEncodeOptions::stable_diffusion(k))
//   SDXL          hidden_states[-(k+2)], never normed, and text_encoder_2's pooled vector
//                 text_projection(final_layer_norm(last layer)[eos]):
//                 encode(ids, CLIPEncodeOptions::sdxl(k))

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
  // CLIPTextModelWithProjection (named in the config's "architectures"): a bias-free
  // text_projection Linear(hidden_size -> projection_dim) maps the pooled token to
  // text_embeds. SDXL's text_encoder_2 has one; SD 1.x and SDXL's text_encoder do not.
  bool with_projection = false;
  // Read only with a projection; 512 is transformers' CLIPTextConfig default.
  int64_t projection_dim = 512;

  // Missing keys keep their defaults; wrong types or values throw latent::Error naming `source`.
  static CLIPTextConfig from_json(const QJsonObject& json,
                                  const std::string& source = "config.json");
  static CLIPTextConfig from_file(const std::string& path);
};

struct CLIPTextOutput {
  torch::Tensor last_hidden_state;           // [B, N, D], after final_layer_norm
  torch::Tensor pooler_output;               // [B, D], last_hidden_state at the end token
  torch::Tensor text_embeds;                 // [B, P], text_projection(pooler_output); only
                                             // with a projection, undefined otherwise
  std::vector<torch::Tensor> hidden_states;  // embeddings + one per layer (when requested),
                                             // none of them normed
};

// What encode() reads out of the encoder.
struct CLIPEncodeOptions {
  // Which hidden state: hidden_states[-(layers_from_end + 1)]. 0 = the last layer's output,
  // 1 = the penultimate one (SDXL), num_hidden_layers = the embeddings.
  int64_t layers_from_end = 0;
  // Apply final_layer_norm to that state: SD 1.x does (also under clip skip), SDXL never.
  bool final_norm = true;
  // Also compute the pooled vector (always from the normed last layer, whatever
  // layers_from_end says; this runs every layer).
  bool pooled = false;

  // StableDiffusionPipeline: final_layer_norm(hidden_states[-(clip_skip + 1)]), no pooled vector.
  static CLIPEncodeOptions stable_diffusion(int64_t clip_skip = 0) {
    return {clip_skip, true, false};
  }
  // StableDiffusionXLPipeline.encode_prompt: hidden_states[-(clip_skip + 2)] without
  // final_layer_norm, and (with `pooled`) the pooled vector, which clip_skip does not change.
  static CLIPEncodeOptions sdxl(int64_t clip_skip = 0, bool pooled = true) {
    return {clip_skip + 1, false, pooled};
  }
};

struct CLIPTextEncoding {
  torch::Tensor hidden;  // [B, N, D], the chosen hidden state
  // With CLIPEncodeOptions::pooled, else undefined: text_embeds [B, projection_dim] for a
  // model with a projection (SDXL's pooled prompt embedding), pooler_output [B, D] without.
  torch::Tensor pooled;
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

  // The chosen hidden state of input_ids [B, N] (int64, N <= 77) and, when asked, the pooled
  // vector; see CLIPEncodeOptions. encode(ids, CLIPEncodeOptions::stable_diffusion(k)).hidden
  // equals forward(ids, k) bit for bit.
  // Throws latent::Error for ids of the wrong shape or range and for layers_from_end
  // outside 0..num_hidden_layers.
  CLIPTextEncoding encode(const torch::Tensor& input_ids, const CLIPEncodeOptions& options = {});

  // encode() from token embeddings [B, N, D] (see token_embeddings, for textual inversion).
  // input_ids [B, N] are the ids the embeddings stand for: they only locate the end token
  // for the pooled vector, and may be undefined when options.pooled is false.
  CLIPTextEncoding encode_embeds(const torch::Tensor& token_embeds, const torch::Tensor& input_ids,
                                 const CLIPEncodeOptions& options = {});

  // The prompt embedding used by Stable Diffusion: input_ids [B, N] (int64, N <= 77)
  // → [B, N, D]. clip_skip = k > 0 returns final_layer_norm(hidden_states[-(k+1)]),
  // diffusers' meaning (k = 1 uses the output of the second-to-last layer).
  torch::Tensor forward(const torch::Tensor& input_ids, int64_t clip_skip = 0);

  // Full output as transformers returns it: last_hidden_state, pooler_output, text_embeds
  // (with a projection), and all L+1 hidden states when `output_hidden_states` is set.
  CLIPTextOutput forward_full(const torch::Tensor& input_ids, bool output_hidden_states = false);

  // Token embeddings of input_ids [B, N] (before position embeddings): [B, N, D]. With
  // forward_embeds, callers can replace some of them (textual inversion).
  torch::Tensor token_embeddings(const torch::Tensor& input_ids);

  // forward() from token embeddings [B, N, D] instead of ids; forward_embeds(
  // token_embeddings(ids), k) equals forward(ids, k) exactly.
  torch::Tensor forward_embeds(const torch::Tensor& token_embeds, int64_t clip_skip = 0);

  const CLIPTextConfig& config() const { return config_; }
  bool has_projection() const { return !text_projection.is_empty(); }

  CLIPTextTransformer text_model{nullptr};
  // Bias-free Linear(hidden_size -> projection_dim); empty unless config.with_projection.
  torch::nn::Linear text_projection{nullptr};

 private:
  // Runs encoder layers [begin, end) on h [B, N, D]; with hidden_states, appends each
  // layer's output.
  torch::Tensor run_layers(torch::Tensor h, int64_t begin, int64_t end,
                           std::vector<torch::Tensor>* hidden_states = nullptr);
  // Token embeddings [B, N, D] plus the position embeddings, after checking their shape.
  torch::Tensor embed_tokens(const torch::Tensor& token_embeds);
  // encode() on embeddings h [B, N, D]; ids [B, N] are checked ids or undefined.
  CLIPTextEncoding encode_hidden(torch::Tensor h, const torch::Tensor& ids,
                                 const CLIPEncodeOptions& options);
  // last_hidden_state [B, N, D] at each row's end token (transformers' pooler_output).
  torch::Tensor pool(const torch::Tensor& last_hidden_state, const torch::Tensor& ids) const;
  // input_ids as int64 on the weights' device, after checking shape and range.
  torch::Tensor checked_ids(const torch::Tensor& input_ids) const;
  void check_layers_from_end(int64_t layers_from_end, const char* what) const;

  CLIPTextConfig config_;
};
TORCH_MODULE(CLIPTextModel);

}  // namespace latent::models
