// Opening SDXL models: the base and refiner folders (fp32 files and fp16 variants), the base as
// one single file in Stability's SGM layout, the bundled SDXL configs, and the bundle built
// from them, with one text encoder per encoder of the family.

#include <QJsonArray>
#include <QtTest/QtTest>
#include <functional>
#include <regex>

#include "core/io/checkpoint_keys.h"
#include "core/io/model_files.h"
#include "core/io/open_clip_keys.h"
#include "core/io/safetensors.h"
#include "core/pipeline/model_bundle.h"
#include "core/text/clip_tokenizer.h"
#include "core/util/error.h"
#include "core/util/resources.h"
#include "tests/support/file_tree.h"
#include "tests/support/golden.h"
#include "tests/support/golden_set.h"

using latent::io::ModelFamily;
using latent::io::ModelFiles;
using latent::io::TensorMap;
using latent::io::TextEncoderFiles;
using TensorList = std::vector<std::pair<std::string, torch::Tensor>>;

namespace {

const latent::test::GoldenSet& sdxl_set() {
  static const latent::test::GoldenSet set("sdxl");
  return set;
}

// A path of the set's `models` table ("diffusers_folder", "single_file"), absolute.
std::string model_path(const char* model, const char* field) {
  const QJsonObject models = sdxl_set().index().value("models").toObject();
  return sdxl_set().data_file(models.value(model).toObject().value(field).toString()).toStdString();
}

std::string base_folder() { return model_path("tiny-sdxl", "diffusers_folder"); }
std::string base_single_file() { return model_path("tiny-sdxl", "single_file"); }
std::string refiner_folder() { return model_path("tiny-sdxl-refiner", "diffusers_folder"); }

QStringList names_of(const TensorMap& tensors) {
  QStringList out;
  for (const auto& item : tensors) out << QString::fromStdString(item.first);
  return out;
}

std::vector<std::string> encoder_names(const ModelFiles& model) {
  std::vector<std::string> out;
  for (const auto& encoder : model.text_encoders) out.push_back(encoder.name);
  return out;
}

// Same names, and the same numbers once both are fp32 (the tiny weights are fp16 values, so
// fp32 files, fp16 variants and the fp16 single file hold identical numbers).
void compare_components(const TensorMap& actual, const TensorMap& expected,
                        const std::string& what) {
  QCOMPARE(names_of(actual), names_of(expected));
  for (const auto& [name, tensor] : expected) {
    const auto a = actual.at(name).to(torch::kFloat32);
    const auto e = tensor.to(torch::kFloat32);
    if (a.sizes() != e.sizes() || !torch::equal(a, e))
      QFAIL(qPrintable(QString::fromStdString(what + " tensor " + name + " differs")));
  }
}

// Every component of two openings of the same model: weights, configs and tokenizers.
void compare_models(const ModelFiles& actual, const ModelFiles& expected) {
  QCOMPARE(actual.family, expected.family);
  compare_components(actual.unet, expected.unet, "unet");
  if (QTest::currentTestFailed()) return;
  compare_components(actual.vae, expected.vae, "vae");
  if (QTest::currentTestFailed()) return;
  QCOMPARE(encoder_names(actual), encoder_names(expected));
  for (std::size_t i = 0; i < expected.text_encoders.size(); ++i) {
    const TextEncoderFiles& a = actual.text_encoders[i];
    const TextEncoderFiles& e = expected.text_encoders[i];
    compare_components(a.weights, e.weights, e.name);
    if (QTest::currentTestFailed()) return;
    QCOMPARE(a.config, e.config);
    QCOMPARE(a.tokenizer_dir, e.tokenizer_dir);
  }
  QCOMPARE(actual.unet_config, expected.unet_config);
  QCOMPARE(actual.vae_config, expected.vae_config);
  QCOMPARE(actual.scheduler_config, expected.scheduler_config);
  QCOMPARE(actual.model_index, expected.model_index);
}

TensorList tensors_of(const std::string& path) {
  const latent::io::SafetensorsFile file(path);
  TensorList out;
  for (const auto& info : file.tensors())
    out.emplace_back(info.name, file.tensor(info.name).clone());
  return out;
}

TensorList without(TensorList tensors, const std::string& name) {
  tensors.erase(std::remove_if(tensors.begin(), tensors.end(),
                               [&](const auto& item) { return item.first == name; }),
                tensors.end());
  return tensors;
}

QString error_of(const std::function<void()>& action) {
  try {
    action();
  } catch (const latent::Error& error) {
    return QString::fromUtf8(error.what());
  }
  return {};
}

QJsonObject read_json(const QString& path) {
  QFile file(path);
  if (!file.open(QIODevice::ReadOnly)) return {};
  return QJsonDocument::fromJson(file.readAll()).object();
}

void write_json(const QString& path, const QJsonObject& json) {
  QFile::remove(path);
  QFile file(path);
  QVERIFY(file.open(QIODevice::WriteOnly));
  file.write(QJsonDocument(json).toJson());
}

std::vector<int64_t> ints(const QJsonObject& json, const char* key) {
  std::vector<int64_t> out;
  for (const QJsonValue& v : json.value(key).toArray()) out.push_back(v.toInteger());
  return out;
}

// A diffusers UNet name in Stability's SGM names, written from PORTING-NOTES section 10
// independently of core/io/checkpoint_keys.cpp, so that each checks the other. Two layers
// per level (SDXL's layers_per_block), so level i's layers are blocks 3i+1, 3i+2 (down) and
// 3i..3i+2 (up); `up_attention[i]` says whether up level i has transformers.
std::string sgm_unet_name(const std::string& name, const std::vector<bool>& up_attention) {
  static const std::vector<std::pair<std::string, std::string>> resnet_parts = {
      {"norm1.", "in_layers.0."},          {"conv1.", "in_layers.2."},
      {"time_emb_proj.", "emb_layers.1."}, {"norm2.", "out_layers.0."},
      {"conv2.", "out_layers.3."},         {"conv_shortcut.", "skip_connection."}};
  const auto resnet = [&](const std::string& rest) {
    for (const auto& [from, to] : resnet_parts)
      if (rest.rfind(from, 0) == 0) return to + rest.substr(from.size());
    return "?" + rest;
  };
  const auto number = [](const std::ssub_match& m) { return std::stoi(m.str()); };
  std::smatch m;
  const std::string p = "model.diffusion_model.";
  if (std::regex_match(name, m, std::regex(R"(time_embedding\.linear_([12])\.(.*))")))
    return p + "time_embed." + (m[1] == "1" ? "0." : "2.") + m[2].str();
  if (std::regex_match(name, m, std::regex(R"(add_embedding\.linear_([12])\.(.*))")))
    return p + "label_emb.0." + (m[1] == "1" ? "0." : "2.") + m[2].str();
  if (std::regex_match(name, m, std::regex(R"(conv_in\.(.*))")))
    return p + "input_blocks.0.0." + m[1].str();
  if (std::regex_match(name, m, std::regex(R"(conv_norm_out\.(.*))")))
    return p + "out.0." + m[1].str();
  if (std::regex_match(name, m, std::regex(R"(conv_out\.(.*))"))) return p + "out.2." + m[1].str();
  if (std::regex_match(name, m, std::regex(R"(down_blocks\.(\d+)\.resnets\.(\d+)\.(.*))")))
    return p + "input_blocks." + std::to_string(3 * number(m[1]) + number(m[2]) + 1) + ".0." +
           resnet(m[3]);
  if (std::regex_match(name, m, std::regex(R"(down_blocks\.(\d+)\.attentions\.(\d+)\.(.*))")))
    return p + "input_blocks." + std::to_string(3 * number(m[1]) + number(m[2]) + 1) + ".1." +
           m[3].str();
  if (std::regex_match(name, m, std::regex(R"(down_blocks\.(\d+)\.downsamplers\.0\.conv\.(.*))")))
    return p + "input_blocks." + std::to_string(3 * (number(m[1]) + 1)) + ".0.op." + m[2].str();
  if (std::regex_match(name, m, std::regex(R"(mid_block\.resnets\.([01])\.(.*))")))
    return p + "middle_block." + (m[1] == "0" ? "0." : "2.") + resnet(m[2]);
  if (std::regex_match(name, m, std::regex(R"(mid_block\.attentions\.0\.(.*))")))
    return p + "middle_block.1." + m[1].str();
  if (std::regex_match(name, m, std::regex(R"(up_blocks\.(\d+)\.resnets\.(\d+)\.(.*))")))
    return p + "output_blocks." + std::to_string(3 * number(m[1]) + number(m[2])) + ".0." +
           resnet(m[3]);
  if (std::regex_match(name, m, std::regex(R"(up_blocks\.(\d+)\.attentions\.(\d+)\.(.*))")))
    return p + "output_blocks." + std::to_string(3 * number(m[1]) + number(m[2])) + ".1." +
           m[3].str();
  if (std::regex_match(name, m, std::regex(R"(up_blocks\.(\d+)\.upsamplers\.0\.conv\.(.*))")))
    return p + "output_blocks." + std::to_string(3 * number(m[1]) + 2) +
           (up_attention.at(number(m[1])) ? ".2.conv." : ".1.conv.") + m[2].str();
  return "?" + name;
}

std::vector<bool> up_attention(const QJsonObject& unet_config) {
  std::vector<bool> out;
  for (const QJsonValue& type : unet_config.value("up_block_types").toArray())
    out.push_back(type.toString() == "CrossAttnUpBlock2D");
  return out;
}

// The refiner as one file in the SGM layout of a refiner (no such file is provided): its UNet
// renamed by sgm_unet_name, its VAE and OpenCLIP encoder taken from the base's single file
// (the refiner's are the base's, as in the real repositories), the encoder under
// conditioner.embedders.0.model. as the refiner's only embedder.
TensorList refiner_single_file_tensors() {
  TensorList out;
  const ModelFiles refiner = latent::io::open_model(refiner_folder());
  const auto attention = up_attention(refiner.unet_config);
  for (const auto& [name, tensor] : refiner.unet)
    out.emplace_back(sgm_unet_name(name, attention), tensor.clone());
  const std::string base_encoder = "conditioner.embedders.1.model.";
  for (const auto& [name, tensor] : tensors_of(base_single_file())) {
    if (name.rfind("first_stage_model.", 0) == 0) out.emplace_back(name, tensor);
    if (name.rfind(base_encoder, 0) == 0)
      out.emplace_back("conditioner.embedders.0.model." + name.substr(base_encoder.size()), tensor);
  }
  return out;
}

latent::api::LoadOptions fp32_options(const std::string& path, const std::string& config_dir = "") {
  latent::api::LoadOptions options;
  options.model_path = path;
  options.config_dir = config_dir;
  options.device = "cpu";
  options.dtype = "fp32";
  return options;
}

}  // namespace

class TestSdxlLoading : public QObject {
  Q_OBJECT
 private Q_SLOTS:
  void initTestCase() { torch::set_num_threads(2); }

  void opensTheBaseFolder() {
    const ModelFiles model = latent::io::open_model(base_folder());
    QCOMPARE(model.format, latent::io::ModelFormat::DiffusersFolder);
    QCOMPARE(model.family, ModelFamily::sdxl_base);
    QCOMPARE(encoder_names(model), (std::vector<std::string>{"text_encoder", "text_encoder_2"}));
    const TextEncoderFiles& clip = model.text_encoders[0];
    const TextEncoderFiles& open_clip = model.text_encoders[1];
    QCOMPARE(clip.config.value("hidden_act").toString(), QString("quick_gelu"));
    QCOMPARE(open_clip.config.value("hidden_act").toString(), QString("gelu"));
    QCOMPARE(QString::fromStdString(clip.tokenizer_dir),
             QString::fromStdString(base_folder() + "/tokenizer"));
    QCOMPARE(QString::fromStdString(open_clip.tokenizer_dir),
             QString::fromStdString(base_folder() + "/tokenizer_2"));
    QVERIFY(clip.weights.count("text_model.encoder.layers.3.self_attn.q_proj.weight"));
    QVERIFY(!clip.weights.count("text_projection.weight"));
    QVERIFY(open_clip.weights.count("text_model.encoder.layers.9.mlp.fc2.bias"));
    QCOMPARE(open_clip.weights.at("text_projection.weight").sizes().vec(),
             (std::vector<int64_t>{16, 8}));
    QVERIFY(model.unet.count("add_embedding.linear_1.weight"));
    QCOMPARE(model.unet_config.value("addition_embed_type").toString(), QString("text_time"));
    QCOMPARE(model.scheduler_config.value("timestep_spacing").toString(), QString("leading"));
    QCOMPARE(model.model_index.value("force_zeros_for_empty_prompt").toBool(), true);
    QVERIFY(model.warnings.empty());

    // Both fp32 files and fp16 variants are there: the plain files are read.
    QCOMPARE(model.files.size(), std::size_t{4});
    for (const auto& file : model.files) {
      QVERIFY2(!QString::fromStdString(file->path()).contains(".fp16."), file->path().c_str());
      QCOMPARE(file->tensor(file->tensors().front().name).scalar_type(), torch::kFloat32);
    }
  }

  void opensAFolderWithOnlyTheFp16Variant() {
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const QString copy = dir.filePath("tiny-sdxl");
    QVERIFY(latent::test::copy_tree(QString::fromStdString(base_folder()), copy));
    for (const char* plain :
         {"unet/diffusion_pytorch_model.safetensors", "vae/diffusion_pytorch_model.safetensors",
          "text_encoder/model.safetensors", "text_encoder_2/model.safetensors"})
      QVERIFY(QFile::remove(QDir(copy).filePath(plain)));

    const ModelFiles variant = latent::io::open_model(copy.toStdString());
    QCOMPARE(variant.files.size(), std::size_t{4});
    for (const auto& file : variant.files)
      QVERIFY2(QString::fromStdString(file->path()).endsWith(".fp16.safetensors"),
               file->path().c_str());
    QCOMPARE(variant.unet.at("conv_in.weight").scalar_type(), torch::kFloat16);

    ModelFiles original = latent::io::open_model(base_folder());
    // The tokenizers are the copy's own; everything else must be identical.
    for (std::size_t i = 0; i < original.text_encoders.size(); ++i)
      original.text_encoders[i].tokenizer_dir = variant.text_encoders[i].tokenizer_dir;
    compare_models(variant, original);
  }

  void opensTheRefinerFolder() {
    const ModelFiles model = latent::io::open_model(refiner_folder());
    QCOMPARE(model.family, ModelFamily::sdxl_refiner);
    QCOMPARE(encoder_names(model), (std::vector<std::string>{"text_encoder_2"}));
    QVERIFY(model.text_encoder("text_encoder") == nullptr);
    const TextEncoderFiles* encoder = model.text_encoder("text_encoder_2");
    QVERIFY(encoder != nullptr);
    QCOMPARE(QString::fromStdString(encoder->tokenizer_dir),
             QString::fromStdString(refiner_folder() + "/tokenizer_2"));
    QVERIFY(encoder->weights.count("text_projection.weight"));
    QCOMPARE(model.model_index.value("requires_aesthetics_score").toBool(), true);
    QCOMPARE(model.unet_config.value("projection_class_embeddings_input_dim").toInt(), 56);
    QCOMPARE(model.files.size(), std::size_t{3});
  }

  void singleFileEqualsTheFolder() {
    const ModelFiles folder = latent::io::open_model(base_folder());
    const ModelFiles file = latent::io::open_model(base_single_file(), base_folder());
    QCOMPARE(file.format, latent::io::ModelFormat::SingleFile);
    QCOMPARE(file.family, ModelFamily::sdxl_base);
    QCOMPARE(file.config_source, base_folder());
    QCOMPARE(file.files.size(), std::size_t{1});
    QVERIFY2(file.unmatched_keys.empty(),
             file.unmatched_keys.empty() ? "" : file.unmatched_keys.front().c_str());
    QVERIFY(file.warnings.empty());
    QCOMPARE(file.unet.at("conv_in.weight").scalar_type(), torch::kFloat16);
    compare_models(file, folder);
  }

  // OpenCLIP's fused q/k/v rows and its x @ P projection, on numbered tensors.
  void convertsOpenClipTensors() {
    const int64_t h = 4, p = 6;
    const auto numbered = [](std::vector<int64_t> shape) {
      int64_t n = 1;
      for (int64_t s : shape) n *= s;
      return torch::arange(n, torch::kFloat32).reshape(shape);
    };
    const std::string prefix = "conditioner.embedders.1.model.";
    TensorMap tensors = {
        {prefix + "token_embedding.weight", numbered({10, h})},
        {prefix + "positional_embedding", numbered({77, h})},
        {prefix + "ln_final.weight", numbered({h})},
        {prefix + "ln_final.bias", numbered({h})},
        {prefix + "text_projection", numbered({h, p})},
        {prefix + "logit_scale", torch::ones({})},
        {"conditioner.embedders.0.transformer.text_model.final_layer_norm.bias", numbered({h})},
    };
    const std::string block = prefix + "transformer.resblocks.0.";
    for (const char* part : {"ln_1.weight", "ln_1.bias", "ln_2.weight", "ln_2.bias",
                             "attn.out_proj.bias", "mlp.c_fc.bias", "mlp.c_proj.bias"})
      tensors[block + part] = numbered({h});
    tensors[block + "attn.in_proj_weight"] = numbered({3 * h, h});
    tensors[block + "attn.in_proj_bias"] = numbered({3 * h});
    tensors[block + "attn.out_proj.weight"] = numbered({h, h});
    tensors[block + "mlp.c_fc.weight"] = numbered({4 * h, h});
    tensors[block + "mlp.c_proj.weight"] = numbered({h, 4 * h});
    tensors[block + "mystery.weight"] = numbered({h});
    QJsonObject config{{"num_hidden_layers", 1},
                       {"architectures", QJsonArray{"CLIPTextModelWithProjection"}}};

    const auto converted = latent::io::convert_open_clip_text_encoder(tensors, prefix, config,
                                                                      "test.safetensors", "test");
    const TensorMap& w = converted.weights;
    QCOMPARE(converted.unmatched, std::vector<std::string>{block + "mystery.weight"});
    // 2 embeddings, 2 of the final norm, the projection; the block's 12 tensors with the fused
    // pair split in three each.
    QCOMPARE(w.size(), std::size_t{5 + 16});
    const auto fused = tensors.at(block + "attn.in_proj_weight");
    const std::string attention = "text_model.encoder.layers.0.self_attn.";
    QVERIFY(torch::equal(w.at(attention + "q_proj.weight"), fused.narrow(0, 0, h)));
    QVERIFY(torch::equal(w.at(attention + "k_proj.weight"), fused.narrow(0, h, h)));
    QVERIFY(torch::equal(w.at(attention + "v_proj.weight"), fused.narrow(0, 2 * h, h)));
    QVERIFY(torch::equal(w.at(attention + "v_proj.bias"),
                         tensors.at(block + "attn.in_proj_bias").narrow(0, 2 * h, h)));
    QVERIFY(
        torch::equal(w.at("text_projection.weight"), tensors.at(prefix + "text_projection").t()));
    QVERIFY(torch::equal(w.at("text_model.embeddings.position_embedding.weight"),
                         tensors.at(prefix + "positional_embedding")));
    QVERIFY(w.count("text_model.encoder.layers.0.mlp.fc1.weight") &&
            w.count("text_model.encoder.layers.0.layer_norm2.bias"));
    QVERIFY(w.count("text_model.final_layer_norm.bias") &&
            w.count("text_model.encoder.layers.0.self_attn.out_proj.weight"));

    tensors[block + "attn.in_proj_bias"] = numbered({3 * h + 1});
    const QString message = error_of(
        [&] { latent::io::convert_open_clip_text_encoder(tensors, prefix, config, "x", "y"); });
    QVERIFY2(message.contains("in_proj_bias") && message.contains("multiple of 3"),
             qPrintable(message));
  }

  void translatesSgmUnetKeys_data() {
    QTest::addColumn<QString>("sgm");
    QTest::addColumn<QString>(
        "diffusers");  // "component/name", "" when unmatched, "-" when ignored
    const auto row = [](const char* sgm, const char* diffusers) {
      QTest::newRow(sgm) << QString(sgm) << QString(diffusers);
    };
    row("model.diffusion_model.label_emb.0.0.weight", "unet/add_embedding.linear_1.weight");
    row("model.diffusion_model.label_emb.0.2.bias", "unet/add_embedding.linear_2.bias");
    row("model.diffusion_model.time_embed.2.weight", "unet/time_embedding.linear_2.weight");
    row("model.diffusion_model.input_blocks.2.0.skip_connection.weight",
        "unet/down_blocks.0.resnets.1.conv_shortcut.weight");
    row("model.diffusion_model.input_blocks.3.0.op.weight",
        "unet/down_blocks.0.downsamplers.0.conv.weight");
    row("model.diffusion_model.input_blocks.4.1.proj_in.weight",
        "unet/down_blocks.1.attentions.0.proj_in.weight");
    row("model.diffusion_model.input_blocks.8.1.transformer_blocks.1.attn2.to_k.weight",
        "unet/down_blocks.2.attentions.1.transformer_blocks.1.attn2.to_k.weight");
    row("model.diffusion_model.middle_block.1.transformer_blocks.1.ff.net.2.bias",
        "unet/mid_block.attentions.0.transformer_blocks.1.ff.net.2.bias");
    row("model.diffusion_model.output_blocks.2.2.conv.weight",
        "unet/up_blocks.0.upsamplers.0.conv.weight");
    row("model.diffusion_model.output_blocks.5.2.conv.bias",
        "unet/up_blocks.1.upsamplers.0.conv.bias");
    row("model.diffusion_model.output_blocks.8.0.out_layers.3.weight",
        "unet/up_blocks.2.resnets.2.conv2.weight");
    row("model.diffusion_model.out.2.bias", "unet/conv_out.bias");
    row("first_stage_model.decoder.mid.attn_1.q.weight",
        "vae/decoder.mid_block.attentions.0.to_q.weight");
    row("conditioner.embedders.0.transformer.text_model.encoder.layers.3.mlp.fc1.weight",
        "text_encoder/text_model.encoder.layers.3.mlp.fc1.weight");
    row("conditioner.embedders.0.transformer.text_model.embeddings.position_ids", "-");
    // Not in this layout: a fourth level, an upsampler on the last level, SD 1.x's encoder,
    // the OpenCLIP encoder (converted apart, see convertsOpenClipTensors).
    row("model.diffusion_model.input_blocks.9.0.op.weight", "");
    row("model.diffusion_model.output_blocks.8.2.conv.weight", "");
    row("cond_stage_model.transformer.text_model.final_layer_norm.weight", "");
    row("conditioner.embedders.1.model.ln_final.weight", "");
  }

  void translatesSgmUnetKeys() {
    QFETCH(QString, sgm);
    QFETCH(QString, diffusers);
    const ModelFiles folder = latent::io::open_model(base_folder());
    const latent::io::CheckpointKeyMap map(folder.unet_config, folder.vae_config, "tiny-sdxl",
                                           latent::io::CheckpointLayout::sdxl_base);
    const std::string key = sgm.toStdString();
    if (diffusers == "-") {
      QVERIFY(latent::io::CheckpointKeyMap::is_ignored(key));
      return;
    }
    QVERIFY(!latent::io::CheckpointKeyMap::is_ignored(key));
    const auto target = map.translate(key);
    if (diffusers.isEmpty()) {
      QVERIFY2(!target, target ? target->name.c_str() : "");
      return;
    }
    QVERIFY(target.has_value());
    QCOMPARE(QString(latent::io::component_name(target->component)) + "/" +
                 QString::fromStdString(target->name),
             diffusers);
  }

  // The test's own SGM names for the base's UNet are exactly the single file's keys, so the
  // refiner file built with them below has the layout Stability's files have.
  void sgmNamesOfTheTestMatchTheBaseFile() {
    const ModelFiles folder = latent::io::open_model(base_folder());
    QStringList ours, theirs;
    for (const auto& item : folder.unet)
      ours << QString::fromStdString(sgm_unet_name(item.first, up_attention(folder.unet_config)));
    const latent::io::SafetensorsFile file(base_single_file());
    for (const auto& info : file.tensors())
      if (info.name.rfind("model.diffusion_model.", 0) == 0)
        theirs << QString::fromStdString(info.name);
    ours.sort();
    theirs.sort();
    QCOMPARE(ours, theirs);
  }

  void opensARefinerSingleFile() {
    QTemporaryDir dir;
    const std::string path = dir.filePath("tiny-sdxl-refiner.safetensors").toStdString();
    latent::io::write_safetensors(path, refiner_single_file_tensors());
    const ModelFiles file = latent::io::open_model(path, refiner_folder());
    QCOMPARE(file.family, ModelFamily::sdxl_refiner);
    QVERIFY2(file.unmatched_keys.empty(),
             file.unmatched_keys.empty() ? "" : file.unmatched_keys.front().c_str());
    compare_models(file, latent::io::open_model(refiner_folder()));
  }

  void bundledSdxlConfigs() {
    const QString base = QString::fromStdString(latent::util::resource_path("sdxl_base"));
    const QJsonObject unet = read_json(base + "/unet/config.json");
    QCOMPARE(ints(unet, "block_out_channels"), (std::vector<int64_t>{320, 640, 1280}));
    QCOMPARE(ints(unet, "transformer_layers_per_block"), (std::vector<int64_t>{1, 2, 10}));
    QCOMPARE(ints(unet, "attention_head_dim"), (std::vector<int64_t>{5, 10, 20}));
    QCOMPARE(unet.value("cross_attention_dim").toInt(), 2048);
    QCOMPARE(unet.value("addition_time_embed_dim").toInt(), 256);
    QCOMPARE(unet.value("projection_class_embeddings_input_dim").toInt(), 2816);
    QCOMPARE(unet.value("sample_size").toInt(), 128);
    QCOMPARE(unet.value("use_linear_projection").toBool(), true);
    const QJsonObject open_clip = read_json(base + "/text_encoder_2/config.json");
    QCOMPARE(open_clip.value("hidden_size").toInt(), 1280);
    QCOMPARE(open_clip.value("num_hidden_layers").toInt(), 32);
    QCOMPARE(open_clip.value("num_attention_heads").toInt(), 20);
    QCOMPARE(open_clip.value("intermediate_size").toInt(), 5120);
    QCOMPARE(open_clip.value("projection_dim").toInt(), 1280);
    QCOMPARE(open_clip.value("hidden_act").toString(), QString("gelu"));
    QCOMPARE(read_json(base + "/text_encoder/config.json").value("hidden_size").toInt(), 768);
    const QJsonObject vae = read_json(base + "/vae/config.json");
    QCOMPARE(vae.value("scaling_factor").toDouble(), 0.13025);
    QCOMPARE(vae.value("force_upcast").toBool(), true);
    const QJsonObject scheduler = read_json(base + "/scheduler/scheduler_config.json");
    QCOMPARE(scheduler.value("_class_name").toString(), QString("EulerDiscreteScheduler"));
    QCOMPARE(scheduler.value("timestep_spacing").toString(), QString("leading"));
    QCOMPARE(scheduler.value("steps_offset").toInt(), 1);
    QCOMPARE(scheduler.value("beta_start").toDouble(), 0.00085);
    QCOMPARE(scheduler.value("beta_end").toDouble(), 0.012);
    const QJsonObject refiner = read_json(
        QString::fromStdString(latent::util::resource_path("sdxl_refiner/unet/config.json")));
    QCOMPARE(ints(refiner, "block_out_channels"), (std::vector<int64_t>{384, 768, 1536, 1536}));
    QCOMPARE(refiner.value("projection_class_embeddings_input_dim").toInt(), 2560);
    QCOMPARE(refiner.value("cross_attention_dim").toInt(), 1280);

    // One rule per SDXL base module: UNet 5 + 2 (label_emb) + 12 down + 3 mid + 17 up,
    // VAE 40, text_encoder 1.
    const latent::io::CheckpointKeyMap map(unet, vae, "sdxl_base",
                                           latent::io::CheckpointLayout::sdxl_base);
    QCOMPARE(map.size(), std::size_t{39 + 40 + 1});

    // SDXL's second tokenizer pads with "!" (id 0), the first with <|endoftext|>.
    const auto second =
        latent::text::ClipTokenizer::from_folder(latent::util::resource_path("tokenizer_2"));
    const auto first =
        latent::text::ClipTokenizer::from_folder(latent::util::resource_path("tokenizer"));
    QCOMPARE(second.pad_id(), int64_t{0});
    QCOMPARE(first.pad_id(), int64_t{49407});
    QCOMPARE(second.vocab_size(), first.vocab_size());
  }

  // Without a config folder, the bundled configs of the family the keys show are read. They
  // describe the real SDXL base, whose OpenCLIP encoder has 32 blocks: the tiny file has 10.
  void singleFileUsesBundledSdxlConfigs() {
    const QString message = error_of([&] { latent::io::open_model(base_single_file()); });
    QVERIFY2(
        message.contains("bundled SDXL base configs") && message.contains("32 layers") &&
            message.contains("conditioner.embedders.1.model.transformer.resblocks.10.ln_1.weight"),
        qPrintable(message));

    // Given 22 more blocks (copies of its last), every tensor of the tiny file finds its place
    // in the real layout: layer names do not depend on widths or transformer depths.
    QTemporaryDir dir;
    const std::string path = dir.filePath("tiny-sdxl-32-blocks.safetensors").toStdString();
    TensorList tensors = tensors_of(base_single_file());
    const std::string last = "conditioner.embedders.1.model.transformer.resblocks.9.";
    const TensorList original = tensors;
    for (int block = 10; block < 32; ++block)
      for (const auto& [name, tensor] : original)
        if (name.rfind(last, 0) == 0)
          tensors.emplace_back("conditioner.embedders.1.model.transformer.resblocks." +
                                   std::to_string(block) + "." + name.substr(last.size()),
                               tensor);
    latent::io::write_safetensors(path, tensors);

    const ModelFiles model = latent::io::open_model(path);
    QCOMPARE(model.family, ModelFamily::sdxl_base);
    QVERIFY2(model.config_source.find("bundled SDXL base") != std::string::npos,
             model.config_source.c_str());
    QCOMPARE(model.unet_config.value("cross_attention_dim").toInt(), 2048);
    QCOMPARE(encoder_names(model), (std::vector<std::string>{"text_encoder", "text_encoder_2"}));
    QCOMPARE(model.text_encoders[0].tokenizer_dir, latent::util::resource_path("tokenizer"));
    QCOMPARE(model.text_encoders[1].tokenizer_dir, latent::util::resource_path("tokenizer_2"));
    QCOMPARE(model.model_index.value("force_zeros_for_empty_prompt").toBool(), true);
    QVERIFY2(model.unmatched_keys.empty(),
             model.unmatched_keys.empty() ? "" : model.unmatched_keys.front().c_str());
    const ModelFiles with_configs = latent::io::open_model(base_single_file(), base_folder());
    compare_components(model.unet, with_configs.unet, "unet");
    compare_components(model.vae, with_configs.vae, "vae");
    compare_components(model.text_encoders[0].weights, with_configs.text_encoders[0].weights,
                       "text_encoder");
    QCOMPARE(model.text_encoders[1].weights.size(),
             with_configs.text_encoders[1].weights.size() + 22 * 16);
  }

  void refusesASingleFileWithAKeyMissing_data() {
    QTest::addColumn<QString>("key");
    QTest::newRow("OpenCLIP attention")
        << "conditioner.embedders.1.model.transformer.resblocks.3.attn.in_proj_weight";
    QTest::newRow("OpenCLIP projection") << "conditioner.embedders.1.model.text_projection";
  }

  void refusesASingleFileWithAKeyMissing() {
    QFETCH(QString, key);
    QTemporaryDir dir;
    const std::string path = dir.filePath("incomplete.safetensors").toStdString();
    latent::io::write_safetensors(path, without(tensors_of(base_single_file()), key.toStdString()));
    const QString message = error_of([&] { latent::io::open_model(path, base_folder()); });
    QVERIFY2(message.contains(QString::fromStdString(path)), qPrintable(message));
    QVERIFY2(message.contains(key), qPrintable(message));
  }

  void refusesConfigsOfAnotherFamily_data() {
    QTest::addColumn<QString>("model");
    QTest::addColumn<QString>("configs");  // under tests/data
    QTest::addColumn<QStringList>("expected");
    QTest::newRow("SDXL file, SD 1.x configs")
        << "sdxl/tiny-sdxl.safetensors"
        << "tiny-sd" << QStringList{"is an SDXL base checkpoint", "Stable Diffusion 1.x"};
    QTest::newRow("SD 1.x file, SDXL configs")
        << "tiny-sd.safetensors"
        << "sdxl/tiny-sdxl" << QStringList{"is a Stable Diffusion 1.x checkpoint", "SDXL base"};
    QTest::newRow("SDXL file, refiner configs")
        << "sdxl/tiny-sdxl.safetensors"
        << "sdxl/tiny-sdxl-refiner" << QStringList{"text_encoder/config.json"};
  }

  void refusesConfigsOfAnotherFamily() {
    QFETCH(QString, model);
    QFETCH(QString, configs);
    QFETCH(QStringList, expected);
    const QString message = error_of([&] {
      latent::io::open_model(latent::test::data_path(model).toStdString(),
                             latent::test::data_path(configs).toStdString());
    });
    QVERIFY2(!message.isEmpty(), "opened without an error");
    for (const QString& phrase : expected)
      QVERIFY2(message.contains(phrase), qPrintable(message + "\n  lacks: " + phrase));
  }

  void refusesInconsistentFolders_data() {
    QTest::addColumn<QString>("breakage");
    QTest::addColumn<QStringList>("expected");
    QTest::newRow("base without text_encoder_2")
        << "no text_encoder_2"
        << QStringList{"SDXL base", "text_encoder and text_encoder_2", "text_encoder alone"};
    QTest::newRow("refiner without the aesthetic score")
        << "no aesthetic score" << QStringList{"requires_aesthetics_score", "SDXL refiner"};
    QTest::newRow("refiner with a base UNet")
        << "base unet" << QStringList{"projection_class_embeddings_input_dim", "64", "56"};
  }

  void refusesInconsistentFolders() {
    QFETCH(QString, breakage);
    QFETCH(QStringList, expected);
    QTemporaryDir dir;
    const QString copy = dir.filePath("model");
    const bool refiner = breakage != "no text_encoder_2";
    QVERIFY(latent::test::copy_tree(QString::fromStdString(refiner ? refiner_folder() : base_folder()), copy));
    QJsonObject index = read_json(copy + "/model_index.json");
    if (breakage == "no text_encoder_2")
      index["text_encoder_2"] = QJsonArray{QJsonValue(), QJsonValue()};
    if (breakage == "no aesthetic score") index["requires_aesthetics_score"] = false;
    write_json(copy + "/model_index.json", index);
    if (breakage == "base unet") {
      QFile::remove(copy + "/unet/config.json");
      QVERIFY(QFile::copy(QString::fromStdString(base_folder() + "/unet/config.json"),
                          copy + "/unet/config.json"));
    }
    const QString message = error_of([&] { latent::io::open_model(copy.toStdString()); });
    QVERIFY2(message.contains(copy), qPrintable(message));
    for (const QString& phrase : expected)
      QVERIFY2(message.contains(phrase), qPrintable(message + "\n  lacks: " + phrase));
  }

  void sd1ModelsOpenAsBefore() {
    const ModelFiles folder =
        latent::io::open_model(latent::test::data_path("tiny-sd").toStdString());
    QCOMPARE(folder.family, ModelFamily::sd1);
    QCOMPARE(encoder_names(folder), std::vector<std::string>{"text_encoder"});
    QVERIFY(folder.text_encoders[0].weights.count("text_model.final_layer_norm.weight"));
    const ModelFiles file =
        latent::io::open_model(latent::test::data_path("tiny-sd.safetensors").toStdString(),
                               latent::test::data_path("tiny-sd").toStdString());
    QCOMPARE(file.family, ModelFamily::sd1);
    QVERIFY(file.unmatched_keys.empty());
    compare_models(file, folder);
    const ModelFiles bundled =
        latent::io::open_model(latent::test::data_path("tiny-sd-full.safetensors").toStdString());
    QVERIFY2(bundled.config_source.find("bundled Stable Diffusion 1.5") != std::string::npos,
             bundled.config_source.c_str());
    QCOMPARE(encoder_names(bundled), std::vector<std::string>{"text_encoder"});
  }

  // The bundle builds one text encoder per encoder of the family, each with its tokenizer.
  void bundleHasEveryTextEncoder_data() {
    QTest::addColumn<bool>("single_file");
    QTest::newRow("folder") << false;
    QTest::newRow("single file") << true;
  }

  void bundleHasEveryTextEncoder() {
    QFETCH(bool, single_file);
    const auto bundle = latent::pipeline::load_model_bundle(
        single_file ? fp32_options(base_single_file(), base_folder())
                    : fp32_options(base_folder()));
    QCOMPARE(bundle->family, ModelFamily::sdxl_base);
    QCOMPARE(bundle->text_encoders.size(), std::size_t{2});
    QCOMPARE(bundle->text_encoders[0].name, std::string("text_encoder"));
    QCOMPARE(bundle->text_encoders[1].name, std::string("text_encoder_2"));
    QCOMPARE(bundle->text_encoders[0].tokenizer->pad_id(), int64_t{49407});
    QCOMPARE(bundle->text_encoders[1].tokenizer->pad_id(), int64_t{0});
    QCOMPARE(bundle->text_encoders[1].model->config().hidden_size, int64_t{8});
    // model_index.json's switches (the single file's come from its config folder).
    QCOMPARE(bundle->force_zeros_for_empty_prompt, true);
    QCOMPARE(bundle->requires_aesthetics_score, false);

    // The loaded weights are the folder's, also where the single file fused or transposed them.
    const ModelFiles folder = latent::io::open_model(base_folder());
    const TensorMap& expected = folder.text_encoders[1].weights;
    for (const auto& item : bundle->text_encoders[1].model->named_parameters()) {
      const auto want = expected.find(item.key());
      QVERIFY2(want != expected.end(), item.key().c_str());
      QVERIFY2(torch::equal(item.value(), want->second), item.key().c_str());
    }
  }

  void refinerBundleHasItsOneTextEncoder() {
    const auto bundle = latent::pipeline::load_model_bundle(fp32_options(refiner_folder()));
    QCOMPARE(bundle->family, ModelFamily::sdxl_refiner);
    QCOMPARE(bundle->text_encoders.size(), std::size_t{1});
    QCOMPARE(bundle->text_encoders[0].name, std::string("text_encoder_2"));
    QCOMPARE(bundle->text_encoders[0].tokenizer->pad_id(), int64_t{0});
    QCOMPARE(bundle->force_zeros_for_empty_prompt, false);
    QCOMPARE(bundle->requires_aesthetics_score, true);
  }

  void sd1BundleHasNoSdxlSwitches() {
    const auto bundle = latent::pipeline::load_model_bundle(
        fp32_options(latent::test::data_path("tiny-sd").toStdString()));
    QCOMPARE(bundle->family, ModelFamily::sd1);
    QCOMPARE(bundle->text_encoders.size(), std::size_t{1});
    QCOMPARE(bundle->force_zeros_for_empty_prompt, false);
    QCOMPARE(bundle->requires_aesthetics_score, false);
  }

  void refusesABundleWithAUnetKeyMissing() {
    QTemporaryDir dir;
    const std::string path = dir.filePath("incomplete.safetensors").toStdString();
    latent::io::write_safetensors(
        path, without(tensors_of(base_single_file()), "model.diffusion_model.out.2.bias"));
    const QString message =
        error_of([&] { latent::pipeline::load_model_bundle(fp32_options(path, base_folder())); });
    QVERIFY2(message.contains(QString::fromStdString(path)), qPrintable(message));
    QVERIFY2(message.contains("conv_out.bias"), qPrintable(message));
  }
};

QTEST_GUILESS_MAIN(TestSdxlLoading)
#include "tst_sdxl_loading.moc"
