#pragma once

// Reading the parts of a diffusers folder that both the folder reader and the single-file
// reader (for its config folder) need: JSON configs, a component's safetensors weights and
// tokenizer folders. Every failure is a latent::Error naming the file.

#include <QJsonObject>
#include <QString>
#include <memory>
#include <string>
#include <vector>

#include "core/io/safetensors.h"
#include "core/io/state_dict.h"

namespace latent::io {

// `dir`/`name` as a path.
std::string path_in(const QString& dir, const std::string& name);

bool is_file(const std::string& path);

// The JSON object in `path`; `what` says what the file is, for the error when it is
// missing ("the UNet config").
QJsonObject read_json_object(const std::string& path, const std::string& what);

// The safetensors weights of the component in `dir`: `stem`.safetensors, else the fp16
// variant `stem`.fp16.safetensors (SDXL ships both: the plain file wins), else a sharded
// index of either. Pickle-only weights are refused, naming `component`.
std::vector<std::shared_ptr<const SafetensorsFile>> open_component_weights(
    const QString& dir, const std::string& stem, const std::string& component);

// Every tensor of the files, as views; a name in two shards is an error.
TensorMap read_all(const std::vector<std::shared_ptr<const SafetensorsFile>>& files);

// True when `dir` holds vocab.json and merges.txt.
bool is_tokenizer_folder(const std::string& dir);
// Throws unless it is.
void check_tokenizer_folder(const std::string& dir);

}  // namespace latent::io
