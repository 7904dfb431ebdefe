#pragma once

// ComfyUI's `workflow` chunk, the editor's form of the graph:
//   {"nodes": [{"id": 3, "type": "KSampler", "inputs": [{"name": "model", "link": 1}, ...],
//               "widgets_values": [5, "randomize", 20, 8, "euler", "normal", 1]}, ...],
//    "links": [[link id, from node, from slot, to node, to slot, "MODEL"], ...]}
// turned into the API form that read_comfyui_graph (comfyui_prompt.h) reads. Widget values
// are positional, so they are named only for the node types whose widgets are listed here
// (samplers, text encoders, empty latent, checkpoint, LoRA, CLIP-skip and VAE loaders, and
// primitive nodes); other nodes keep their links. Reroute nodes are passed through.

#include <QJsonObject>

namespace latent::image {

// An empty object when `workflow` has no nodes.
QJsonObject comfyui_workflow_to_graph(const QJsonObject& workflow);

}  // namespace latent::image
