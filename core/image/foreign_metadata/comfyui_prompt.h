#pragma once

// ComfyUI's metadata: the `prompt` chunk holds the graph that ran in its API form,
// {"3": {"class_type": "KSampler", "inputs": {"seed": 5, "positive": ["6", 0], ...}}, ...},
// where a list [node id, output slot] is a link to another node's output. The reader finds
// the sampler, follows its links to the prompts (through reroutes, conditioning combiners
// and ControlNet nodes), the empty latent (the size), the checkpoint loader and the LoRA
// loaders between (the model), CLIPSetLastLayer (clip skip) and a VAE loader. The
// `workflow` chunk (the editor's form) is read when `prompt` is missing, converted by
// comfyui_workflow.h.

#include <QJsonObject>

#include <string>

#include "core/image/file_metadata.h"

namespace latent::image {

// `prompt_json` is the `prompt` chunk's text; an invalid one gives found() == false.
ImageMetadata read_comfyui_prompt(const std::string& prompt_json, const std::string& location);
// The same for a graph already in the API form.
ImageMetadata read_comfyui_graph(const QJsonObject& graph, const std::string& location);

}  // namespace latent::image
