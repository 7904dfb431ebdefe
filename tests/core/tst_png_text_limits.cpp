// Compressed PNG text chunks are inflated with a limit: a chunk of a hundred kilobytes that
// inflates to a hundred megabytes (found while writing the PNG fuzzer's inputs; Qt's
// qUncompress kept doubling its buffer to hold it) is skipped, the chunks around it are read,
// and real compressed text still comes through.
#include <QtTest/QtTest>

#include <zlib.h>

#include <string>
#include <vector>

#include "core/image/png_metadata.h"
#include "tests/support/timing.h"

namespace {

void append_u32(std::vector<unsigned char>& out, uint32_t value) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<unsigned char>(value >> shift));
}

void append_chunk(std::vector<unsigned char>& out, const char* type, const std::string& body) {
  append_u32(out, static_cast<uint32_t>(body.size()));
  const std::string typed = std::string(type, 4) + body;
  out.insert(out.end(), typed.begin(), typed.end());
  append_u32(out, static_cast<uint32_t>(crc32(0, reinterpret_cast<const Bytef*>(typed.data()), uInt(typed.size()))));
}

std::string deflate(const std::string& text) {
  uLongf size = compressBound(uLong(text.size()));
  std::string out(size, '\0');
  if (compress2(reinterpret_cast<Bytef*>(out.data()), &size, reinterpret_cast<const Bytef*>(text.data()),
                uLong(text.size()), 9) != Z_OK)
    return {};
  out.resize(size);
  return out;
}

// A 1×1 PNG header followed by the given chunks and IEND.
std::vector<unsigned char> png_with(const std::vector<std::pair<const char*, std::string>>& chunks) {
  std::vector<unsigned char> out = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  append_chunk(out, "IHDR", std::string("\0\0\0\1\0\0\0\1\x08\x02\0\0\0", 13));
  for (const auto& [type, body] : chunks) append_chunk(out, type, body);
  append_chunk(out, "IEND", "");
  return out;
}

}  // namespace

class TestPngTextLimits : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void compressionBombIsSkipped();
  void compressedTextIsRead();
  void truncatedCompressedTextIsSkipped();
};

void TestPngTextLimits::compressionBombIsSkipped() {
  // Two PNGs whose compressed text claims 100 MiB and 25 MiB, both over the 16 MiB limit.
  const auto png_with_bombs = [](std::size_t claimed_bytes) {
    const std::string bomb = deflate(std::string(claimed_bytes, '\0'));
    return png_with({{"tEXt", std::string("Comment\0before", 14)},
                     {"zTXt", std::string("parameters\0\0", 12) + bomb},
                     {"iTXt", std::string("latentstudio\0\1\0\0\0", 17) + bomb},
                     {"tEXt", std::string("Software\0after", 14)}});
  };
  const auto png = png_with_bombs(100u * 1024 * 1024);
  const auto smaller = png_with_bombs(25u * 1024 * 1024);
  QVERIFY(png.size() < 400 * 1024);
  // Inflating stops at the limit: the 100 MiB claims cost no more than the 25 MiB ones
  // (inflating them whole would take four times as long).
  using latent::image::read_png_text;
  const double seconds = latent::test::fastest_seconds(3, [&] { read_png_text(png); });
  const double smaller_seconds = latent::test::fastest_seconds(3, [&] { read_png_text(smaller); });
  qInfo("reading the text of 100 MiB claims: %.4f s, of 25 MiB claims: %.4f s", seconds,
        smaller_seconds);
  QVERIFY2(seconds < 2 * smaller_seconds, "the larger claims were inflated further");
  const auto chunks = latent::image::read_png_text(png);
  QCOMPARE(chunks.size(), std::size_t{2});
  QCOMPARE(chunks[0].first, std::string("Comment"));
  QCOMPARE(chunks[0].second, std::string("before"));
  QCOMPARE(chunks[1].first, std::string("Software"));
  QCOMPARE(chunks[1].second, std::string("after"));
}

void TestPngTextLimits::compressedTextIsRead() {
  const std::string parameters = "a lighthouse at dusk\nSteps: 20, Sampler: Euler a, CFG scale: 7, Seed: 5";
  const std::string utf8 = "un phare au crépuscule, 灯台";
  const std::string large(4u * 1024 * 1024, 'x');  // large but under the limit
  const auto png = png_with({{"zTXt", std::string("parameters\0\0", 12) + deflate(parameters)},
                             {"iTXt", std::string("Description\0\1\0fr\0\0", 18) + deflate(utf8)},
                             {"zTXt", std::string("workflow\0\0", 10) + deflate(large)}});
  const auto chunks = latent::image::read_png_text(png);
  QCOMPARE(chunks.size(), std::size_t{3});
  QCOMPARE(chunks[0].second, parameters);
  QCOMPARE(chunks[1].second, utf8);
  QCOMPARE(chunks[2].second.size(), large.size());
}

void TestPngTextLimits::truncatedCompressedTextIsSkipped() {
  const std::string whole = deflate(std::string(5000, 'a') + "the end");
  const auto png = png_with({{"zTXt", std::string("parameters\0\0", 12) + whole.substr(0, whole.size() / 2)},
                             {"zTXt", std::string("Comment\0\0", 9) + "not zlib at all"},
                             {"tEXt", std::string("Title\0kept", 10)}});
  const auto chunks = latent::image::read_png_text(png);
  QCOMPARE(chunks.size(), std::size_t{1});
  QCOMPARE(chunks[0].first, std::string("Title"));
}

QTEST_GUILESS_MAIN(TestPngTextLimits)
#include "tst_png_text_limits.moc"
