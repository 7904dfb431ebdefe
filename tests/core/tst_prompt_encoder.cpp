#include <QFile>
#include <QJsonArray>
#include <QTemporaryDir>
#include <QtTest/QtTest>

#include "core/io/model_files.h"
#include "core/io/safetensors.h"
#include "core/pipeline/engine.h"
#include "core/pipeline/model_bundle.h"
#include "core/pipeline/prompt_encoder.h"
#include "core/pipeline/text_to_image.h"
#include "core/pipeline/text_conditioning.h"
#include "core/pipeline/textual_inversion.h"
#include "core/util/error.h"
#include "tests/support/golden.h"

using namespace latent;
using latent::test::golden_tensor;
using pipeline::PromptSyntax;

namespace {

pipeline::ModelBundle& tiny() { return test::golden_model("tiny-sd"); }

std::string repeat(const std::string& s, int n) {
  std::string out;
  for (int i = 0; i < n; ++i) out += s;
  return out;
}

std::string long_golden_prompt() {
  return test::golden_case("e2e_tiny_sd_lms_long_prompt")
      .value("inputs")
      .toObject()
      .value("prompt")
      .toArray()
      .first()
      .toString()
      .toStdString();
}

// diffusers' plain encoding of texts: [N, 77, D].
torch::Tensor plain(const std::vector<std::string>& texts, int clip_skip = 0) {
  return pipeline::encode_prompts(tiny(), texts, clip_skip);
}

pipeline::WeightedPromptEmbeddings weighted(const std::vector<std::string>& prompts,
                                            const std::vector<std::string>* negatives = nullptr,
                                            int clip_skip = 0, const std::string& embeddings = "") {
  pipeline::WeightedPromptOptions options;
  options.clip_skip = clip_skip;
  options.embeddings_dir = embeddings;
  return pipeline::encode_weighted_prompts(tiny(), prompts, negatives, options);
}

// Rows [77c, 77c + 77) of [N, 77k, D].
torch::Tensor chunk_of(const torch::Tensor& embeds, int64_t c) {
  return embeds.narrow(1, 77 * c, 77);
}

// The token-embedding rows of the words, as an embedding file would hold them: [n, D].
torch::Tensor word_vectors(const std::string& words) {
  torch::NoGradGuard no_grad;
  const auto ids = tiny().tokenizer().encode(words);
  const auto table = tiny().text_encoder()->text_model->embeddings->token_embedding->weight.cpu();
  return table.index_select(0, torch::tensor(ids, torch::kInt64)).clone();
}

void write_bytes(const QString& path, const QByteArray& bytes) {
  QFile file(path);
  QVERIFY2(file.open(QIODevice::WriteOnly), qPrintable(path));
  file.write(bytes);
}

std::string message_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& error) {
    return error.what();
  }
  return "";
}

}  // namespace

class TestPromptEncoder : public QObject {
  Q_OBJECT
 private Q_SLOTS:
  void initTestCase() { torch::set_num_threads(2); }
  void plainPromptsEqualThePlainPathBitForBit_data();
  void plainPromptsEqualThePlainPathBitForBit();
  void requestPathMatchesDiffusers_data();
  void requestPathMatchesDiffusers();
  void weightingRestoresTheMean();
  void longPromptsAreChunked();
  void clipSkipAppliesToEveryChunk();
  void negativePaddedToThePromptsChunks();
  void breakStartsANewChunk();
  void longPromptThroughThePipeline();
  void tooManyChunksAreRefused();
  void forwardFromEmbeddingsEqualsForward();
  void textualInversionReplacesTheName();
  void textualInversionFileLayouts();
  void textualInversionBadFiles();
  void pickledEmbeddingIsRefused();
  void engineReportsTokensAndChunks();
};

void TestPromptEncoder::plainPromptsEqualThePlainPathBitForBit_data() {
  QTest::addColumn<QString>("id");
  QFile file(test::data_path("golden/index.json"));
  QVERIFY(file.open(QIODevice::ReadOnly));
  const QString text = QString::fromUtf8(file.readAll());
  static const QRegularExpression ids("\"id\":\\s*\"(e2e_tiny_sd[^\"]+)\"");
  for (auto it = ids.globalMatch(text); it.hasNext();) {
    const QString id = it.next().captured(1);
    if (!id.contains("long_prompt")) QTest::newRow(qPrintable(id)) << id;
  }
}

// Every golden prompt (all within 75 tokens, no emphasis): the weighted path gives the
// plain path's tensors exactly, for the prompt and the negative prompt.
void TestPromptEncoder::plainPromptsEqualThePlainPathBitForBit() {
  QFETCH(QString, id);
  const auto p = test::text_to_image_params(test::golden_case(id));
  auto& model = test::golden_model(test::golden_case(id).value("model").toString());
  std::vector<std::string> negatives = p.negative_prompts;
  negatives.resize(p.prompts.size());
  pipeline::WeightedPromptOptions options;
  options.clip_skip = p.clip_skip;
  const auto w = pipeline::encode_weighted_prompts(model, p.prompts, &negatives, options);
  QCOMPARE(w.chunks, 1);
  QVERIFY(torch::equal(w.cond, pipeline::encode_prompts(model, p.prompts, p.clip_skip)));
  QVERIFY(torch::equal(w.uncond, pipeline::encode_prompts(model, negatives, 0)));
}

void TestPromptEncoder::requestPathMatchesDiffusers_data() {
  QTest::addColumn<QString>("id");
  for (const char* id : {"e2e_tiny_sd_euler_clip_skip1", "e2e_tiny_sd_ddim_negative",
                         "e2e_tiny_sd_euler_a_2_per_prompt",
                         "e2e_tiny_sd_full_ddim_batch2_negative", "e2e_tiny_sd_lms_guidance1"})
    QTest::newRow(id) << QString(id);
}

// The whole loop with the web UI's reading (as GenerationRequest runs it) still gives
// diffusers' result for prompts without emphasis.
void TestPromptEncoder::requestPathMatchesDiffusers() {
  QFETCH(QString, id);
  const QJsonObject golden = test::golden_case(id);
  auto p = test::text_to_image_params(golden);
  p.prompt_syntax = PromptSyntax::Weighted;
  auto& model = test::golden_model(golden.value("model").toString());
  const auto out = pipeline::text_to_image(model, p);
  LATENT_COMPARE_CLOSE(out.prompt_embeds, golden_tensor(id + "/prompt_embeds.npy"),
                       (test::Tolerance{1e-4, 1e-4}));
  const QJsonObject tol = golden.value("tolerance").toObject();
  LATENT_COMPARE_CLOSE(out.latents, golden_tensor(id + "/latents_final.npy"),
                       (test::Tolerance{tol.value("latents_atol").toDouble(), 0}));
  auto plain_params = p;
  plain_params.prompt_syntax = PromptSyntax::Plain;
  plain_params.steps = 1;
  p.steps = 1;
  QVERIFY(torch::equal(pipeline::text_to_image(model, p).prompt_embeds,
                       pipeline::text_to_image(model, plain_params).prompt_embeds));
}

void TestPromptEncoder::weightingRestoresTheMean() {
  const auto z = weighted({"a (red:1.5) [circle]"}).cond[0];  // [77, D]
  const auto z0 = plain({"a red circle"})[0];                 // same tokens, unweighted
  std::vector<float> w(77, 1.0f);
  w[2] = 1.5f;
  w[3] = static_cast<float>(1 / 1.1);
  auto expected = z0 * torch::tensor(w).to(z0.device()).unsqueeze(-1);
  expected = expected * (z0.mean() / expected.mean());
  LATENT_COMPARE_CLOSE(z, expected, (test::Tolerance{1e-6, 1e-5}));
  QVERIFY(std::fabs(z.mean().item<double>() - z0.mean().item<double>()) <= 1e-6);
  QVERIFY(!torch::equal(z, z0));
  // Rows keep their direction: each is the unweighted row times weight × one factor.
  const auto factor = (z[1] / z0[1]).mean().item<double>();
  QVERIFY(std::fabs((z[2] / z0[2]).mean().item<double>() - 1.5 * factor) < 1e-4);
}

void TestPromptEncoder::longPromptsAreChunked() {
  const std::string prompt = long_golden_prompt();
  const std::vector<std::string> negatives = {""};
  const auto w = weighted({prompt}, &negatives);
  QCOMPARE(w.chunks, 2);
  QCOMPARE(w.cond.sizes(), (torch::IntArrayRef{1, 154, 32}));
  QCOMPARE(w.uncond.sizes(), (torch::IntArrayRef{1, 154, 32}));
  const auto chunked = pipeline::read_prompt(tiny(), prompt);
  QCOMPARE(chunked.chunks.size(), std::size_t(2));
  torch::NoGradGuard no_grad;
  for (int64_t c = 0; c < 2; ++c) {
    const auto ids = torch::tensor(chunked.chunks[std::size_t(c)].ids, torch::kInt64).unsqueeze(0);
    QVERIFY(torch::equal(chunk_of(w.cond, c), tiny().text_encoder()->forward(ids)));
    QVERIFY(torch::equal(chunk_of(w.uncond, c), plain({""})));
  }
  // The first chunk is not diffusers' truncation: it ends at a comma.
  QVERIFY(!torch::equal(chunk_of(w.cond, 0), plain({prompt})));
}

void TestPromptEncoder::clipSkipAppliesToEveryChunk() {
  const std::string prompt = repeat("a red circle, ", 30);
  const auto w = weighted({prompt}, nullptr, 1);
  const auto chunked = pipeline::read_prompt(tiny(), prompt);
  QCOMPARE(static_cast<int64_t>(chunked.chunks.size()) * 77, w.cond.size(1));
  QVERIFY(chunked.chunks.size() >= 2);
  torch::NoGradGuard no_grad;
  for (std::size_t c = 0; c < chunked.chunks.size(); ++c) {
    const auto ids = torch::tensor(chunked.chunks[c].ids, torch::kInt64).unsqueeze(0);
    QVERIFY(torch::equal(chunk_of(w.cond, int64_t(c)), tiny().text_encoder()->forward(ids, 1)));
    QVERIFY(!torch::equal(chunk_of(w.cond, int64_t(c)), tiny().text_encoder()->forward(ids, 0)));
  }
}

void TestPromptEncoder::negativePaddedToThePromptsChunks() {
  // A long negative prompt pads the prompt, and a batch pads to its longest prompt.
  const std::vector<std::string> negatives = {repeat("blurry, ", 60), "ugly"};
  const auto w = weighted({"a cat", "a dog"}, &negatives);
  QCOMPARE(w.chunks, 2);
  QCOMPARE(w.cond.sizes(), (torch::IntArrayRef{2, 154, 32}));
  QCOMPARE(w.uncond.sizes(), (torch::IntArrayRef{2, 154, 32}));
  const auto empty = plain({"", ""});  // the same batch shape as each chunk's
  QVERIFY(torch::equal(chunk_of(w.cond, 0), plain({"a cat", "a dog"})));
  QVERIFY(torch::equal(chunk_of(w.cond, 1), empty));
  QVERIFY(torch::equal(chunk_of(w.uncond, 1)[1], empty[1]));
  QVERIFY(!torch::equal(chunk_of(w.uncond, 1)[0], empty[0]));
}

void TestPromptEncoder::breakStartsANewChunk() {
  const auto w = weighted({"a red circle BREAK a blue square"});
  QCOMPARE(w.cond.sizes(), (torch::IntArrayRef{1, 154, 32}));
  QVERIFY(torch::equal(chunk_of(w.cond, 0), plain({"a red circle"})));
  QVERIFY(torch::equal(chunk_of(w.cond, 1), plain({"a blue square"})));
}

void TestPromptEncoder::longPromptThroughThePipeline() {
  const QString id = "e2e_tiny_sd_lms_long_prompt";
  auto p = test::text_to_image_params(test::golden_case(id));
  // Plain: diffusers' truncation, as the golden case pins it.
  p.steps = 2;
  const auto truncated = pipeline::text_to_image(tiny(), p);
  QCOMPARE(truncated.prompt_embeds.sizes(), (torch::IntArrayRef{2, 77, 32}));
  // Weighted: two chunks for the prompt, two for the empty negative prompt.
  p.prompt_syntax = PromptSyntax::Weighted;
  const auto chunked = pipeline::text_to_image(tiny(), p);
  QCOMPARE(chunked.prompt_embeds.sizes(), (torch::IntArrayRef{2, 154, 32}));
  QVERIFY(torch::isfinite(chunked.latents).all().item<bool>());
  QCOMPARE(chunked.images.sizes(), (torch::IntArrayRef{1, 64, 64, 3}));
}

void TestPromptEncoder::tooManyChunksAreRefused() {
  const std::string message =
      message_of([] { weighted({repeat("cat ", 75 * pipeline::kMaxPromptChunks + 1)}); });
  QVERIFY2(QString::fromStdString(message).contains("at most 100"), message.c_str());
}

void TestPromptEncoder::forwardFromEmbeddingsEqualsForward() {
  torch::NoGradGuard no_grad;
  auto& encoder = tiny().text_encoder();
  const auto ids =
      torch::tensor(tiny().tokenizer().encode_padded("a red circle"), torch::kInt64).unsqueeze(0);
  for (int64_t skip : {0, 1, 3})
    QVERIFY(torch::equal(encoder->forward_embeds(encoder->token_embeddings(ids), skip),
                         encoder->forward(ids, skip)));
  QVERIFY_THROWS_EXCEPTION(Error, encoder->forward_embeds(torch::zeros({1, 78, 32})));
  QVERIFY_THROWS_EXCEPTION(Error, encoder->forward_embeds(torch::zeros({1, 77, 16})));
  QVERIFY_THROWS_EXCEPTION(Error, encoder->forward_embeds(torch::zeros({1, 77, 32}), 6));
  QVERIFY_THROWS_EXCEPTION(Error,
                           encoder->token_embeddings(torch::full({1, 3}, 49408, torch::kInt64)));
}

void TestPromptEncoder::textualInversionReplacesTheName() {
  QTemporaryDir dir;
  QVERIFY(dir.isValid());
  io::write_safetensors(dir.filePath("redcircle.safetensors").toStdString(),
                        {{"emb_params", word_vectors("red circle")}});
  const std::string folder = dir.path().toStdString();
  // The name's vectors are the token embeddings of "red circle", so the result must be
  // the plain encoding of "a red circle cat" exactly.
  const std::vector<std::string> negatives = {"redcircle"};
  const auto w = weighted({"a redcircle cat"}, &negatives, 0, folder);
  QVERIFY(torch::equal(w.cond, plain({"a red circle cat"})));
  QVERIFY(torch::equal(w.uncond, plain({"red circle"})));
  const auto chunked = pipeline::read_prompt(tiny(), "a redcircle cat",
                                             pipeline::EmbeddingLibrary::from_folder(folder));
  QCOMPARE(chunked.chunks[0].embeddings.size(), std::size_t(1));
  QCOMPARE(chunked.chunks[0].embeddings[0].vectors, 2);
  QCOMPARE(chunked.token_count, 4);
  // Weighted embeddings are weighted like words.
  QVERIFY(torch::equal(weighted({"a (redcircle:1.3) cat"}, nullptr, 0, folder).cond,
                       weighted({"a (red circle:1.3) cat"}).cond));
  // Without the folder the name is just text.
  QVERIFY(torch::equal(weighted({"a redcircle cat"}).cond, plain({"a redcircle cat"})));
}

void TestPromptEncoder::textualInversionFileLayouts() {
  QTemporaryDir dir;
  const auto path = [&](const char* name) { return dir.filePath(name).toStdString(); };
  // The web UI's own format, flattened; diffusers' learned_embeds (one tensor named by its
  // token); a single vector; a leading batch dimension; half precision.
  io::write_safetensors(path("webui.safetensors"),
                        {{"string_to_param.*", word_vectors("blue square")}});
  io::write_safetensors(path("concept.safetensors"), {{"<cat-toy>", word_vectors("green")}});
  io::write_safetensors(path("single.safetensors"), {{"emb_params", word_vectors("circle")[0]}});
  io::write_safetensors(path("batched.safetensors"),
                        {{"emb_params", word_vectors("red").unsqueeze(0)}});
  io::write_safetensors(path("halfvec.safetensors"),
                        {{"emb_params", word_vectors("house").to(torch::kFloat16)}});
  const std::string folder = dir.path().toStdString();
  QVERIFY(torch::equal(weighted({"a webui and a concept single batched"}, nullptr, 0, folder).cond,
                       plain({"a blue square and a green circle red"})));
  QCOMPARE(pipeline::read_embedding_file(path("single.safetensors")).sizes(),
           (torch::IntArrayRef{1, 32}));
  const auto half = pipeline::read_embedding_file(path("halfvec.safetensors"));
  QCOMPARE(half.scalar_type(), torch::kFloat32);
  QVERIFY(torch::equal(half, word_vectors("house").to(torch::kFloat16).to(torch::kFloat32)));
  // A subfolder is searched too.
  QVERIFY(QDir(dir.path()).mkdir("more"));
  io::write_safetensors(path("more/deep.safetensors"), {{"emb_params", word_vectors("tree")}});
  QVERIFY(torch::equal(weighted({"deep"}, nullptr, 0, folder).cond, plain({"tree"})));
}

void TestPromptEncoder::textualInversionBadFiles() {
  QTemporaryDir dir;
  const auto path = [&](const char* name) { return dir.filePath(name).toStdString(); };
  io::write_safetensors(path("narrow.safetensors"), {{"emb_params", torch::zeros({2, 16})}});
  io::write_safetensors(
      path("twoterms.safetensors"),
      {{"string_to_param.a", torch::zeros({1, 32})}, {"string_to_param.b", torch::zeros({1, 32})}});
  io::write_safetensors(path("sdxl.safetensors"),
                        {{"clip_l", torch::zeros({1, 32})}, {"clip_g", torch::zeros({1, 32})}});
  io::write_safetensors(path("other.safetensors"),
                        {{"foo", torch::zeros({1, 32})}, {"bar", torch::zeros({1, 32})}});
  io::write_safetensors(path("toolong.safetensors"), {{"emb_params", torch::zeros({80, 32})}});
  write_bytes(dir.filePath("garbage.safetensors"), "not a safetensors file at all");
  const std::string folder = dir.path().toStdString();

  // Unused, they are harmless.
  QVERIFY(torch::equal(weighted({"a cat"}, nullptr, 0, folder).cond, plain({"a cat"})));
  const struct {
    const char* prompt;
    const char* mentions;
  } cases[] = {
      {"a narrow cat", "16"},          {"a twoterms cat", "2 embedding terms"},
      {"a sdxl cat", "SDXL"},          {"a other cat", "not a textual-inversion embedding"},
      {"a toolong cat", "80 vectors"}, {"a garbage cat", "garbage.safetensors"}};
  for (const auto& c : cases) {
    const std::string message = message_of([&] { weighted({c.prompt}, nullptr, 0, folder); });
    QVERIFY2(QString::fromStdString(message).contains(c.mentions),
             qPrintable(QString("%1: %2").arg(c.prompt, QString::fromStdString(message))));
  }
  QVERIFY(!message_of([&] { weighted({"a cat"}, nullptr, 0, path("missing")); }).empty());
}

void TestPromptEncoder::pickledEmbeddingIsRefused() {
  QTemporaryDir dir;
  QByteArray zip("PK\x03\x04", 4);
  zip += QByteArray(64, 'x');
  write_bytes(dir.filePath("oldstyle.pt"), zip);
  write_bytes(dir.filePath("rawpickle.bin"), QByteArray("\x80\x04\x95", 3) + QByteArray(32, '\0'));
  write_bytes(dir.filePath("model.ckpt"), zip);
  // A .pt file that really holds safetensors is safe to read.
  io::write_safetensors(dir.filePath("saferedname.pt").toStdString(),
                        {{"emb_params", word_vectors("red")}});
  const std::string folder = dir.path().toStdString();

  const std::string explanation =
      "is a PyTorch pickle file. Latent Studio never opens pickles, because loading one can run "
      "arbitrary code hidden in it.";
  const std::string checkpoint =
      message_of([&] { io::open_model(dir.filePath("model.ckpt").toStdString()); });
  QVERIFY2(checkpoint.find(explanation) != std::string::npos, checkpoint.c_str());
  for (const char* prompt : {"a oldstyle cat", "a rawpickle cat"}) {
    const std::string message = message_of([&] { weighted({prompt}, nullptr, 0, folder); });
    QVERIFY2(message.find(explanation) != std::string::npos, message.c_str());
    QVERIFY2(message.find(".safetensors") != std::string::npos, message.c_str());
  }
  const std::string direct =
      message_of([&] { pipeline::read_embedding_file(dir.filePath("oldstyle.pt").toStdString()); });
  QVERIFY2(direct.find(explanation) != std::string::npos, direct.c_str());
  // Pickles that are not named do not stop a prompt; a disguised safetensors file works.
  QVERIFY(torch::equal(weighted({"a cat"}, nullptr, 0, folder).cond, plain({"a cat"})));
  QVERIFY(
      torch::equal(weighted({"a saferedname cat"}, nullptr, 0, folder).cond, plain({"a red cat"})));
}

void TestPromptEncoder::engineReportsTokensAndChunks() {
  pipeline::Engine engine;
  auto stats = engine.prompt_stats("a (red:1.5) [circle] BREAK a blue square");
  QCOMPARE(stats.tokens, 6);
  QCOMPARE(stats.chunks, 2);
  QVERIFY(stats.error.empty());
  stats = engine.prompt_stats("(word:1e9)");
  QVERIFY(!stats.error.empty());

  QTemporaryDir dir;
  io::write_safetensors(dir.filePath("threevec.safetensors").toStdString(),
                        {{"emb_params", torch::zeros({3, 32})}});
  latent::api::LoadOptions load;
  load.model_path = test::data_path("tiny-sd").toStdString();
  engine.load(load);
  stats = engine.prompt_stats("a threevec cat", dir.path().toStdString());
  QCOMPARE(stats.tokens, 5);
  QCOMPARE(engine.count_tokens("a (red:1.5) circle"), 3);

  // A request with a long prompt, an embedding and BREAK runs end to end.
  latent::api::GenerationRequest request;
  request.prompt = long_golden_prompt() + " BREAK a threevec cat";
  request.negative_prompt = "(blurry:1.2)";
  request.size.width = request.size.height = 64;
  request.sampling.steps = 2;
  request.sampling.clip_skip = 2;  // the penultimate layer
  request.embeddings_dir = dir.path().toStdString();
  const auto result = engine.generate(request);
  QCOMPARE(result.images.size(), std::size_t(1));
  QCOMPARE(result.images[0].width, 64);
}

QTEST_GUILESS_MAIN(TestPromptEncoder)
#include "tst_prompt_encoder.moc"
