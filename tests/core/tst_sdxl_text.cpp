// SDXL's text side against transformers (tests/data/sdxl/golden): its two tokenizers, whose
// only difference is tokenizer_2's pad token "!", and its two text encoders read the way
// StableDiffusionXLPipeline.encode_prompt reads them (penultimate states without the final
// LayerNorm, the pooled vector through text_encoder_2's text_projection).
#include <QFile>
#include <QJsonArray>
#include <QTemporaryDir>
#include <QtTest/QtTest>

#include "core/io/safetensors.h"
#include "core/io/state_dict.h"
#include "core/models/clip_text_model.h"
#include "core/models/norms.h"
#include "core/text/clip_tokenizer.h"
#include "core/util/error.h"
#include "tests/support/golden.h"
#include "tests/support/golden_set.h"

using latent::models::CLIPEncodeOptions;
using latent::models::CLIPTextConfig;
using latent::models::CLIPTextModel;
using latent::text::ClipTokenizer;
using latent::text::TextCleanup;

namespace {

const latent::test::GoldenSet& golden() {
  static const latent::test::GoldenSet set("sdxl");
  return set;
}

std::string tiny_sdxl(const QString& relative) {
  return golden().data_file("sdxl/tiny-sdxl/" + relative).toStdString();
}

const ClipTokenizer& tokenizer_1() {
  static const ClipTokenizer tok = ClipTokenizer::from_folder(tiny_sdxl("tokenizer"));
  return tok;
}

const ClipTokenizer& tokenizer_2() {
  static const ClipTokenizer tok = ClipTokenizer::from_folder(tiny_sdxl("tokenizer_2"));
  return tok;
}

// A text encoder folder as the loader will read it: the class from config.json, the weights
// by transformers' names, nothing in the file left over.
CLIPTextModel load_text_encoder(const QString& folder, const QString& weights_file) {
  auto model = CLIPTextModel(CLIPTextConfig::from_file(tiny_sdxl(folder + "/config.json")));
  const std::string weights = tiny_sdxl(folder + "/" + weights_file);
  latent::io::SafetensorsFile file(weights);
  latent::io::load_state_dict(*model, latent::io::read_tensors(file), weights, {},
                              /*allow_unexpected=*/false);
  model->eval();
  return model;
}

CLIPTextModel& text_encoder(int which) {
  static CLIPTextModel te1 = load_text_encoder("text_encoder", "model.safetensors");
  static CLIPTextModel te2 = load_text_encoder("text_encoder_2", "model.safetensors");
  return which == 1 ? te1 : te2;
}

torch::Tensor file_tensor(const QJsonObject& golden_case, const char* group, const QString& name) {
  const QJsonObject entry = golden_case.value(group).toObject().value(name).toObject();
  if (entry.isEmpty())
    throw std::runtime_error("no " + std::string(group) + " '" + name.toStdString() + "' in case " +
                             golden_case.value("id").toString().toStdString());
  return golden().tensor(entry.value("file").toString());
}

std::vector<int64_t> to_ids(const torch::Tensor& row) {
  const auto ids = row.to(torch::kLong).contiguous();
  return {ids.data_ptr<int64_t>(), ids.data_ptr<int64_t>() + ids.numel()};
}

std::vector<int64_t> json_ids(const QJsonValue& array) {
  std::vector<int64_t> ids;
  for (const QJsonValue& v : array.toArray()) ids.push_back(v.toInteger());
  return ids;
}

std::vector<std::string> to_strings(const QJsonValue& array) {
  std::vector<std::string> out;
  for (const QJsonValue& v : array.toArray()) out.push_back(v.toString().toStdString());
  return out;
}

QString ids_text(const std::vector<int64_t>& ids) {
  QStringList parts;
  for (int64_t id : ids) parts << QString::number(id);
  return parts.join(' ');
}

std::string item_text(const QJsonObject& item) {
  return QByteArray::fromHex(item.value("text_utf8_hex").toString().toLatin1()).toStdString();
}

void copy_file(const std::string& from, const QString& to) {
  QFile::remove(to);
  QVERIFY2(QFile::copy(QString::fromStdString(from), to), qPrintable(to));
}

void write_file(const QString& path, const QByteArray& bytes) {
  QFile file(path);
  QVERIFY2(file.open(QIODevice::WriteOnly), qPrintable(path));
  file.write(bytes);
}

}  // namespace

class TestSdxlText : public QObject {
  Q_OBJECT
 private Q_SLOTS:
  void initTestCase();
  // Tokenizers
  void readsPadTokenFromFolder();
  void tokenizersMatchTransformers_data();
  void tokenizersMatchTransformers();
  void splitsEveryExclamationMarkInTokenizer2();
  void padTokenFollowsTheFilesNotTheFolderName();
  // Text encoders
  void readsModelClassFromConfig();
  void namesParametersAsTransformers();
  void encodersMatchTransformers_data();
  void encodersMatchTransformers();
  void encodeEmbedsEqualsEncode();
  void stableDiffusionPathIsUnchanged();
  void loadsFp16Variant();
  void rejectsBadInput();
};

void TestSdxlText::initTestCase() { torch::set_num_threads(2); }

void TestSdxlText::readsPadTokenFromFolder() {
  for (const char* id : {"tokenizer_sdxl_1", "tokenizer_sdxl_2"}) {
    const QJsonObject c = golden().case_of(id);
    const ClipTokenizer& tok = QString(id).endsWith('1') ? tokenizer_1() : tokenizer_2();
    QCOMPARE(QString::fromStdString(tok.special_tokens().pad), c.value("pad_token").toString());
    QCOMPARE(tok.pad_id(), c.value("pad_token_id").toInteger());
    QCOMPARE(tok.bos_id(), int64_t(49406));
    QCOMPARE(tok.eos_id(), int64_t(49407));
    QCOMPARE(tok.unk_id(), int64_t(49407));
    // transformers' added tokens: the special tokens, each with its vocabulary id.
    const QJsonObject added = c.value("added_tokens").toObject();
    for (auto it = added.begin(); it != added.end(); ++it)
      QCOMPARE(tok.token_to_id(it.key().toStdString()), it.value().toInteger());
  }
}

void TestSdxlText::tokenizersMatchTransformers_data() {
  QTest::addColumn<QString>("case_id");
  QTest::addColumn<int>("index");
  QTest::addColumn<bool>("ftfy");
  for (const char* id : {"tokenizer_sdxl_1", "tokenizer_sdxl_2"}) {
    const QJsonArray items = golden().case_of(id).value("items").toArray();
    QCOMPARE(items.size(), 14);
    for (int i = 0; i < items.size(); ++i) {
      const QString text = items[i].toObject().value("text").toString().simplified().left(32);
      for (bool ftfy : {false, true})
        QTest::newRow(
            qPrintable(QString("%1 %2 %3: %4").arg(id, ftfy ? "ftfy" : "no_ftfy").arg(i).arg(text)))
            << QString(id) << i << ftfy;
    }
  }
}

void TestSdxlText::tokenizersMatchTransformers() {
  QFETCH(QString, case_id);
  QFETCH(int, index);
  QFETCH(bool, ftfy);
  const QJsonObject c = golden().case_of(case_id);
  QVERIFY(c.value("tolerance").toObject().value("exact").toBool());
  const QJsonObject item = c.value("items").toArray()[index].toObject();
  const std::string text = item_text(item);
  QCOMPARE(QString::fromStdString(text), item.value("text").toString());

  ClipTokenizer tok = case_id.endsWith('1') ? tokenizer_1() : tokenizer_2();
  tok.set_cleanup(ftfy ? TextCleanup::Ftfy : TextCleanup::Basic);
  const QString flavour = ftfy ? "ids_ftfy" : "ids_no_ftfy";
  const std::vector<int64_t> expected = to_ids(file_tensor(c, "outputs", flavour)[index]);
  QCOMPARE(ids_text(expected), ids_text(json_ids(item.value(flavour))));  // .npy = index
  QCOMPARE(ids_text(tok.encode_padded(text)), ids_text(expected));
  QCOMPARE(tok.tokenize(text),
           to_strings(item.value(ftfy ? "bpe_tokens_ftfy" : "bpe_tokens_no_ftfy")));
}

void TestSdxlText::splitsEveryExclamationMarkInTokenizer2() {
  // tokenizer 1 reads "!" by BPE; tokenizer_2 splits every "!" out as its pad token, id 0.
  QCOMPARE(tokenizer_1().tokenize("wow!!!"), (std::vector<std::string>{"wow</w>", "!!!</w>"}));
  QCOMPARE(tokenizer_2().tokenize("wow!!!"), (std::vector<std::string>{"wow</w>", "!", "!", "!"}));
  QCOMPARE(tokenizer_2().encode("!!!"), (std::vector<int64_t>{0, 0, 0}));
  QCOMPARE(tokenizer_2().tokenize("what?!"), (std::vector<std::string>{"what</w>", "?</w>", "!"}));
  QCOMPARE(tokenizer_1().encode("!"), (std::vector<int64_t>{256}));  // "!</w>"
  // An ASCII "!" made by clean-up (full-width U+FF01 under ftfy) is not split out: transformers
  // splits added tokens off the raw text, before cleaning.
  ClipTokenizer ftfy = tokenizer_2();
  ftfy.set_cleanup(TextCleanup::Ftfy);
  QCOMPARE(ftfy.tokenize("wow\xEF\xBC\x81"), (std::vector<std::string>{"wow</w>", "!</w>"}));
  // Padding after the end token is the pad id, and decoding skips it like any special token.
  const std::vector<int64_t> padded = tokenizer_2().encode_padded("hi!", 8);
  QCOMPARE(padded, (std::vector<int64_t>{49406, tokenizer_2().token_to_id("hi</w>"), 0, 49407, 0, 0,
                                         0, 0}));
  QCOMPARE(tokenizer_2().decode(padded), std::string("hi"));
}

void TestSdxlText::padTokenFollowsTheFilesNotTheFolderName() {
  // tokenizer_2's files in a folder called "tokenizer" still pad with "!", and tokenizer 1's
  // files in a folder called "tokenizer_2" still pad with <|endoftext|>.
  QTemporaryDir root;
  QVERIFY(root.isValid());
  const std::pair<const char*, const char*> swaps[] = {{"tokenizer_2", "tokenizer"},
                                                       {"tokenizer", "tokenizer_2"}};
  for (const auto& [from, to] : swaps) {
    QVERIFY(QDir(root.path()).mkpath(to));
    for (const char* name :
         {"vocab.json", "merges.txt", "tokenizer_config.json", "special_tokens_map.json"})
      copy_file(tiny_sdxl(QString(from) + "/" + name), root.filePath(QString(to) + "/" + name));
  }
  const ClipTokenizer renamed_2 =
      ClipTokenizer::from_folder(root.filePath("tokenizer").toStdString());
  const ClipTokenizer renamed_1 =
      ClipTokenizer::from_folder(root.filePath("tokenizer_2").toStdString());
  const std::string prompt = "Hello, world! How are you?!";
  QCOMPARE(renamed_2.pad_id(), int64_t(0));
  QCOMPARE(renamed_2.encode_padded(prompt), tokenizer_2().encode_padded(prompt));
  QCOMPARE(renamed_1.pad_id(), int64_t(49407));
  QCOMPARE(renamed_1.encode_padded(prompt), tokenizer_1().encode_padded(prompt));

  // special_tokens_map.json overrides tokenizer_config.json, as in transformers.
  write_file(root.filePath("tokenizer/special_tokens_map.json"),
             R"({"pad_token": "<|endoftext|>"})");
  const ClipTokenizer overridden =
      ClipTokenizer::from_folder(root.filePath("tokenizer").toStdString());
  QCOMPARE(overridden.pad_id(), int64_t(49407));
  QCOMPARE(overridden.encode_padded(prompt), tokenizer_1().encode_padded(prompt));
}

void TestSdxlText::readsModelClassFromConfig() {
  const auto c1 = CLIPTextConfig::from_file(tiny_sdxl("text_encoder/config.json"));
  QVERIFY(!c1.with_projection);
  QVERIFY(c1.hidden_act == latent::models::CLIPActivation::QuickGelu);
  QCOMPARE(c1.hidden_size, int64_t(4));
  QCOMPARE(c1.num_hidden_layers, int64_t(4));

  const auto c2 = CLIPTextConfig::from_file(tiny_sdxl("text_encoder_2/config.json"));
  QVERIFY(c2.with_projection);
  QCOMPARE(c2.projection_dim, int64_t(16));
  QVERIFY(c2.hidden_act == latent::models::CLIPActivation::Gelu);  // OpenCLIP: erf GELU
  QCOMPARE(c2.hidden_size, int64_t(8));
  QCOMPARE(c2.num_hidden_layers, int64_t(10));

  // No "architectures": transformers' CLIPTextModel, as SD 1.x configs have always meant.
  QVERIFY(!CLIPTextConfig::from_json(QJsonObject{}, "cfg.json").with_projection);
  const auto with = [](const QJsonArray& names, int projection_dim = 4) {
    return CLIPTextConfig::from_json(
        QJsonObject{{"architectures", names}, {"projection_dim", projection_dim}}, "cfg.json");
  };
  QCOMPARE(with({"CLIPTextModelWithProjection"}, 4).projection_dim, int64_t(4));
  QVERIFY(!with({"CLIPTextModel"}).with_projection);
  QVERIFY_THROWS_EXCEPTION(latent::Error, with({"CLIPVisionModel"}));
  QVERIFY_THROWS_EXCEPTION(latent::Error, with({"CLIPTextModel", "CLIPTextModelWithProjection"}));
  QVERIFY_THROWS_EXCEPTION(latent::Error, with({"CLIPTextModelWithProjection"}, 0));
  QVERIFY_THROWS_EXCEPTION(
      latent::Error,
      CLIPTextConfig::from_json(QJsonObject{{"architectures", "CLIPTextModel"}}, "cfg.json"));
  try {
    with({"CLIPModel"});
    QFAIL("architectures CLIPModel accepted");
  } catch (const latent::Error& e) {
    QVERIFY2(QString(e.what()).contains("CLIPModel") && QString(e.what()).contains("cfg.json"),
             e.what());
  }
}

void TestSdxlText::namesParametersAsTransformers() {
  // The loader fills the modules by these names; load_text_encoder refused leftovers already.
  const auto params = text_encoder(2)->named_parameters();
  QVERIFY(params.contains("text_projection.weight"));
  QCOMPARE(params["text_projection.weight"].sizes().vec(), (std::vector<int64_t>{16, 8}));
  QVERIFY(!params.contains("text_projection.bias"));
  QVERIFY(text_encoder(2)->has_projection());
  QVERIFY(!text_encoder(1)->has_projection());
  for (const auto& item : text_encoder(1)->named_parameters())
    QVERIFY2(QString::fromStdString(item.key()).startsWith("text_model."), item.key().c_str());
}

void TestSdxlText::encodersMatchTransformers_data() {
  QTest::addColumn<int>("which");
  QTest::newRow("text_encoder (CLIP ViT-L, quick_gelu)") << 1;
  QTest::newRow("text_encoder_2 (OpenCLIP bigG, gelu, projection)") << 2;
}

void TestSdxlText::encodersMatchTransformers() {
  QFETCH(int, which);
  torch::InferenceMode guard;
  const QJsonObject c = golden().case_of("text_encoders_sdxl");
  const auto tol = latent::test::tolerance_of(c);
  QCOMPARE(c.value("tolerance").toObject().value("atol").toDouble(), 1e-4);
  auto& model = text_encoder(which);
  const QString te = QString("te%1_").arg(which);
  const auto expected = [&](const QString& name) { return file_tensor(c, "outputs", te + name); };
  const auto ids = file_tensor(c, "inputs", QString("input_ids_%1").arg(which));

  // The ids are what the tokenizers make of the case's prompts.
  const ClipTokenizer& tok = which == 1 ? tokenizer_1() : tokenizer_2();
  const QJsonArray prompts = c.value("prompts").toArray();
  QCOMPARE(prompts.size(), int(ids.size(0)));
  for (int i = 0; i < prompts.size(); ++i)
    QCOMPARE(ids_text(tok.encode_padded(prompts[i].toString().toStdString())),
             ids_text(to_ids(ids[i])));

  // transformers' output, with output_hidden_states=True: no hidden state is normed.
  const auto full = model->forward_full(ids, true);
  const int64_t layers = model->config().num_hidden_layers;
  QCOMPARE(int64_t(full.hidden_states.size()), layers + 1);
  for (int64_t i = 0; i <= layers; ++i)
    LATENT_COMPARE_CLOSE(full.hidden_states[std::size_t(i)],
                         expected(QString("hidden_states_%1").arg(i)), tol);
  LATENT_COMPARE_CLOSE(full.last_hidden_state, expected("last_hidden_state"), tol);
  LATENT_COMPARE_CLOSE(full.pooler_output, expected("pooler_output"), tol);
  QCOMPARE(full.text_embeds.defined(), which == 2);
  if (which == 2) LATENT_COMPARE_CLOSE(full.text_embeds, expected("text_embeds"), tol);

  // What SDXL's encode_prompt takes: hidden_states[-2], and with clip_skip 1 hidden_states[-3],
  // both without final_layer_norm; the pooled vector (text_embeds) whatever clip_skip says.
  const auto pooled_name = which == 2 ? "text_embeds" : "pooler_output";
  const auto sdxl = model->encode(ids, CLIPEncodeOptions::sdxl());
  LATENT_COMPARE_CLOSE(sdxl.hidden, expected("penultimate"), tol);
  LATENT_COMPARE_CLOSE(sdxl.pooled, expected(pooled_name), tol);
  qInfo("%s: max |difference| penultimate %.3g, pooled %.3g (atol %g, rtol %g)", qPrintable(te),
        latent::test::max_abs_difference(sdxl.hidden, expected("penultimate")),
        latent::test::max_abs_difference(sdxl.pooled, expected(pooled_name)), tol.atol, tol.rtol);
  const auto skip1 = model->encode(ids, CLIPEncodeOptions::sdxl(1));
  LATENT_COMPARE_CLOSE(skip1.hidden, expected("clip_skip_1"), tol);
  QVERIFY(torch::equal(skip1.pooled, sdxl.pooled));
  QVERIFY(!model->encode(ids, CLIPEncodeOptions::sdxl(0, /*pooled=*/false)).pooled.defined());

  // Any layer, normed or not.
  for (int64_t back = 0; back <= layers; ++back) {
    const auto state = expected(QString("hidden_states_%1").arg(layers - back));
    LATENT_COMPARE_CLOSE(model->encode(ids, {back, /*final_norm=*/false}).hidden, state, tol);
  }
  const auto last = model->encode(ids, CLIPEncodeOptions::stable_diffusion());
  LATENT_COMPARE_CLOSE(last.hidden, expected("last_hidden_state"), tol);
  QVERIFY(!last.pooled.defined());
  const auto last_pooled = model->encode(ids, {0, /*final_norm=*/true, /*pooled=*/true});
  LATENT_COMPARE_CLOSE(last_pooled.pooled, expected(pooled_name), tol);
}

void TestSdxlText::encodeEmbedsEqualsEncode() {
  // The textual-inversion path (token embeddings in, ids only to find the end token).
  torch::InferenceMode guard;
  const QJsonObject c = golden().case_of("text_encoders_sdxl");
  for (int which : {1, 2}) {
    auto& model = text_encoder(which);
    const auto ids = file_tensor(c, "inputs", QString("input_ids_%1").arg(which));
    for (int64_t clip_skip : {0, 1}) {
      const auto options = CLIPEncodeOptions::sdxl(clip_skip);
      const auto direct = model->encode(ids, options);
      const auto via = model->encode_embeds(model->token_embeddings(ids), ids, options);
      QVERIFY(torch::equal(via.hidden, direct.hidden));
      QVERIFY(torch::equal(via.pooled, direct.pooled));
    }
    QVERIFY(
        !model->encode_embeds(model->token_embeddings(ids), {}, CLIPEncodeOptions::sdxl(0, false))
             .pooled.defined());
  }
}

void TestSdxlText::stableDiffusionPathIsUnchanged() {
  // forward(ids, k) is SD 1.x's final_layer_norm(hidden_states[-(k+1)]), bit for bit the same
  // as encode's SD path and as normalising the state by hand.
  torch::InferenceMode guard;
  const QJsonObject c = golden().case_of("text_encoders_sdxl");
  for (int which : {1, 2}) {
    auto& model = text_encoder(which);
    const auto ids = file_tensor(c, "inputs", QString("input_ids_%1").arg(which));
    const auto full = model->forward_full(ids, true);
    for (int64_t k : {0, 1, 2}) {
      const auto forward = model->forward(ids, k);
      QVERIFY(
          torch::equal(forward, model->encode(ids, CLIPEncodeOptions::stable_diffusion(k)).hidden));
      QVERIFY(torch::equal(forward, model->forward_embeds(model->token_embeddings(ids), k)));
      const auto& state = full.hidden_states[full.hidden_states.size() - 1 - std::size_t(k)];
      QVERIFY(torch::equal(forward,
                           latent::models::layer_norm(model->text_model->final_layer_norm, state)));
    }
  }
}

void TestSdxlText::loadsFp16Variant() {
  // SDXL ships model.fp16.safetensors beside the fp32 file; the weights are fp16-representable,
  // so read into fp32 modules they give the same numbers.
  torch::InferenceMode guard;
  const QJsonObject c = golden().case_of("text_encoders_sdxl");
  auto model = load_text_encoder("text_encoder_2", "model.fp16.safetensors");
  QCOMPARE(model->text_projection->weight.scalar_type(), torch::kFloat32);
  const auto ids = file_tensor(c, "inputs", "input_ids_2");
  const auto out = model->encode(ids, CLIPEncodeOptions::sdxl());
  QVERIFY(torch::equal(out.hidden, text_encoder(2)->encode(ids, CLIPEncodeOptions::sdxl()).hidden));
  LATENT_COMPARE_CLOSE(out.pooled, file_tensor(c, "outputs", "te2_text_embeds"),
                       latent::test::tolerance_of(c));

  // In bfloat16 the projection runs too and keeps the dtype.
  model->to(torch::kBFloat16);
  const auto half = model->encode(ids, CLIPEncodeOptions::sdxl());
  QCOMPARE(half.pooled.scalar_type(), torch::kBFloat16);
  QCOMPARE(half.pooled.sizes().vec(), (std::vector<int64_t>{4, 16}));
  QVERIFY(torch::isfinite(half.pooled).all().item<bool>());
}

void TestSdxlText::rejectsBadInput() {
  torch::InferenceMode guard;
  auto& model = text_encoder(2);  // 10 layers
  const auto ids = torch::zeros({1, 77}, torch::kLong);
  QVERIFY_THROWS_EXCEPTION(latent::Error, model->encode(ids, {-1, false}));
  QVERIFY_THROWS_EXCEPTION(latent::Error, model->encode(ids, {11, false}));
  QVERIFY_THROWS_EXCEPTION(latent::Error, model->encode(ids, CLIPEncodeOptions::sdxl(10)));
  QCOMPARE(model->encode(ids, CLIPEncodeOptions::sdxl(9)).hidden.sizes().vec(),
           (std::vector<int64_t>{1, 77, 8}));  // hidden_states[0], the embeddings
  QVERIFY_THROWS_EXCEPTION(latent::Error, model->encode(torch::zeros({1, 78}, torch::kLong)));
  QVERIFY_THROWS_EXCEPTION(latent::Error, model->encode(torch::zeros({77}, torch::kLong)));
  QVERIFY_THROWS_EXCEPTION(latent::Error, model->encode(torch::full({1, 77}, 49408, torch::kLong)));
  QVERIFY_THROWS_EXCEPTION(latent::Error, model->encode(torch::Tensor()));
  const auto embeds = model->token_embeddings(ids);
  // The pooled vector needs the ids, of the embeddings' batch and length.
  QVERIFY_THROWS_EXCEPTION(latent::Error,
                           model->encode_embeds(embeds, {}, CLIPEncodeOptions::sdxl()));
  QVERIFY_THROWS_EXCEPTION(
      latent::Error,
      model->encode_embeds(embeds, torch::zeros({2, 77}, torch::kLong), CLIPEncodeOptions::sdxl()));
  QVERIFY_THROWS_EXCEPTION(latent::Error, model->encode_embeds(torch::zeros({1, 77, 4}), ids,
                                                               CLIPEncodeOptions::sdxl()));
  try {
    model->encode(ids, {12, true});
    QFAIL("layers_from_end 12 accepted");
  } catch (const latent::Error& e) {
    QVERIFY2(QString(e.what()).contains("12"), e.what());
  }
}

QTEST_GUILESS_MAIN(TestSdxlText)
#include "tst_sdxl_text.moc"
