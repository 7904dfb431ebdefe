#include <QtTest/QtTest>
#include <cmath>
#include <random>

#include "core/text/clip_tokenizer.h"
#include "core/text/prompt_chunks.h"
#include "core/text/prompt_parser.h"
#include "core/util/error.h"
#include "tests/support/golden.h"

using latent::text::ChunkOptions;
using latent::text::ClipTokenizer;
using latent::text::EmbeddingToken;
using latent::text::PromptPiece;
using Pieces = std::vector<PromptPiece>;
Q_DECLARE_METATYPE(Pieces)

namespace {

const ClipTokenizer& tokenizer() {
  static const ClipTokenizer tok =
      ClipTokenizer::from_folder(latent::test::data_path("tiny-sd/tokenizer").toStdString());
  return tok;
}

PromptPiece piece(const std::string& text, double weight) { return {text, weight, false}; }
PromptPiece brk() { return {"BREAK", 1.0, true}; }

QString describe(const Pieces& pieces) {
  QStringList out;
  for (const auto& p : pieces)
    out << (p.is_break ? QString("BREAK")
                       : QString("[\"%1\", %2]")
                             .arg(QString::fromStdString(p.text))
                             .arg(p.weight, 0, 'g', 17));
  return out.join(", ");
}

std::string repeat(const std::string& s, int n) {
  std::string out;
  for (int i = 0; i < n; ++i) out += s;
  return out;
}

std::vector<int> chunk_sizes(const latent::text::ChunkedPrompt& prompt) {
  std::vector<int> sizes;
  for (const auto& chunk : prompt.chunks) sizes.push_back(chunk.token_count);
  return sizes;
}

QString sizes_text(const std::vector<int>& sizes) {
  QStringList out;
  for (int s : sizes) out << QString::number(s);
  return "[" + out.join(", ") + "]";
}

// Every chunk is start + tokens + end + padding with finite weights.
void check_chunks(const latent::text::ChunkedPrompt& prompt, const ClipTokenizer& tok) {
  QVERIFY(!prompt.chunks.empty());
  int total = 0;
  for (const auto& chunk : prompt.chunks) {
    QCOMPARE(chunk.ids.size(), std::size_t(77));
    QCOMPARE(chunk.weights.size(), std::size_t(77));
    QVERIFY(chunk.token_count >= 0 && chunk.token_count <= 75);
    QCOMPARE(chunk.ids.front(), tok.bos_id());
    QCOMPARE(chunk.ids[std::size_t(chunk.token_count) + 1], tok.eos_id());
    for (const int64_t id : chunk.ids) QVERIFY(id >= 0 && id < tok.vocab_size());
    for (const double w : chunk.weights) QVERIFY(std::isfinite(w));
    total += chunk.token_count;
  }
  QCOMPARE(prompt.token_count, total);
}

}  // namespace

class TestPromptParser : public QObject {
  Q_OBJECT
 private Q_SLOTS:
  void parsesTheEstablishedSyntax_data();
  void parsesTheEstablishedSyntax();
  void refusesAbsurdWeights_data();
  void refusesAbsurdWeights();
  void chunkBoundaries_data();
  void chunkBoundaries();
  void plainShortPromptIsTheDiffusersInput();
  void longGoldenPromptAndTruncation();
  void weightsFollowTheirTokens();
  void embeddingsTakeTheirSlots();
  void unusableEmbeddingIsRefusedWhenNamed();
  void safetyCases();
  void fuzzParserAndTokenizer();
  void statsNeverThrow();
};

void TestPromptParser::parsesTheEstablishedSyntax_data() {
  QTest::addColumn<QString>("prompt");
  QTest::addColumn<Pieces>("expected");
  const double r = 1.1, s = 1 / 1.1;
  // The web UI's own examples (modules/prompt_parser.py docstring), then more.
  QTest::newRow("plain") << "normal text" << Pieces{piece("normal text", 1.0)};
  QTest::newRow("round") << "an (important) word"
                         << Pieces{piece("an ", 1.0), piece("important", r), piece(" word", 1.0)};
  QTest::newRow("unbalanced open") << "(unbalanced" << Pieces{piece("unbalanced", r)};
  QTest::newRow("escapes") << "\\(literal\\]" << Pieces{piece("(literal]", 1.0)};
  QTest::newRow("neighbours merge")
      << "(unnecessary)(parens)" << Pieces{piece("unnecessaryparens", r)};
  QTest::newRow("docstring mix") << "a (((house:1.3)) [on] a (hill:0.5), sun, (((sky)))."
                                 << Pieces{piece("a ", 1.0),    piece("house", 1.3 * r * r),
                                           piece(" ", r),       piece("on", s * r),
                                           piece(" a ", r),     piece("hill", 0.5 * r),
                                           piece(", sun, ", r), piece("sky", r * r * r * r),
                                           piece(".", r)};
  QTest::newRow("double round") << "((word))" << Pieces{piece("word", r * r)};
  QTest::newRow("square") << "[word]" << Pieces{piece("word", s)};
  QTest::newRow("double square") << "[[word]]" << Pieces{piece("word", s * s)};
  QTest::newRow("explicit") << "(word:1.5)" << Pieces{piece("word", 1.5)};
  QTest::newRow("explicit spaces") << "(word : 0.25 )" << Pieces{piece("word ", 0.25)};
  QTest::newRow("explicit leading dot") << "(word:.5)" << Pieces{piece("word", 0.5)};
  QTest::newRow("negative weight")
      << "a (word:-1)" << Pieces{piece("a ", 1.0), piece("word", -1.0)};
  QTest::newRow("explicit nested") << "((word:2))" << Pieces{piece("word", 2 * r)};
  QTest::newRow("square in round")
      << "(a [b] c)" << Pieces{piece("a ", r), piece("b", s * r), piece(" c", r)};
  QTest::newRow("unclosed square") << "a [b" << Pieces{piece("a ", 1.0), piece("b", s)};
  QTest::newRow("stray close round") << "word)" << Pieces{piece("word)", 1.0)};
  QTest::newRow("stray close square") << "word]" << Pieces{piece("word]", 1.0)};
  QTest::newRow("colon is text") << "a: b" << Pieces{piece("a: b", 1.0)};
  QTest::newRow("weight without bracket") << "a:1.5)" << Pieces{piece("a:1.5)", 1.0)};
  QTest::newRow("colon word in round") << "(a:b)" << Pieces{piece("a:b", r)};
  QTest::newRow("not a number") << "(a:1.2.3)" << Pieces{piece("a:1.2.3", r)};
  QTest::newRow("exponent") << "(a:1e-1)" << Pieces{piece("a", 0.1)};
  QTest::newRow("lone backslash dropped") << "a\\b" << Pieces{piece("ab", 1.0)};
  QTest::newRow("escaped backslash") << "a\\\\b" << Pieces{piece("a\\b", 1.0)};
  QTest::newRow("escaped in round") << "(a\\)b)" << Pieces{piece("a)b", r)};
  QTest::newRow("lora tag untouched") << "<lora:x:0.5>" << Pieces{piece("<lora:x:0.5>", 1.0)};
  QTest::newRow("empty") << "" << Pieces{piece("", 1.0)};
  QTest::newRow("only brackets") << "()[]" << Pieces{piece("", 1.0)};
  QTest::newRow("break") << "a BREAK b" << Pieces{piece("a", 1.0), brk(), piece("b", 1.0)};
  QTest::newRow("break with commas")
      << "a, BREAK, b" << Pieces{piece("a,", 1.0), brk(), piece(", b", 1.0)};
  QTest::newRow("break at start") << "BREAK a" << Pieces{piece("", 1.0), brk(), piece("a", 1.0)};
  QTest::newRow("two breaks") << "a BREAK BREAK b"
                              << Pieces{piece("a", 1.0), brk(), piece("", 1.0), brk(),
                                        piece("b", 1.0)};
  QTest::newRow("break is a word")
      << "BREAKfast aBREAK break" << Pieces{piece("BREAKfast aBREAK break", 1.0)};
  QTest::newRow("break in brackets")
      << "(a BREAK b)" << Pieces{piece("a", r), brk(), piece("b", r)};
  QTest::newRow("break after colon")
      << "a:BREAK" << Pieces{piece("a:", 1.0), brk(), piece("", 1.0)};
}

void TestPromptParser::parsesTheEstablishedSyntax() {
  QFETCH(QString, prompt);
  QFETCH(Pieces, expected);
  const auto actual = latent::text::parse_prompt_attention(prompt.toStdString());
  const QString message = "got " + describe(actual) + "\nexpected " + describe(expected);
  QVERIFY2(actual.size() == expected.size(), qPrintable(message));
  for (std::size_t i = 0; i < actual.size(); ++i) {
    QVERIFY2(actual[i].text == expected[i].text, qPrintable(message));
    QVERIFY2(actual[i].is_break == expected[i].is_break, qPrintable(message));
    QVERIFY2(std::fabs(actual[i].weight - expected[i].weight) <= 1e-12, qPrintable(message));
  }
}

void TestPromptParser::refusesAbsurdWeights_data() {
  QTest::addColumn<QString>("prompt");
  QTest::addColumn<QString>("mentions");
  QTest::newRow("1e9") << "(word:1e9)"
                       << "1e+09";
  QTest::newRow("large") << "a (word:1000)"
                         << "1000";
  QTest::newRow("negative") << "(word:-250)"
                            << "-250";
  QTest::newRow("nested past the limit") << "(((((((((((word:50)))))))))))"
                                         << "word";
  QTest::newRow("overflow") << "(word:1e300)"
                            << "1e+300";
  QTest::newRow("thousands of brackets") << QString("(").repeated(5000) + "x"
                                         << "e+206";
  QTest::newRow("nested weights overflow")
      << QString("(").repeated(400) + "x" + QString(":1e300)").repeated(400) << "inf";
}

void TestPromptParser::refusesAbsurdWeights() {
  QFETCH(QString, prompt);
  QFETCH(QString, mentions);
  try {
    latent::text::parse_prompt_attention(prompt.toStdString());
    QFAIL("an absurd weight was accepted");
  } catch (const latent::Error& error) {
    const QString message = error.what();
    QVERIFY2(message.contains(mentions) && message.contains("between -100 and 100"),
             qPrintable(message));
  }
  // At the limit it is still accepted.
  QCOMPARE(latent::text::parse_prompt_attention("(word:100)").front().weight, 100.0);
}

void TestPromptParser::chunkBoundaries_data() {
  QTest::addColumn<QString>("prompt");
  QTest::addColumn<std::vector<int>>("sizes");
  QTest::addColumn<int>("backtrack");
  QTest::newRow("short") << "a cat" << std::vector<int>{2} << 20;
  QTest::newRow("empty") << "" << std::vector<int>{0} << 20;
  QTest::newRow("75 tokens") << QString::fromStdString(repeat("cat ", 75)) << std::vector<int>{75}
                             << 20;
  QTest::newRow("76 tokens") << QString::fromStdString(repeat("cat ", 76))
                             << std::vector<int>{75, 1} << 20;
  QTest::newRow("151 tokens") << QString::fromStdString(repeat("cat ", 151))
                              << std::vector<int>{75, 75, 1} << 20;
  // A comma 5 tokens before the end of a full chunk: the text after it moves on.
  QTest::newRow("comma near the end")
      << QString::fromStdString(repeat("cat ", 70) + ", " + repeat("dog ", 10))
      << std::vector<int>{71, 10} << 20;
  QTest::newRow("comma near the end, no backtrack")
      << QString::fromStdString(repeat("cat ", 70) + ", " + repeat("dog ", 10))
      << std::vector<int>{75, 6} << 0;
  // A comma 25 tokens before the end is too far back.
  QTest::newRow("comma too far back")
      << QString::fromStdString(repeat("cat ", 50) + ", " + repeat("dog ", 40))
      << std::vector<int>{75, 16} << 20;
  QTest::newRow("comma exactly 20 back")
      << QString::fromStdString(repeat("cat ", 55) + ", " + repeat("dog ", 30))
      << std::vector<int>{56, 30} << 20;
  QTest::newRow("comma as the 75th token")
      << QString::fromStdString(repeat("cat ", 74) + ", " + repeat("dog ", 3))
      << std::vector<int>{75, 3} << 20;
  QTest::newRow("comma as the 76th token")
      << QString::fromStdString(repeat("cat ", 75) + ", dog") << std::vector<int>{75, 2} << 20;
  QTest::newRow("break") << "a red circle BREAK a blue square" << std::vector<int>{3, 3} << 20;
  QTest::newRow("break at start") << "BREAK a" << std::vector<int>{0, 1} << 20;
  // As the web UI: a BREAK closes the chunk, and nothing after it opens another.
  QTest::newRow("break at end") << "a BREAK" << std::vector<int>{1} << 20;
  QTest::newRow("two breaks") << "a BREAK BREAK b" << std::vector<int>{1, 0, 1} << 20;
  QTest::newRow("break then long") << QString::fromStdString("a BREAK " + repeat("cat ", 80))
                                   << std::vector<int>{1, 75, 5} << 20;
  QTest::newRow("emphasis syntax takes no tokens")
      << "((cat)), [dog], (bird:1.3)" << std::vector<int>{5} << 20;
}

void TestPromptParser::chunkBoundaries() {
  QFETCH(QString, prompt);
  QFETCH(std::vector<int>, sizes);
  QFETCH(int, backtrack);
  ChunkOptions options;
  options.comma_backtrack = backtrack;
  const auto chunked = latent::text::chunk_prompt(tokenizer(), prompt.toStdString(), {}, options);
  QVERIFY2(chunk_sizes(chunked) == sizes, qPrintable("chunks " + sizes_text(chunk_sizes(chunked)) +
                                                     ", expected " + sizes_text(sizes)));
  check_chunks(chunked, tokenizer());
  // No token is lost or repeated by the layout (without BREAK, all pieces are weight 1 text).
  if (!prompt.contains("BREAK") && !prompt.contains('(') && !prompt.contains('[')) {
    std::vector<int64_t> laid_out;
    for (const auto& chunk : chunked.chunks)
      laid_out.insert(laid_out.end(), chunk.ids.begin() + 1,
                      chunk.ids.begin() + 1 + chunk.token_count);
    QVERIFY(laid_out == tokenizer().encode(prompt.toStdString()));
  }
}

void TestPromptParser::plainShortPromptIsTheDiffusersInput() {
  for (const char* prompt :
       {"an astronaut riding a horse on mars", "", "A photo of a cat, highly detailed",
        "blurry, low quality", "emoji 😊 and ünïcode"}) {
    const auto chunked = latent::text::chunk_prompt(tokenizer(), prompt);
    QCOMPARE(chunked.chunks.size(), std::size_t(1));
    QVERIFY(chunked.is_plain());
    QVERIFY2(chunked.chunks[0].ids == tokenizer().encode_padded(prompt), prompt);
  }
  const auto empty = latent::text::empty_chunk(tokenizer());
  QVERIFY(empty.ids == tokenizer().encode_padded(""));
  QCOMPARE(empty.token_count, 0);
}

// The golden long prompt is diffusers' truncation at 77 tokens. Without the comma rule, the
// first chunk is exactly diffusers' input; with it (the web UI's default) the first chunk
// ends at a comma and the rest goes into the second.
void TestPromptParser::longGoldenPromptAndTruncation() {
  const QJsonObject golden = latent::test::golden_case("e2e_tiny_sd_lms_long_prompt");
  const std::string prompt =
      golden.value("inputs").toObject().value("prompt").toArray().first().toString().toStdString();
  const auto expected =
      latent::test::golden_tensor("e2e_tiny_sd_lms_long_prompt/input_ids_cond.npy");
  const auto all = tokenizer().encode(prompt);
  QVERIFY(all.size() > 75);

  ChunkOptions no_backtrack;
  no_backtrack.comma_backtrack = 0;
  const auto truncated = latent::text::chunk_prompt(tokenizer(), prompt, {}, no_backtrack);
  QCOMPARE(truncated.chunks.size(), std::size_t(2));
  QVERIFY(torch::equal(torch::tensor(truncated.chunks[0].ids).unsqueeze(0), expected));

  const auto chunked = latent::text::chunk_prompt(tokenizer(), prompt);
  QCOMPARE(chunked.chunks.size(), std::size_t(2));
  const auto& first = chunked.chunks[0];
  QVERIFY(first.token_count < 75 && first.token_count >= 55);
  QCOMPARE(first.ids[std::size_t(first.token_count)], tokenizer().token_to_id(",</w>"));
  QCOMPARE(chunked.token_count, static_cast<int>(all.size()));
}

void TestPromptParser::weightsFollowTheirTokens() {
  const auto chunked = latent::text::chunk_prompt(tokenizer(), "a (red:1.5) [circle]");
  QCOMPARE(chunked.chunks.size(), std::size_t(1));
  const auto& chunk = chunked.chunks[0];
  QCOMPARE(chunk.token_count, 3);
  QVERIFY(chunk.ids == tokenizer().encode_padded("a red circle"));
  QCOMPARE(chunk.weights[0], 1.0);
  QCOMPARE(chunk.weights[1], 1.0);
  QCOMPARE(chunk.weights[2], 1.5);
  QCOMPARE(chunk.weights[3], 1 / 1.1);
  for (std::size_t i = 4; i < 77; ++i) QCOMPARE(chunk.weights[i], 1.0);
  QVERIFY(!chunked.is_plain());
}

void TestPromptParser::embeddingsTakeTheirSlots() {
  std::vector<EmbeddingToken> embeddings(2);
  embeddings[0].name = "my-style";
  embeddings[0].ids = tokenizer().encode("my-style");
  embeddings[0].vectors = 3;
  embeddings[1].name = "my";  // a shorter name that shares the first token: the longest wins
  embeddings[1].ids = tokenizer().encode("my");
  embeddings[1].vectors = 1;
  QVERIFY(embeddings[0].ids.size() > 1);

  auto chunked = latent::text::chunk_prompt(tokenizer(), "a (my-style) cat, my", embeddings);
  QCOMPARE(chunked.chunks.size(), std::size_t(1));
  auto chunk = chunked.chunks[0];
  QCOMPARE(chunk.embeddings.size(), std::size_t(2));
  QCOMPARE(chunk.embeddings[0].position, 2);
  QCOMPARE(chunk.embeddings[0].vectors, 3);
  QCOMPARE(chunk.embeddings[0].embedding, std::size_t(0));
  QCOMPARE(chunk.weights[2], 1.1);
  QCOMPARE(chunk.weights[4], 1.1);
  QCOMPARE(chunk.ids[5], tokenizer().encode("cat").front());
  QCOMPARE(chunk.embeddings[1].position, 7);
  QCOMPARE(chunk.embeddings[1].embedding, std::size_t(1));
  QCOMPARE(chunk.token_count, 7);
  QVERIFY(!chunked.is_plain());

  // Vectors that would cross the end of a chunk start the next one.
  chunked = latent::text::chunk_prompt(tokenizer(), repeat("cat ", 73) + "my-style", embeddings);
  QVERIFY(chunk_sizes(chunked) == (std::vector<int>{73, 3}));
  QCOMPARE(chunked.chunks[1].embeddings.size(), std::size_t(1));
  QCOMPARE(chunked.chunks[1].embeddings[0].position, 1);

  // The comma rule moves an embedding's slots with the text after the comma.
  chunked = latent::text::chunk_prompt(
      tokenizer(), repeat("cat ", 70) + ", my-style " + repeat("dog ", 5), embeddings);
  QVERIFY2(chunk_sizes(chunked) == (std::vector<int>{71, 8}),
           qPrintable(sizes_text(chunk_sizes(chunked))));
  QVERIFY(chunked.chunks[0].embeddings.empty());
  QCOMPARE(chunked.chunks[1].embeddings.size(), std::size_t(1));
  QCOMPARE(chunked.chunks[1].embeddings[0].position, 1);
  check_chunks(chunked, tokenizer());
}

void TestPromptParser::unusableEmbeddingIsRefusedWhenNamed() {
  std::vector<EmbeddingToken> embeddings(1);
  embeddings[0].name = "oldstyle";
  embeddings[0].ids = tokenizer().encode("oldstyle");
  embeddings[0].error = "'oldstyle.pt' is a PyTorch pickle file.";
  QCOMPARE(latent::text::chunk_prompt(tokenizer(), "a cat", embeddings).chunks.size(),
           std::size_t(1));
  QVERIFY_THROWS_EXCEPTION(latent::Error,
                           latent::text::chunk_prompt(tokenizer(), "a oldstyle cat", embeddings));
}

void TestPromptParser::safetyCases() {
  const auto& tok = tokenizer();
  // Control characters, NUL bytes, invalid UTF-8: read, never a crash.
  const std::string controls = std::string("\x01\x02 a\x7f (b) \x1b[31m c") + '\0' + "d";
  auto chunked = latent::text::chunk_prompt(tok, controls);
  check_chunks(chunked, tok);
  const std::string broken = "\xff\xfe(\xc3) \xe2\x82 [\xf0\x9f\x98]";
  chunked = latent::text::chunk_prompt(tok, broken);
  check_chunks(chunked, tok);
  // Thousands of stray closing brackets are text.
  chunked = latent::text::chunk_prompt(tok, std::string(5000, ')') + " cat");
  check_chunks(chunked, tok);
  // A 10,000-character prompt in the style people write.
  std::string big;
  while (big.size() < 10000)
    big += "masterpiece, (best quality:1.2), [blurry], ((detailed eyes)), ";
  chunked = latent::text::chunk_prompt(tok, big);
  check_chunks(chunked, tok);
  QVERIFY(chunked.chunks.size() > 20);
  // 10,000 characters without a space: one enormous word.
  chunked = latent::text::chunk_prompt(tok, std::string(10000, 'x'));
  check_chunks(chunked, tok);
  // Deep nesting that stays in range.
  chunked = latent::text::chunk_prompt(tok, std::string(40, '(') + "cat" + std::string(40, ')'));
  QCOMPARE(chunked.pieces.size(), std::size_t(1));
  QVERIFY(std::fabs(chunked.pieces[0].weight - std::pow(1.1, 40)) < 1e-9);
  // A prompt too long to be one is refused with a message.
  QVERIFY_THROWS_EXCEPTION(latent::Error,
                           latent::text::parse_prompt_attention(std::string(300000, 'a')));
}

void TestPromptParser::fuzzParserAndTokenizer() {
  std::mt19937 rng(1234);
  const std::string alphabet = "()[]:\\,. 0123456789e-+BREAKab\t\n";
  const std::vector<std::string> fragments = {
      "(",   ")",  "[",       "]",     ":1.5)", ":1e9)", ":-2)",       ":.)",
      "\\(", "\\", " BREAK ", "BREAK", ", ",    "cat",   "<lora:x:1>", "\xf0\x9f"};
  int refused = 0;
  for (int iteration = 0; iteration < 3000; ++iteration) {
    const int length = iteration % 100 == 99 ? 4000 : static_cast<int>(rng() % 120);
    std::string prompt;
    for (int i = 0; i < length; ++i) {
      // A third each: the syntax's characters, its fragments, arbitrary bytes.
      switch (rng() % 3) {
        case 0:
          prompt += alphabet[rng() % alphabet.size()];
          break;
        case 1:
          prompt += fragments[rng() % fragments.size()];
          break;
        default:
          prompt += static_cast<char>(rng() % 256);
      }
    }
    try {
      const auto pieces = latent::text::parse_prompt_attention(prompt);
      QVERIFY(!pieces.empty());
      for (const auto& p : pieces) QVERIFY(std::isfinite(p.weight) && std::fabs(p.weight) <= 100);
      const auto chunked = latent::text::chunk_prompt(tokenizer(), prompt);
      check_chunks(chunked, tokenizer());
    } catch (const latent::Error&) {
      ++refused;  // a clear message, not a crash
    }
    (void)tokenizer().encode(prompt);
    (void)tokenizer().tokenize(prompt);
    (void)latent::text::prompt_stats(tokenizer(), prompt);
  }
  qInfo("%d of 3000 random prompts were refused with a message", refused);
}

void TestPromptParser::statsNeverThrow() {
  auto stats = latent::text::prompt_stats(tokenizer(), "a (red:1.5) circle");
  QCOMPARE(stats.tokens, 3);
  QCOMPARE(stats.chunks, 1);
  QVERIFY(stats.error.empty());
  stats = latent::text::prompt_stats(tokenizer(), repeat("cat ", 100) + "BREAK dog");
  QCOMPARE(stats.tokens, 101);
  QCOMPARE(stats.chunks, 3);
  stats = latent::text::prompt_stats(tokenizer(), "(word:1e9)");
  QVERIFY(!stats.error.empty());
  QVERIFY(stats.tokens > 0);
}

QTEST_GUILESS_MAIN(TestPromptParser)
#include "tst_prompt_parser.moc"
