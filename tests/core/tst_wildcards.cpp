// Wildcards: the files read as the Dynamic Prompts extension lays them out, choices fixed by
// the seed, nesting bounded, and a request's prompts expanded with the template kept.
#include <QTemporaryDir>
#include <QtTest/QtTest>

#include <random>
#include <set>

#include "core/api/generation_result.h"
#include "core/image/parameters_text.h"
#include "core/pipeline/request_wildcards.h"
#include "core/text/wildcards.h"
#include "tests/support/test_files.h"
#include "tests/support/error_message.h"

using namespace latent;

namespace {

void write(const QString& path, const QByteArray& text) { QVERIFY(latent::test::write_file(path, text)); }

std::string expand(const std::string& text, const std::string& folder, uint64_t seed) {
  std::mt19937_64 generator(seed);
  return text::expand_wildcards(text, text::wildcard_folder(folder), generator);
}

}  // namespace

class TestWildcards : public QObject {
  Q_OBJECT

  QTemporaryDir m_dir;
  std::string folder() const { return m_dir.path().toStdString(); }

 private Q_SLOTS:
  void initTestCase() {
    QVERIFY(m_dir.isValid());
    write(m_dir.filePath("color.txt"), "\xEF\xBB\xBF# colours\r\nred\r\n\r\n  blue  \r\ngreen\n");
    write(m_dir.filePath("clothes/hat.txt"), "a __color__ hat\nno hat\n");
    write(m_dir.filePath("loop.txt"), "again __loop__\n");
    write(m_dir.filePath("empty.txt"), "# nothing\n\n");
  }

  void optionsAreLines() {
    QCOMPARE(text::parse_wildcard_options("\xEF\xBB\xBF# c\r\nred\r\n\r\n  blue \n#x\ngreen"),
             (std::vector<std::string>{"red", "blue", "green"}));
    QVERIFY(text::parse_wildcard_options("").empty());
  }

  // The draw is std::mt19937_64 seeded with the seed, rejection below a multiple of the count.
  void drawIsDocumentedGenerator() {
    std::mt19937_64 reference(42);
    const uint64_t first = reference();
    std::mt19937_64 generator(42);
    QCOMPARE(text::draw_index(generator, 3), static_cast<std::size_t>(first % 3));
  }

  void sameSeedSameChoice() {
    const std::string prompt = "a __color__ cat wearing __clothes/hat__";
    std::set<std::string> seen;
    for (uint64_t seed = 0; seed < 40; ++seed) {
      const std::string once = expand(prompt, folder(), seed);
      QCOMPARE(expand(prompt, folder(), seed), once);  // deterministic
      QVERIFY2(once.find("__") == std::string::npos, once.c_str());
      seen.insert(once);
    }
    // red/blue/green cats with a red/blue/green hat or none: several outcomes show up.
    QVERIFY(seen.size() >= 5);
    QVERIFY(seen.count("a blue cat wearing no hat") == 1);
  }

  void textWithoutWildcardsIsUnchanged() {
    for (const std::string text : {"a cat", "snake_case __ spaced __ name", "__not a wildcard__", "____", "a__b"})
      QCOMPARE(expand(text, folder(), 1), text);
    QVERIFY(!text::has_wildcards("__with space__ and ____"));
    QVERIFY(text::has_wildcards("x __color__ y"));
  }

  void refusals() {
    const auto message = [this](const std::string& text) {
      return test::error_message([&] { (void)expand(text, folder(), 1); });
    };
    QVERIFY2(message("__missing__").contains("missing.txt"), qPrintable(message("__missing__")));
    QVERIFY(message("__empty__").contains("has no options"));
    QVERIFY(message("__loop__").contains("nested more than 10 deep"));
    QVERIFY(message("__../color__").contains("not a file name inside"));
    QVERIFY(test::error_message([] { (void)text::wildcard_folder("/no/such/folder"); }).contains("/no/such/folder"));
  }

  // A request: its prompts drawn from one generator; the template goes into the metadata.
  void requestKeepsTheTemplate() {
    api::GenerationRequest request;
    request.prompt = "a __color__ cat";
    request.negative_prompt = "__color__";
    request.sampling.seed = 5;
    QCOMPARE(pipeline::expand_request_wildcards(request).prompt, request.prompt);  // no folder: text
    request.wildcards_dir = folder();
    const auto expanded = pipeline::expand_request_wildcards(request);
    QVERIFY(expanded.prompt != request.prompt && expanded.negative_prompt != request.negative_prompt);
    QCOMPARE(pipeline::expand_request_wildcards(request).negative_prompt, expanded.negative_prompt);
    api::GenerationResult result;
    result.request = expanded;
    result.prompt_template = request.prompt;
    const std::string text = image::format_parameters(expanded, 5, image::parameters_extras(result));
    const auto parsed = image::parse_parameters(text);
    QCOMPARE(parsed.prompt, expanded.prompt);
    QCOMPARE(parsed.field("Template").value_or(""), request.prompt);
  }
};

QTEST_GUILESS_MAIN(TestWildcards)
#include "tst_wildcards.moc"
