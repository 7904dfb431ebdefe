// The web UI's prompt language on SDXL (PromptSyntax::Weighted) with the tiny SDXL base:
// a plain prompt gives diffusers' conditioning exactly (but for the web UI's zeroing of an
// empty negative prompt); emphasis, long prompts and BREAK make 75-token chunks on both
// text encoders; SDXL textual-inversion files feed clip_l to text_encoder and clip_g to
// text_encoder_2; embeddings of the other family are refused.
#include <QTemporaryDir>
#include <QtTest/QtTest>
#include <functional>

#include "core/io/safetensors.h"
#include "core/pipeline/model_bundle.h"
#include "core/pipeline/prompt_encoder.h"
#include "core/pipeline/text_conditioning.h"
#include "core/util/error.h"
#include "tests/support/error_message.h"
#include "tests/support/golden.h"

using namespace latent;
using pipeline::PromptSyntax;

namespace {

constexpr int64_t kWidthL = 4;  // tiny text_encoder's hidden size (768 in SDXL)

pipeline::ModelBundle& sdxl() { return test::golden_model("sdxl/tiny-sdxl"); }

std::string repeat(const std::string& s, int n) {
  std::string out;
  for (int i = 0; i < n; ++i) out += s;
  return out;
}

pipeline::SamplingParams params(const std::vector<std::string>& prompts,
                                const std::vector<std::string>& negatives = {},
                                PromptSyntax syntax = PromptSyntax::Weighted) {
  pipeline::SamplingParams p;
  p.prompts = prompts;
  p.negative_prompts = negatives;
  p.width = p.height = 128;
  p.guidance_scale = 5.0;
  p.prompt_syntax = syntax;
  return p;
}

pipeline::GuidedConditioning encode(
    pipeline::SamplingParams p, PromptSyntax syntax, pipeline::ModelBundle& model = sdxl(),
    pipeline::TimeIdsLayout layout = pipeline::TimeIdsLayout::text_to_image) {
  p.prompt_syntax = syntax;
  return pipeline::encode_text_conditioning(model, p, layout);
}

pipeline::GuidedConditioning weighted(const pipeline::SamplingParams& p) {
  return encode(p, PromptSyntax::Weighted);
}

pipeline::GuidedConditioning plain(const pipeline::SamplingParams& p) {
  return encode(p, PromptSyntax::Plain);
}

bool same(const torch::Tensor& a, const torch::Tensor& b) {
  if (a.defined() != b.defined()) return false;
  return !a.defined() || (a.sizes() == b.sizes() && torch::equal(a, b));
}

bool same(const pipeline::Conditioning& a, const pipeline::Conditioning& b) {
  return same(a.context, b.context) && same(a.pooled, b.pooled) && same(a.time_ids, b.time_ids);
}

// Tokens [77c, 77c + 77) of a context [N, 77k, D].
torch::Tensor chunk_of(const torch::Tensor& context, int64_t c) {
  return context.narrow(1, 77 * c, 77);
}

// text_encoder's features of a context, and text_encoder_2's.
torch::Tensor clip_l_part(const torch::Tensor& context) { return context.narrow(-1, 0, kWidthL); }
torch::Tensor clip_g_part(const torch::Tensor& context) {
  return context.narrow(-1, kWidthL, context.size(-1) - kWidthL);
}

// The token-embedding rows of the words as encoder `e` reads them: [n, D], as an embedding
// file would hold them.
torch::Tensor word_vectors(std::size_t e, const std::string& words) {
  torch::NoGradGuard no_grad;
  const auto& encoder = sdxl().text_encoders.at(e);
  const auto ids = encoder.tokenizer->encode(words);
  const auto table = encoder.model->text_model->embeddings->token_embedding->weight.cpu();
  return table.index_select(0, torch::tensor(ids, torch::kInt64)).to(torch::kFloat32).clone();
}

}  // namespace

class TestSdxlPrompts : public QObject {
  Q_OBJECT
 private Q_SLOTS:
  void initTestCase() { torch::set_num_threads(2); }

  void plainPromptsEqualThePlainSyntaxBitForBit_data() {
    QTest::addColumn<int>("kind");
    QTest::newRow("prompt, no negative prompt") << 0;
    QTest::newRow("negative prompt and clip skip") << 1;
    QTest::newRow("two prompts, two images each") << 2;
    QTest::newRow("prompt_2 and negative_prompt_2") << 3;
    QTest::newRow("image to image layout, several sizes") << 4;
    QTest::newRow("no guidance") << 5;
  }

  // Every weight 1, one chunk, no embedding: the web UI's reading is diffusers' reading.
  void plainPromptsEqualThePlainSyntaxBitForBit() {
    QFETCH(int, kind);
    auto p = params({"a photo of an astronaut riding a horse on mars"});
    auto layout = pipeline::TimeIdsLayout::text_to_image;
    switch (kind) {
      case 1:
        p.negative_prompts = {"blurry, low quality"};
        p.clip_skip = 1;
        break;
      case 2:
        p.prompts = {"a cat", "a dog on a sofa!"};  // "!" is id 0 to tokenizer_2 either way
        p.negative_prompts = {"ugly", "bad hands"};
        p.images_per_prompt = 2;
        break;
      case 3:
        p.prompts_2 = {"an oil painting"};
        p.negative_prompts = {"a photo"};
        p.negative_prompts_2 = {"a drawing"};
        break;
      case 4:
        p.negative_prompts = {"grey"};
        p.original_width = 256;
        p.crop_top = 8;
        p.images_per_prompt = 2;
        layout = pipeline::TimeIdsLayout::image_to_image;
        break;
      case 5:
        p.guidance_scale = 1.0;
        break;
      default:
        break;
    }
    const auto w = encode(p, PromptSyntax::Weighted, sdxl(), layout);
    const auto d = encode(p, PromptSyntax::Plain, sdxl(), layout);
    QCOMPARE(w.cond.context.sizes(), (torch::IntArrayRef{p.batch(), 77, 12}));
    QVERIFY(same(w.cond, d.cond));
    QVERIFY(same(w.uncond, d.uncond));
    QCOMPARE(w.guidance.scale, d.guidance.scale);
    QCOMPARE(w.uncond.context.defined(), p.guided());
  }

  // sd_models_xl.py zeros the text conditioning of a negative side whose prompts are all
  // empty; diffusers encodes an explicit "" (and the refiner every empty one).
  void emptyNegativePromptIsZeroedAsTheWebUiDoes() {
    const auto p = params({"a red car"}, {""});
    const auto w = weighted(p);
    const auto d = plain(p);
    QVERIFY(same(w.cond, d.cond));
    QVERIFY(same(w.uncond.context, torch::zeros_like(d.uncond.context)));
    QVERIFY(same(w.uncond.pooled, torch::zeros_like(d.uncond.pooled)));
    QVERIFY(same(w.uncond.time_ids, d.uncond.time_ids));
    QVERIFY(d.uncond.context.abs().sum().item<double>() > 0);

    // A second negative prompt is not empty: both are encoded.
    auto with_second = p;
    with_second.negative_prompts_2 = {"blurry"};
    QVERIFY(same(weighted(with_second).uncond, plain(with_second).uncond));

    // The refiner too, where diffusers never zeros.
    auto& refiner = test::golden_model("sdxl/tiny-sdxl-refiner");
    const auto layout = pipeline::TimeIdsLayout::image_to_image;
    const auto rw = encode(p, PromptSyntax::Weighted, refiner, layout);
    const auto rd = encode(p, PromptSyntax::Plain, refiner, layout);
    QVERIFY(same(rw.cond, rd.cond));
    QVERIFY(same(rw.uncond.context, torch::zeros_like(rd.uncond.context)));
    QVERIFY(same(rw.uncond.pooled, torch::zeros_like(rd.uncond.pooled)));
    QVERIFY(rd.uncond.context.abs().sum().item<double>() > 0);
  }

  void emphasisChangesTheEmbeddingAndAWeightOfOneDoesNot() {
    const auto d = plain(params({"a cat on a sofa"}));
    QVERIFY(same(weighted(params({"a (cat:1) on a sofa"})).cond, d.cond));

    const auto w = weighted(params({"a (cat:1.5) on a sofa"}));
    QCOMPARE(w.cond.context.sizes(), d.cond.context.sizes());
    QVERIFY(!torch::equal(clip_l_part(w.cond.context), clip_l_part(d.cond.context)));
    QVERIFY(!torch::equal(clip_g_part(w.cond.context), clip_g_part(d.cond.context)));
    // Each encoder's mean is restored (EmphasisOriginal), each on its own.
    for (const auto& part : {clip_l_part, clip_g_part}) {
      const double weighted_mean = part(w.cond.context).mean().item<double>();
      const double plain_mean = part(d.cond.context).mean().item<double>();
      QVERIFY2(std::abs(weighted_mean - plain_mean) <= 1e-5 * std::max(1.0, std::abs(plain_mean)),
               qPrintable(QString("%1 vs %2").arg(weighted_mean).arg(plain_mean)));
    }
    // The pooled vector is read before the weights, as the web UI's.
    QVERIFY(same(w.cond.pooled, d.cond.pooled));
    // De-emphasis works the other way.
    QVERIFY(!torch::equal(weighted(params({"a [cat] on a sofa"})).cond.context, d.cond.context));
  }

  // 100 tokens: the first 75 are diffusers' (truncated) reading, the other 25 a chunk of
  // their own, on both encoders; the negative prompt is padded to the same length.
  void longPromptTakesTwoChunksOnBothEncoders() {
    const auto w = weighted(params({repeat("cat ", 100)}, {"ugly"}));
    QCOMPARE(w.cond.context.sizes(), (torch::IntArrayRef{1, 154, 12}));
    QCOMPARE(w.uncond.context.sizes(), (torch::IntArrayRef{1, 154, 12}));
    const auto first = plain(params({repeat("cat ", 75)}, {"ugly"}));
    const auto second = plain(params({repeat("cat ", 25)}, {""}));
    QVERIFY(torch::equal(chunk_of(w.cond.context, 0), first.cond.context));
    QVERIFY(torch::equal(chunk_of(w.cond.context, 1), second.cond.context));
    QVERIFY(same(w.cond.pooled, first.cond.pooled));  // from the first chunk
    QVERIFY(torch::equal(chunk_of(w.uncond.context, 0), first.uncond.context));
    QVERIFY(torch::equal(chunk_of(w.uncond.context, 1), second.uncond.context));  // empty chunk
    QVERIFY(same(w.uncond.pooled, first.uncond.pooled));

    // An empty negative prompt is zeros as long as the prompt.
    const auto zero = weighted(params({repeat("cat ", 100)}));
    QVERIFY(same(zero.uncond.context, torch::zeros({1, 154, 12})));
  }

  void breakStartsANewChunk() {
    const auto w = weighted(params({"a cat BREAK a dog"}));
    QCOMPARE(w.cond.context.sizes(), (torch::IntArrayRef{1, 154, 12}));
    const auto cat = plain(params({"a cat"}));
    QVERIFY(torch::equal(chunk_of(w.cond.context, 0), cat.cond.context));
    QVERIFY(torch::equal(chunk_of(w.cond.context, 1), plain(params({"a dog"})).cond.context));
    QVERIFY(same(w.cond.pooled, cat.cond.pooled));
  }

  void tooManyChunksAreRefused() {
    const QString message =
        test::error_message([] { weighted(params({repeat("cat ", 75 * pipeline::kMaxPromptChunks + 1)})); });
    QVERIFY2(message.contains("at most 100"), qPrintable(message));
  }

  // The file's clip_l vectors are text_encoder's token embeddings of "red circle" and its
  // clip_g vectors text_encoder_2's, so the name must read exactly as those words.
  void sdxlEmbeddingFeedsBothEncoders() {
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const auto path = [&](const char* name) { return dir.filePath(name).toStdString(); };
    io::write_safetensors(
        path("redcircle.safetensors"),
        {{"clip_l", word_vectors(0, "red circle")}, {"clip_g", word_vectors(1, "red circle")}});
    // Only text_encoder_2's half right: only its features may match.
    io::write_safetensors(
        path("halfright.safetensors"),
        {{"clip_l", torch::zeros({2, kWidthL})}, {"clip_g", word_vectors(1, "red circle")}});
    auto p = params({"a redcircle cat"}, {"redcircle"});
    p.embeddings_dir = dir.path().toStdString();
    const auto w = weighted(p);
    const auto d = plain(params({"a red circle cat"}, {"red circle"}));
    QVERIFY(same(w.cond, d.cond));
    QVERIFY(same(w.uncond, d.uncond));

    auto half = p;
    half.prompts = {"a halfright cat"};
    const auto h = weighted(half);
    QVERIFY(torch::equal(clip_g_part(h.cond.context), clip_g_part(d.cond.context)));
    QVERIFY(!torch::equal(clip_l_part(h.cond.context), clip_l_part(d.cond.context)));
    QVERIFY(same(h.cond.pooled, d.cond.pooled));  // the pooled vector is text_encoder_2's

    // Weighted like words, and the name is just text without the folder.
    auto emphasised = p;
    emphasised.prompts = {"a (redcircle:1.3) cat"};
    QVERIFY(same(weighted(emphasised).cond, weighted(params({"a (red circle:1.3) cat"})).cond));
    QVERIFY(
        same(weighted(params({"a redcircle cat"})).cond, plain(params({"a redcircle cat"})).cond));
  }

  void embeddingsOfTheOtherFamilyAreRefused() {
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const auto path = [&](const char* name) { return dir.filePath(name).toStdString(); };
    io::write_safetensors(path("sdone.safetensors"), {{"emb_params", torch::zeros({1, kWidthL})}});
    io::write_safetensors(path("widerg.safetensors"), {{"clip_l", torch::zeros({1, kWidthL})},
                                                       {"clip_g", torch::zeros({1, 6})}});
    io::write_safetensors(path("uneven.safetensors"), {{"clip_l", torch::zeros({2, kWidthL})},
                                                       {"clip_g", torch::zeros({1, 8})}});
    io::write_safetensors(path("pair.safetensors"), {{"clip_l", torch::zeros({1, kWidthL})},
                                                     {"clip_g", torch::zeros({1, 8})}});
    const std::string folder = dir.path().toStdString();

    // Unused, they are harmless.
    auto unused = params({"a cat"});
    unused.embeddings_dir = folder;
    QVERIFY(same(weighted(unused).cond, plain(unused).cond));

    const struct {
      std::vector<std::string> prompts, negatives;
      QStringList mentions;
    } cases[] = {
        {{"a sdone cat"}, {}, {"sdone.safetensors", "Stable Diffusion 1.x or 2.x", "SDXL"}},
        {{"a widerg cat"}, {}, {"widerg.safetensors", "clip_g", "size 6", "uses 8"}},
        {{"a uneven cat"}, {}, {"uneven.safetensors", "2 clip_l vectors but 1 clip_g"}},
        {{"a cat"}, {"sdone"}, {"negative prompt: ", "sdone.safetensors"}},
    };
    for (const auto& c : cases) {
      auto p = params(c.prompts, c.negatives);
      p.embeddings_dir = folder;
      const QString message = test::error_message([&] { weighted(p); });
      for (const QString& mention : c.mentions)
        QVERIFY2(message.contains(mention), qPrintable(mention + " not in: " + message));
    }

    // The reverse: an SDXL file named on Stable Diffusion 1.x.
    auto& sd1 = test::golden_model("tiny-sd");
    auto p = params({"a pair cat"});
    p.embeddings_dir = folder;
    const QString message =
        test::error_message([&] { encode(p, PromptSyntax::Weighted, sd1); });
    QVERIFY2(message.contains("pair.safetensors") && message.contains("SDXL embedding") &&
                 message.contains("Stable Diffusion 1.x"),
             qPrintable(message));
  }
};

QTEST_GUILESS_MAIN(TestSdxlPrompts)
#include "tst_sdxl_prompts.moc"
