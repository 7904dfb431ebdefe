#include <QFile>
#include <QJsonArray>
#include <QTemporaryDir>
#include <QtTest/QtTest>
#include <algorithm>
#include <future>
#include <map>
#include <random>

#include "core/text/clip_tokenizer.h"
#include "core/util/error.h"
#include "tests/support/golden.h"
#include "tests/support/timing.h"

using latent::text::ClipTokenizer;
using latent::text::TextCleanup;

namespace {

std::string folder(const char* relative) { return latent::test::data_path(relative).toStdString(); }

const ClipTokenizer& tokenizer() {
  static const ClipTokenizer tok = ClipTokenizer::from_folder(folder("tiny-sd/tokenizer"));
  return tok;
}

std::vector<int64_t> to_ids(const QJsonArray& array) {
  std::vector<int64_t> ids;
  for (const QJsonValue& v : array) ids.push_back(v.toInteger());
  return ids;
}

std::vector<std::string> to_strings(const QJsonArray& array) {
  std::vector<std::string> out;
  for (const QJsonValue& v : array) out.push_back(v.toString().toStdString());
  return out;
}

QString ids_text(const std::vector<int64_t>& ids) {
  QStringList parts;
  for (int64_t id : ids) parts << QString::number(id);
  return parts.join(' ');
}

QJsonArray golden_items() {
  return latent::test::golden_case("tokenizer").value("items").toArray();
}

std::string item_text(const QJsonObject& item) {
  return QByteArray::fromHex(item.value("text_utf8_hex").toString().toLatin1()).toStdString();
}

void write_file(const QString& path, const QByteArray& bytes) {
  QFile file(path);
  QVERIFY2(file.open(QIODevice::WriteOnly), qPrintable(path));
  file.write(bytes);
}

QByteArray read_bytes(const QString& path) {
  QFile file(path);
  if (!file.open(QIODevice::ReadOnly)) return {};
  return file.readAll();
}

// Expects `make()` to throw latent::Error whose message contains `needle`.
template <typename F>
void expect_error(F make, const QString& needle) {
  try {
    make();
  } catch (const latent::Error& e) {
    QVERIFY2(QString::fromStdString(e.what()).contains(needle),
             qPrintable(QString("message '%1' does not mention '%2'").arg(e.what(), needle)));
    return;
  }
  QFAIL(qPrintable("no latent::Error mentioning " + needle));
}

// transformers' bpe() loop, literally: merge every occurrence of the lowest-ranked pair,
// repeat. The tokenizer uses a heap instead; both must agree.
std::vector<std::string> reference_bpe(
    const std::vector<std::string>& chars,
    const std::map<std::pair<std::string, std::string>, int>& ranks) {
  std::vector<std::string> word = chars;
  word.back() += "</w>";
  while (word.size() > 1) {
    int best = -1;
    std::pair<std::string, std::string> best_pair;
    for (std::size_t i = 0; i + 1 < word.size(); ++i) {
      const auto it = ranks.find({word[i], word[i + 1]});
      if (it != ranks.end() && (best < 0 || it->second < best)) {
        best = it->second;
        best_pair = it->first;
      }
    }
    if (best < 0) break;
    std::vector<std::string> merged;
    for (std::size_t i = 0; i < word.size();) {
      if (i + 1 < word.size() && word[i] == best_pair.first && word[i + 1] == best_pair.second) {
        merged.push_back(word[i] + word[i + 1]);
        i += 2;
      } else {
        merged.push_back(word[i++]);
      }
    }
    word = std::move(merged);
  }
  return word;
}

// GPT-2's byte → character map, written out independently of the tokenizer's.
std::vector<std::string> byte_symbols() {
  std::vector<std::string> symbols(256);
  int next = 256;
  for (int b = 0; b < 256; ++b) {
    const bool printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174);
    const char32_t c = char32_t(printable ? b : next++);
    symbols[std::size_t(b)] = QString::fromUcs4(&c, 1).toStdString();
  }
  return symbols;
}

}  // namespace

class TestClipTokenizer : public QObject {
  Q_OBJECT
 private Q_SLOTS:
  void loadsDiffusersFolder();
  void loadsLegacyConfigAndBundledFiles();
  void matchesTransformersWithoutFtfy_data();
  void matchesTransformersWithoutFtfy();
  void ftfyModeMatchesCheapCases();
  void emptyPromptIsStartThenEndPadding();
  void truncatesToMaxLength();
  void splitsSpecialTokenStrings();
  void heapBpeEqualsReferenceLoop();
  void decodesBackToText();
  void survivesHostileInput();
  void isThreadSafe();
  void readsPadTokenFromConfig();
  void takesMergeCountLikeTransformers();
  void reportsMissingAndMalformedFiles();
};

void TestClipTokenizer::loadsDiffusersFolder() {
  const ClipTokenizer& tok = tokenizer();
  QCOMPARE(tok.vocab_size(), int64_t(49408));
  QCOMPARE(tok.merge_count(), std::size_t(48894));
  QCOMPARE(tok.bos_id(), int64_t(49406));
  QCOMPARE(tok.eos_id(), int64_t(49407));
  QCOMPARE(tok.pad_id(), int64_t(49407));
  QCOMPARE(tok.unk_id(), int64_t(49407));
  QCOMPARE(tok.id_to_token(49406), std::string("<|startoftext|>"));
  QCOMPARE(tok.token_to_id("astronaut</w>"), int64_t(18376));
  QCOMPARE(tok.token_to_id("no such token"), int64_t(-1));
  QVERIFY(tok.cleanup() == TextCleanup::Basic);
}

void TestClipTokenizer::loadsLegacyConfigAndBundledFiles() {
  const std::string prompt = "A Photo Of A CAT, In The STYLE of Van Gogh";
  for (const std::string& dir :
       {folder("tiny-sd-full/tokenizer"), std::string(LATENT_SOURCE_RESOURCES) + "/tokenizer"}) {
    const ClipTokenizer tok = ClipTokenizer::from_folder(dir);
    QCOMPARE(tok.vocab_size(), int64_t(49408));
    QCOMPARE(tok.bos_id(), int64_t(49406));
    QCOMPARE(tok.pad_id(), int64_t(49407));
    QCOMPARE(tok.encode_padded(prompt), tokenizer().encode_padded(prompt));
  }
}

void TestClipTokenizer::matchesTransformersWithoutFtfy_data() {
  QTest::addColumn<int>("index");
  const QJsonArray items = golden_items();
  QCOMPARE(items.size(), 30);
  for (int i = 0; i < items.size(); ++i)
    QTest::newRow(qPrintable(QString("%1: %2").arg(i).arg(
        items[i].toObject().value("text").toString().simplified().left(40))))
        << i;
}

void TestClipTokenizer::matchesTransformersWithoutFtfy() {
  QFETCH(int, index);
  const QJsonObject item = golden_items()[index].toObject();
  const std::string text = item_text(item);
  QCOMPARE(QString::fromStdString(text), item.value("text").toString());
  const std::vector<int64_t> ids = tokenizer().encode_padded(text);
  const std::vector<int64_t> expected = to_ids(item.value("ids_no_ftfy").toArray());
  QCOMPARE(ids_text(ids), ids_text(expected));
  QCOMPARE(tokenizer().tokenize(text), to_strings(item.value("bpe_tokens_no_ftfy").toArray()));
  // encode() is the untruncated middle of encode_padded().
  const std::vector<int64_t> untruncated = tokenizer().encode(text);
  QCOMPARE(untruncated.size(), tokenizer().tokenize(text).size());
  const std::size_t kept = std::min<std::size_t>(75, untruncated.size());
  QCOMPARE(std::vector<int64_t>(untruncated.begin(), untruncated.begin() + std::ptrdiff_t(kept)),
           std::vector<int64_t>(expected.begin() + 1, expected.begin() + 1 + std::ptrdiff_t(kept)));
}

void TestClipTokenizer::ftfyModeMatchesCheapCases() {
  ClipTokenizer tok = tokenizer();
  tok.set_cleanup(TextCleanup::Ftfy);
  const QJsonArray items = golden_items();
  int differing = 0;
  QStringList which;
  for (int i = 0; i < items.size(); ++i) {
    const QJsonObject item = items[i].toObject();
    const QString text = item.value("text").toString();
    const std::vector<int64_t> ids = tok.encode_padded(item_text(item));
    const std::vector<int64_t> expected = to_ids(item.value("ids_ftfy").toArray());
    if (ids == expected) continue;
    ++differing;
    which << QString::number(i);
    // Entities, quotes, whitespace and everything ftfy leaves alone must match.
    const bool cheap = !item.value("ftfy_and_no_ftfy_differ").toBool() || text.contains('&') ||
                       text.contains(QChar(0x201C)) || text.contains(QChar(0x2018)) ||
                       text.contains('\t') || text.contains('\n');
    if (cheap)
      QFAIL(qPrintable(
          QString("prompt %1 (%2): %3 != %4").arg(i).arg(text, ids_text(ids), ids_text(expected))));
    qWarning("ftfy mode differs on prompt %d (%s)", i, qPrintable(text));
  }
  qInfo("ftfy clean-up mode: %d of %d golden prompts differ from ids_ftfy%s", differing,
        int(items.size()), differing ? qPrintable(" (" + which.join(", ") + ")") : "");
}

void TestClipTokenizer::emptyPromptIsStartThenEndPadding() {
  std::vector<int64_t> expected(77, 49407);
  expected[0] = 49406;
  QCOMPARE(tokenizer().encode_padded(""), expected);
  QCOMPARE(tokenizer().encode_padded(" \t\n "), expected);
  QVERIFY(tokenizer().encode("").empty());
  ClipTokenizer ftfy = tokenizer();
  ftfy.set_cleanup(TextCleanup::Ftfy);
  QCOMPARE(ftfy.encode_padded("\r\n"), expected);
}

void TestClipTokenizer::truncatesToMaxLength() {
  std::string prompt;
  for (int i = 0; i < 100; ++i) prompt += "cat ";
  const int64_t cat = tokenizer().token_to_id("cat</w>");
  QCOMPARE(tokenizer().encode(prompt), std::vector<int64_t>(100, cat));
  const std::vector<int64_t> ids = tokenizer().encode_padded(prompt);
  QCOMPARE(ids.size(), std::size_t(77));
  QCOMPARE(ids.front(), int64_t(49406));
  QCOMPARE(ids.back(), int64_t(49407));
  QCOMPARE(std::count(ids.begin(), ids.end(), cat), std::ptrdiff_t(75));
  QCOMPARE(tokenizer().encode_padded(prompt, 5),
           (std::vector<int64_t>{49406, cat, cat, cat, 49407}));
  QCOMPARE(tokenizer().encode_padded("cat", 2), (std::vector<int64_t>{49406, 49407}));
  expect_error([] { tokenizer().encode_padded("cat", 1); }, "max_length");
}

void TestClipTokenizer::splitsSpecialTokenStrings() {
  const ClipTokenizer& tok = tokenizer();
  const int64_t bang = tok.token_to_id("!</w>");
  QCOMPARE(tok.encode("<|startoftext|>"), std::vector<int64_t>{49406});
  // Split out before clean-up and pre-tokenisation: "!" does not swallow "<|".
  QCOMPARE(tok.encode("!<|endoftext|>!"), (std::vector<int64_t>{bang, 49407, bang}));
  // Other spellings reach the pre-tokeniser lower-cased, whose pattern lists them too.
  QCOMPARE(tok.encode("<|ENDOFTEXT|>"), std::vector<int64_t>{49407});
  QCOMPARE(tok.tokenize("a<|endoftext|>b"),
           (std::vector<std::string>{"a</w>", "<|endoftext|>", "b</w>"}));
  const std::vector<int64_t> ids =
      tok.encode_padded("a photo of <|startoftext|> and <|endoftext|> tokens");
  QCOMPARE(std::count(ids.begin(), ids.begin() + 7, int64_t(49406)), std::ptrdiff_t(2));
}

void TestClipTokenizer::heapBpeEqualsReferenceLoop() {
  std::map<std::pair<std::string, std::string>, int> ranks;
  const QList<QByteArray> lines =
      read_bytes(latent::test::data_path("tiny-sd/tokenizer/merges.txt")).trimmed().split('\n');
  for (int i = 1; i < lines.size() && i < 48895; ++i) {
    const QList<QByteArray> parts = lines[i].trimmed().split(' ');
    QCOMPARE(parts.size(), 2);
    ranks[{parts[0].toStdString(), parts[1].toStdString()}] = i - 1;
  }
  const std::vector<std::string> symbols = byte_symbols();
  std::mt19937 rng(7);
  const std::u32string alphabets[] = {U"abcdefghijklmnopqrstuvwxyz", U"aeiouybcdlmnrst",
                                      U"éèüößñçå", U"абвгдежзиклмнопрст", U"ㄱ가나다라マリアカ"};
  for (int n = 0; n < 3000; ++n) {
    const std::u32string& alphabet = alphabets[n % 5];
    std::u32string word;
    const int length = 1 + int(rng() % (n < 2500 ? 14 : 60));
    for (int k = 0; k < length; ++k) word.push_back(alphabet[rng() % alphabet.size()]);
    const std::string utf8 = latent::text::u32_to_utf8(word);
    std::vector<std::string> chars;
    for (unsigned char byte : utf8) chars.push_back(symbols[byte]);
    QCOMPARE(tokenizer().tokenize(utf8), reference_bpe(chars, ranks));
  }
}

void TestClipTokenizer::decodesBackToText() {
  const ClipTokenizer& tok = tokenizer();
  for (const char* text : {"a photo of a cat", "café naïve 🐱 rocket", "タワー 서울"})
    QCOMPARE(tok.decode(tok.encode_padded(text)), std::string(text));
  QCOMPARE(tok.decode(tok.encode("Hello, World!")), std::string("hello , world !"));
  QCOMPARE(tok.decode(tok.encode_padded("a cat", 4), false),
           std::string("<|startoftext|>a cat <|endoftext|>"));
  QCOMPARE(tok.decode({-5, 1 << 30, 320}), std::string("a"));
}

void TestClipTokenizer::survivesHostileInput() {
  ClipTokenizer basic = tokenizer();
  ClipTokenizer ftfy = tokenizer();
  ftfy.set_cleanup(TextCleanup::Ftfy);
  const std::vector<std::string> inputs = {
      std::string("\xff\xfe\x80\xbf", 4),                  // bytes that never occur in UTF-8
      std::string("caf\xc3", 4),                           // truncated sequence
      std::string("\xed\xa0\x80\xed\xb0\x80", 6),          // encoded surrogates
      std::string("\xc0\xaf\xe0\x80\xaf", 5),              // overlong forms
      std::string("a\0b\x01\x1b[31mred\x7f", 13),          // NUL, C0 controls, terminal escape
      "\xef\xbf\xbd\xe2\x80\x8b\xe2\x80\xae\xef\xbb\xbf",  // U+FFFD, ZWSP, RLO, BOM
      "&#0; &#x110000; &#xd800; &#99999999999999999999999; &;&#; &amp",
      "<|endoftext<|startoftext|>|>",
      "''''''s'",
      "\xcf\x83\xce\xa3 \xce\xa3 A\xce\xa3.",
  };
  for (const std::string& input : inputs) {
    for (const ClipTokenizer* tok : {&basic, &ftfy}) {
      const std::vector<int64_t> ids = tok->encode(input);
      for (int64_t id : ids) QVERIFY(id >= 0 && id < tok->vocab_size());
      QCOMPARE(tok->encode_padded(input).size(), std::size_t(77));
      tok->decode(ids);
    }
  }
  QCOMPARE(basic.encode(std::string("\xff", 1)), std::vector<int64_t>{});  // U+FFFD is dropped

  // Random bytes, and long prompts: one word of 100,000 letters must stay near-linear.
  std::mt19937 rng(3);
  for (int n = 0; n < 300; ++n) {
    std::string bytes(std::size_t(rng() % 300), '\0');
    for (char& c : bytes) c = char(rng() % 256);
    QCOMPARE(basic.encode_padded(bytes).size(), std::size_t(77));
    QCOMPARE(ftfy.encode_padded(bytes).size(), std::size_t(77));
  }
  std::string word;
  for (int i = 0; i < 100000; ++i) word.push_back(char('a' + rng() % 26));
  std::string prose;
  while (prose.size() < 10000) prose += "a majestic castle on a hill, Ünïcödé 東京 &amp; 🐱\t";
  QVERIFY(!basic.encode(word).empty());
  QVERIFY(basic.encode(prose).size() > 1000);
  QVERIFY(ftfy.encode(prose).size() > 1000);
  // Near-linear: ten times the letters take about ten times as long (n log n: 12.5 times),
  // where merging pair by pair, quadratic, would take a hundred times as long. Words this long
  // bypass the BPE cache, so every try does the whole work.
  const std::string tenth = word.substr(0, word.size() / 10);
  const double whole_seconds = latent::test::fastest_seconds(5, [&] { basic.encode(word); });
  const double tenth_seconds = latent::test::fastest_seconds(5, [&] { basic.encode(tenth); });
  qInfo("encoding 100,000 letters: %.4f s, 10,000 letters: %.4f s", whole_seconds, tenth_seconds);
  QVERIFY2(whole_seconds < 40 * tenth_seconds, "encoding a long word grows faster than n log n");
}

void TestClipTokenizer::isThreadSafe() {
  ClipTokenizer fresh = ClipTokenizer::from_folder(folder("tiny-sd/tokenizer"));
  std::vector<std::string> prompts;
  for (const QJsonValue& v : golden_items()) prompts.push_back(item_text(v.toObject()));
  std::vector<std::vector<int64_t>> expected;
  for (const auto& p : prompts) expected.push_back(tokenizer().encode(p));
  std::vector<std::future<bool>> runs;
  for (int t = 0; t < 4; ++t) {
    runs.push_back(std::async(std::launch::async, [&, t] {
      bool same = true;
      for (int r = 0; r < 20; ++r)
        for (std::size_t i = 0; i < prompts.size(); ++i)
          same = same && fresh.encode(prompts[(i + std::size_t(t)) % prompts.size()]) ==
                             expected[(i + std::size_t(t)) % prompts.size()];
      return same;
    }));
  }
  for (auto& run : runs) QVERIFY(run.get());
}

void TestClipTokenizer::readsPadTokenFromConfig() {
  // Stable Diffusion 2.x pads with "!" (id 0); like every special token it is split out.
  QTemporaryDir dir;
  const QString source = latent::test::data_path("tiny-sd/tokenizer/");
  write_file(dir.filePath("vocab.json"), read_bytes(source + "vocab.json"));
  write_file(dir.filePath("merges.txt"), read_bytes(source + "merges.txt"));
  write_file(dir.filePath("tokenizer_config.json"), R"({"pad_token": "<|endoftext|>"})");
  write_file(dir.filePath("special_tokens_map.json"),
             R"({"pad_token": {"content": "!", "lstrip": false}, "bos_token": "<|startoftext|>"})");
  const ClipTokenizer tok = ClipTokenizer::from_folder(dir.path().toStdString());
  QCOMPARE(tok.pad_id(), int64_t(0));
  QCOMPARE(tok.encode_padded("a", 5), (std::vector<int64_t>{49406, 320, 49407, 0, 0}));
  QCOMPARE(tok.encode("hi!"), (std::vector<int64_t>{tok.token_to_id("hi</w>"), 0}));
}

void TestClipTokenizer::takesMergeCountLikeTransformers() {
  // Lines past 1 + 48,894 are ignored by transformers, even malformed ones.
  QTemporaryDir dir;
  const QString source = latent::test::data_path("tiny-sd/tokenizer/");
  const QString vocab = dir.filePath("vocab.json");
  const QString merges = dir.filePath("merges.txt");
  write_file(vocab, read_bytes(source + "vocab.json"));
  write_file(merges, read_bytes(source + "merges.txt") + "c a t\nnot a merge line at all\n");
  const ClipTokenizer tok(vocab.toStdString(), merges.toStdString());
  QCOMPARE(tok.merge_count(), std::size_t(48894));
  QCOMPARE(tok.encode_padded("an astronaut"), tokenizer().encode_padded("an astronaut"));

  // Fewer merges: "astronaut</w>" can no longer be built and falls apart into pieces.
  QList<QByteArray> lines = read_bytes(source + "merges.txt").split('\n');
  write_file(merges, lines.mid(0, 1001).join('\n'));
  const ClipTokenizer small(vocab.toStdString(), merges.toStdString());
  QCOMPARE(small.merge_count(), std::size_t(1000));
  QVERIFY(small.encode("astronaut").size() > 1);
}

void TestClipTokenizer::reportsMissingAndMalformedFiles() {
  expect_error([] { ClipTokenizer::from_folder("/nonexistent/tokenizer"); },
               "/nonexistent/tokenizer");

  QTemporaryDir dir;
  const QString source = latent::test::data_path("tiny-sd/tokenizer/");
  const QByteArray vocab = read_bytes(source + "vocab.json");
  const QByteArray merges = read_bytes(source + "merges.txt");
  const std::string path = dir.path().toStdString();
  const QString vocab_path = dir.filePath("vocab.json");
  const QString merges_path = dir.filePath("merges.txt");
  auto load = [path] { ClipTokenizer::from_folder(path); };

  expect_error(load, "vocab.json");  // empty folder
  write_file(vocab_path, vocab);
  expect_error(load, "merges.txt");
  write_file(merges_path, merges);
  load();

  write_file(vocab_path, "{\"a\": 1,");
  expect_error(load, "vocab.json");
  write_file(vocab_path, "[1, 2]");
  expect_error(load, "vocab.json");
  write_file(vocab_path, R"({"a": "one", "<|startoftext|>": 1, "<|endoftext|>": 2})");
  expect_error(load, "'a'");
  write_file(vocab_path, R"({"a": 1.5})");
  expect_error(load, "vocab.json");
  write_file(vocab_path, R"({"a": 0, "<|endoftext|>": 2})");
  expect_error(load, "<|startoftext|>");
  write_file(vocab_path, vocab);

  write_file(merges_path, merges.mid(merges.indexOf('\n') + 1));
  expect_error(load, "#version");
  write_file(merges_path, "#version: 0.2\ni n\nt h e\nh e\n");
  expect_error(load, "line 3");
  write_file(merges_path, "");
  expect_error(load, "merges.txt");
  write_file(merges_path, merges);

  write_file(dir.filePath("tokenizer_config.json"), "{not json");
  expect_error(load, "tokenizer_config.json");
  write_file(dir.filePath("tokenizer_config.json"), R"({"pad_token": "<|no such token|>"})");
  expect_error(load, "<|no such token|>");
  write_file(dir.filePath("tokenizer_config.json"), R"({"pad_token": 7})");
  expect_error(load, "pad_token");
}

QTEST_GUILESS_MAIN(TestClipTokenizer)
#include "tst_clip_tokenizer.moc"
