// The X/Y/Z plot's plan: the web UI's value syntax (lists, quotes, ranges, counts), the axis
// types and their checks with the messages a person sees, Prompt S/R, the LoRA multiplier,
// checkpoints, the order and count of the combinations, and the grid's metadata text.
#include <QtTest/QtTest>

#include <QDir>
#include <QFile>
#include <QTemporaryDir>

#include <set>
#include <tuple>

#include "core/image/parameters_text.h"
#include "core/pipeline/engine.h"
#include "core/pipeline/xyz_plan.h"
#include "core/pipeline/xyz_values.h"
#include "core/util/error.h"

using namespace latent;
using pipeline::AxisSpec;
using pipeline::AxisType;

Q_DECLARE_METATYPE(std::vector<int64_t>)
Q_DECLARE_METATYPE(std::vector<double>)

namespace {

const AxisSpec kNone;

pipeline::XyzContext context() {
  pipeline::XyzContext c;
  c.samplers = pipeline::sampler_names();
  return c;
}

api::GenerationRequest base() {
  api::GenerationRequest r;
  r.prompt = "a cat on a mat";
  r.negative_prompt = "cat hair";
  r.size.width = 64;
  r.size.height = 64;
  r.sampling.steps = 10;
  return r;
}

pipeline::XyzPlan plan(const AxisSpec& x, const AxisSpec& y = {}, const AxisSpec& z = {},
                       const api::GenerationRequest& request = base(), const pipeline::XyzContext& c = context()) {
  return pipeline::make_xyz_plan(request, "/models/base.safetensors", x, y, z, c);
}

// The message of the latent::Error `make` throws; empty (and a failed check) when none.
template <typename F>
QString errorOf(F make) {
  try {
    make();
  } catch (const Error& error) {
    return QString::fromUtf8(error.what());
  }
  return {};
}

QStringList labels(const pipeline::Axis& axis) {
  QStringList out;
  for (const auto& value : axis.values) out << QString::fromStdString(value.label);
  return out;
}

}  // namespace

class TestXyzPlan : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void splitsListsWithQuotes_data() {
    QTest::addColumn<QString>("text");
    QTest::addColumn<QStringList>("items");
    QTest::newRow("plain") << "a, b ,c" << QStringList{"a", "b", "c"};
    QTest::newRow("quoted comma") << "\"red, blue\", green" << QStringList{"red, blue", "green"};
    QTest::newRow("doubled quote") << "\"say \"\"hi\"\"\", x" << QStringList{"say \"hi\"", "x"};
    QTest::newRow("empty items") << ",, a,," << QStringList{"a"};
    QTest::newRow("spaces kept in quotes") << "  \"  spaced  \" , b" << QStringList{"  spaced  ", "b"};
    QTest::newRow("quote inside a word") << "5\" screen, b" << QStringList{"5\" screen", "b"};
  }
  void splitsListsWithQuotes() {
    QFETCH(QString, text);
    QFETCH(QStringList, items);
    QStringList got;
    for (const auto& item : pipeline::split_axis_values(text.toStdString())) got << QString::fromStdString(item);
    QCOMPARE(got, items);
  }

  void unclosedQuoteIsRefused() {
    const QString message = errorOf([] { pipeline::split_axis_values("a, \"b, c"); });
    QVERIFY2(message.contains("not closed"), qPrintable(message));
  }

  void wholeNumberRanges_data() {
    QTest::addColumn<QString>("text");
    QTest::addColumn<std::vector<int64_t>>("values");
    QTest::newRow("range") << "1-5" << std::vector<int64_t>{1, 2, 3, 4, 5};
    QTest::newRow("step") << "1-10 (+3)" << std::vector<int64_t>{1, 4, 7, 10};
    QTest::newRow("step not reaching the end") << "1-10 (+4)" << std::vector<int64_t>{1, 5, 9};
    QTest::newRow("down with a step") << "10-1 (-3)" << std::vector<int64_t>{10, 7, 4, 1};
    QTest::newRow("down") << "5-3" << std::vector<int64_t>{5, 4, 3};
    QTest::newRow("count") << "1-10 [4]" << std::vector<int64_t>{1, 4, 7, 10};
    QTest::newRow("count cut toward zero") << "1-2 [4]" << std::vector<int64_t>{1, 1, 1, 2};
    QTest::newRow("count of one") << "3-9 [1]" << std::vector<int64_t>{3};
    QTest::newRow("negative") << "-5--3" << std::vector<int64_t>{-5, -4, -3};
    QTest::newRow("mixed list") << "7, 1-3, 9" << std::vector<int64_t>{7, 1, 2, 3, 9};
    QTest::newRow("spaces") << " 1 - 3 ( +1 ) " << std::vector<int64_t>{1, 2, 3};
    QTest::newRow("minus one") << "-1" << std::vector<int64_t>{-1};
  }
  void wholeNumberRanges() {
    QFETCH(QString, text);
    QFETCH(std::vector<int64_t>, values);
    QCOMPARE(pipeline::whole_number_values(text.toStdString()), values);
  }

  void numberRanges_data() {
    QTest::addColumn<QString>("text");
    QTest::addColumn<std::vector<double>>("values");
    QTest::newRow("tenths add up exactly") << "0.1-0.3 (+0.1)" << std::vector<double>{0.1, 0.2, 0.3};
    QTest::newRow("count") << "1-2 [3]" << std::vector<double>{1, 1.5, 2};
    QTest::newRow("down") << "2-1 (-0.5)" << std::vector<double>{2, 1.5, 1};
    QTest::newRow("plain") << "7.5, 3" << std::vector<double>{7.5, 3};
    QTest::newRow("exponent") << "1e-3" << std::vector<double>{0.001};
    QTest::newRow("whole range") << "5-7" << std::vector<double>{5, 6, 7};
  }
  void numberRanges() {
    QFETCH(QString, text);
    QFETCH(std::vector<double>, values);
    QCOMPARE(pipeline::number_values(text.toStdString()), values);
    QCOMPARE(QString::fromStdString(pipeline::format_axis_number(0.1 + 0.2)), QString("0.3"));
  }

  void badValuesNameTheItem_data() {
    QTest::addColumn<bool>("whole");
    QTest::addColumn<QString>("text");
    QTest::addColumn<QString>("message");
    QTest::newRow("word") << true << "10, ten" << "'ten' is not a whole number or a range";
    QTest::newRow("fraction on a whole axis") << true << "1.5" << "'1.5' is not a whole number";
    QTest::newRow("zero step") << true << "1-10 (+0)" << "'1-10 (+0)': the step must not be 0";
    QTest::newRow("step away") << true << "1-10 (-1)" << "leads away from the end";
    QTest::newRow("zero count") << true << "1-10 [0]" << "the count in [...] must be 1 or more";
    QTest::newRow("too many") << true << "1-100000" << "'1-100000' gives more than 1000 values";
    QTest::newRow("too many in all") << true << "1-600, 1-600" << "gives more than 1000 values";
    QTest::newRow("open bracket") << true << "1-5 (+2" << "'1-5 (+2' is not a whole number";
    QTest::newRow("huge") << true << "99999999999999999999" << "is not a whole number";
    QTest::newRow("number word") << false << "high" << "'high' is not a number or a range";
    QTest::newRow("infinity") << false << "inf" << "'inf' is not a number";
  }
  void badValuesNameTheItem() {
    QFETCH(bool, whole);
    QFETCH(QString, text);
    QFETCH(QString, message);
    const std::string values = text.toStdString();
    const QString got = whole ? errorOf([&] { pipeline::whole_number_values(values); })
                              : errorOf([&] { pipeline::number_values(values); });
    QVERIFY2(got.contains(message), qPrintable(got));
  }

  void axisTypesByNameOrLabel() {
    QCOMPARE(pipeline::parse_axis_type("CFG Scale"), AxisType::guidance);
    QCOMPARE(pipeline::parse_axis_type("guidance"), AxisType::guidance);
    QCOMPARE(pipeline::parse_axis_type("prompt_sr"), AxisType::prompt_sr);
    QCOMPARE(pipeline::parse_axis_type("Prompt S/R"), AxisType::prompt_sr);
    QCOMPARE(pipeline::parse_axis_type("denoising"), AxisType::strength);
    QCOMPARE(pipeline::parse_axis_type("Checkpoint name"), AxisType::checkpoint);
    const QString message = errorOf([] { pipeline::parse_axis_type("colour"); });
    QVERIFY2(message.contains("unknown axis type 'colour'") && message.contains("clip-skip"), qPrintable(message));
  }

  void labelsAsTheWebUiWritesThem() {
    const auto p = plan({AxisType::steps, "10,20"}, {AxisType::guidance, "7.5, 3"},
                        {AxisType::sampler, "Euler a, dpmpp_2m_karras"});
    QCOMPARE(labels(p.x), (QStringList{"Steps: 10", "Steps: 20"}));
    QCOMPARE(labels(p.y), (QStringList{"CFG Scale: 7.5", "CFG Scale: 3"}));
    QCOMPARE(labels(p.z), (QStringList{"Euler a", "DPM++ 2M Karras"}));
    const auto cell = p.cell(1, 0, 1);
    QCOMPARE(cell.request.sampling.steps, 20);
    QCOMPARE(cell.request.sampling.guidance_scale, 7.5);
    QCOMPARE(QString::fromStdString(cell.request.sampling.sampler), QString("dpmpp_2m_karras"));
    QCOMPARE(QString::fromStdString(p.describe(cell)), QString("Steps: 20, CFG Scale: 7.5, DPM++ 2M Karras"));
  }

  void badAxisValuesNameTheAxis_data() {
    QTest::addColumn<int>("type");
    QTest::addColumn<QString>("values");
    QTest::addColumn<QString>("message");
    QTest::newRow("sampler") << int(AxisType::sampler) << "euler, bogus"
                             << "X axis (Sampler): 'bogus' is not a sampler: use one of";
    QTest::newRow("steps word") << int(AxisType::steps) << "ten" << "X axis (Steps): 'ten' is not a whole number";
    QTest::newRow("steps zero") << int(AxisType::steps) << "0, 10" << "X axis (Steps): '0' is out of range: use 1 to 1000";
    QTest::newRow("guidance") << int(AxisType::guidance) << "7, high" << "X axis (CFG Scale): 'high' is not a number";
    QTest::newRow("seed") << int(AxisType::seed) << "-2" << "X axis (Seed): '-2' is out of range";
    QTest::newRow("clip skip") << int(AxisType::clip_skip) << "0" << "X axis (Clip skip): '0' is out of range";
    QTest::newRow("checkpoint") << int(AxisType::checkpoint) << "no-such-model"
                                << "X axis (Checkpoint name): 'no-such-model' is not a model";
    QTest::newRow("search text missing") << int(AxisType::prompt_sr) << "dog, fox"
                                         << "X axis (Prompt S/R): 'dog' (the first value";
    QTest::newRow("no lora") << int(AxisType::lora_multiplier) << "0.5, 1"
                             << "X axis (LoRA multiplier): it changes the multiplier of one LoRA, and the request has 0";
    QTest::newRow("strength without picture") << int(AxisType::strength) << "0.5"
                                              << "X axis (Denoising): it needs a starting picture";
    QTest::newRow("empty") << int(AxisType::steps) << " , " << "X axis (Steps): it has no values";
  }
  void badAxisValuesNameTheAxis() {
    QFETCH(int, type);
    QFETCH(QString, values);
    QFETCH(QString, message);
    const AxisSpec x{AxisType(type), values.toStdString()};
    const QString got = errorOf([&] { plan(x); });
    QVERIFY2(got.startsWith(message), qPrintable(got));
  }

  void sameSettingOnTwoAxesIsRefused() {
    const QString message = errorOf([] { plan({AxisType::steps, "1,2"}, kNone, {AxisType::steps, "3"}); });
    QCOMPARE(message, QString("X and Z axes both vary Steps: give each setting one axis"));
  }

  void tooLargeAGridIsRefused() {
    api::GenerationRequest big = base();
    big.size.width = big.size.height = 1024;
    const QString message = errorOf([&] { plan({AxisType::seed, "1-201"}, kNone, kNone, big); });
    QVERIFY2(message.contains("the grid would be 210 megapixels"), qPrintable(message));
    QVERIFY(errorOf([&] { plan({AxisType::seed, "1-150"}, kNone, kNone, big); }).isEmpty());
  }

  void everyCombinationIsValidatedFirst() {
    pipeline::XyzContext c = context();
    c.validate_request = [](const api::GenerationRequest& r) {
      if (r.sampling.steps == 20 && r.sampling.sampler == "lms") throw Error("steps 20 with lms is refused here");
    };
    const QString message =
        errorOf([&] { plan({AxisType::steps, "10,20"}, {AxisType::sampler, "euler, lms"}, kNone, base(), c); });
    QCOMPARE(message, QString("the combination \"Steps: 20, LMS\" is refused: steps 20 with lms is refused here"));
  }

  void promptSearchAndReplace() {
    const auto p = plan({AxisType::prompt_sr, "cat, dog, \"red, fox\""});
    QCOMPARE(labels(p.x), (QStringList{"cat", "dog", "red, fox"}));
    QCOMPARE(QString::fromStdString(p.cell(0, 0, 0).request.prompt), QString("a cat on a mat"));
    QCOMPARE(QString::fromStdString(p.cell(1, 0, 0).request.prompt), QString("a dog on a mat"));
    QCOMPARE(QString::fromStdString(p.cell(1, 0, 0).request.negative_prompt), QString("dog hair"));
    QCOMPARE(QString::fromStdString(p.cell(2, 0, 0).request.prompt), QString("a red, fox on a mat"));
    // Found in the negative prompt alone is enough.
    QVERIFY(errorOf([] { plan({AxisType::prompt_sr, "hair, fur"}); }).isEmpty());
  }

  void loraMultiplierOfAnAdapter() {
    api::GenerationRequest r = base();
    r.loras.adapters.push_back({"/loras/style.safetensors", 1.0});
    const auto p = plan({AxisType::lora_multiplier, "0-1 [3]"}, kNone, kNone, r);
    QCOMPARE(labels(p.x), (QStringList{"LoRA multiplier: 0", "LoRA multiplier: 0.5", "LoRA multiplier: 1"}));
    QCOMPARE(p.cell(1, 0, 0).request.loras.adapters.at(0).multiplier, 0.5);
    QCOMPARE(QString::fromStdString(p.cell(1, 0, 0).request.loras.adapters.at(0).path),
             QString("/loras/style.safetensors"));
  }

  void loraMultiplierOfAPromptTag() {
    api::GenerationRequest r = base();
    r.loras.folder = "/loras";
    r.prompt = "a <lora:style:0.8> cat, <hypernet:x:1>";
    const auto p = plan({AxisType::lora_multiplier, "0.25, 1"}, kNone, kNone, r);
    QCOMPARE(QString::fromStdString(p.cell(0, 0, 0).request.prompt), QString("a <lora:style:0.25> cat, <hypernet:x:1>"));
    QCOMPARE(QString::fromStdString(p.cell(1, 0, 0).request.prompt), QString("a <lora:style:1> cat, <hypernet:x:1>"));
    // Without a LoRA folder the tag is text, not a LoRA.
    r.loras.folder.clear();
    QVERIFY(!errorOf([&] { plan({AxisType::lora_multiplier, "1"}, kNone, kNone, r); }).isEmpty());
    // Two LoRAs: which one is meant cannot be told.
    r.loras.folder = "/loras";
    r.loras.adapters.push_back({"/loras/other.safetensors", 1.0});
    const QString message = errorOf([&] { plan({AxisType::lora_multiplier, "1"}, kNone, kNone, r); });
    QVERIFY2(message.contains("the request has 2 (1 <lora:...> tags in the prompt, 1 chosen LoRAs)"), qPrintable(message));
  }

  void strengthOfThePictureOrTheSecondPass() {
    api::GenerationRequest r = base();
    r.init.path = "/pictures/start.png";
    auto p = plan({AxisType::strength, "0.25, 0.75"}, kNone, kNone, r);
    QCOMPARE(p.cell(1, 0, 0).request.init.strength, 0.75);
    QCOMPARE(labels(p.x).first(), QString("Denoising: 0.25"));
    QVERIFY(errorOf([&] { plan({AxisType::strength, "1.5"}, kNone, kNone, r); }).contains("'1.5' is out of range: use 0 to 1"));
    r = base();
    r.second_pass.enabled = true;
    p = plan({AxisType::strength, "0.3"}, kNone, kNone, r);
    QCOMPARE(p.cell(0, 0, 0).request.second_pass.denoising_strength, 0.3);
  }

  void randomSeedsAreFixedAndRecorded() {
    pipeline::XyzContext c = context();
    c.random_seed = [] { return uint64_t{77}; };
    const auto p = plan({AxisType::seed, "1, -1"}, kNone, kNone, base(), c);
    QCOMPARE(labels(p.x), (QStringList{"Seed: 1", "Seed: 77"}));
    QCOMPARE(p.cell(1, 0, 0).request.sampling.seed, uint64_t{77});
    const auto fields = pipeline::xyz_script_fields(p);
    using Field = std::pair<std::string, std::string>;
    QCOMPARE(fields, (std::vector<Field>{
                         {"Script", "X/Y/Z plot"}, {"X Type", "Seed"}, {"X Values", "1, -1"}, {"Fixed X Values", "1, 77"}}));
  }

  void checkpointsBesideTheModel() {
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    for (const QString name : {"base.safetensors", "other.safetensors"}) {
      QFile file(dir.filePath(name));
      QVERIFY(file.open(QIODevice::WriteOnly));
    }
    QVERIFY(QDir(dir.path()).mkdir("folder-model"));
    const std::string baseModel = dir.filePath("base.safetensors").toStdString();
    QCOMPARE(QString::fromStdString(pipeline::find_checkpoint_near("other", baseModel)), dir.filePath("other.safetensors"));
    QCOMPARE(QString::fromStdString(pipeline::find_checkpoint_near("folder-model", baseModel)), dir.filePath("folder-model"));
    QCOMPARE(QString::fromStdString(pipeline::find_checkpoint_near(dir.filePath("other.safetensors").toStdString(), "")),
             dir.filePath("other.safetensors"));
    QVERIFY(pipeline::find_checkpoint_near("missing", baseModel).empty());

    const auto p = pipeline::make_xyz_plan(base(), baseModel, {AxisType::checkpoint, "other, folder-model"}, kNone,
                                           kNone, context());
    QCOMPARE(labels(p.x), (QStringList{"other", "folder-model"}));
    QCOMPARE(QString::fromStdString(p.cell(1, 0, 0).model_path), dir.filePath("folder-model"));
    QCOMPARE(QString::fromStdString(p.cell(0, 0, 0).request.prompt), QString("a cat on a mat"));
  }

  void combinationsRunZYXWithXFastest() {
    const auto p = plan({AxisType::steps, "1,2"}, {AxisType::seed, "5,6,7"}, {AxisType::guidance, "3,4,5,6"});
    QCOMPARE(p.cell_count(), 24);
    const auto cells = p.cells_in_run_order();
    QCOMPARE(int(cells.size()), 24);
    std::set<std::tuple<int, int, int>> seen;
    for (const auto& cell : cells) seen.insert({cell.x, cell.y, cell.z});
    QCOMPARE(int(seen.size()), 24);
    const auto place = [&](int n) { return std::tuple{cells[n].x, cells[n].y, cells[n].z}; };
    QCOMPARE(place(0), (std::tuple{0, 0, 0}));
    QCOMPARE(place(1), (std::tuple{1, 0, 0}));
    QCOMPARE(place(2), (std::tuple{0, 1, 0}));
    QCOMPARE(place(6), (std::tuple{0, 0, 1}));
    QCOMPARE(place(23), (std::tuple{1, 2, 3}));
    QCOMPARE(p.grid_index(1, 2, 3), 23);
    QCOMPARE(p.grid_index(0, 1, 0), 2);
    QCOMPARE(cells[23].request.sampling.steps, 2);
    QCOMPARE(cells[23].request.sampling.seed, uint64_t{7});
    QCOMPARE(cells[23].request.sampling.guidance_scale, 6.0);
  }

  void aCheckpointAxisRunsOutermost() {
    QTemporaryDir dir;
    for (const QString name : {"base.safetensors", "a.safetensors", "b.safetensors"}) {
      QFile file(dir.filePath(name));
      QVERIFY(file.open(QIODevice::WriteOnly));
    }
    const auto p = pipeline::make_xyz_plan(base(), dir.filePath("base.safetensors").toStdString(),
                                           {AxisType::checkpoint, "a, b"}, {AxisType::steps, "1,2,3"}, kNone,
                                           context());
    const auto cells = p.cells_in_run_order();
    QCOMPARE(int(cells.size()), 6);
    // Three pictures with a, then three with b: one model load each.
    for (int n = 0; n < 6; ++n) {
      QCOMPARE(cells[n].x, n / 3);
      QCOMPARE(cells[n].y, n % 3);
    }
  }

  void nothingAxesHaveOneEmptyValue() {
    const auto p = plan({AxisType::steps, "4"});
    QCOMPARE(p.y.size(), 1);
    QCOMPARE(labels(p.y), QStringList{""});
    QCOMPARE(p.cell(0, 0, 0).request.sampling.steps, 4);
    QCOMPARE(p.cell(0, 0, 0).request.sampling.seed, base().sampling.seed);
  }

  void gridParametersAreTheFirstPicturesPlusTheScript() {
    const auto p = plan({AxisType::steps, "10,20"}, {AxisType::prompt_sr, "cat, \"dog, big\""});
    const std::string first =
        "a cat on a mat\nNegative prompt: cat hair\nSteps: 10, Sampler: Euler, CFG scale: 7.5, Seed: 1, Size: 64x64";
    const image::TextChunks chunks = pipeline::xyz_grid_metadata({{"parameters", first}, {"latentstudio", "{}"}}, p);
    QCOMPARE(int(chunks.size()), 2);
    QCOMPARE(QString::fromStdString(chunks[1].second), QString("{}"));  // the first picture's settings, as they were
    const auto parsed = image::parse_parameters(chunks[0].second);
    QCOMPARE(QString::fromStdString(parsed.prompt), QString("a cat on a mat"));
    QCOMPARE(QString::fromStdString(parsed.negative_prompt), QString("cat hair"));
    QCOMPARE(QString::fromStdString(parsed.field("Steps").value_or("")), QString("10"));
    QCOMPARE(QString::fromStdString(parsed.field("Seed").value_or("")), QString("1"));
    QCOMPARE(QString::fromStdString(parsed.field("Script").value_or("")), QString("X/Y/Z plot"));
    QCOMPARE(QString::fromStdString(parsed.field("X Type").value_or("")), QString("Steps"));
    QCOMPARE(QString::fromStdString(parsed.field("X Values").value_or("")), QString("10,20"));
    QCOMPARE(QString::fromStdString(parsed.field("Y Type").value_or("")), QString("Prompt S/R"));
    QCOMPARE(QString::fromStdString(parsed.field("Y Values").value_or("")), QString("cat, \"dog, big\""));
    QVERIFY(!parsed.field("Z Type"));
    // A failed first picture: the plot's prompts and fields alone.
    const auto alone = image::parse_parameters(pipeline::xyz_grid_metadata({}, p).at(0).second);
    QCOMPARE(QString::fromStdString(alone.prompt), QString("a cat on a mat"));
    QCOMPARE(QString::fromStdString(alone.field("X Type").value_or("")), QString("Steps"));
  }
};

QTEST_GUILESS_MAIN(TestXyzPlan)
#include "tst_xyz_plan.moc"
