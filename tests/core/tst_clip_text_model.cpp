#include <QtTest/QtTest>

#include "core/io/safetensors.h"
#include "core/io/state_dict.h"
#include "core/models/clip_text_model.h"
#include "core/util/error.h"
#include "tests/support/golden.h"

using latent::models::CLIPTextConfig;
using latent::models::CLIPTextModel;

namespace {

CLIPTextModel load_text_encoder(const QString& model_folder) {
  const auto dir = latent::test::data_path(model_folder + "/text_encoder/");
  auto model = CLIPTextModel(CLIPTextConfig::from_file((dir + "config.json").toStdString()));
  const std::string weights = (dir + "model.safetensors").toStdString();
  latent::io::SafetensorsFile file(weights);
  const auto tensors = latent::io::read_tensors(file);
  latent::io::load_state_dict(*model, tensors, weights);
  model->eval();
  return model;
}

torch::Tensor output_of(const QJsonObject& golden, const char* name) {
  return latent::test::golden_tensor(
      golden.value("outputs").toObject().value(name).toObject().value("file").toString());
}

}  // namespace

class TestCLIPTextModel : public QObject {
  Q_OBJECT
 private Q_SLOTS:
  void initTestCase();
  void readsConfig();
  void matchesTransformers_data();
  void matchesTransformers();
  void acceptsPositionIdsInFile();
  void runsInBFloat16();
  void rejectsBadInput();
};

void TestCLIPTextModel::initTestCase() { torch::set_num_threads(2); }

void TestCLIPTextModel::readsConfig() {
  const auto c = CLIPTextConfig::from_file(
      latent::test::data_path("tiny-sd/text_encoder/config.json").toStdString());
  QCOMPARE(c.hidden_size, int64_t{32});
  QCOMPARE(c.intermediate_size, int64_t{37});
  QCOMPARE(c.num_hidden_layers, int64_t{5});
  QCOMPARE(c.num_attention_heads, int64_t{4});
  QCOMPARE(c.max_position_embeddings, int64_t{77});
  QVERIFY(c.hidden_act == latent::models::CLIPActivation::QuickGelu);
  QVERIFY_THROWS_EXCEPTION(
      latent::Error, CLIPTextConfig::from_json(QJsonObject{{"hidden_act", "relu"}}, "cfg.json"));
  QVERIFY_THROWS_EXCEPTION(
      latent::Error, CLIPTextConfig::from_json(QJsonObject{{"hidden_size", "big"}}, "cfg.json"));
  QVERIFY_THROWS_EXCEPTION(latent::Error, CLIPTextConfig::from_file("/nonexistent/config.json"));
}

void TestCLIPTextModel::matchesTransformers_data() {
  QTest::addColumn<QString>("case_id");
  QTest::newRow("tiny-sd") << "text_encoder_tiny_sd";
  QTest::newRow("tiny-sd-full") << "text_encoder_tiny_sd_full";
}

void TestCLIPTextModel::matchesTransformers() {
  QFETCH(QString, case_id);
  torch::InferenceMode guard;
  const QJsonObject golden = latent::test::golden_case(case_id);
  const auto tol = latent::test::tolerance_of(golden);
  auto model = load_text_encoder(golden.value("model").toString());
  const auto ids = latent::test::golden_tensor(
      golden.value("inputs").toObject().value("input_ids").toObject().value("file").toString());

  const auto full = model->forward_full(ids, true);
  LATENT_COMPARE_CLOSE(full.last_hidden_state, output_of(golden, "last_hidden_state"), tol);
  LATENT_COMPARE_CLOSE(full.pooler_output, output_of(golden, "pooler_output"), tol);
  LATENT_COMPARE_CLOSE(model->forward(ids), output_of(golden, "last_hidden_state"), tol);
  LATENT_COMPARE_CLOSE(model->forward(ids, 1), output_of(golden, "clip_skip_1"), tol);

  const auto outputs = golden.value("outputs").toObject();
  QCOMPARE(static_cast<int64_t>(full.hidden_states.size()), model->config().num_hidden_layers + 1);
  int compared = 0;
  for (size_t i = 0; i < full.hidden_states.size(); ++i) {
    const QString name = QString("hidden_states_%1").arg(i);
    if (!outputs.contains(name)) continue;
    LATENT_COMPARE_CLOSE(full.hidden_states[i], output_of(golden, qPrintable(name)), tol);
    ++compared;
  }
  if (case_id == "text_encoder_tiny_sd") QCOMPARE(compared, 6);
}

void TestCLIPTextModel::acceptsPositionIdsInFile() {
  // Real SD checkpoints carry text_model.embeddings.position_ids; it must load as well.
  torch::InferenceMode guard;
  const auto dir = latent::test::data_path("tiny-sd/text_encoder/");
  auto model = CLIPTextModel(CLIPTextConfig::from_file((dir + "config.json").toStdString()));
  latent::io::SafetensorsFile file((dir + "model.safetensors").toStdString());
  auto tensors = latent::io::read_tensors(file);
  tensors["text_model.embeddings.position_ids"] = torch::arange(77, torch::kLong).unsqueeze(0);
  latent::io::load_state_dict(*model, tensors, "with position_ids");

  const QJsonObject golden = latent::test::golden_case("text_encoder_tiny_sd");
  const auto ids = latent::test::golden_tensor(
      golden.value("inputs").toObject().value("input_ids").toObject().value("file").toString());
  LATENT_COMPARE_CLOSE(model->forward(ids), output_of(golden, "last_hidden_state"),
                       latent::test::tolerance_of(golden));
}

void TestCLIPTextModel::runsInBFloat16() {
  torch::InferenceMode guard;
  auto model = load_text_encoder("tiny-sd");
  model->to(torch::kBFloat16);
  const QJsonObject golden = latent::test::golden_case("text_encoder_tiny_sd");
  const auto ids = latent::test::golden_tensor(
      golden.value("inputs").toObject().value("input_ids").toObject().value("file").toString());
  const auto out = model->forward(ids);
  QCOMPARE(out.scalar_type(), torch::kBFloat16);
  QVERIFY(torch::isfinite(out).all().item<bool>());
  // bf16 keeps ~3 significant digits; the embedding must still be the same one.
  const auto expected = output_of(golden, "last_hidden_state");
  const double err = (out.to(torch::kFloat32) - expected).abs().max().item<double>();
  QVERIFY2(err < 0.1 * expected.abs().max().item<double>(), qPrintable(QString::number(err)));
}

void TestCLIPTextModel::rejectsBadInput() {
  torch::InferenceMode guard;
  auto model = load_text_encoder("tiny-sd");
  QVERIFY_THROWS_EXCEPTION(latent::Error, model->forward(torch::zeros({1, 78}, torch::kLong)));
  QVERIFY_THROWS_EXCEPTION(latent::Error, model->forward(torch::zeros({77}, torch::kLong)));
  QVERIFY_THROWS_EXCEPTION(latent::Error,
                           model->forward(torch::full({1, 77}, 49408, torch::kLong)));
  QVERIFY_THROWS_EXCEPTION(latent::Error, model->forward(torch::zeros({1, 77}, torch::kLong), 6));
  QCOMPARE(model->forward(torch::zeros({1, 77}, torch::kLong), 5).sizes().vec(),
           (std::vector<int64_t>{1, 77, 32}));
}

QTEST_GUILESS_MAIN(TestCLIPTextModel)
#include "tst_clip_text_model.moc"
