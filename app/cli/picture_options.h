#pragma once

// The options of a picture drawn from a prompt, shared by `generate` and `grid`: one
// declaration, so both commands name, default and read every setting the same way.

#include "common_options.h"
#include "hires_options.h"
#include "init_image_options.h"
#include "prompt_text_options.h"

struct PictureOptions {
  ModelOptions model{WithoutModel::starterModel};
  NegativePromptOption negative{};
  StepsOption steps{25};
  // Without --guidance, --width or --height: the model's own defaults.
  GuidanceOption guidance{std::nullopt};
  SeedOption seed{WithoutSeed::random};
  SizeOptions size{std::nullopt};
  SamplerOption sampler{"euler_a"};
  StepCacheOption stepCache{};
  ClipSkipOption clipSkip{};
  InitImageOptions initImage{};
  ComputeDtypeOption dtype{"fp32"};
  WeightsOption weights{};
  DeviceOption device{};
  ThreadsOption threads{};
  LoraOption lora{};
  EmbeddingsOption embeddings{};
  PromptTextOptions promptText{};
  HiresOptions hires{};
};
