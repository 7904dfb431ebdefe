#include <QtTest/QtTest>
#include <map>

#include "core/io/safetensors.h"
#include "core/io/state_dict.h"
#include "core/models/attention.h"
#include "core/models/unet_2d_condition.h"
#include "core/util/error.h"
#include "tests/support/golden.h"

using latent::models::UNet2DConditionConfig;
using latent::models::UNet2DConditionModel;

namespace {

// Ids of every golden case of one kind, in index order.
QStringList golden_ids_of_kind(const QString& kind) {
  QFile file(latent::test::data_path("golden/index.json"));
  if (!file.open(QIODevice::ReadOnly)) return {};
  const QString text =
      QString::fromUtf8(file.readAll())
          .replace(QRegularExpression("([:\\[,]\\s*)(-?Infinity|NaN)(?=\\s*[,\\]}])"),
                   "\\1\"\\2\"");
  QStringList ids;
  for (const QJsonValue& value :
       QJsonDocument::fromJson(text.toUtf8()).object().value("cases").toArray())
    if (value.toObject().value("kind").toString() == kind)
      ids << value.toObject().value("id").toString();
  return ids;
}

UNet2DConditionModel load_unet_uncached(const QString& model_folder) {
  const auto dir = latent::test::data_path(model_folder + "/unet/");
  auto unet =
      UNet2DConditionModel(UNet2DConditionConfig::from_file((dir + "config.json").toStdString()));
  const std::string path = (dir + "diffusion_pytorch_model.safetensors").toStdString();
  latent::io::SafetensorsFile f(path);
  const auto tensors = latent::io::read_tensors(f);
  // Every key of the file must name a parameter: nothing unexpected, nothing missing.
  latent::io::load_state_dict(*unet, tensors, path, {}, /*allow_unexpected=*/false);
  unet->eval();
  return unet;
}

UNet2DConditionModel load_unet(const QString& model_folder) {
  static std::map<QString, UNet2DConditionModel> cache;
  auto found = cache.find(model_folder);
  if (found == cache.end())
    found = cache.emplace(model_folder, load_unet_uncached(model_folder)).first;
  return found->second;
}

torch::Tensor input_of(const QJsonObject& golden, const char* name) {
  return latent::test::golden_tensor(
      golden.value("inputs").toObject().value(name).toObject().value("file").toString());
}

torch::Tensor output_of(const QJsonObject& golden, const char* name) {
  return latent::test::golden_tensor(
      golden.value("outputs").toObject().value(name).toObject().value("file").toString());
}

torch::Tensor reference_attention(const torch::Tensor& q, const torch::Tensor& k,
                                  const torch::Tensor& v) {
  const auto qd = q.to(torch::kFloat64), kd = k.to(torch::kFloat64), vd = v.to(torch::kFloat64);
  const auto scores = torch::matmul(qd, kd.transpose(-1, -2)) / std::sqrt(double(q.size(-1)));
  return torch::matmul(torch::softmax(scores, -1), vd).to(q.scalar_type());
}

}  // namespace

class TestUNet2DCondition : public QObject {
  Q_OBJECT
 private Q_SLOTS:
  void initTestCase();
  void readsConfig();
  void refusesUnsupportedConfig_data();
  void refusesUnsupportedConfig();
  void parameterNamesMatchDiffusers();
  void matchesDiffusers_data();
  void matchesDiffusers();
  void acceptsTimestepForms();
  void runsInBFloat16();
  void timestepEmbeddingOrder();
  void attentionChunkingMatchesUnchunked();
  void rejectsBadInput();
};

void TestUNet2DCondition::initTestCase() { torch::set_num_threads(2); }

void TestUNet2DCondition::readsConfig() {
  const auto c = UNet2DConditionConfig::from_file(
      latent::test::data_path("tiny-sd-full/unet/config.json").toStdString());
  QCOMPARE(c.block_out_channels, (std::vector<int64_t>{32, 32, 64, 64}));
  QCOMPARE(c.num_attention_heads, (std::vector<int64_t>{8, 8, 8, 8}));
  QCOMPARE(c.cross_attention_dim, (std::vector<int64_t>{32, 32, 32, 32}));
  QCOMPARE(c.layers_per_block, (std::vector<int64_t>{2, 2, 2, 2}));
  QCOMPARE(c.sample_size, int64_t{16});
  QVERIFY(c.down_block_types.back() == latent::models::UNetDownBlockType::DownBlock2D);
  QVERIFY(c.up_block_types.front() == latent::models::UNetUpBlockType::UpBlock2D);
  QVERIFY(c.has_mid_block);
  QVERIFY(c.flip_sin_to_cos);

  // Defaults are SD 1.5; per-block lists are accepted.
  const auto sd15 = UNet2DConditionConfig::from_json(QJsonObject{}, "cfg.json");
  QCOMPARE(sd15.block_out_channels, (std::vector<int64_t>{320, 640, 1280, 1280}));
  const auto lists = UNet2DConditionConfig::from_json(
      QJsonObject{{"attention_head_dim", QJsonArray{5, 10, 20, 20}},
                  {"use_linear_projection", true},
                  {"only_cross_attention", QJsonArray{false, true, false, false}}},
      "cfg.json");
  QCOMPARE(lists.num_attention_heads, (std::vector<int64_t>{5, 10, 20, 20}));
  QCOMPARE(lists.only_cross_attention[1], true);
}

void TestUNet2DCondition::refusesUnsupportedConfig_data() {
  QTest::addColumn<QString>("key");
  QTest::addColumn<QJsonValue>("value");
  QTest::newRow("class_embed_type") << "class_embed_type" << QJsonValue("timestep");
  QTest::newRow("addition_embed_type") << "addition_embed_type" << QJsonValue("text_time");
  QTest::newRow("encoder_hid_dim") << "encoder_hid_dim" << QJsonValue(1024);
  QTest::newRow("act_fn") << "act_fn" << QJsonValue("gelu");
  QTest::newRow("resnet_time_scale_shift")
      << "resnet_time_scale_shift" << QJsonValue("scale_shift");
  QTest::newRow("down_block_types")
      << "down_block_types"
      << QJsonValue(QJsonArray{"SimpleCrossAttnDownBlock2D", "CrossAttnDownBlock2D",
                               "CrossAttnDownBlock2D", "DownBlock2D"});
  QTest::newRow("up_block_types") << "up_block_types"
                                  << QJsonValue(QJsonArray{"UpBlock2D", "AttnUpBlock2D",
                                                           "CrossAttnUpBlock2D",
                                                           "CrossAttnUpBlock2D"});
  QTest::newRow("mid_block_type") << "mid_block_type"
                                  << QJsonValue("UNetMidBlock2DSimpleCrossAttn");
  QTest::newRow("transformer_layers_per_block")
      << "transformer_layers_per_block" << QJsonValue(QJsonArray{QJsonArray{1, 2}, 1, 1, 1});
  QTest::newRow("layers_per_block count") << "layers_per_block" << QJsonValue(QJsonArray{2, 2});
  QTest::newRow("_class_name") << "_class_name" << QJsonValue("AutoencoderKL");
}

void TestUNet2DCondition::refusesUnsupportedConfig() {
  QFETCH(QString, key);
  QFETCH(QJsonValue, value);
  try {
    UNet2DConditionConfig::from_json(QJsonObject{{key, value}}, "unet/config.json");
    QFAIL("accepted an unsupported config value");
  } catch (const latent::Error& e) {
    const QString message = QString::fromUtf8(e.what());
    QVERIFY2(message.contains(key) && message.contains("unet/config.json"), e.what());
  }
}

void TestUNet2DCondition::parameterNamesMatchDiffusers() {
  for (const QString model : {"tiny-sd", "tiny-sd-full"}) {
    auto unet = load_unet(model);
    const std::string path =
        latent::test::data_path(model + "/unet/diffusion_pytorch_model.safetensors").toStdString();
    latent::io::SafetensorsFile f(path);
    const auto params = unet->named_parameters(true);
    QCOMPARE(params.size(), f.tensors().size());
    for (const auto& item : params) QVERIFY2(f.contains(item.key()), item.key().c_str());
  }
}

void TestUNet2DCondition::matchesDiffusers_data() {
  QTest::addColumn<QString>("case_id");
  const QStringList ids = golden_ids_of_kind("unet");
  QVERIFY(ids.size() >= 12);
  for (const QString& id : ids) QTest::newRow(qPrintable(id)) << id;
}

void TestUNet2DCondition::matchesDiffusers() {
  QFETCH(QString, case_id);
  torch::InferenceMode guard;
  const QJsonObject golden = latent::test::golden_case(case_id);
  auto unet = load_unet(golden.value("model").toString());
  const QJsonObject inputs = golden.value("inputs").toObject();
  const auto sample = input_of(golden, "sample");
  const auto context = input_of(golden, "encoder_hidden_states");
  const auto dtype =
      inputs.value("timestep_dtype").toString() == "int64" ? torch::kInt64 : torch::kFloat32;
  const auto timestep =
      torch::tensor(inputs.value("timestep").toDouble(), torch::kFloat64).to(dtype);
  const auto expected = output_of(golden, "noise_pred");
  const auto actual = unet->forward(sample, timestep, context);
  QCOMPARE(actual.sizes().vec(), expected.sizes().vec());
  qDebug("max |diff| %.3g", (actual - expected).abs().max().item<double>());
  LATENT_COMPARE_CLOSE(actual, expected, latent::test::tolerance_of(golden));
}

void TestUNet2DCondition::runsInBFloat16() {
  torch::InferenceMode guard;
  const QJsonObject golden = latent::test::golden_case("unet_tiny_sd_full_6x8_t500");
  auto unet = load_unet_uncached("tiny-sd-full");
  unet->to(torch::kBFloat16);
  const auto expected = output_of(golden, "noise_pred");
  const auto actual = unet->forward(input_of(golden, "sample"), torch::tensor(500.0),
                                    input_of(golden, "encoder_hidden_states"));
  QCOMPARE(actual.scalar_type(), torch::kFloat32);  // returned in the dtype of the sample
  QVERIFY(torch::isfinite(actual).all().item<bool>());
  // bf16 keeps 8 bits of mantissa: a loose bound that still catches wrong wiring.
  const double err = (actual - expected).abs().max().item<double>();
  qDebug("bf16 max |diff| %.3g (output max %.3g)", err, expected.abs().max().item<double>());
  QVERIFY2(err < 0.1 * expected.abs().max().item<double>(), qPrintable(QString::number(err)));
}

void TestUNet2DCondition::acceptsTimestepForms() {
  torch::InferenceMode guard;
  const QJsonObject golden = latent::test::golden_case("unet_tiny_sd_batch2_t500");
  auto unet = load_unet(golden.value("model").toString());
  const auto sample = input_of(golden, "sample");
  const auto context = input_of(golden, "encoder_hidden_states");
  const auto expected = output_of(golden, "noise_pred");
  const auto tol = latent::test::tolerance_of(golden);
  LATENT_COMPARE_CLOSE(unet->forward(sample, torch::tensor({500, 500}, torch::kInt64), context),
                       expected, tol);
  LATENT_COMPARE_CLOSE(unet->forward(sample, torch::tensor({500.0}, torch::kFloat64), context),
                       expected, tol);
  LATENT_COMPARE_CLOSE(unet->forward(sample, torch::tensor(500, torch::kInt32), context), expected,
                       tol);
}

void TestUNet2DCondition::timestepEmbeddingOrder() {
  const auto t = torch::tensor({0.0f, 10.0f});
  const auto emb = latent::models::timestep_embedding(t, 8, /*flip_sin_to_cos=*/true, 0.0);
  QCOMPARE(emb.sizes().vec(), (std::vector<int64_t>{2, 8}));
  // t = 0: cos half is 1, sin half is 0; frequency 0 is exp(0) = 1.
  QVERIFY(torch::equal(emb[0], torch::tensor({1.f, 1.f, 1.f, 1.f, 0.f, 0.f, 0.f, 0.f})));
  QVERIFY(std::abs(emb[1][0].item<float>() - std::cos(10.0f)) < 1e-6);
  QVERIFY(std::abs(emb[1][4].item<float>() - std::sin(10.0f)) < 1e-6);
  // Frequency i is 10000^(-i/half), shifted by freq_shift in the denominator.
  const double f1 = std::exp(-std::log(10000.0) / 4.0);
  QVERIFY(std::abs(emb[1][1].item<float>() - std::cos(10.0 * f1)) < 1e-5);
  const auto unflipped = latent::models::timestep_embedding(t, 8, false, 1.0);
  const double g1 = std::exp(-std::log(10000.0) / 3.0);
  QVERIFY(std::abs(unflipped[1][1].item<float>() - std::sin(10.0 * g1)) < 1e-5);
}

void TestUNet2DCondition::attentionChunkingMatchesUnchunked() {
  torch::manual_seed(7);
  const auto q = torch::randn({2, 3, 37, 8});
  const auto k = torch::randn({2, 3, 19, 8});
  const auto v = torch::randn({2, 3, 19, 8});
  const auto whole = latent::models::attention(q, k, v);
  const auto reference = reference_attention(q, k, v);
  LATENT_COMPARE_CLOSE(whole, reference, (latent::test::Tolerance{1e-5, 1e-5}));
  // Budgets of one row, five rows (37 is no multiple of 5) and one byte (clamped to one row).
  const int64_t row_bytes = 2 * 3 * 19 * 4;
  for (int64_t budget : {row_bytes, 5 * row_bytes, int64_t{1}}) {
    const auto chunked = latent::models::attention(q, k, v, budget);
    LATENT_COMPARE_CLOSE(chunked, whole, (latent::test::Tolerance{1e-6, 1e-6}));
  }
  // Strided (transposed) inputs as the UNet passes them.
  const auto qt = torch::randn({2, 37, 3, 8}).transpose(1, 2);
  LATENT_COMPARE_CLOSE(latent::models::attention(qt, k, v, 3 * row_bytes),
                       reference_attention(qt, k, v), (latent::test::Tolerance{1e-5, 1e-5}));
}

void TestUNet2DCondition::rejectsBadInput() {
  torch::InferenceMode guard;
  auto unet = load_unet("tiny-sd");
  const auto context = torch::zeros({1, 77, 32});
  QVERIFY_THROWS_EXCEPTION(latent::Error,
                           unet->forward(torch::zeros({1, 3, 8, 8}), torch::tensor(1.0), context));
  QVERIFY_THROWS_EXCEPTION(latent::Error, unet->forward(torch::zeros({1, 4, 8, 8}),
                                                        torch::tensor({1.0, 2.0, 3.0}), context));
  QVERIFY_THROWS_EXCEPTION(latent::Error,
                           unet->forward(torch::zeros({2, 4, 8, 8}), torch::tensor(1.0), context));
  QVERIFY_THROWS_EXCEPTION(latent::Error,
                           UNet2DConditionConfig::from_file("/nonexistent/unet/config.json"));
}

QTEST_GUILESS_MAIN(TestUNet2DCondition)
#include "tst_unet_2d_condition.moc"
