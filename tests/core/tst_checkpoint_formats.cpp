#include <QJsonArray>
#include <QtTest/QtTest>

#include "core/io/checkpoint_keys.h"
#include "core/io/model_files.h"
#include "core/io/safetensors.h"
#include "core/util/error.h"
#include "core/util/resources.h"
#include "tests/support/file_tree.h"
#include "tests/support/golden.h"

using latent::io::ModelFiles;
using latent::io::TensorMap;

namespace {

std::string data(const char* relative) { return latent::test::data_path(relative).toStdString(); }

QStringList names_of(const TensorMap& tensors) {
  QStringList out;
  for (const auto& item : tensors) out << QString::fromStdString(item.first);
  return out;
}

// Same names, and the same numbers once both are fp32.
void compare_components(const TensorMap& actual, const TensorMap& expected, const char* what) {
  QCOMPARE(names_of(actual), names_of(expected));
  for (const auto& [name, tensor] : expected) {
    const auto a = actual.at(name).to(torch::kFloat32);
    const auto e = tensor.to(torch::kFloat32);
    if (a.sizes() != e.sizes() || !torch::equal(a, e))
      QFAIL(qPrintable(QString("%1 tensor %2 differs").arg(what, QString::fromStdString(name))));
  }
}

// Copies a folder tree.
std::vector<int64_t> ints(const QJsonObject& json, const char* key) {
  std::vector<int64_t> out;
  for (const QJsonValue& v : json.value(key).toArray()) out.push_back(v.toInteger());
  return out;
}

}  // namespace

class TestCheckpointFormats : public QObject {
  Q_OBJECT
 private Q_SLOTS:
  void initTestCase();
  void singleFileMatchesFolder_data();
  void singleFileMatchesFolder();
  void folderHoldsConfigsAndFiles();
  void fp16VariantFallback();
  void legacyVaeAttentionNames();
  void unmatchedKeysAreReported();
  void bundledSd15Configs();
  void singleFileUsesBundledConfigs();
  void translatesSd15Keys_data();
  void translatesSd15Keys();
};

void TestCheckpointFormats::initTestCase() { torch::set_num_threads(2); }

void TestCheckpointFormats::singleFileMatchesFolder_data() {
  QTest::addColumn<QString>("folder");
  QTest::addColumn<QString>("single");
  QTest::newRow("tiny-sd") << "tiny-sd"
                           << "tiny-sd.safetensors";
  QTest::newRow("tiny-sd-full") << "tiny-sd-full"
                                << "tiny-sd-full.safetensors";
}

void TestCheckpointFormats::singleFileMatchesFolder() {
  QFETCH(QString, folder);
  QFETCH(QString, single);
  const std::string folder_path = latent::test::data_path(folder).toStdString();
  const ModelFiles from_folder = latent::io::open_model(folder_path);
  const ModelFiles from_file =
      latent::io::open_model(latent::test::data_path(single).toStdString(), folder_path);

  QCOMPARE(from_folder.format, latent::io::ModelFormat::DiffusersFolder);
  QCOMPARE(from_file.format, latent::io::ModelFormat::SingleFile);
  QVERIFY2(from_file.unmatched_keys.empty(),
           from_file.unmatched_keys.empty() ? "" : from_file.unmatched_keys.front().c_str());
  QVERIFY(from_file.warnings.empty());
  QCOMPARE(from_file.config_source, folder_path);
  QCOMPARE(from_file.files.size(), std::size_t{1});
  QCOMPARE(from_file.text_encoders.size(), std::size_t{1});
  QVERIFY(!from_file.unet.empty() && !from_file.vae.empty() &&
          !from_file.text_encoders.at(0).weights.empty());

  compare_components(from_file.unet, from_folder.unet, "unet");
  compare_components(from_file.vae, from_folder.vae, "vae");
  compare_components(from_file.text_encoders.at(0).weights, from_folder.text_encoders.at(0).weights,
                     "text_encoder");
  QCOMPARE(from_file.unet_config, from_folder.unet_config);
  QCOMPARE(from_file.scheduler_config, from_folder.scheduler_config);
  // The config folder brings its own tokenizer.
  QCOMPARE(from_file.text_encoders.at(0).tokenizer_dir,
           from_folder.text_encoders.at(0).tokenizer_dir);
}

void TestCheckpointFormats::folderHoldsConfigsAndFiles() {
  const ModelFiles model = latent::io::open_model(data("tiny-sd"));
  QCOMPARE(ints(model.unet_config, "block_out_channels"), (std::vector<int64_t>{32, 64}));
  QCOMPARE(model.vae_config.value("scaling_factor").toDouble(), 0.18215);
  QCOMPARE(model.family, latent::io::ModelFamily::sd1);
  QCOMPARE(model.text_encoders.size(), std::size_t{1});
  const latent::io::TextEncoderFiles& encoder = model.text_encoders.at(0);
  QCOMPARE(encoder.name, std::string("text_encoder"));
  QCOMPARE(encoder.config.value("num_hidden_layers").toInt(), 5);
  QCOMPARE(model.scheduler_config.value("_class_name").toString(), QString("PNDMScheduler"));
  QVERIFY(QFileInfo(QString::fromStdString(encoder.tokenizer_dir) + "/vocab.json").isFile());
  QCOMPARE(model.files.size(), std::size_t{3});
  QVERIFY(model.unchanged_on_disk());
  QVERIFY(model.unet.count("down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_k.weight"));
  QVERIFY(model.vae.count("decoder.mid_block.attentions.0.to_q.weight"));
  QVERIFY(encoder.weights.count("text_model.final_layer_norm.weight"));
  // The same folder named by its model_index.json.
  const ModelFiles again = latent::io::open_model(data("tiny-sd/model_index.json"));
  QCOMPARE(names_of(again.unet), names_of(model.unet));
}

void TestCheckpointFormats::fp16VariantFallback() {
  QTemporaryDir dir;
  QVERIFY(dir.isValid());
  const QString copy = dir.filePath("model");
  QVERIFY(latent::test::copy_tree(latent::test::data_path("tiny-sd"), copy));
  QVERIFY(QFile::rename(copy + "/unet/diffusion_pytorch_model.safetensors",
                        copy + "/unet/diffusion_pytorch_model.fp16.safetensors"));
  QVERIFY(QFile::rename(copy + "/text_encoder/model.safetensors",
                        copy + "/text_encoder/model.fp16.safetensors"));
  const ModelFiles original = latent::io::open_model(data("tiny-sd"));
  const ModelFiles variant = latent::io::open_model(copy.toStdString());
  compare_components(variant.unet, original.unet, "unet");
  compare_components(variant.text_encoders.at(0).weights, original.text_encoders.at(0).weights,
                     "text_encoder");
  QStringList paths;
  for (const auto& f : variant.files) paths << QString::fromStdString(f->path());
  QVERIFY2(paths.filter("diffusion_pytorch_model.fp16.safetensors").size() == 1,
           qPrintable(paths.join(", ")));
  QVERIFY2(paths.filter("model.fp16.safetensors").size() == 2, qPrintable(paths.join(", ")));

  // With both present the plain file wins.
  QVERIFY(QFile::copy(latent::test::data_path("tiny-sd/unet/diffusion_pytorch_model.safetensors"),
                      copy + "/unet/diffusion_pytorch_model.safetensors"));
  const ModelFiles both = latent::io::open_model(copy.toStdString());
  QVERIFY(QString::fromStdString(both.files.front()->path())
              .endsWith("unet/diffusion_pytorch_model.safetensors"));

  // Replacing a file on disk is noticed.
  QVERIFY(both.unchanged_on_disk());
  QVERIFY(QFile::remove(copy + "/unet/diffusion_pytorch_model.safetensors"));
  QVERIFY(
      QFile::copy(latent::test::data_path("tiny-sd-full/unet/diffusion_pytorch_model.safetensors"),
                  copy + "/unet/diffusion_pytorch_model.safetensors"));
  QVERIFY(!both.unchanged_on_disk());
}

void TestCheckpointFormats::legacyVaeAttentionNames() {
  // diffusers folders saved before 0.14 call the VAE attention query/key/value/proj_attn.
  QTemporaryDir dir;
  const QString copy = dir.filePath("model");
  QVERIFY(latent::test::copy_tree(latent::test::data_path("tiny-sd"), copy));
  const std::string vae_path = (copy + "/vae/diffusion_pytorch_model.safetensors").toStdString();
  std::vector<std::pair<std::string, torch::Tensor>> legacy;
  {
    const latent::io::SafetensorsFile vae(vae_path);
    for (const auto& info : vae.tensors()) {
      std::string name = info.name;
      for (const auto& [from, to] :
           std::vector<std::pair<std::string, std::string>>{{".to_q.", ".query."},
                                                            {".to_k.", ".key."},
                                                            {".to_v.", ".value."},
                                                            {".to_out.0.", ".proj_attn."}}) {
        const auto at = name.find(from);
        if (at != std::string::npos) name.replace(at, from.size(), to);
      }
      legacy.emplace_back(name, vae.tensor(info.name).clone());
    }
  }
  latent::io::write_safetensors(vae_path, legacy);
  QVERIFY(latent::io::SafetensorsFile(vae_path).contains(
      "encoder.mid_block.attentions.0.query.weight"));
  const ModelFiles original = latent::io::open_model(data("tiny-sd"));
  const ModelFiles renamed = latent::io::open_model(copy.toStdString());
  compare_components(renamed.vae, original.vae, "vae");
}

void TestCheckpointFormats::unmatchedKeysAreReported() {
  QTemporaryDir dir;
  const std::string path = dir.filePath("extra.safetensors").toStdString();
  std::vector<std::pair<std::string, torch::Tensor>> tensors;
  {
    const latent::io::SafetensorsFile original(data("tiny-sd.safetensors"));
    for (const auto& info : original.tensors())
      tensors.emplace_back(info.name, original.tensor(info.name).clone());
  }
  tensors.emplace_back("model.diffusion_model.unknown_block.weight", torch::zeros({2}));
  tensors.emplace_back("first_stage_model.decoder.up.0.block.0.mystery.weight", torch::zeros({2}));
  // Keys real checkpoints carry that are accepted and dropped without a warning.
  tensors.emplace_back("cond_stage_model.transformer.text_model.embeddings.position_ids",
                       torch::arange(77, torch::kInt64).unsqueeze(0));
  tensors.emplace_back("model_ema.decay", torch::tensor(0.9999));
  tensors.emplace_back("alphas_cumprod", torch::ones({1000}));
  latent::io::write_safetensors(path, tensors);

  const ModelFiles model = latent::io::open_model(path, data("tiny-sd"));
  QCOMPARE(model.unmatched_keys,
           (std::vector<std::string>{"first_stage_model.decoder.up.0.block.0.mystery.weight",
                                     "model.diffusion_model.unknown_block.weight"}));
  QCOMPARE(model.warnings.size(), std::size_t{1});
  QVERIFY(model.warnings.front().find("2 tensors") != std::string::npos);
  QVERIFY(model.warnings.front().find("unknown_block") != std::string::npos);
  QVERIFY(!model.text_encoders.at(0).weights.count("text_model.embeddings.position_ids"));
  const ModelFiles reference = latent::io::open_model(data("tiny-sd"));
  compare_components(model.text_encoders.at(0).weights, reference.text_encoders.at(0).weights,
                     "text_encoder");
}

void TestCheckpointFormats::bundledSd15Configs() {
  const QString sd15 = QString::fromStdString(latent::util::resource_path("sd15"));
  const auto read = [&](const char* rel) {
    QFile file(sd15 + "/" + rel);
    if (!file.open(QIODevice::ReadOnly)) return QJsonObject();
    return QJsonDocument::fromJson(file.readAll()).object();
  };
  const QJsonObject unet = read("unet/config.json");
  const QJsonObject vae = read("vae/config.json");
  const QJsonObject clip = read("text_encoder/config.json");
  const QJsonObject scheduler = read("scheduler/scheduler_config.json");
  const QJsonObject index = read("model_index.json");
  QCOMPARE(ints(unet, "block_out_channels"), (std::vector<int64_t>{320, 640, 1280, 1280}));
  QCOMPARE(unet.value("cross_attention_dim").toInt(), 768);
  QCOMPARE(unet.value("attention_head_dim").toInt(), 8);
  QCOMPARE(unet.value("layers_per_block").toInt(), 2);
  QCOMPARE(unet.value("in_channels").toInt(), 4);
  QCOMPARE(unet.value("sample_size").toInt(), 64);
  QCOMPARE(unet.value("down_block_types").toArray().first().toString(),
           QString("CrossAttnDownBlock2D"));
  QCOMPARE(unet.value("down_block_types").toArray().last().toString(), QString("DownBlock2D"));
  QCOMPARE(unet.value("up_block_types").toArray().first().toString(), QString("UpBlock2D"));
  QCOMPARE(clip.value("hidden_size").toInt(), 768);
  QCOMPARE(clip.value("num_hidden_layers").toInt(), 12);
  QCOMPARE(clip.value("num_attention_heads").toInt(), 12);
  QCOMPARE(clip.value("intermediate_size").toInt(), 3072);
  QCOMPARE(clip.value("hidden_act").toString(), QString("quick_gelu"));
  QCOMPARE(ints(vae, "block_out_channels"), (std::vector<int64_t>{128, 256, 512, 512}));
  QCOMPARE(vae.value("layers_per_block").toInt(), 2);
  QCOMPARE(vae.value("latent_channels").toInt(), 4);
  QCOMPARE(vae.value("scaling_factor").toDouble(), 0.18215);
  QCOMPARE(scheduler.value("_class_name").toString(), QString("PNDMScheduler"));
  QCOMPARE(scheduler.value("beta_start").toDouble(), 0.00085);
  QCOMPARE(scheduler.value("beta_end").toDouble(), 0.012);
  QCOMPARE(scheduler.value("beta_schedule").toString(), QString("scaled_linear"));
  QCOMPARE(scheduler.value("steps_offset").toInt(), 1);
  QCOMPARE(index.value("_class_name").toString(), QString("StableDiffusionPipeline"));
  // One rule per SD 1.5 module: UNet 5 + 17 down + 3 mid + 24 up, VAE 40, text encoder 4.
  const latent::io::CheckpointKeyMap map(unet, vae, "sd15");
  QCOMPARE(map.size(), std::size_t{49 + 40 + 4});
}

void TestCheckpointFormats::singleFileUsesBundledConfigs() {
  const ModelFiles model = latent::io::open_model(data("tiny-sd-full.safetensors"));
  QVERIFY(model.config_source.find("bundled") != std::string::npos);
  QCOMPARE(ints(model.unet_config, "block_out_channels"),
           (std::vector<int64_t>{320, 640, 1280, 1280}));
  QCOMPARE(model.family, latent::io::ModelFamily::sd1);
  QCOMPARE(model.text_encoders.at(0).tokenizer_dir, latent::util::resource_path("tokenizer"));
  // tiny-sd-full has the SD 1.5 arrangement, so every key finds its place.
  QVERIFY(model.unmatched_keys.empty());
  const ModelFiles folder = latent::io::open_model(data("tiny-sd-full"));
  compare_components(model.unet, folder.unet, "unet");
  compare_components(model.vae, folder.vae, "vae");
}

void TestCheckpointFormats::translatesSd15Keys_data() {
  QTest::addColumn<QString>("ldm");
  QTest::addColumn<QString>(
      "diffusers");  // "component/name", or "" when unmatched, "-" when ignored
  const auto row = [](const char* ldm, const char* diffusers) {
    QTest::newRow(ldm) << QString(ldm) << QString(diffusers);
  };
  row("model.diffusion_model.time_embed.0.weight", "unet/time_embedding.linear_1.weight");
  row("model.diffusion_model.time_embed.2.bias", "unet/time_embedding.linear_2.bias");
  row("model.diffusion_model.input_blocks.0.0.weight", "unet/conv_in.weight");
  row("model.diffusion_model.input_blocks.1.0.in_layers.0.weight",
      "unet/down_blocks.0.resnets.0.norm1.weight");
  row("model.diffusion_model.input_blocks.2.0.emb_layers.1.bias",
      "unet/down_blocks.0.resnets.1.time_emb_proj.bias");
  row("model.diffusion_model.input_blocks.2.1.transformer_blocks.0.attn1.to_q.weight",
      "unet/down_blocks.0.attentions.1.transformer_blocks.0.attn1.to_q.weight");
  row("model.diffusion_model.input_blocks.3.0.op.weight",
      "unet/down_blocks.0.downsamplers.0.conv.weight");
  row("model.diffusion_model.input_blocks.4.0.skip_connection.weight",
      "unet/down_blocks.1.resnets.0.conv_shortcut.weight");
  row("model.diffusion_model.input_blocks.6.0.op.bias",
      "unet/down_blocks.1.downsamplers.0.conv.bias");
  row("model.diffusion_model.input_blocks.7.1.proj_in.weight",
      "unet/down_blocks.2.attentions.0.proj_in.weight");
  row("model.diffusion_model.input_blocks.9.0.op.weight",
      "unet/down_blocks.2.downsamplers.0.conv.weight");
  row("model.diffusion_model.input_blocks.11.0.out_layers.3.weight",
      "unet/down_blocks.3.resnets.1.conv2.weight");
  row("model.diffusion_model.middle_block.0.in_layers.2.weight",
      "unet/mid_block.resnets.0.conv1.weight");
  row("model.diffusion_model.middle_block.1.norm.weight",
      "unet/mid_block.attentions.0.norm.weight");
  row("model.diffusion_model.middle_block.2.out_layers.0.bias",
      "unet/mid_block.resnets.1.norm2.bias");
  row("model.diffusion_model.output_blocks.0.0.skip_connection.weight",
      "unet/up_blocks.0.resnets.0.conv_shortcut.weight");
  row("model.diffusion_model.output_blocks.2.1.conv.weight",
      "unet/up_blocks.0.upsamplers.0.conv.weight");
  row("model.diffusion_model.output_blocks.3.1.transformer_blocks.0.ff.net.0.proj.weight",
      "unet/up_blocks.1.attentions.0.transformer_blocks.0.ff.net.0.proj.weight");
  row("model.diffusion_model.output_blocks.5.2.conv.bias",
      "unet/up_blocks.1.upsamplers.0.conv.bias");
  row("model.diffusion_model.output_blocks.8.2.conv.weight",
      "unet/up_blocks.2.upsamplers.0.conv.weight");
  row("model.diffusion_model.output_blocks.11.1.proj_out.weight",
      "unet/up_blocks.3.attentions.2.proj_out.weight");
  row("model.diffusion_model.out.0.weight", "unet/conv_norm_out.weight");
  row("model.diffusion_model.out.2.bias", "unet/conv_out.bias");
  row("first_stage_model.encoder.down.1.block.0.nin_shortcut.weight",
      "vae/encoder.down_blocks.1.resnets.0.conv_shortcut.weight");
  row("first_stage_model.encoder.down.3.block.1.conv2.weight",
      "vae/encoder.down_blocks.3.resnets.1.conv2.weight");
  row("first_stage_model.encoder.down.2.downsample.conv.weight",
      "vae/encoder.down_blocks.2.downsamplers.0.conv.weight");
  row("first_stage_model.encoder.mid.attn_1.q.weight",
      "vae/encoder.mid_block.attentions.0.to_q.weight");
  row("first_stage_model.encoder.mid.attn_1.norm.bias",
      "vae/encoder.mid_block.attentions.0.group_norm.bias");
  row("first_stage_model.encoder.mid.block_2.norm1.weight",
      "vae/encoder.mid_block.resnets.1.norm1.weight");
  row("first_stage_model.encoder.norm_out.weight", "vae/encoder.conv_norm_out.weight");
  row("first_stage_model.decoder.mid.attn_1.proj_out.bias",
      "vae/decoder.mid_block.attentions.0.to_out.0.bias");
  row("first_stage_model.decoder.up.3.block.2.conv1.weight",
      "vae/decoder.up_blocks.0.resnets.2.conv1.weight");
  row("first_stage_model.decoder.up.3.upsample.conv.weight",
      "vae/decoder.up_blocks.0.upsamplers.0.conv.weight");
  row("first_stage_model.decoder.up.1.block.0.nin_shortcut.bias",
      "vae/decoder.up_blocks.2.resnets.0.conv_shortcut.bias");
  row("first_stage_model.decoder.up.0.block.0.nin_shortcut.weight",
      "vae/decoder.up_blocks.3.resnets.0.conv_shortcut.weight");
  row("first_stage_model.quant_conv.weight", "vae/quant_conv.weight");
  row("first_stage_model.post_quant_conv.bias", "vae/post_quant_conv.bias");
  row("cond_stage_model.transformer.text_model.encoder.layers.11.mlp.fc2.weight",
      "text_encoder/text_model.encoder.layers.11.mlp.fc2.weight");
  row("cond_stage_model.transformer.embeddings.token_embedding.weight",
      "text_encoder/text_model.embeddings.token_embedding.weight");
  row("cond_stage_model.transformer.text_model.embeddings.position_ids", "-");
  row("model_ema.diffusion_modelinput_blocks00weight", "-");
  row("alphas_cumprod", "-");
  // No SD 1.5 layer has these.
  row("model.diffusion_model.input_blocks.12.0.in_layers.0.weight", "");
  row("model.diffusion_model.output_blocks.2.2.conv.weight", "");
  row("model.diffusion_model.input_blocks.1.0.in_layers.1.weight", "");
  row("first_stage_model.decoder.up.0.upsample.conv.weight", "");
  row("first_stage_model.encoder.mid.attn_1.qkv.weight", "");
  row("model.diffusion_model.label_emb.0.0.weight", "");
  row("cond_stage_model.model.transformer.resblocks.0.ln_1.weight", "");
}

void TestCheckpointFormats::translatesSd15Keys() {
  QFETCH(QString, ldm);
  QFETCH(QString, diffusers);
  const auto read = [](const char* rel) {
    QFile file(QString::fromStdString(latent::util::resource_path("sd15/")) + rel);
    file.open(QIODevice::ReadOnly);
    return QJsonDocument::fromJson(file.readAll()).object();
  };
  const latent::io::CheckpointKeyMap map(read("unet/config.json"), read("vae/config.json"), "sd15");
  const std::string key = ldm.toStdString();
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
  const bool attention_weight =
      ldm.contains("attn_1.") && ldm.endsWith(".weight") && !ldm.contains(".norm.");
  QCOMPARE(target->conv_to_linear, attention_weight);
}

QTEST_GUILESS_MAIN(TestCheckpointFormats)
#include "tst_checkpoint_formats.moc"
