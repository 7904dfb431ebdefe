#pragma once

// The options several commands share, each declared here once: its names, value name,
// help text and validation. A command makes the option with its own default where
// commands differ (the help's "(default ...)" clause is then the only difference), adds
// options() to its parser and, after parser.process(), read()s the value back:
//
//   const SeedOption seed;
//   parser.addOptions(seed.options() + OptionList{...the command's own options...});
//   parser.process(arguments);
//   options.seed = seed.read(parser);
//
// Options that only one command has, or that mean different things in different commands
// (--out, --batch, train-lora's optimisation --steps), stay in that command's file.

#include <QCommandLineOption>
#include <QCommandLineParser>
#include <QList>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/api/generation_request.h"
#include "core/api/load_options.h"

using OptionList = QList<QCommandLineOption>;

// What a command does when --model is not given.
enum class WithoutModel {
  required,          // refuses to run
  starterModel,      // uses the bundled starter model
  bundledTokenizer,  // reads with the bundled SD 1.5 tokenizer (the command needs no weights)
};

struct ModelChoice {
  std::string path;       // empty only when WithoutModel::bundledTokenizer and not given
  std::string configDir;  // empty: the bundled configs of the checkpoint's family
  bool starter = false;   // the bundled starter model stands in for --model
  bool given() const { return !path.empty() && !starter; }
  // The model to load, with the default device and precision.
  latent::api::LoadOptions loadOptions() const;
};

// --model and --config-dir.
struct ModelOptions {
  WithoutModel without = WithoutModel::required;
  // False for a command that cannot pass configs on to what it runs (train-lora).
  bool configDir = true;

  OptionList options() const;
  // Throws latent::Error when --model is required, or the starter model is missing.
  ModelChoice read(const QCommandLineParser& parser) const;
};

// --dtype: the precision networks compute in (generate, bench).
struct ComputeDtypeOption {
  std::string defaultValue = "fp32";  // fp32, bf16, fp16 or auto
  OptionList options() const;
  std::string read(const QCommandLineParser& parser) const;  // a name the loader accepts
};

// --weights: how the UNet's and text encoders' linear and convolution weights are held
// (generate, bench, serve, eval-shapes, convert): full, int8 or auto (LoadOptions::weights).
struct WeightsOption {
  std::string defaultValue = "auto";
  OptionList options() const;
  std::string read(const QCommandLineParser& parser) const;  // a name the loader accepts
};

// --dtype: the precision weights are written in (make-random-model, train-starter).
struct StorageDtypeOption {
  OptionList options() const;
  std::string read(const QCommandLineParser& parser) const;  // fp16, bf16 or fp32
};

// --device: cpu or cuda.
struct DeviceOption {
  OptionList options() const;
  // Refuses an unknown device, or cuda where this build or machine has none.
  std::string read(const QCommandLineParser& parser) const;
};

// --threads: 0 (the default) means one per physical core.
struct ThreadsOption {
  OptionList options() const;
  int read(const QCommandLineParser& parser) const;
};

// What a command seeds with when --seed is not given.
enum class WithoutSeed {
  zero,
  random,  // a fresh seed, printed by the command
};

// --seed, any 64-bit unsigned value.
struct SeedOption {
  WithoutSeed without = WithoutSeed::zero;
  OptionList options() const;
  // A fresh random seed is below 2^63, so that it also fits signed types.
  uint64_t read(const QCommandLineParser& parser) const;
};

// --width and --height of the pictures drawn.
struct SizeOptions {
  // Without a value, the loaded model's own size (pipeline::Engine::model_defaults), which
  // the help names.
  std::optional<int> defaultValue = 512;
  struct Size {
    int width = 0;  // 0: not given, and no default: the model's
    int height = 0;
  };
  OptionList options() const;
  Size read(const QCommandLineParser& parser) const;
};

// --steps: denoising steps.
struct StepsOption {
  int defaultValue = 25;
  OptionList options() const;
  int read(const QCommandLineParser& parser) const;
};

// --sampler (alias --scheduler).
struct SamplerOption {
  std::string defaultValue = "euler_a";
  OptionList options() const;
  std::string read(const QCommandLineParser& parser) const;  // a known sampler name
};

// --guidance: the classifier-free guidance scale.
struct GuidanceOption {
  // Without a value, the loaded model's own (pipeline::Engine::model_defaults: 5 for SDXL,
  // 7.5 for the others), which the help names.
  std::optional<double> defaultValue = 7.5;
  OptionList options() const;
  // The value given, else the default; nullopt when neither (the model's applies).
  std::optional<double> read(const QCommandLineParser& parser) const;
};

// --step-cache N: the step cache's interval (api::SamplingSettings::step_cache); 1 = off.
struct StepCacheOption {
  OptionList options() const;
  int read(const QCommandLineParser& parser) const;  // 1 or more, else latent::Error
};

// --clip-skip N: the text encoder layer the prompt is read from, as the web UI counts it.
struct ClipSkipOption {
  OptionList options() const;
  int read(const QCommandLineParser& parser) const;  // range checked with the request
};

// --negative: the negative prompt.
struct NegativePromptOption {
  OptionList options() const;
  std::optional<std::string> read(const QCommandLineParser& parser) const;  // empty if not given
};

// --embeddings: a folder of textual-inversion embeddings.
struct EmbeddingsOption {
  OptionList options() const;
  std::string read(const QCommandLineParser& parser) const;  // "" if not given; else it exists
};

// --lora FILE[:MULTIPLIER], repeatable.
struct LoraOption {
  OptionList options() const;
  // Throws latent::Error naming a file that does not exist.
  std::vector<latent::api::LoraSpec> read(const QCommandLineParser& parser) const;
};

// --shapes: a comma-separated list of the shapes dataset's shapes.
struct ShapesOption {
  std::vector<std::string> defaultValue;
  OptionList options() const;
  // The names as given: the dataset refuses one it does not draw, naming it.
  std::vector<std::string> read(const QCommandLineParser& parser) const;
};
