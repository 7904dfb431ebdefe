// Stable Diffusion 2.x's text side and UNet against transformers and diffusers
// (tests/data/sd2/golden): the tokenizer that pads with "!" and splits every "!" out of the
// prompt, the OpenCLIP text encoder stored as a CLIP text model with exact GELU (every
// hidden state, clip skip), and the UNet with linear projections and per-level head counts,
// each from the diffusers folder and from the single file in OpenCLIP's layout.
#include <QtTest/QtTest>

#include <QJsonArray>
#include <QTemporaryDir>

#include "core/models/clip_text_model.h"
#include "core/io/safetensors.h"
#include "core/models/transformer_2d.h"
#include "core/pipeline/model_bundle.h"
#include "core/pipeline/prompt_encoder.h"
#include "core/text/clip_tokenizer.h"
#include "core/util/resources.h"
#include "tests/support/golden.h"
#include "tests/support/error_message.h"
#include "tests/support/golden_set.h"

using namespace latent;

namespace {

const test::GoldenSet& sd2() {
  static const test::GoldenSet set("sd2");
  return set;
}

std::vector<int64_t> row_of(const torch::Tensor& ids, int64_t row) {
  const auto r = ids[row].contiguous();
  return std::vector<int64_t>(r.data_ptr<int64_t>(), r.data_ptr<int64_t>() + r.numel());
}

}  // namespace

class TestSd2Text : public QObject {
  Q_OBJECT
 private Q_SLOTS:
  void initTestCase() { torch::set_num_threads(2); }

  // transformers' legacy load: special_tokens_map.json's "!" wins over tokenizer_config.json.
  void padsWithExclamationMark() {
    const auto tok = text::ClipTokenizer::from_folder(test::data_path("sd2/tiny-sd2/tokenizer").toStdString());
    QCOMPARE(tok.pad_id(), int64_t(0));
    QCOMPARE(QString::fromStdString(tok.special_tokens().pad), QString("!"));
  }

  void tokenizerMatchesTransformers_data() {
    QTest::addColumn<QString>("tokenizer");
    QTest::addColumn<bool>("ftfy");
    for (const bool ftfy : {false, true}) {
      QTest::newRow(ftfy ? "folder ftfy" : "folder") << test::data_path("sd2/tiny-sd2/tokenizer") << ftfy;
      // What a single file is read with when no config folder is given.
      QTest::newRow(ftfy ? "bundled ftfy" : "bundled")
          << QString::fromStdString(util::resource_path("tokenizer_2")) << ftfy;
    }
  }

  void tokenizerMatchesTransformers() {
    QFETCH(QString, tokenizer);
    QFETCH(bool, ftfy);
    auto tok = text::ClipTokenizer::from_folder(tokenizer.toStdString());
    tok.set_cleanup(ftfy ? text::TextCleanup::Ftfy : text::TextCleanup::Basic);
    const QJsonObject golden = sd2().case_of("tokenizer_sd2");
    const auto expected = sd2().tensor(ftfy ? "tokenizer_sd2/ids_ftfy.npy" : "tokenizer_sd2/ids_no_ftfy.npy");
    const QJsonArray items = golden.value("items").toArray();
    QCOMPARE(items.size(), 28);
    int exclaimed = 0;
    for (int i = 0; i < items.size(); ++i) {
      const std::string text = items[i].toObject().value("text").toString().toStdString();
      exclaimed += text.find('!') != std::string::npos;
      QVERIFY2(tok.encode_padded(text) == row_of(expected, i), text.c_str());
    }
    QVERIFY(exclaimed >= 12);  // the cases where "!" must become id 0 on its own
  }

  void textEncoderMatchesTransformers_data() {
    QTest::addColumn<bool>("singleFile");
    QTest::newRow("folder") << false;
    QTest::newRow("single-file") << true;
  }

  // Every hidden state; the single file's extra (fifth) OpenCLIP block is never run.
  void textEncoderMatchesTransformers() {
    QFETCH(bool, singleFile);
    torch::NoGradGuard no_grad;
    auto& model = test::golden_model("sd2/tiny-sd2", singleFile);
    auto& encoder = model.text_encoder();
    QCOMPARE(encoder->config().num_hidden_layers, int64_t(4));
    QCOMPARE(encoder->config().hidden_act, models::CLIPActivation::Gelu);
    const auto ids = sd2().tensor("text_encoder_sd2/input_ids.npy").to(model.device);
    const test::Tolerance tol = test::tolerance_of(sd2().case_of("text_encoder_sd2"));
    LATENT_COMPARE_CLOSE(encoder->forward(ids), sd2().tensor("text_encoder_sd2/last_hidden_state.npy"), tol);
    LATENT_COMPARE_CLOSE(encoder->forward(ids, 1), sd2().tensor("text_encoder_sd2/clip_skip_1.npy"), tol);
    for (int64_t layer = 0; layer <= 4; ++layer) {
      models::CLIPEncodeOptions options;
      options.layers_from_end = 4 - layer;
      options.final_norm = false;
      LATENT_COMPARE_CLOSE(encoder->encode(ids, options).hidden,
                           sd2().tensor(QString("text_encoder_sd2/hidden_states_%1.npy").arg(layer)), tol);
    }
    // The pooled vector (unused by SD 2) sits at the first end token: the legacy eos id 2
    // makes transformers take argmax(input_ids).
    models::CLIPEncodeOptions pooled;
    pooled.pooled = true;
    LATENT_COMPARE_CLOSE(encoder->encode(ids, pooled).pooled, sd2().tensor("text_encoder_sd2/pooler_output.npy"), tol);
  }

  // A textual-inversion file for 2.x holds vectors as wide as the OpenCLIP encoder's token
  // embeddings: one whose vectors are the token embeddings of "red circle" reads exactly as
  // those words, in the prompt and the negative prompt; a file of another width (an SD 1.x
  // embedding on a 2.x model) is refused, naming the file and both widths.
  void embeddingReadsAsItsWords() {
    torch::NoGradGuard no_grad;
    auto& model = test::golden_model("sd2/tiny-sd2");
    const auto table = model.text_encoder()->text_model->embeddings->token_embedding->weight.cpu();
    const auto ids = model.tokenizer().encode("red circle");
    const auto vectors = table.index_select(0, torch::tensor(ids, torch::kInt64)).to(torch::kFloat32).clone();
    const int64_t width = table.size(1);
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    io::write_safetensors(dir.filePath("redcircle.safetensors").toStdString(), {{"emb_params", vectors}});
    io::write_safetensors(dir.filePath("otherwidth.safetensors").toStdString(),
                          {{"emb_params", torch::zeros({1, width + 8})}});
    pipeline::WeightedPromptOptions options;
    options.embeddings_dir = dir.path().toStdString();

    const std::vector<std::string> by_name{"redcircle"};
    const std::vector<std::string> in_words{"red circle"};
    const auto named = pipeline::encode_weighted_prompts(model, {"a redcircle cat"}, &by_name, options);
    const auto words = pipeline::encode_weighted_prompts(model, {"a red circle cat"}, &in_words, options);
    QVERIFY(torch::equal(named.cond, words.cond));
    QVERIFY(torch::equal(named.uncond, words.uncond));
    const auto plain = pipeline::encode_weighted_prompts(model, {"a redcircle cat"}, nullptr, {});
    QVERIFY(!torch::equal(plain.cond, words.cond));  // without the folder the name is just text

    const QString message = test::error_message(
        [&] { pipeline::encode_weighted_prompts(model, {"a otherwidth cat"}, nullptr, options); });
    for (const QString& mention : {QString("otherwidth.safetensors"), QString("size %1").arg(width + 8),
                                   QString("uses %1").arg(width)})
      QVERIFY2(message.contains(mention), qPrintable(mention + " not in: " + message));
  }

  void unetMatchesDiffusers_data() {
    QTest::addColumn<QString>("id");
    QTest::addColumn<bool>("singleFile");
    for (const QString& id : sd2().ids("unet")) {
      QTest::newRow(qPrintable(id + " folder")) << id << false;
      QTest::newRow(qPrintable(id + " single-file")) << id << true;
    }
  }

  void unetMatchesDiffusers() {
    QFETCH(QString, id);
    QFETCH(bool, singleFile);
    torch::NoGradGuard no_grad;
    auto& model = test::golden_model("sd2/tiny-sd2", singleFile);
    const QJsonObject golden = sd2().case_of(id);
    const auto& config = model.unet->config;
    QVERIFY(config.use_linear_projection);
    // Per-level head counts: 2 on the cross-attention level, the last entry (4) in the middle.
    const QJsonObject heads = golden.value("attention_heads_per_transformer").toObject();
    const auto modules = model.unet->named_modules();
    QCOMPARE(heads.size(), 6);
    for (auto it = heads.begin(); it != heads.end(); ++it) {
      const auto* found = modules.find(it.key().toStdString());
      QVERIFY2(found, qPrintable(it.key()));
      const auto attention = std::dynamic_pointer_cast<models::CrossAttentionImpl>(*found);
      QVERIFY(attention);
      QCOMPARE(attention->heads, it.value().toInteger());
    }
    const auto input = [&](const char* name) {
      return sd2().tensor(golden.value("inputs").toObject().value(name).toObject().value("file").toString()).to(model.device);
    };
    const auto timestep = torch::tensor(static_cast<int64_t>(golden.value("inputs").toObject().value("timestep").toInteger()));
    const auto out = model.unet->forward(input("sample"), timestep.to(model.device), input("encoder_hidden_states"));
    LATENT_COMPARE_CLOSE(out, sd2().tensor(id + "/model_output.npy"), test::tolerance_of(golden));
  }
};

QTEST_GUILESS_MAIN(TestSd2Text)
#include "tst_sd2_text.moc"
