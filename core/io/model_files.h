#pragma once

// Opening a model path: a diffusers folder or a single-file .safetensors checkpoint, of
// Stable Diffusion 1.x, 2.x or SDXL (base or refiner). Everything comes back with diffusers and
// transformers names as views of the memory-mapped files; nothing is converted or copied
// yet (the few tensors a single file stores in another form are views too). Pickle files
// (.ckpt, .bin, .pt, .pth) are refused, never unpickled.

#include <QJsonObject>
#include <memory>
#include <string>
#include <vector>

#include "core/io/model_family.h"
#include "core/io/safetensors.h"
#include "core/io/state_dict.h"

namespace latent::io {

enum class ModelFormat { DiffusersFolder, SingleFile };

// "diffusers folder", "single-file checkpoint".
const char* format_name(ModelFormat format);

// One text encoder with the tokenizer that feeds it.
struct TextEncoderFiles {
  std::string name;           // its diffusers folder: "text_encoder" or "text_encoder_2"
  TensorMap weights;          // transformers names: text_model.*, and text_projection.weight
                              // for a CLIPTextModelWithProjection (SDXL's text_encoder_2)
  QJsonObject config;         // <name>/config.json
  std::string tokenizer_dir;  // vocab.json, merges.txt and the special-token files, if any
};

struct ModelFiles {
  ModelFormat format = ModelFormat::DiffusersFolder;
  ModelFamily family = ModelFamily::sd1;  // from the configs (detect_family)
  std::string source;                     // the path given to open_model
  std::string config_source;  // where the configs came from: the folder, config_dir or the
                              // bundled configs of the checkpoint's family

  // Weights by diffusers name, per component.
  TensorMap unet;
  TensorMap vae;
  // In the order the family concatenates their outputs: text_encoder for SD 1.x,
  // text_encoder and text_encoder_2 for the SDXL base, text_encoder_2 for the refiner.
  std::vector<TextEncoderFiles> text_encoders;

  QJsonObject unet_config;       // unet/config.json
  QJsonObject vae_config;        // vae/config.json
  QJsonObject scheduler_config;  // scheduler/scheduler_config.json
  // model_index.json: the pipeline's own settings (SDXL's force_zeros_for_empty_prompt and
  // requires_aesthetics_score). A single file takes the config folder's, else the bundled
  // one of its family; empty when a config folder has none.
  QJsonObject model_index;

  std::vector<std::shared_ptr<const SafetensorsFile>> files;  // every file mapped
  std::vector<std::string> unmatched_keys;  // single-file tensors that match no weight of
                                            // the layout (not loaded)
  std::vector<std::string> warnings;        // for the user: what was ignored and why

  // The text encoder with this name ("text_encoder_2"), or nullptr when the model has none.
  const TextEncoderFiles* text_encoder(const std::string& name) const;

  // False once any mapped file has been replaced or modified on disk.
  bool unchanged_on_disk() const;
  // Throws latent::Error naming the first mapped file whose size or modification time is
  // no longer what it was when mapped: its bytes can no longer be trusted (and reading a
  // mapping past a shortened file's end would crash), so it must be opened again.
  void check_unchanged_on_disk() const;
};

// Opens a diffusers folder (model_index.json, unet/, vae/, scheduler/, and the text
// encoders and tokenizers model_index.json names: text_encoder/ and tokenizer/,
// text_encoder_2/ and tokenizer_2/) or a single-file checkpoint (Stable Diffusion 1.x's
// original layout, or Stability's SGM layout of SDXL). A single file carries no configs:
// they are read from `config_dir` (a folder in the diffusers layout) when given, else the
// bundled configs of the family its keys show are used. `prediction` ("epsilon" or
// "v_prediction"; empty = the model's own) overrides the scheduler config's prediction_type,
// for the models whose weights cannot tell (SD 2.x single files: it also picks their
// bundled configs, 768-v or 512 base). Throws latent::Error naming the file and what was
// expected for anything it cannot read as such a model, and for another prediction name.
ModelFiles open_model(const std::string& path, const std::string& config_dir = "",
                      const std::string& prediction = "");

// The explanation every refused pickle gets ("'PATH' is a PyTorch pickle file. Latent
// Studio never opens pickles, because ..."), followed by `hint` (how to convert it).
std::string pickle_refusal(const std::string& path, const std::string& hint);

// True when the file holds a pickle by its first bytes (a zip archive or a raw pickle
// stream), or has a pickle extension (.ckpt .bin .pt .pth .pkl) without safetensors inside.
bool is_pickle_file(const std::string& path);

}  // namespace latent::io
