#pragma once

// Opening a model path: a diffusers folder or a single-file original/ldm
// .safetensors checkpoint of Stable Diffusion 1.x. Everything comes back with
// diffusers names as views of the memory-mapped files; nothing is converted or
// copied yet. Pickle files (.ckpt, .bin, .pt, .pth) are refused, never unpickled.

#include <QJsonObject>
#include <memory>
#include <string>
#include <vector>

#include "core/io/safetensors.h"
#include "core/io/state_dict.h"

namespace latent::io {

enum class ModelFormat { DiffusersFolder, SingleFile };

// "diffusers folder", "single-file checkpoint".
const char* format_name(ModelFormat format);

struct ModelFiles {
  ModelFormat format = ModelFormat::DiffusersFolder;
  std::string source;         // the path given to open_model
  std::string config_source;  // where the configs came from: the folder, config_dir or the bundled
                              // SD 1.5 configs

  // Weights by diffusers name, per component.
  TensorMap unet;
  TensorMap vae;
  TensorMap text_encoder;

  QJsonObject unet_config;          // unet/config.json
  QJsonObject vae_config;           // vae/config.json
  QJsonObject text_encoder_config;  // text_encoder/config.json
  QJsonObject scheduler_config;     // scheduler/scheduler_config.json
  std::string tokenizer_dir;        // holds vocab.json and merges.txt

  std::vector<std::shared_ptr<const SafetensorsFile>> files;  // every file mapped
  std::vector<std::string>
      unmatched_keys;  // single-file tensors that match no SD 1.x weight (not loaded)
  std::vector<std::string> warnings;  // for the user: what was ignored and why

  // False once any mapped file has been replaced or modified on disk.
  bool unchanged_on_disk() const;
  // Throws latent::Error naming the first mapped file whose size or modification time is
  // no longer what it was when mapped: its bytes can no longer be trusted (and reading a
  // mapping past a shortened file's end would crash), so it must be opened again.
  void check_unchanged_on_disk() const;
};

// Opens a diffusers folder (model_index.json, unet/, vae/, text_encoder/, tokenizer/,
// scheduler/) or a single-file checkpoint. A single file carries no configs: they
// are read from `config_dir` (a folder in the diffusers layout) when given, else the
// bundled Stable Diffusion 1.5 configs are used. Throws latent::Error naming the
// file and what was expected for anything that is not an SD 1.x model.
ModelFiles open_model(const std::string& path, const std::string& config_dir = "");

// The explanation every refused pickle gets ("'PATH' is a PyTorch pickle file. Latent
// Studio never opens pickles, because ..."), followed by `hint` (how to convert it).
std::string pickle_refusal(const std::string& path, const std::string& hint);

// True when the file holds a pickle by its first bytes (a zip archive or a raw pickle
// stream), or has a pickle extension (.ckpt .bin .pt .pth .pkl) without safetensors inside.
bool is_pickle_file(const std::string& path);

}  // namespace latent::io
