#pragma once

// OpenCLIP's text transformer, as Stability's SDXL checkpoints store text_encoder_2 (and
// SD 2.x its only encoder), in transformers' CLIPTextModelWithProjection names.
// Reference: diffusers loaders/single_file_utils.py convert_open_clip_checkpoint.
//
//   token_embedding.weight                 text_model.embeddings.token_embedding.weight
//   positional_embedding    (bare [77, h])  text_model.embeddings.position_embedding.weight
//   transformer.resblocks.N.ln_1 / ln_2     text_model.encoder.layers.N.layer_norm1 / 2
//   transformer.resblocks.N.attn.in_proj_weight / _bias  ([3h, h] / [3h], q, k, v stacked)
//                                          ...self_attn.q_proj / k_proj / v_proj (split)
//   transformer.resblocks.N.attn.out_proj   ...self_attn.out_proj
//   transformer.resblocks.N.mlp.c_fc / c_proj  ...mlp.fc1 / fc2
//   ln_final                               text_model.final_layer_norm
//   text_projection         ([h, p], x @ P) text_projection.weight ([p, h]: transposed)
//   logit_scale                            (CLIP's image-text temperature: not needed)

#include <QJsonObject>
#include <string>
#include <vector>

#include "core/io/state_dict.h"

namespace latent::io {

struct ConvertedOpenClip {
  TensorMap weights;                   // transformers names; views of the file's tensors
  std::vector<std::string> unmatched;  // keys (with the prefix) that fit no rule
};

// Converts the tensors of `tensors` whose names start with `prefix` (the others are left
// alone). Every tensor the encoder `config` describes (its num_hidden_layers blocks) must be
// there: a missing one is a latent::Error naming the file `path`, the key with its prefix and
// `config_source` (where the config came from), as is an in_proj tensor whose rows do not
// split in three.
ConvertedOpenClip convert_open_clip_text_encoder(const TensorMap& tensors,
                                                 const std::string& prefix,
                                                 const QJsonObject& config, const std::string& path,
                                                 const std::string& config_source);

}  // namespace latent::io
