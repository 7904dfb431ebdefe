// SDXL's UNets (tiny base and refiner) against diffusers: their configs, diffusers'
// parameter names, the added "text_time" embedding stage by stage and the noise prediction
// of every unet_sdxl case of tests/data/sdxl/golden (PORTING-NOTES.md section 5).
#include <QtTest/QtTest>
#include <algorithm>
#include <map>

#include "core/io/safetensors.h"
#include "core/io/state_dict.h"
#include "core/models/unet_2d_condition.h"
#include "core/util/error.h"
#include "tests/support/golden.h"
#include "tests/support/golden_set.h"

using latent::models::UNet2DConditionConfig;
using latent::models::UNet2DConditionModel;
using latent::models::UNetAddedConditions;
using latent::models::UNetDownBlockType;
using latent::models::UNetUpBlockType;

namespace {

const latent::test::GoldenSet& golden_set() {
  static const latent::test::GoldenSet set("sdxl");
  return set;
}

// The UNet folder of a model named in the index's "models" table ("tiny-sdxl").
QString unet_folder(const QString& model) {
  const QString folder = golden_set()
                             .index()
                             .value("models")
                             .toObject()
                             .value(model)
                             .toObject()
                             .value("diffusers_folder")
                             .toString();
  return golden_set().data_file(folder) + "/unet/";
}

UNet2DConditionConfig config_of(const QString& model) {
  return UNet2DConditionConfig::from_file((unet_folder(model) + "config.json").toStdString());
}

std::string weights_of(const QString& model) {
  return (unet_folder(model) + "diffusion_pytorch_model.safetensors").toStdString();
}

UNet2DConditionModel load_unet_uncached(const QString& model) {
  auto unet = UNet2DConditionModel(config_of(model));
  const std::string path = weights_of(model);
  latent::io::SafetensorsFile f(path);
  // Every key of the file must name a parameter: nothing unexpected, nothing missing.
  latent::io::load_state_dict(*unet, latent::io::read_tensors(f), path, {},
                              /*allow_unexpected=*/false);
  unet->eval();
  return unet;
}

UNet2DConditionModel load_unet(const QString& model) {
  static std::map<QString, UNet2DConditionModel> cache;
  auto found = cache.find(model);
  if (found == cache.end()) found = cache.emplace(model, load_unet_uncached(model)).first;
  return found->second;
}

torch::Tensor file_of(const QJsonObject& golden, const char* group, const char* name) {
  return golden_set().tensor(
      golden.value(group).toObject().value(name).toObject().value("file").toString());
}

torch::Tensor input_of(const QJsonObject& golden, const char* name) {
  return file_of(golden, "inputs", name);
}

bool has_output(const QJsonObject& golden, const char* name) {
  return golden.value("outputs").toObject().contains(name);
}

torch::Tensor timestep_of(const QJsonObject& golden) {
  const QJsonObject inputs = golden.value("inputs").toObject();
  const auto dtype =
      inputs.value("timestep_dtype").toString() == "int64" ? torch::kInt64 : torch::kFloat32;
  return torch::tensor(inputs.value("timestep").toDouble(), torch::kFloat64).to(dtype);
}

UNetAddedConditions added_of(const QJsonObject& golden) {
  return {input_of(golden, "text_embeds"), input_of(golden, "time_ids")};
}

// The message of the latent::Error `call` throws; empty when it throws none.
template <typename Call>
QString error_of(Call call) {
  try {
    call();
  } catch (const latent::Error& e) {
    return QString::fromUtf8(e.what());
  }
  return {};
}

}  // namespace

class TestSdxlUNet : public QObject {
  Q_OBJECT
 private Q_SLOTS:
  void initTestCase();
  void readsBaseConfig();
  void readsRefinerConfig();
  void refusesIncompleteAdditionEmbedding_data();
  void refusesIncompleteAdditionEmbedding();
  void parameterNamesMatchDiffusers_data();
  void parameterNamesMatchDiffusers();
  void matchesDiffusers_data();
  void matchesDiffusers();
  void runsInBFloat16();
  void refusesMissingAddedConditions();
  void refusesMismatchedAddedConditions();
  void sd1UNetRefusesAddedConditions();
};

void TestSdxlUNet::initTestCase() { torch::set_num_threads(2); }

void TestSdxlUNet::readsBaseConfig() {
  const auto c = config_of("tiny-sdxl");
  QVERIFY(c.text_time_embedding);
  QCOMPARE(c.addition_time_embed_dim, int64_t{8});
  QCOMPARE(c.projection_class_embeddings_input_dim, int64_t{64});  // 6·8 + 16
  // attention_head_dim is the number of heads per level (diffusers' legacy name).
  QCOMPARE(c.num_attention_heads, (std::vector<int64_t>{1, 2, 4}));
  QCOMPARE(c.transformer_layers_per_block, (std::vector<int64_t>{1, 1, 2}));
  QCOMPARE(c.cross_attention_dim, (std::vector<int64_t>{12, 12, 12}));
  QVERIFY(c.use_linear_projection);
  QVERIFY(c.down_block_types ==
          (std::vector<UNetDownBlockType>{UNetDownBlockType::DownBlock2D,
                                          UNetDownBlockType::CrossAttnDownBlock2D,
                                          UNetDownBlockType::CrossAttnDownBlock2D}));
  QVERIFY(c.up_block_types == (std::vector<UNetUpBlockType>{UNetUpBlockType::CrossAttnUpBlock2D,
                                                            UNetUpBlockType::CrossAttnUpBlock2D,
                                                            UNetUpBlockType::UpBlock2D}));
}

void TestSdxlUNet::readsRefinerConfig() {
  const auto c = config_of("tiny-sdxl-refiner");
  QVERIFY(c.text_time_embedding);
  QCOMPARE(c.projection_class_embeddings_input_dim, int64_t{56});  // 5·8 + 16
  QCOMPARE(c.block_out_channels.size(), size_t{4});
  QCOMPARE(c.num_attention_heads, (std::vector<int64_t>{1, 2, 4, 4}));
  // An int depth applies to every level.
  QCOMPARE(c.transformer_layers_per_block, (std::vector<int64_t>{2, 2, 2, 2}));
  QVERIFY(c.down_block_types.front() == UNetDownBlockType::DownBlock2D);
  QVERIFY(c.down_block_types.back() == UNetDownBlockType::DownBlock2D);
}

void TestSdxlUNet::refusesIncompleteAdditionEmbedding_data() {
  QTest::addColumn<QJsonObject>("config");
  QTest::addColumn<QString>("key");
  const QJsonObject text_time{{"addition_embed_type", "text_time"},
                              {"addition_time_embed_dim", 256},
                              {"projection_class_embeddings_input_dim", 2816}};
  auto without = [&](const char* key) {
    QJsonObject c = text_time;
    c.remove(key);
    return c;
  };
  auto with = [&](const char* key, const QJsonValue& value) {
    QJsonObject c = text_time;
    c.insert(key, value);
    return c;
  };
  QTest::newRow("no addition_time_embed_dim")
      << without("addition_time_embed_dim") << "addition_time_embed_dim";
  QTest::newRow("no projection_class_embeddings_input_dim")
      << without("projection_class_embeddings_input_dim")
      << "projection_class_embeddings_input_dim";
  QTest::newRow("null projection_class_embeddings_input_dim")
      << with("projection_class_embeddings_input_dim", QJsonValue::Null)
      << "projection_class_embeddings_input_dim";
  QTest::newRow("zero addition_time_embed_dim")
      << with("addition_time_embed_dim", 0) << "addition_time_embed_dim";
  QTest::newRow("addition_embed_type text")
      << with("addition_embed_type", "text") << "addition_embed_type";
  QTest::newRow("addition_embed_type image")
      << with("addition_embed_type", "image") << "addition_embed_type";
  QTest::newRow("class_embeddings_concat")
      << with("class_embeddings_concat", true) << "class_embeddings_concat";
}

void TestSdxlUNet::refusesIncompleteAdditionEmbedding() {
  QFETCH(QJsonObject, config);
  QFETCH(QString, key);
  const QString message =
      error_of([&] { UNet2DConditionConfig::from_json(config, "unet/config.json"); });
  QVERIFY2(!message.isEmpty(), "accepted an unsupported config");
  QVERIFY2(message.contains(key) && message.contains("unet/config.json"), qPrintable(message));
}

void TestSdxlUNet::parameterNamesMatchDiffusers_data() {
  QTest::addColumn<QString>("model");
  QTest::newRow("base") << "tiny-sdxl";
  QTest::newRow("refiner") << "tiny-sdxl-refiner";
}

void TestSdxlUNet::parameterNamesMatchDiffusers() {
  QFETCH(QString, model);
  auto unet = load_unet(model);
  latent::io::SafetensorsFile f(weights_of(model));
  const auto params = unet->named_parameters(true);
  QCOMPARE(params.size(), f.tensors().size());
  for (const auto& item : params) QVERIFY2(f.contains(item.key()), item.key().c_str());
  for (const char* name : {"add_embedding.linear_1.weight", "add_embedding.linear_1.bias",
                           "add_embedding.linear_2.weight", "add_embedding.linear_2.bias"})
    QVERIFY2(params.contains(name), name);
}

void TestSdxlUNet::matchesDiffusers_data() {
  QTest::addColumn<QString>("case_id");
  const QStringList ids = golden_set().ids("unet_sdxl");
  QCOMPARE(ids.size(), 7);
  for (const QString& id : ids) QTest::newRow(qPrintable(id)) << id;
}

void TestSdxlUNet::matchesDiffusers() {
  QFETCH(QString, case_id);
  torch::InferenceMode guard;
  const QJsonObject golden = golden_set().case_of(case_id);
  const auto tol = latent::test::tolerance_of(golden);
  auto unet = load_unet(golden.value("model").toString());
  const auto sample = input_of(golden, "sample");
  const auto timestep = timestep_of(golden);
  const auto added = added_of(golden);
  const int64_t batch = sample.size(0);

  // Each stage of the embedding, from the same inputs as diffusers'.
  const auto t_emb = unet->time_proj(timestep, batch);
  const auto add_embeds = unet->add_embeds(added);
  const std::map<std::string, torch::Tensor> stages{
      {"t_emb_sinusoidal", t_emb},
      {"time_embedding_out", unet->time_embedding->forward(t_emb)},
      {"add_time_proj_out", unet->add_time_proj(added.time_ids)},
      {"add_embeds", add_embeds},
      {"aug_emb", unet->add_embedding->forward(add_embeds)},
      {"emb", unet->embedding(timestep, batch, &added)}};
  double worst_stage = 0.0;
  for (const auto& [name, actual] : stages) {
    if (!has_output(golden, name.c_str())) continue;
    const auto expected = file_of(golden, "outputs", name.c_str());
    QVERIFY2(actual.sizes() == expected.sizes(), name.c_str());
    LATENT_COMPARE_CLOSE(actual, expected, tol);
    worst_stage = std::max(worst_stage, latent::test::max_abs_difference(actual, expected));
  }

  const auto expected = file_of(golden, "outputs", "noise_pred");
  const auto actual =
      unet->forward(sample, timestep, input_of(golden, "encoder_hidden_states"), nullptr, &added);
  QCOMPARE(actual.sizes().vec(), expected.sizes().vec());
  qDebug("max |diff| %.3g (embedding stages %.3g)",
         latent::test::max_abs_difference(actual, expected), worst_stage);
  LATENT_COMPARE_CLOSE(actual, expected, tol);
}

void TestSdxlUNet::runsInBFloat16() {
  torch::InferenceMode guard;
  const QJsonObject golden = golden_set().case_of("unet_base_t500_batch2");
  auto unet = load_unet_uncached("tiny-sdxl");
  unet->to(torch::kBFloat16);
  const auto added = added_of(golden);  // float32, as a pipeline may pass them
  const auto expected = file_of(golden, "outputs", "noise_pred");
  const auto actual = unet->forward(input_of(golden, "sample"), timestep_of(golden),
                                    input_of(golden, "encoder_hidden_states"), nullptr, &added);
  QCOMPARE(actual.scalar_type(), torch::kFloat32);  // returned in the dtype of the sample
  QCOMPARE(unet->add_embeds(added).scalar_type(), torch::kBFloat16);
  // bf16 keeps 8 bits of mantissa: a loose bound that still catches wrong wiring.
  const double err = latent::test::max_abs_difference(actual, expected);
  const double scale = expected.abs().max().item<double>();
  qDebug("bf16 max |diff| %.3g (output max %.3g)", err, scale);
  QVERIFY2(err < 0.1 * scale, qPrintable(QString::number(err)));
}

void TestSdxlUNet::refusesMissingAddedConditions() {
  torch::InferenceMode guard;
  auto unet = load_unet("tiny-sdxl");
  const auto sample = torch::zeros({1, 4, 8, 8});
  const auto context = torch::zeros({1, 77, 12});
  const auto t = torch::tensor(1.0);
  QString message = error_of([&] { unet->forward(sample, t, context); });
  QVERIFY2(message.contains("text_time") && message.contains("neither"), qPrintable(message));
  const UNetAddedConditions empty;
  QVERIFY(!error_of([&] { unet->forward(sample, t, context, nullptr, &empty); }).isEmpty());
  const UNetAddedConditions no_ids{torch::zeros({1, 16}), {}};
  message = error_of([&] { unet->forward(sample, t, context, nullptr, &no_ids); });
  QVERIFY2(message.contains("time_ids is missing"), qPrintable(message));
  const UNetAddedConditions no_text{{}, torch::zeros({1, 6})};
  message = error_of([&] { unet->forward(sample, t, context, nullptr, &no_text); });
  QVERIFY2(message.contains("text_embeds is missing"), qPrintable(message));
}

void TestSdxlUNet::refusesMismatchedAddedConditions() {
  torch::InferenceMode guard;
  auto unet = load_unet("tiny-sdxl");
  const auto sample = torch::zeros({2, 4, 8, 8});
  const auto context = torch::zeros({2, 77, 12});
  const auto t = torch::tensor(1.0);
  auto message_for = [&](const UNetAddedConditions& added) {
    return error_of([&] { unet->forward(sample, t, context, nullptr, &added); });
  };
  // The refiner's 5 ids on the base: 16 + 5·8 = 56, not 64.
  QString message = message_for({torch::zeros({2, 16}), torch::zeros({2, 5})});
  QVERIFY2(message.contains("64") && message.contains("56"), qPrintable(message));
  message = message_for({torch::zeros({1, 16}), torch::zeros({1, 6})});
  QVERIFY2(message.contains("one row per sample"), qPrintable(message));
  message = message_for({torch::zeros({2, 16}), torch::zeros({1, 6})});
  QVERIFY2(message.contains("[B, P]"), qPrintable(message));
  message = message_for({torch::zeros({16}), torch::zeros({6})});
  QVERIFY2(message.contains("[B, P]"), qPrintable(message));
}

void TestSdxlUNet::sd1UNetRefusesAddedConditions() {
  torch::InferenceMode guard;
  auto unet = UNet2DConditionModel(UNet2DConditionConfig::from_file(
      latent::test::data_path("tiny-sd/unet/config.json").toStdString()));
  QVERIFY(!unet->config.text_time_embedding);
  QVERIFY(!unet->add_embedding);
  const UNetAddedConditions added{torch::zeros({1, 16}), torch::zeros({1, 6})};
  const QString message = error_of([&] {
    unet->forward(torch::zeros({1, 4, 8, 8}), torch::tensor(1.0), torch::zeros({1, 77, 32}),
                  nullptr, &added);
  });
  QVERIFY2(message.contains("addition_embed_type"), qPrintable(message));
  // Undefined tensors are no added conditions: the SD 1.x call goes through.
  const UNetAddedConditions none;
  const auto out = unet->forward(torch::zeros({1, 4, 8, 8}), torch::tensor(1.0),
                                 torch::zeros({1, 77, 32}), nullptr, &none);
  QCOMPARE(out.sizes().vec(), (std::vector<int64_t>{1, 4, 8, 8}));
}

QTEST_GUILESS_MAIN(TestSdxlUNet)
#include "tst_sdxl_unet.moc"
