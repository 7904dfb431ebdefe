#pragma once

// The one table that translates single-file checkpoint names to diffusers names: the
// original/ldm names of Stable Diffusion 1.x (model.diffusion_model.*, first_stage_model.*,
// cond_stage_model.transformer.*) and Stability's SGM names of SDXL, whose UNet and VAE
// use the same scheme (SDXL adds label_emb, the added embedding) and whose first text
// encoder is conditioner.embedders.0.transformer.* (its OpenCLIP encoder needs tensors
// split and transposed: open_clip_keys.h). Plus the few renames that older diffusers
// folders need. The layout is derived from the diffusers UNet and VAE configs, never
// guessed from tensor sizes.
// Reference: diffusers loaders/single_file_utils.py (convert_ldm_{unet,vae,clip}_checkpoint).

#include <QJsonObject>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/io/checkpoint_layout.h"
#include "core/io/state_dict.h"

namespace latent::io {

enum class Component { UNet, Vae, TextEncoder };

// "unet", "vae", "text_encoder": the diffusers folder names.
const char* component_name(Component component);

// Where one single-file tensor goes.
struct KeyTarget {
  Component component = Component::UNet;
  std::string name;             // the diffusers name inside the component
  bool conv_to_linear = false;  // a [C, C, 1, 1] 1x1-conv weight that diffusers stores as [C, C]
};

class CheckpointKeyMap {
 public:
  // Builds the table for the UNet and VAE the configs describe, and for the text encoder
  // `layout` stores with transformers names (none for the SDXL refiner). `config_source`
  // names the configs in errors (an unsupported block type, a malformed value).
  CheckpointKeyMap(const QJsonObject& unet_config, const QJsonObject& vae_config,
                   const std::string& config_source,
                   CheckpointLayout layout = CheckpointLayout::sd1);

  // The diffusers name of an original/ldm key; nullopt when it matches no rule.
  std::optional<KeyTarget> translate(const std::string& key) const;

  // Keys real checkpoints carry that inference does not need: EMA copies, the
  // training schedule's buffers, CLIP's position_ids (in either layout).
  static bool is_ignored(const std::string& key);

  std::size_t size() const { return rules_.size(); }

 private:
  enum class Inner { Same, UNetResnet, VaeResnet, VaeAttention };
  struct Rule {
    Component component;
    std::string target;  // diffusers module path
    Inner inner;
  };
  void add(const std::string& ldm_module, Component component, const std::string& target,
           Inner inner = Inner::Same);
  void build_unet(const QJsonObject& config, const std::string& source);
  void build_vae(const QJsonObject& config, const std::string& source);
  void build_text_encoder(CheckpointLayout layout);

  std::map<std::string, Rule> rules_;  // ldm module path -> rule
};

// A single-file checkpoint split into components with diffusers names.
struct ConvertedCheckpoint {
  TensorMap unet, vae, text_encoder;
  std::vector<std::string> unmatched;  // keys that match no rule: reported, not loaded
  std::size_t ignored = 0;             // keys CheckpointKeyMap::is_ignored accepted and dropped
};

// Renames every tensor (views: nothing is copied; 1x1-conv weights are viewed as
// matrices). Throws latent::Error naming `source` when two keys map to one name.
ConvertedCheckpoint convert_checkpoint(const TensorMap& tensors, const CheckpointKeyMap& map,
                                       const std::string& source);

// diffusers folders written before diffusers 0.14 name the VAE mid-block attention
// query/key/value/proj_attn (Linear weights); renames them to to_q/to_k/to_v/to_out.0.
void rename_legacy_vae_keys(TensorMap& vae);

// Drops text_model.embeddings.position_ids (a constant 0..76 buffer that some
// writers store and others do not).
void drop_unused_text_encoder_keys(TensorMap& text_encoder);

}  // namespace latent::io
