#pragma once

// The web UI's `<lora:NAME:MULTIPLIER>` prompt syntax: finding the tags, taking them
// out of the text, and finding NAME in a folder of LoRA files.
// Reference: AUTOMATIC1111 stable-diffusion-webui modules/extra_networks.py.

#include <string>
#include <vector>

namespace latent::text {

struct PromptLora {
  std::string name;
  double multiplier = 1.0;
  std::string tag;  // the tag as written, for messages
};

struct LoraPrompt {
  std::string text;  // the prompt with every <lora:...> tag removed (nothing else changes)
  std::vector<PromptLora> loras;  // in prompt order
};

// Finds `<lora:NAME>` and `<lora:NAME:MULTIPLIER>` tags (`<lyco:...>` too); other
// `<kind:...>` tags stay in the text. Throws latent::Error for a tag whose multiplier
// is not a number, or that asks for separate text-encoder/UNet multipliers.
LoraPrompt extract_lora_tags(const std::string& prompt);

// One LoRA file in a folder, as a LoRA panel lists it.
struct LoraFileEntry {
  std::string name;  // file name without extension
  std::string path;  // absolute path
};

// Every .safetensors file in `folder` and its subfolders, sorted by name (case-insensitive).
// Throws latent::Error when the folder does not exist.
std::vector<LoraFileEntry> list_lora_files(const std::string& folder);

// The file that NAME means: `folder/NAME.safetensors`, else a .safetensors file below
// `folder` whose name without extension is NAME (exactly, then ignoring case). Throws
// latent::Error naming the folder when there is none.
std::string find_lora_file(const std::string& folder, const std::string& name);

}  // namespace latent::text
