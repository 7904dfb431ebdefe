// Reference: transformers 4.48 models/clip/modeling_clip.py (CLIPTextModel, eager attention).
#include "core/models/clip_text_model.h"

#include <cmath>
#include <limits>

#include "core/models/config_json.h"
#include "core/models/norms.h"
#include "core/models/quantized_weights.h"
#include "core/util/error.h"

namespace latent::models {
namespace {

// layer(x) as torch::nn::Linear computes it, with an 8-bit weight dequantized first.
torch::Tensor run_linear(const torch::nn::Linear& layer, const torch::Tensor& x) {
  return torch::linear(x, compute_weight(*layer, layer->weight, x.scalar_type()), layer->bias);
}

bool is_half(const torch::Tensor& t) {
  return t.scalar_type() == torch::kHalf || t.scalar_type() == torch::kBFloat16;
}

// Additive mask that hides later tokens: 0 on and below the diagonal, -inf above.
torch::Tensor causal_mask(int64_t n, const torch::TensorOptions& options) {
  return torch::full({n, n}, -std::numeric_limits<float>::infinity(), options).triu_(1);  // [N, N]
}

// Whether config.json's "architectures" asks for CLIPTextModelWithProjection. The model class
// is read from the config, as transformers does, never guessed from the tensors of a file.
bool names_projection_model(const std::vector<std::string>& architectures,
                            const std::string& source) {
  bool plain = false, projection = false;
  for (const std::string& name : architectures) {
    if (name == "CLIPTextModel")
      plain = true;
    else if (name == "CLIPTextModelWithProjection")
      projection = true;
    else
      throw Error(source + ": architectures names \"" + name +
                  "\" (expected CLIPTextModel or CLIPTextModelWithProjection)");
  }
  if (plain && projection)
    throw Error(source +
                ": architectures names both CLIPTextModel and CLIPTextModelWithProjection");
  return projection;
}

std::string shape_text(const torch::Tensor& t) {
  std::string text = "[";
  for (int64_t i = 0; i < t.dim(); ++i) text += (i ? ", " : "") + std::to_string(t.size(i));
  return text + "]";
}

}  // namespace

CLIPTextConfig CLIPTextConfig::from_json(const QJsonObject& json, const std::string& source) {
  namespace cj = config_json;
  CLIPTextConfig c;
  c.vocab_size = cj::get_int(json, "vocab_size", c.vocab_size, source);
  c.hidden_size = cj::get_int(json, "hidden_size", c.hidden_size, source);
  c.intermediate_size = cj::get_int(json, "intermediate_size", c.intermediate_size, source);
  c.num_hidden_layers = cj::get_int(json, "num_hidden_layers", c.num_hidden_layers, source);
  c.num_attention_heads = cj::get_int(json, "num_attention_heads", c.num_attention_heads, source);
  c.max_position_embeddings =
      cj::get_int(json, "max_position_embeddings", c.max_position_embeddings, source);
  c.layer_norm_eps = cj::get_double(json, "layer_norm_eps", c.layer_norm_eps, source);
  c.eos_token_id = cj::get_int(json, "eos_token_id", c.eos_token_id, source);
  const std::string act = cj::get_string(json, "hidden_act", "quick_gelu", source);
  if (act == "quick_gelu")
    c.hidden_act = CLIPActivation::QuickGelu;
  else if (act == "gelu")  // OpenCLIP (SD 2.x, SDXL's text_encoder_2): erf GELU, not tanh
    c.hidden_act = CLIPActivation::Gelu;
  else
    throw Error(source + ": hidden_act \"" + act +
                "\" is not supported (expected quick_gelu or gelu)");
  c.with_projection = names_projection_model(
      cj::get_string_list(json, "architectures", {"CLIPTextModel"}, source), source);
  if (c.with_projection)
    c.projection_dim = cj::get_int(json, "projection_dim", c.projection_dim, source);

  if (c.vocab_size <= 0 || c.hidden_size <= 0 || c.intermediate_size <= 0 ||
      c.num_hidden_layers <= 0 || c.num_attention_heads <= 0 || c.max_position_embeddings <= 0)
    throw Error(source + ": CLIP text config sizes must be positive");
  if (c.hidden_size % c.num_attention_heads != 0)
    throw Error(source + ": hidden_size " + std::to_string(c.hidden_size) +
                " is not a multiple of num_attention_heads " +
                std::to_string(c.num_attention_heads));
  if (c.with_projection && c.projection_dim <= 0)
    throw Error(source + ": projection_dim " + std::to_string(c.projection_dim) +
                " must be positive");
  return c;
}

CLIPTextConfig CLIPTextConfig::from_file(const std::string& path) {
  return from_json(config_json::read_file(path), path);
}

CLIPAttentionImpl::CLIPAttentionImpl(int64_t embed_dim, int64_t heads) : num_heads(heads) {
  q_proj = register_module("q_proj", torch::nn::Linear(embed_dim, embed_dim));
  k_proj = register_module("k_proj", torch::nn::Linear(embed_dim, embed_dim));
  v_proj = register_module("v_proj", torch::nn::Linear(embed_dim, embed_dim));
  out_proj = register_module("out_proj", torch::nn::Linear(embed_dim, embed_dim));
}

torch::Tensor CLIPAttentionImpl::forward(const torch::Tensor& x, const torch::Tensor& mask) {
  const int64_t b = x.size(0), n = x.size(1), d = x.size(2);
  const int64_t head_dim = d / num_heads;
  const double scale = 1.0 / std::sqrt(static_cast<double>(head_dim));
  auto split = [&](const torch::Tensor& t) {
    return t.view({b, n, num_heads, head_dim}).transpose(1, 2);  // [B, h, N, d]
  };
  // transformers scales the query before the product.
  const auto q = split(run_linear(q_proj, x) * scale);
  const auto k = split(run_linear(k_proj, x));
  const auto v = split(run_linear(v_proj, x));
  auto scores = torch::matmul(q, k.transpose(-1, -2)) + mask;  // [B, h, N, N]
  if (is_half(scores))
    scores = torch::softmax(scores, -1, torch::kFloat32).to(v.scalar_type());
  else
    scores = torch::softmax(scores, -1);
  const auto out = torch::matmul(scores, v).transpose(1, 2).reshape({b, n, d});  // [B, N, D]
  return run_linear(out_proj, out);
}

CLIPMLPImpl::CLIPMLPImpl(const CLIPTextConfig& config) : activation(config.hidden_act) {
  fc1 = register_module("fc1", torch::nn::Linear(config.hidden_size, config.intermediate_size));
  fc2 = register_module("fc2", torch::nn::Linear(config.intermediate_size, config.hidden_size));
}

torch::Tensor CLIPMLPImpl::forward(const torch::Tensor& x) {
  auto h = run_linear(fc1, x);  // [B, N, I]
  if (activation == CLIPActivation::QuickGelu)
    h = h * torch::sigmoid(h * 1.702);
  else
    h = torch::gelu(h);
  return run_linear(fc2, h);
}

CLIPEncoderLayerImpl::CLIPEncoderLayerImpl(const CLIPTextConfig& config) {
  const auto norm_options =
      torch::nn::LayerNormOptions({config.hidden_size}).eps(config.layer_norm_eps);
  self_attn =
      register_module("self_attn", CLIPAttention(config.hidden_size, config.num_attention_heads));
  layer_norm1 = register_module("layer_norm1", torch::nn::LayerNorm(norm_options));
  mlp = register_module("mlp", CLIPMLP(config));
  layer_norm2 = register_module("layer_norm2", torch::nn::LayerNorm(norm_options));
}

torch::Tensor CLIPEncoderLayerImpl::forward(const torch::Tensor& x, const torch::Tensor& mask) {
  auto h = x + self_attn(layer_norm(layer_norm1, x), mask);
  return h + mlp(layer_norm(layer_norm2, h));
}

CLIPTextEmbeddingsImpl::CLIPTextEmbeddingsImpl(const CLIPTextConfig& config) {
  token_embedding = register_module("token_embedding",
                                    torch::nn::Embedding(config.vocab_size, config.hidden_size));
  position_embedding =
      register_module("position_embedding",
                      torch::nn::Embedding(config.max_position_embeddings, config.hidden_size));
}

torch::Tensor CLIPTextEmbeddingsImpl::forward(const torch::Tensor& input_ids) {
  const int64_t n = input_ids.size(1);
  const auto positions = position_embedding->weight.narrow(0, 0, n);  // [N, D]
  return token_embedding(input_ids) + positions;                      // [B, N, D]
}

CLIPEncoderImpl::CLIPEncoderImpl(const CLIPTextConfig& config) {
  layers = register_module("layers", torch::nn::ModuleList());
  for (int64_t i = 0; i < config.num_hidden_layers; ++i)
    layers->push_back(CLIPEncoderLayer(config));
}

CLIPTextTransformerImpl::CLIPTextTransformerImpl(const CLIPTextConfig& config) {
  embeddings = register_module("embeddings", CLIPTextEmbeddings(config));
  encoder = register_module("encoder", CLIPEncoder(config));
  final_layer_norm = register_module(
      "final_layer_norm",
      torch::nn::LayerNorm(
          torch::nn::LayerNormOptions({config.hidden_size}).eps(config.layer_norm_eps)));
}

CLIPTextModelImpl::CLIPTextModelImpl(const CLIPTextConfig& config) : config_(config) {
  text_model = register_module("text_model", CLIPTextTransformer(config));
  // transformers' CLIPTextModelWithProjection: nn.Linear(hidden_size, projection_dim,
  // bias=False) beside text_model, so its key is `text_projection.weight`.
  if (config.with_projection)
    text_projection = register_module(
        "text_projection",
        torch::nn::Linear(
            torch::nn::LinearOptions(config.hidden_size, config.projection_dim).bias(false)));
}

torch::Tensor CLIPTextModelImpl::checked_ids(const torch::Tensor& input_ids) const {
  if (!input_ids.defined() || input_ids.dim() != 2)
    throw Error("CLIP text model: input_ids must be [batch, tokens], got " +
                (input_ids.defined() ? std::to_string(input_ids.dim()) + " dimensions"
                                     : std::string("no tensor")));
  if (input_ids.size(1) < 1 || input_ids.size(1) > config_.max_position_embeddings)
    throw Error("CLIP text model: " + std::to_string(input_ids.size(1)) +
                " tokens given, expected 1 to " + std::to_string(config_.max_position_embeddings));
  const auto ids =
      input_ids.to(text_model->embeddings->token_embedding->weight.device(), torch::kLong);
  if (ids.numel() > 0 &&
      (ids.min().item<int64_t>() < 0 || ids.max().item<int64_t>() >= config_.vocab_size))
    throw Error("CLIP text model: token ids must lie in [0, " + std::to_string(config_.vocab_size) +
                ")");
  return ids;
}

void CLIPTextModelImpl::check_layers_from_end(int64_t layers_from_end, const char* what) const {
  const int64_t layers = config_.num_hidden_layers;
  if (layers_from_end < 0 || layers_from_end > layers)
    throw Error("CLIP text model: " + std::string(what) + " " + std::to_string(layers_from_end) +
                " is outside 0.." + std::to_string(layers));
}

torch::Tensor CLIPTextModelImpl::token_embeddings(const torch::Tensor& input_ids) {
  const auto ids = checked_ids(input_ids);
  return text_model->embeddings->token_embedding(ids);  // [B, N, D]
}

torch::Tensor CLIPTextModelImpl::embed_tokens(const torch::Tensor& token_embeds) {
  const auto& weight = text_model->embeddings->token_embedding->weight;
  if (!token_embeds.defined() || token_embeds.dim() != 3 ||
      token_embeds.size(2) != config_.hidden_size)
    throw Error("CLIP text model: token embeddings must be [batch, tokens, " +
                std::to_string(config_.hidden_size) + "]");
  const int64_t n = token_embeds.size(1);
  if (n < 1 || n > config_.max_position_embeddings)
    throw Error("CLIP text model: " + std::to_string(n) + " tokens given, expected 1 to " +
                std::to_string(config_.max_position_embeddings));
  const auto positions =
      text_model->embeddings->position_embedding->weight.narrow(0, 0, n);     // [N, D]
  return token_embeds.to(weight.device(), weight.scalar_type()) + positions;  // [B, N, D]
}

torch::Tensor CLIPTextModelImpl::run_layers(torch::Tensor h, int64_t begin, int64_t end,
                                            std::vector<torch::Tensor>* hidden_states) {
  const auto mask = causal_mask(h.size(1), h.options());  // [N, N]
  auto& layers = *text_model->encoder->layers;
  for (int64_t i = begin; i < end; ++i) {
    h = layers[i]->as<CLIPEncoderLayer>()->forward(h, mask);  // [B, N, D]
    if (hidden_states) hidden_states->push_back(h);
  }
  return h;
}

torch::Tensor CLIPTextModelImpl::pool(const torch::Tensor& last_hidden_state,
                                      const torch::Tensor& ids) const {
  // transformers' legacy configs (eos_token_id == 2, every SD and SDXL text encoder) pool at
  // the largest id, which is <|endoftext|> in the CLIP vocabulary; argmax takes the first
  // one, also when the prompt itself holds a literal <|endoftext|>. Newer configs pool at
  // the first eos token.
  const auto eos_index = config_.eos_token_id == 2
                             ? ids.argmax(-1)
                             : (ids == config_.eos_token_id).to(torch::kInt).argmax(-1);  // [B]
  const auto rows = torch::arange(ids.size(0), ids.options());
  return last_hidden_state.index({rows, eos_index});  // [B, D]
}

CLIPTextEncoding CLIPTextModelImpl::encode_hidden(torch::Tensor h, const torch::Tensor& ids,
                                                  const CLIPEncodeOptions& options) {
  check_layers_from_end(options.layers_from_end, "layers_from_end");
  const int64_t all_layers = config_.num_hidden_layers;
  const int64_t chosen_layer = all_layers - options.layers_from_end;
  // The chosen state needs only the layers up to it; the pooled vector needs them all.
  const auto chosen = run_layers(std::move(h), 0, chosen_layer);  // [B, N, D]
  CLIPTextEncoding out;
  out.hidden = options.final_norm ? layer_norm(text_model->final_layer_norm, chosen) : chosen;
  if (options.pooled) {
    const bool last_is_normed = options.final_norm && chosen_layer == all_layers;
    const auto last = last_is_normed ? out.hidden
                                     : layer_norm(text_model->final_layer_norm,
                                                  run_layers(chosen, chosen_layer, all_layers));
    out.pooled = pool(last, ids);                                    // [B, D]
    if (has_projection()) out.pooled = run_linear(text_projection, out.pooled);  // [B, P]
  }
  return out;
}

CLIPTextEncoding CLIPTextModelImpl::encode(const torch::Tensor& input_ids,
                                           const CLIPEncodeOptions& options) {
  const auto ids = checked_ids(input_ids);
  return encode_hidden(text_model->embeddings(ids), ids, options);
}

CLIPTextEncoding CLIPTextModelImpl::encode_embeds(const torch::Tensor& token_embeds,
                                                  const torch::Tensor& input_ids,
                                                  const CLIPEncodeOptions& options) {
  auto h = embed_tokens(token_embeds);  // [B, N, D]
  torch::Tensor ids;
  if (options.pooled) {
    ids = checked_ids(input_ids);
    if (!ids.sizes().equals(h.sizes().slice(0, 2)))
      throw Error("CLIP text model: input_ids " + shape_text(ids) +
                  " do not match the token embeddings " + shape_text(h));
  }
  return encode_hidden(std::move(h), ids, options);
}

torch::Tensor CLIPTextModelImpl::forward(const torch::Tensor& input_ids, int64_t clip_skip) {
  check_layers_from_end(clip_skip, "clip_skip");
  return encode(input_ids, CLIPEncodeOptions::stable_diffusion(clip_skip)).hidden;  // [B, N, D]
}

torch::Tensor CLIPTextModelImpl::forward_embeds(const torch::Tensor& token_embeds,
                                                int64_t clip_skip) {
  check_layers_from_end(clip_skip, "clip_skip");
  const auto options = CLIPEncodeOptions::stable_diffusion(clip_skip);
  return encode_embeds(token_embeds, {}, options).hidden;  // [B, N, D]
}

CLIPTextOutput CLIPTextModelImpl::forward_full(const torch::Tensor& input_ids,
                                               bool output_hidden_states) {
  CLIPTextOutput out;
  const auto ids = checked_ids(input_ids);
  auto h = text_model->embeddings(ids);  // [B, N, D]
  if (output_hidden_states) out.hidden_states.push_back(h);
  h = run_layers(std::move(h), 0, config_.num_hidden_layers,
                 output_hidden_states ? &out.hidden_states : nullptr);
  out.last_hidden_state = layer_norm(text_model->final_layer_norm, h);         // [B, N, D]
  out.pooler_output = pool(out.last_hidden_state, ids);                        // [B, D]
  if (has_projection()) out.text_embeds = run_linear(text_projection, out.pooler_output);  // [B, P]
  return out;
}

}  // namespace latent::models
