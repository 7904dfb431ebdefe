#include <QtTest/QtTest>

#include <QTemporaryDir>

#include "core/image/parameters_text.h"
#include "core/image/settings_json.h"
#include "core/io/checkpoint_keys.h"
#include "core/io/lora_keys.h"
#include "core/io/safetensors.h"
#include "core/io/state_dict.h"
#include "core/models/lora.h"
#include "core/pipeline/engine.h"
#include "core/pipeline/lora_set.h"
#include "core/pipeline/model_bundle.h"
#include "core/pipeline/text_to_image.h"
#include "core/text/lora_prompt.h"
#include "core/util/error.h"
#include "tests/support/golden.h"
#include "tests/support/error_message.h"
#include "tests/support/model_weights.h"
#include "tests/support/image_compare.h"

using namespace latent;
using latent::test::golden_tensor;

namespace {

using test::changed;
using test::snapshot;
using test::write_lora;

using Tensors = std::vector<std::pair<std::string, torch::Tensor>>;

std::string lora_path(const QString& layout) {
  static const std::map<QString, QString> files = {
      {"kohya", "lora/tiny-sd-lora-kohya.safetensors"},
      {"diffusers", "lora/tiny-sd-lora-diffusers.safetensors"},
      {"peft_baked", "lora/tiny-sd-lora-peft-baked.safetensors"}};
  return test::data_path(files.at(layout)).toStdString();
}

std::unique_ptr<pipeline::ModelBundle> load_bundle(const QString& model, const std::string& dtype = "fp32") {
  latent::api::LoadOptions options;
  options.model_path = test::data_path(model).toStdString();
  options.dtype = dtype;
  options.device = test::test_device();
  return pipeline::load_model_bundle(options);
}

// One shared fp32 bundle per model; every test leaves its weights as it found them.
pipeline::ModelBundle& shared_bundle(const QString& model) {
  static std::map<QString, std::unique_ptr<pipeline::ModelBundle>> cache;
  auto& slot = cache[model];
  if (!slot) slot = load_bundle(model);
  return *slot;
}

Tensors read_all(const std::string& path) {
  const io::SafetensorsFile file(path);
  Tensors out;
  for (const auto& info : file.tensors()) out.emplace_back(info.name, file.tensor(info.name).clone());
  return out;
}

torch::Tensor unet_output(pipeline::ModelBundle& model, const QString& id) {
  torch::InferenceMode guard;
  return model.unet->forward(golden_tensor(id + "/sample.npy"), torch::tensor(500.0),
                             golden_tensor(id + "/encoder_hidden_states.npy"));
}

torch::Tensor text_output(pipeline::ModelBundle& model, const QString& id) {
  torch::InferenceMode guard;
  return model.text_encoder()->forward(golden_tensor(id + "/input_ids.npy"));
}

// The kohya file with original-checkpoint UNet names (lora_unet_input_blocks_1_1_…), made
// by inverting the single-file table on the tiny model's own single-file checkpoint.
Tensors with_original_unet_names(const Tensors& kohya, pipeline::ModelBundle& model) {
  const io::SafetensorsFile checkpoint(test::data_path("tiny-sd.safetensors").toStdString());
  const io::CheckpointKeyMap map(models::unet_layout_json(model.unet->config), QJsonObject(), "tiny-sd");
  std::map<std::string, std::string> to_original;  // diffusers module (underscored) -> ldm module (underscored)
  const std::string prefix = "model.diffusion_model.";
  for (const auto& info : checkpoint.tensors()) {
    const auto target = map.translate(info.name);
    if (!target || target->component != io::Component::UNet || info.name.rfind(prefix, 0) != 0) continue;
    if (target->name.size() < 7 || target->name.substr(target->name.size() - 7) != ".weight") continue;
    const std::string ldm = info.name.substr(prefix.size(), info.name.size() - prefix.size() - 7);
    to_original[io::underscored(target->name.substr(0, target->name.size() - 7))] = io::underscored(ldm);
  }
  Tensors out;
  for (const auto& [name, tensor] : kohya) {
    std::string renamed = name;
    const std::string unet = "lora_unet_";
    if (name.rfind(unet, 0) == 0) {
      const auto dot = name.find('.');
      const auto found = to_original.find(name.substr(unet.size(), dot - unet.size()));
      if (found == to_original.end()) throw std::runtime_error("no original name for " + name);
      renamed = unet + found->second + name.substr(dot);
    }
    out.emplace_back(renamed, tensor);
  }
  return out;
}

}  // namespace

class TestLora : public QObject {
  Q_OBJECT
 private Q_SLOTS:
  void initTestCase();
  void splitsKeys_data();
  void splitsKeys();
  void translatesKeys_data();
  void translatesKeys();
  void unetMatchesDiffusers_data();
  void unetMatchesDiffusers();
  void textEncoderMatchesDiffusers_data();
  void textEncoderMatchesDiffusers();
  void endToEndMatchesDiffusers_data();
  void endToEndMatchesDiffusers();
  void roundTripRestoresBaseExactly_data();
  void roundTripRestoresBaseExactly();
  void switchingMultipliersNeedsNoReload();
  void twoLorasAddTheirDeltas();
  void negativeMultiplierSubtracts();
  void linearDeltaFitsPointwiseConvolution();
  void lycorisFormats();
  void rejectsOtherArchitectures_data();
  void rejectsOtherArchitectures();
  void rejectsUnknownKeysUnlessPartial();
  void rejectsMalformedFiles_data();
  void rejectsMalformedFiles();
  void promptTags();
  void engineAppliesSwitchesAndRecords();
  void metadataRecordsLoras();
  void cachesParsedFiles();

 private:
  QTemporaryDir tmp_;
};

void TestLora::initTestCase() {
  torch::set_num_threads(2);
  QVERIFY(tmp_.isValid());
}

void TestLora::splitsKeys_data() {
  QTest::addColumn<QString>("key");
  QTest::addColumn<QString>("module");
  QTest::addColumn<QString>("role");
  QTest::newRow("kohya down") << "lora_unet_mid_block_attentions_0_proj_in.lora_down.weight"
                              << "lora_unet_mid_block_attentions_0_proj_in" << "down";
  QTest::newRow("kohya alpha") << "lora_te_text_model_encoder_layers_0_mlp_fc1.alpha"
                               << "lora_te_text_model_encoder_layers_0_mlp_fc1" << "alpha";
  QTest::newRow("peft B") << "unet.down_blocks.0.attentions.0.proj_in.lora_B.weight"
                          << "unet.down_blocks.0.attentions.0.proj_in" << "up";
  QTest::newRow("old lora layer") << "unet.mid_block.attentions.0.proj_out.lora.down.weight"
                                  << "unet.mid_block.attentions.0.proj_out" << "down";
  QTest::newRow("lora_linear_layer") << "text_encoder.text_model.encoder.layers.1.mlp.fc2.lora_linear_layer.up.weight"
                                     << "text_encoder.text_model.encoder.layers.1.mlp.fc2" << "up";
  QTest::newRow("processor")
      << "unet.down_blocks.0.attentions.0.transformer_blocks.0.attn1.processor.to_out_lora.up.weight"
      << "unet.down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_out.0" << "up";
  QTest::newRow("loha") << "lora_unet_conv_in.hada_w2_b" << "lora_unet_conv_in" << "hada_w2_b";
  QTest::newRow("lokr") << "lora_unet_conv_in.lokr_w1" << "lora_unet_conv_in" << "lokr_w1";
  QTest::newRow("unknown") << "bundle_emb.foo.string_to_param.*" << "" << "";
}

void TestLora::splitsKeys() {
  QFETCH(QString, key);
  QFETCH(QString, module);
  QFETCH(QString, role);
  const auto parts = io::split_lora_key(key.toStdString());
  if (module.isEmpty()) {
    QVERIFY(!parts);
    return;
  }
  QVERIFY(parts);
  QCOMPARE(QString::fromStdString(parts->module), module);
  QCOMPARE(QString::fromStdString(parts->role), role);
}

void TestLora::translatesKeys_data() {
  QTest::addColumn<QString>("model");
  QTest::addColumn<QString>("name");
  QTest::addColumn<QString>("expected");  // "component/module", or "" when nothing matches
  const QString full = "tiny-sd-full";
  QTest::newRow("kohya attention") << full << "lora_unet_down_blocks_0_attentions_1_transformer_blocks_0_attn1_to_q"
                                   << "unet/down_blocks.0.attentions.1.transformer_blocks.0.attn1.to_q";
  QTest::newRow("kohya to_out") << full << "lora_unet_up_blocks_3_attentions_2_transformer_blocks_0_attn2_to_out_0"
                                << "unet/up_blocks.3.attentions.2.transformer_blocks.0.attn2.to_out.0";
  QTest::newRow("kohya ff") << full << "lora_unet_mid_block_attentions_0_transformer_blocks_0_ff_net_0_proj"
                            << "unet/mid_block.attentions.0.transformer_blocks.0.ff.net.0.proj";
  QTest::newRow("kohya text") << full << "lora_te_text_model_encoder_layers_4_self_attn_out_proj"
                              << "text_encoder/text_model.encoder.layers.4.self_attn.out_proj";
  QTest::newRow("original transformer") << full << "lora_unet_input_blocks_4_1_transformer_blocks_0_attn2_to_k"
                                        << "unet/down_blocks.1.attentions.0.transformer_blocks.0.attn2.to_k";
  QTest::newRow("original proj_in") << full << "lora_unet_middle_block_1_proj_in" << "unet/mid_block.attentions.0.proj_in";
  QTest::newRow("original resnet") << full << "lora_unet_input_blocks_1_0_in_layers_2" << "unet/down_blocks.0.resnets.0.conv1";
  QTest::newRow("original emb") << full << "lora_unet_output_blocks_11_0_emb_layers_1"
                                << "unet/up_blocks.3.resnets.2.time_emb_proj";
  QTest::newRow("original skip") << full << "lora_unet_output_blocks_0_0_skip_connection"
                                 << "unet/up_blocks.0.resnets.0.conv_shortcut";
  QTest::newRow("original downsampler") << full << "lora_unet_input_blocks_3_0_op" << "unet/down_blocks.0.downsamplers.0.conv";
  QTest::newRow("original upsampler") << full << "lora_unet_output_blocks_5_2_conv" << "unet/up_blocks.1.upsamplers.0.conv";
  QTest::newRow("original upsampler no attention") << full << "lora_unet_output_blocks_2_1_conv"
                                                   << "unet/up_blocks.0.upsamplers.0.conv";
  QTest::newRow("peft") << full << "unet.down_blocks.2.attentions.1.transformer_blocks.0.ff.net.2"
                        << "unet/down_blocks.2.attentions.1.transformer_blocks.0.ff.net.2";
  QTest::newRow("peft text") << full << "text_encoder.text_model.encoder.layers.0.mlp.fc1"
                             << "text_encoder/text_model.encoder.layers.0.mlp.fc1";
  QTest::newRow("old text attention") << full << "text_encoder.text_model.encoder.layers.2.self_attn.to_out.0"
                                      << "text_encoder/text_model.encoder.layers.2.self_attn.out_proj";
  QTest::newRow("attn procs without prefix") << full << "mid_block.attentions.0.transformer_blocks.0.attn2.to_v"
                                             << "unet/mid_block.attentions.0.transformer_blocks.0.attn2.to_v";
  QTest::newRow("bare peft adapter") << full << "base_model.model.text_model.encoder.layers.3.self_attn.k_proj"
                                     << "text_encoder/text_model.encoder.layers.3.self_attn.k_proj";
  QTest::newRow("sdxl text encoder") << full << "lora_te1_text_model_encoder_layers_0_self_attn_q_proj" << "";
  QTest::newRow("layer the model lacks") << full << "lora_te_text_model_encoder_layers_11_mlp_fc1" << "";
  QTest::newRow("norms are no target") << full << "lora_unet_down_blocks_0_attentions_0_norm" << "";
  QTest::newRow("2-level original names") << "tiny-sd" << "lora_unet_output_blocks_3_1_proj_out"
                                          << "unet/up_blocks.1.attentions.0.proj_out";
}

void TestLora::translatesKeys() {
  QFETCH(QString, model);
  QFETCH(QString, name);
  QFETCH(QString, expected);
  auto& bundle = shared_bundle(model);
  const auto targets = models::lora_targets(bundle.unet, bundle.text_encoder());
  const auto target = targets.keys->translate(name.toStdString());
  const QString actual =
      target ? QString::fromStdString(std::string(io::component_name(target->component)) + "/" + target->module) : "";
  QCOMPARE(actual, expected);
}

void TestLora::unetMatchesDiffusers_data() {
  QTest::addColumn<QString>("layout");
  QTest::addColumn<QString>("id");
  for (const char* layout : {"kohya", "kohya original names", "diffusers", "peft_baked"})
    for (const char* id : {"lora_unet_x1.0", "lora_unet_x0.5"})
      QTest::newRow(qPrintable(QString("%1 %2").arg(layout, id))) << layout << id;
}

void TestLora::unetMatchesDiffusers() {
  QFETCH(QString, layout);
  QFETCH(QString, id);
  const QJsonObject golden = test::golden_case(id);
  auto& model = shared_bundle(golden.value("model").toString());
  std::string path;
  if (layout == "kohya original names")
    path = write_lora(tmp_, "original-names.safetensors", with_original_unet_names(read_all(lora_path("kohya")), model));
  else
    path = lora_path(layout);

  const auto base = unet_output(model, id);
  LATENT_COMPARE_CLOSE(base, golden_tensor(id + "/noise_pred_no_lora.npy"), test::tolerance_of(golden));
  pipeline::LoraSet set(model);
  const auto applied = set.apply({{path, golden.value("multiplier").toDouble()}}, false);
  QCOMPARE(applied.size(), std::size_t(1));
  QVERIFY2(applied[0].warning.empty(), applied[0].warning.c_str());
  LATENT_COMPARE_CLOSE(unet_output(model, id), golden_tensor(id + "/noise_pred.npy"), test::tolerance_of(golden));
  set.clear();
  QVERIFY(torch::equal(unet_output(model, id), base));
}

void TestLora::textEncoderMatchesDiffusers_data() {
  QTest::addColumn<QString>("layout");
  QTest::addColumn<QString>("id");
  for (const char* layout : {"kohya", "diffusers", "peft_baked"})
    for (const char* id : {"lora_text_encoder_x1.0", "lora_text_encoder_x0.5"})
      QTest::newRow(qPrintable(QString("%1 %2").arg(layout, id))) << layout << id;
}

void TestLora::textEncoderMatchesDiffusers() {
  QFETCH(QString, layout);
  QFETCH(QString, id);
  const QJsonObject golden = test::golden_case(id);
  auto& model = shared_bundle(golden.value("model").toString());
  const auto base = text_output(model, id);
  LATENT_COMPARE_CLOSE(base, golden_tensor(id + "/last_hidden_state_no_lora.npy"), test::tolerance_of(golden));
  pipeline::LoraSet set(model);
  set.apply({{lora_path(layout), golden.value("multiplier").toDouble()}}, false);
  LATENT_COMPARE_CLOSE(text_output(model, id), golden_tensor(id + "/last_hidden_state.npy"), test::tolerance_of(golden));
  set.clear();
  QVERIFY(torch::equal(text_output(model, id), base));
}

void TestLora::endToEndMatchesDiffusers_data() {
  QTest::addColumn<QString>("id");
  QTest::addColumn<QString>("layout");
  for (const char* id : {"lora_e2e_euler_x1.0", "lora_e2e_euler_x0.5", "lora_e2e_euler_x0.0"})
    for (const char* layout : {"kohya", "diffusers"})
      QTest::newRow(qPrintable(QString("%1 %2").arg(id, layout))) << id << layout;
}

void TestLora::endToEndMatchesDiffusers() {
  QFETCH(QString, id);
  QFETCH(QString, layout);
  const QJsonObject golden = test::golden_case(id);
  const QJsonObject tol = golden.value("tolerance").toObject();
  auto& model = shared_bundle(golden.value("model").toString());
  pipeline::LoraSet set(model);
  set.apply({{lora_path(layout), golden.value("lora").toObject().value("multiplier").toDouble()}}, false);

  const auto output = pipeline::text_to_image(model, test::text_to_image_params(golden));

  LATENT_COMPARE_CLOSE(output.prompt_embeds, golden_tensor(id + "/prompt_embeds.npy"), (test::Tolerance{1e-4, 1e-4}));
  LATENT_COMPARE_CLOSE(output.latents, golden_tensor(id + "/latents_final.npy"),
                       (test::Tolerance{tol.value("latents_atol").toDouble(), 0}));
  LATENT_COMPARE_IMAGES(output.images, golden_tensor(id + "/image_uint8.npy"),
                        tol.value("uint8_max_abs_diff").toInt(1));
}

void TestLora::roundTripRestoresBaseExactly_data() {
  QTest::addColumn<QString>("dtype");
  QTest::newRow("fp32") << "fp32";
  QTest::newRow("bf16") << "bf16";
}

void TestLora::roundTripRestoresBaseExactly() {
  QFETCH(QString, dtype);
  auto model = load_bundle("tiny-sd", dtype.toStdString());
  const auto before = snapshot(*model);
  const QString id = "lora_unet_x1.0";
  const auto base_unet = unet_output(*model, id);
  const auto base_text = text_output(*model, "lora_text_encoder_x1.0");
  {
    pipeline::LoraSet set(*model);
    set.apply({{lora_path("kohya"), 0.8}, {lora_path("diffusers"), -0.3}}, false);
    QVERIFY(set.touched_weights() > 100);
    QCOMPARE(changed(*model, before).size(), set.touched_weights());
    set.apply({{lora_path("peft_baked"), 1.7}}, false);
    QVERIFY(!changed(*model, before).empty());
    set.apply({}, false);
    QCOMPARE(set.touched_weights(), std::size_t(0));
    QVERIFY(changed(*model, before).empty());
    QVERIFY(torch::equal(unet_output(*model, id), base_unet));
    QVERIFY(torch::equal(text_output(*model, "lora_text_encoder_x1.0"), base_text));
    set.apply({{lora_path("kohya"), 1.0}}, false);
  }
  // A set that goes away takes its LoRAs with it.
  QVERIFY(changed(*model, before).empty());
}

void TestLora::switchingMultipliersNeedsNoReload() {
  auto& model = shared_bundle("tiny-sd");
  const auto before = snapshot(model);
  pipeline::LoraSet set(model);
  set.apply({{lora_path("kohya"), 0.5}}, false);
  const auto direct = snapshot(model);
  set.apply({{lora_path("kohya"), 1.0}}, false);
  set.apply({{lora_path("kohya"), -2.0}}, false);
  set.apply({{lora_path("kohya"), 0.5}}, false);
  QVERIFY(changed(model, direct).empty());  // the same bits as applying 0.5 at once
  QCOMPARE(set.cached_files(), std::size_t(1));
  // Setting the same set again changes nothing and computes nothing.
  set.apply({{lora_path("kohya"), 0.5}}, false);
  QVERIFY(changed(model, direct).empty());
  set.clear();
  QVERIFY(changed(model, before).empty());
}

void TestLora::twoLorasAddTheirDeltas() {
  auto& model = shared_bundle("tiny-sd");
  const auto before = snapshot(model);
  pipeline::LoraSet set(model);
  const std::string random = write_lora(
      tmp_, "random-locon.safetensors", models::random_kohya_lora(set.targets(), 3, 1.5, /*locon=*/true, 7));
  set.apply({{lora_path("kohya"), 0.8}}, false);
  const auto a = snapshot(model);
  set.apply({{random, -0.6}}, false);
  const auto b = snapshot(model);
  set.apply({{lora_path("kohya"), 0.8}, {random, -0.6}}, false);
  const auto both = snapshot(model);
  int mixed = 0;
  for (const auto& [name, base] : before) {
    const auto delta_a = a.at(name) - base;
    const auto delta_b = b.at(name) - base;
    if (delta_a.abs().max().item<float>() > 0 && delta_b.abs().max().item<float>() > 0) ++mixed;
    LATENT_COMPARE_CLOSE(both.at(name), base + delta_a + delta_b, (test::Tolerance{2e-6, 1e-6}));
  }
  QVERIFY(mixed > 50);  // the two files share most modules
  set.clear();
  QVERIFY(changed(model, before).empty());
}

void TestLora::negativeMultiplierSubtracts() {
  auto& model = shared_bundle("tiny-sd");
  const auto before = snapshot(model);
  pipeline::LoraSet set(model);
  // Explicitly: W' = W - 1.5 · alpha/rank · up·down, for a LoCon convolution and a linear layer.
  const io::SafetensorsFile file(lora_path("kohya"));
  set.apply({{lora_path("kohya"), -1.5}}, false);
  const auto after = snapshot(model);
  for (const std::string module : {"down_blocks.0.resnets.1.conv1", "down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_k",
                                   "up_blocks.1.attentions.2.proj_out"}) {
    const std::string kohya = "lora_unet_" + io::underscored(module);
    const auto down = file.tensor(kohya + ".lora_down.weight").to(torch::kFloat64);
    const auto up = file.tensor(kohya + ".lora_up.weight").to(torch::kFloat64);
    const double alpha = file.tensor(kohya + ".alpha").item<double>();
    const auto& base = before.at("unet/" + module + ".weight");
    const auto delta = up.flatten(1).mm(down.flatten(1)).reshape(base.sizes()) * (alpha / down.size(0));
    LATENT_COMPARE_CLOSE(after.at("unet/" + module + ".weight"), (base.to(torch::kFloat64) - 1.5 * delta).to(torch::kFloat32),
                         (test::Tolerance{1e-6, 1e-6}));
  }
  set.clear();
  QVERIFY(changed(model, before).empty());
}

void TestLora::linearDeltaFitsPointwiseConvolution() {
  // SD 2.x LoRAs hold proj_in/proj_out as linear factors; SD 1.x has 1x1 convolutions there.
  auto& model = shared_bundle("tiny-sd");
  Tensors flat;
  for (auto [name, tensor] : read_all(lora_path("kohya"))) {
    if ((name.find("proj_in") != std::string::npos || name.find("proj_out") != std::string::npos) && tensor.dim() == 4)
      tensor = tensor.flatten(1);
    flat.emplace_back(name, tensor);
  }
  const std::string path = write_lora(tmp_, "linear-proj.safetensors", flat);
  pipeline::LoraSet set(model);
  set.apply({{lora_path("kohya"), 1.0}}, false);
  const auto expected = snapshot(model);
  set.apply({{path, 1.0}}, false);
  QVERIFY(changed(model, expected).empty());
}

void TestLora::lycorisFormats() {
  auto& model = shared_bundle("tiny-sd");
  const auto before = snapshot(model);
  const std::string linear = "down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_q";
  const std::string conv = "down_blocks.1.resnets.0.conv1";
  const auto w_linear = before.at("unet/" + linear + ".weight");
  const auto w_conv = before.at("unet/" + conv + ".weight");
  const int64_t out = w_linear.size(0), in = w_linear.size(1);
  torch::manual_seed(3);
  // LoHa on the linear layer, LoCon with a Tucker core on the convolution.
  const auto w1a = torch::randn({out, 2}) * 0.1, w1b = torch::randn({2, in}) * 0.1;
  const auto w2a = torch::randn({out, 2}) * 0.1, w2b = torch::randn({2, in}) * 0.1;
  const int64_t cout = w_conv.size(0), cin = w_conv.size(1);
  const auto down = torch::randn({3, cin, 1, 1}) * 0.1, mid = torch::randn({3, 3, 3, 3}) * 0.1,
             up = torch::randn({cout, 3, 1, 1}) * 0.1;
  const std::string loha = "lora_unet_" + io::underscored(linear);
  const std::string locon = "lora_unet_" + io::underscored(conv);
  const std::string path = write_lora(tmp_, "lycoris.safetensors",
                                      {{loha + ".hada_w1_a", w1a}, {loha + ".hada_w1_b", w1b},
                                       {loha + ".hada_w2_a", w2a}, {loha + ".hada_w2_b", w2b},
                                       {loha + ".alpha", torch::tensor(1.0f)},
                                       {locon + ".lora_down.weight", down}, {locon + ".lora_mid.weight", mid},
                                       {locon + ".lora_up.weight", up}, {locon + ".alpha", torch::tensor(6.0f)}});
  pipeline::LoraSet set(model);
  set.apply({{path, 1.0}}, false);
  const auto after = snapshot(model);
  LATENT_COMPARE_CLOSE(after.at("unet/" + linear + ".weight"), w_linear + 0.5 * (w1a.mm(w1b) * w2a.mm(w2b)),
                       (test::Tolerance{1e-6, 1e-6}));
  // Tucker: ΔW[o,i,k,l] = Σ_ab up[o,a]·mid[a,b,k,l]·down[b,i]
  const auto tucker = torch::einsum("oa,abkl,bi->oikl", {up.flatten(1), mid, down.flatten(1)});
  LATENT_COMPARE_CLOSE(after.at("unet/" + conv + ".weight"), w_conv + 2.0 * tucker, (test::Tolerance{1e-6, 1e-6}));
  QCOMPARE(changed(model, before).size(), std::size_t(2));

  // LoKr: ΔW = w1 ⊗ (w2a·w2b), scale alpha / rank of the decomposed factor.
  const std::string ff = "down_blocks.0.attentions.0.transformer_blocks.0.ff.net.2";
  const auto w_ff = before.at("unet/" + ff + ".weight");  // [32, 128]
  const std::string lokr = "lora_unet_" + io::underscored(ff);
  const auto f1 = torch::randn({4, 8}) * 0.1, f2a = torch::randn({w_ff.size(0) / 4, 2}) * 0.1,
             f2b = torch::randn({2, w_ff.size(1) / 8}) * 0.1;
  const std::string kr = write_lora(tmp_, "lokr.safetensors",
                                    {{lokr + ".lokr_w1", f1}, {lokr + ".lokr_w2_a", f2a}, {lokr + ".lokr_w2_b", f2b},
                                     {lokr + ".alpha", torch::tensor(1.0f)}});
  set.apply({{kr, 1.0}}, false);
  QCOMPARE(changed(model, before).size(), std::size_t(1));
  LATENT_COMPARE_CLOSE(snapshot(model).at("unet/" + ff + ".weight"), w_ff + 0.5 * torch::kron(f1, f2a.mm(f2b)),
                       (test::Tolerance{1e-6, 1e-6}));
  set.clear();
  QVERIFY(changed(model, before).empty());
}

void TestLora::rejectsOtherArchitectures_data() {
  QTest::addColumn<QString>("kind");
  QTest::addColumn<QStringList>("expected");
  QTest::newRow("sdxl text encoders") << "sdxl-te" << QStringList{"0 of 8 keys", "lora_te1_", "SDXL"};
  QTest::newRow("sdxl unet 2048 wide") << "sdxl-unet" << QStringList{"another model", "2048", "input_blocks_4_1"};
  QTest::newRow("sd2 text encoder 1024 wide") << "sd2" << QStringList{"another model", "1024"};
}

void TestLora::rejectsOtherArchitectures() {
  QFETCH(QString, kind);
  QFETCH(QStringList, expected);
  auto& model = shared_bundle("tiny-sd-full");
  Tensors tensors;
  auto add = [&](const std::string& module, int64_t out, int64_t in) {
    tensors.emplace_back(module + ".lora_down.weight", torch::randn({4, in}));
    tensors.emplace_back(module + ".lora_up.weight", torch::randn({out, 4}));
    tensors.emplace_back(module + ".alpha", torch::tensor(4.0f));
  };
  if (kind == "sdxl-te") {
    tensors.emplace_back("lora_te1_text_model_encoder_layers_0_self_attn_q_proj.lora_down.weight", torch::randn({4, 768}));
    tensors.emplace_back("lora_te1_text_model_encoder_layers_0_self_attn_q_proj.lora_up.weight", torch::randn({768, 4}));
    tensors.emplace_back("lora_te2_text_model_encoder_layers_0_self_attn_q_proj.lora_down.weight", torch::randn({4, 1280}));
    tensors.emplace_back("lora_te2_text_model_encoder_layers_0_self_attn_q_proj.lora_up.weight", torch::randn({1280, 4}));
    tensors.emplace_back("lora_te1_text_model_encoder_layers_0_mlp_fc1.lora_down.weight", torch::randn({4, 768}));
    tensors.emplace_back("lora_te1_text_model_encoder_layers_0_mlp_fc1.lora_up.weight", torch::randn({3072, 4}));
    tensors.emplace_back("lora_te1_text_model_encoder_layers_0_mlp_fc1.alpha", torch::tensor(4.0f));
    tensors.emplace_back("lora_te2_text_model_encoder_layers_0_mlp_fc1.alpha", torch::tensor(4.0f));
  } else if (kind == "sdxl-unet") {
    // SDXL's kohya files use original-checkpoint names; its cross-attention reads 2048-wide text.
    add("lora_unet_input_blocks_4_1_transformer_blocks_0_attn2_to_k", 64, 2048);
    add("lora_unet_input_blocks_4_1_transformer_blocks_0_attn2_to_v", 64, 2048);
    add("lora_unet_input_blocks_4_1_transformer_blocks_0_attn1_to_q", 64, 64);
    add("lora_te1_text_model_encoder_layers_0_self_attn_q_proj", 768, 768);
  } else {
    add("lora_te_text_model_encoder_layers_0_self_attn_q_proj", 1024, 1024);
    add("lora_te_text_model_encoder_layers_0_mlp_fc1", 4096, 1024);
    add("lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn2_to_k", 32, 1024);
  }
  const std::string path = write_lora(tmp_, kind + ".safetensors", tensors);
  const auto before = snapshot(model);
  pipeline::LoraSet set(model);
  for (bool partial : {false, true}) {
    const QString message = test::error_message([&] { set.apply({{path, 1.0}}, partial); });
    QVERIFY2(!message.isEmpty(), "the file was accepted");
    for (const QString& part : expected) QVERIFY2(message.contains(part), qPrintable(message));
    QVERIFY2(message.contains("Nothing was applied"), qPrintable(message));
    QVERIFY(changed(model, before).empty());
  }
}

void TestLora::rejectsUnknownKeysUnlessPartial() {
  auto& model = shared_bundle("tiny-sd");
  const auto before = snapshot(model);
  Tensors tensors = read_all(lora_path("kohya"));
  const std::size_t good = tensors.size();
  tensors.emplace_back("lora_unet_down_blocks_7_attentions_0_proj_in.lora_down.weight", torch::randn({4, 32, 1, 1}));
  tensors.emplace_back("lora_unet_down_blocks_7_attentions_0_proj_in.lora_up.weight", torch::randn({32, 4, 1, 1}));
  tensors.emplace_back("emb_params", torch::randn({2, 32}));
  const std::string path = write_lora(tmp_, "extra-keys.safetensors", tensors);

  pipeline::LoraSet set(model);
  set.apply({{lora_path("diffusers"), 0.5}}, false);
  const auto with_other = snapshot(model);
  const QString message = test::error_message([&] { set.apply({{path, 1.0}}, false); });
  QVERIFY2(message.contains(QString("%1 of %2 keys match").arg(good).arg(good + 3)), qPrintable(message));
  QVERIFY2(message.contains("3 do not"), qPrintable(message));
  QVERIFY2(message.contains("emb_params") && message.contains("lora_unet_down_blocks_7_attentions_0_proj_in"),
           qPrintable(message));
  QVERIFY2(message.contains("Nothing was applied"), qPrintable(message));
  QVERIFY(changed(model, with_other).empty());  // the previous set stays as it was

  const auto applied = set.apply({{path, 1.0}}, true);
  QVERIFY2(QString::fromStdString(applied[0].warning).contains("applied in part"), applied[0].warning.c_str());
  QVERIFY(QString::fromStdString(applied[0].warning).contains(QString("%1 of %2 keys match").arg(good).arg(good + 3)));
  const auto partial = snapshot(model);
  set.apply({{lora_path("kohya"), 1.0}}, false);
  QVERIFY(changed(model, partial).empty());  // the matching part is the whole kohya file

  // Partial still refuses a file of which nothing fits.
  const std::string nothing =
      write_lora(tmp_, "nothing.safetensors", {{"lora_unet_foo.lora_down.weight", torch::randn({2, 3})},
                                               {"lora_unet_foo.lora_up.weight", torch::randn({3, 2})}});
  const QString none = test::error_message([&] { set.apply({{nothing, 1.0}}, true); });
  QVERIFY2(none.contains("0 of 2 keys match") && none.contains("lora_unet_foo"), qPrintable(none));
  set.clear();
  QVERIFY(changed(model, before).empty());
}

void TestLora::rejectsMalformedFiles_data() {
  QTest::addColumn<QString>("kind");
  QTest::addColumn<QString>("expected");
  QTest::newRow("ranks differ") << "ranks" << "different ranks";
  QTest::newRow("up without down") << "half" << "no down";
  QTest::newRow("alpha not a scalar") << "alpha" << "one number";
  QTest::newRow("not safetensors") << "garbage" << "garbage.safetensors";
  QTest::newRow("missing") << "missing" << "does not exist";
  QTest::newRow("dora") << "dora" << "DoRA";
}

void TestLora::rejectsMalformedFiles() {
  QFETCH(QString, kind);
  QFETCH(QString, expected);
  auto& model = shared_bundle("tiny-sd");
  const std::string m = "lora_te_text_model_encoder_layers_0_mlp_fc1";
  std::string path = tmp_.filePath(kind + ".safetensors").toStdString();
  if (kind == "ranks") write_lora(tmp_, kind + ".safetensors", {{m + ".lora_down.weight", torch::randn({4, 32})},
                                                                {m + ".lora_up.weight", torch::randn({37, 3})}});
  if (kind == "half") write_lora(tmp_, kind + ".safetensors", {{m + ".lora_up.weight", torch::randn({37, 3})}});
  if (kind == "alpha")
    write_lora(tmp_, kind + ".safetensors", {{m + ".lora_down.weight", torch::randn({4, 32})},
                                             {m + ".lora_up.weight", torch::randn({37, 4})},
                                             {m + ".alpha", torch::ones({2})}});
  if (kind == "garbage") {
    QFile file(QString::fromStdString(path));
    QVERIFY(file.open(QIODevice::WriteOnly));
    file.write("definitely not a safetensors file");
  }
  if (kind == "missing") path = tmp_.filePath("no-such.safetensors").toStdString();
  if (kind == "dora")
    write_lora(tmp_, kind + ".safetensors", {{m + ".lora_down.weight", torch::randn({4, 32})},
                                             {m + ".lora_up.weight", torch::randn({37, 4})},
                                             {m + ".dora_scale", torch::randn({37, 1})},
                                             {"lora_te_text_model_encoder_layers_0_mlp_fc2.lora_down.weight", torch::randn({4, 37})},
                                             {"lora_te_text_model_encoder_layers_0_mlp_fc2.lora_up.weight", torch::randn({32, 4})}});
  const auto before = snapshot(model);
  pipeline::LoraSet set(model);
  const QString message = test::error_message([&] { set.apply({{path, 1.0}}, false); });
  QVERIFY2(message.contains(expected), qPrintable(message));
  QVERIFY(changed(model, before).empty());
}

void TestLora::promptTags() {
  auto tags = text::extract_lora_tags("a cat <lora:style one:0.6>, sitting<lora:detail>, <hypernet:x:1> <lyco:foo:-1.25>");
  QCOMPARE(QString::fromStdString(tags.text), QString("a cat , sitting, <hypernet:x:1> "));
  QCOMPARE(tags.loras.size(), std::size_t(3));
  QCOMPARE(QString::fromStdString(tags.loras[0].name), QString("style one"));
  QCOMPARE(tags.loras[0].multiplier, 0.6);
  QCOMPARE(QString::fromStdString(tags.loras[1].name), QString("detail"));
  QCOMPARE(tags.loras[1].multiplier, 1.0);
  QCOMPARE(tags.loras[2].multiplier, -1.25);
  QCOMPARE(QString::fromStdString(text::extract_lora_tags("no tags here").text), QString("no tags here"));
  QVERIFY(test::error_message([] { text::extract_lora_tags("<lora:x:strong>"); }).contains("number"));
  QVERIFY(test::error_message([] { text::extract_lora_tags("<lora:x:0.5:1>"); }).contains("one multiplier"));
  QVERIFY(text::extract_lora_tags("<lora:x:0.5:0.5>").loras.size() == 1);

  QTemporaryDir dir;
  QVERIFY(QDir(dir.path()).mkpath("styles"));
  for (const QString name : {"Alpha.safetensors", "styles/beta.safetensors", "notes.txt"}) {
    QFile file(dir.filePath(name));
    QVERIFY(file.open(QIODevice::WriteOnly));
  }
  const std::string folder = dir.path().toStdString();
  const auto files = text::list_lora_files(folder);
  QCOMPARE(files.size(), std::size_t(2));
  QCOMPARE(QString::fromStdString(files[0].name), QString("Alpha"));
  QCOMPARE(QString::fromStdString(files[1].name), QString("beta"));
  QCOMPARE(QString::fromStdString(text::find_lora_file(folder, "beta")), dir.filePath("styles/beta.safetensors"));
  QCOMPARE(QString::fromStdString(text::find_lora_file(folder, "alpha")), dir.filePath("Alpha.safetensors"));
  const QString missing = test::error_message([&] { text::find_lora_file(folder, "gamma"); });
  QVERIFY2(missing.contains("gamma") && missing.contains(dir.path()), qPrintable(missing));
}

void TestLora::engineAppliesSwitchesAndRecords() {
  pipeline::Engine engine;
  latent::api::LoadOptions options;
  options.model_path = test::data_path("tiny-sd").toStdString();
  engine.load(options);
  const QJsonObject golden = test::golden_case("lora_e2e_euler_x0.5");
  latent::api::GenerationRequest r;
  r.prompt = "an astronaut riding a horse";
  r.size.width = r.size.height = 64;
  r.sampling.steps = 10;
  r.sampling.guidance_scale = 7.5;
  r.sampling.seed = 20;
  r.sampling.sampler = "euler";
  r.preview.approximate = false;
  r.preview.vae_every = 0;
  auto image_of = [](const latent::api::GenerationResult& result) {
    const auto& img = result.images.at(0);
    return torch::from_blob(const_cast<uint8_t*>(img.rgb.data()), {img.height, img.width, 3}, torch::kUInt8).clone();
  };
  const auto base = engine.generate(r);
  QVERIFY(base.loras.empty());

  // The prompt's tag, resolved in the LoRA folder and taken out of the text.
  latent::api::GenerationRequest tagged = r;
  tagged.prompt = "an astronaut riding a horse <lora:tiny-sd-lora-kohya:0.5>";
  tagged.loras.folder = test::data_path("lora").toStdString();
  const auto with_tag = engine.generate(tagged);
  QCOMPARE(with_tag.loras.size(), std::size_t(1));
  QCOMPARE(QString::fromStdString(with_tag.loras[0].name), QString("tiny-sd-lora-kohya"));
  QCOMPARE(QString::fromStdString(with_tag.loras[0].hash), QString("70dead3befe6"));
  QCOMPARE(with_tag.loras[0].multiplier, 0.5);
  QVERIFY(with_tag.loras[0].from_prompt);
  QCOMPARE(QString::fromStdString(with_tag.request.prompt), QString::fromStdString(tagged.prompt));
  const auto expected = golden_tensor("lora_e2e_euler_x0.5/image_uint8.npy")[0].to(torch::kInt32);
  const auto diff = (image_of(with_tag).to(torch::kInt32) - expected).abs();
  QVERIFY2(diff.max().item<int>() <= 1, qPrintable(QString("max diff %1").arg(diff.max().item<int>())));

  // The same LoRA as a request entry gives the same image; removing it gives the base image again.
  latent::api::GenerationRequest listed = r;
  listed.loras.adapters = {{lora_path("kohya"), 0.5}};
  const auto with_list = engine.generate(listed);
  QVERIFY(torch::equal(image_of(with_list), image_of(with_tag)));
  QVERIFY(!with_list.loras[0].from_prompt);
  QVERIFY(torch::equal(image_of(engine.generate(r)), image_of(base)));

  // A bad LoRA fails the request with the file named.
  latent::api::GenerationRequest bad = r;
  bad.prompt = "x <lora:no-such-lora:1>";
  bad.loras.folder = tagged.loras.folder;
  QVERIFY(test::error_message([&] { engine.generate(bad); }).contains("no-such-lora"));
  QVERIFY(torch::equal(image_of(engine.generate(r)), image_of(base)));
}

void TestLora::metadataRecordsLoras() {
  std::vector<latent::api::AppliedLora> loras = {{"style, one", "/l/style, one.safetensors", 0.75, "0123456789ab", false, ""},
                                              {"detail", "/l/detail.safetensors", -1.0, "ba9876543210", true, ""}};
  QCOMPARE(QString::fromStdString(image::lora_hashes_text(loras)),
           QString("style one: 0123456789ab, detail: ba9876543210"));
  latent::api::GenerationRequest r;
  r.prompt = "a cat <lora:detail:-1>";
  r.loras.adapters = {{"/l/style, one.safetensors", 0.75}};
  image::ParametersExtras extras;
  extras.model_name = "model";
  extras.model_hash = "abcdef0123";
  extras.more = {{"Lora hashes", image::lora_hashes_text(loras)}};
  const auto parsed = image::parse_parameters(image::format_parameters(r, 5, extras));
  QCOMPARE(QString::fromStdString(parsed.field("Lora hashes").value_or("")),
           QString("style one: 0123456789ab, detail: ba9876543210"));
  QCOMPARE(QString::fromStdString(parsed.prompt), QString("a cat <lora:detail:-1>"));

  image::ImageSettings settings;
  settings.request = r;
  settings.loras = loras;
  image::ImageSettings back;
  back.request.loras.adapters = {{"/stale.safetensors", 1.0}};
  QVERIFY(image::settings_from_json(image::settings_to_json(settings), &back));
  QCOMPARE(back.loras.size(), std::size_t(2));
  QCOMPARE(QString::fromStdString(back.loras[1].hash), QString("ba9876543210"));
  QVERIFY(back.loras[1].from_prompt);
  // Only the LoRAs that did not come from the prompt become request entries: the prompt brings its own.
  QCOMPARE(back.request.loras.adapters.size(), std::size_t(1));
  QCOMPARE(QString::fromStdString(back.request.loras.adapters[0].path), QString("/l/style, one.safetensors"));
  QCOMPARE(back.request.loras.adapters[0].multiplier, 0.75);

  // Without results, the request's list is written.
  image::ImageSettings plain;
  plain.request.loras.adapters = {{"/x/a.safetensors", 0.5}};
  image::ImageSettings plain_back;
  QVERIFY(image::settings_from_json(image::settings_to_json(plain), &plain_back));
  QCOMPARE(plain_back.request.loras.adapters.size(), std::size_t(1));
  QCOMPARE(QString::fromStdString(plain_back.loras[0].name), QString("a"));
}

void TestLora::cachesParsedFiles() {
  auto& model = shared_bundle("tiny-sd");
  pipeline::LoraSet set(model);
  const auto first = set.file(lora_path("kohya"));
  QCOMPARE(set.file(lora_path("kohya")).get(), first.get());
  QCOMPARE(QString::fromStdString(first->hash), QString("70dead3befe6"));
  QCOMPARE(QString::fromStdString(set.file(lora_path("diffusers"))->hash), QString("d117f7ee7104"));
  QCOMPARE(QString::fromStdString(set.file(lora_path("peft_baked"))->hash), QString("9db2564b4607"));
  QCOMPARE(set.cached_files(), std::size_t(3));
  QCOMPARE(first->layers.size(), first->key_count / 3);
  QVERIFY(first->complete());

  // A file replaced on disk is read again.
  const std::string path = write_lora(tmp_, "changing.safetensors", read_all(lora_path("peft_baked")));
  const auto old_file = set.file(path);
  QTest::qWait(20);
  io::write_safetensors(path, read_all(lora_path("kohya")));
  QVERIFY(set.file(path).get() != old_file.get());
  QCOMPARE(QString::fromStdString(set.file(path)->hash), QString("70dead3befe6"));
}

QTEST_GUILESS_MAIN(TestLora)
#include "tst_lora.moc"
