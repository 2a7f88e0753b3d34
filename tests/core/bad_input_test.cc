// Every kind of bad input gets an error that names what is wrong, from both inspect and
// compress, and compress leaves no output behind.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <functional>

#include "core/blob/blob_format.h"
#include "core/inspect/inspect.h"
#include "core/io/error.h"
#include "core/rewrite/rewrite.h"
#include "tests/core/package_builder.h"

namespace mlpress {
namespace {

namespace fs = std::filesystem;
using testing::PackageParts;
using testing::TempDir;

struct BadCase {
  const char* name;
  // Makes the bad input inside `dir` and returns its path.
  std::function<std::string(const TempDir& dir)> make;
  std::vector<std::string> message_parts;
};

// gtest prints a parameter by its name instead of dumping its bytes.
void PrintTo(const BadCase& c, std::ostream* os) { *os << c.name; }

std::string package_with(const TempDir& dir, const std::function<void(PackageParts&)>& edit) {
  PackageParts parts = testing::tiny_parts();
  edit(parts);
  return testing::write_package_dir(dir.path(), "bad", parts);
}

std::string zipped(const TempDir& dir, const std::function<void(PackageParts&)>& edit) {
  const std::string folder = package_with(dir, edit);
  const std::string zip = dir / "bad.mlpackage.zip";
  testing::zip_package_dir(folder, zip, "bad.mlpackage/");
  return zip;
}

void write_text(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

void put_u32(std::vector<std::byte>& bytes, size_t offset, uint32_t v) {
  for (int i = 0; i < 4; ++i) bytes[offset + i] = std::byte((v >> (8 * i)) & 0xFF);
}
void put_u64(std::vector<std::byte>& bytes, size_t offset, uint64_t v) {
  for (int i = 0; i < 8; ++i) bytes[offset + i] = std::byte((v >> (8 * i)) & 0xFF);
}

CoreML::Specification::MILSpec::Value& weight_value(CoreML::Specification::Model& model) {
  auto& block = (*(*model.mutable_mlprogram()->mutable_functions())["main"]
                      .mutable_block_specializations())["CoreML6"];
  return (*block.mutable_operations(0)->mutable_attributes())["val"];
}

void edit_model(PackageParts& parts, const std::function<void(CoreML::Specification::Model&)>& f) {
  auto model = testing::tiny_model();
  f(model);
  parts.model = model.SerializeAsString();
}

const std::vector<BadCase>& bad_cases() {
  static const std::vector<BadCase> cases = {
      {"NotAZip",
       [](const TempDir& d) {
         write_text(d / "model.zip", "this is plain text, not an archive\n");
         return d / "model.zip";
       },
       {"model.zip", "not a zip archive"}},
      {"TruncatedZip",
       [](const TempDir& d) {
         const std::string zip = zipped(d, [](PackageParts&) {});
         fs::resize_file(zip, fs::file_size(zip) / 2);
         return zip;
       },
       {"bad.mlpackage.zip"}},
      {"MissingManifest",
       [](const TempDir& d) {
         const std::string folder = package_with(d, [](PackageParts&) {});
         fs::remove(fs::path(folder) / "Manifest.json");
         return folder;
       },
       {"bad.mlpackage", "no Manifest.json"}},
      {"ZipWithoutManifest",
       [](const TempDir& d) {
         const std::string folder = package_with(d, [](PackageParts&) {});
         fs::remove(fs::path(folder) / "Manifest.json");
         testing::zip_package_dir(folder, d / "x.zip", "x.mlpackage/");
         return d / "x.zip";
       },
       {"x.zip", "no Manifest.json"}},
      {"BadJson",
       [](const TempDir& d) {
         return package_with(d, [](PackageParts& p) { p.manifest = "{\"fileFormatVersion\": "; });
       },
       {"Manifest.json", "not valid JSON"}},
      {"ManifestItemWithoutPath",
       [](const TempDir& d) {
         return package_with(d, [](PackageParts& p) {
           p.manifest = R"({"fileFormatVersion": "1.0.0", "rootModelIdentifier": "B",
             "itemInfoEntries": {"B": {"author": "a", "description": "d", "name": "n"}}})";
         });
       },
       {"Manifest.json", "item B", "missing \"path\""}},
      {"RootModelIdentifierUnknown",
       [](const TempDir& d) {
         return package_with(d, [](PackageParts& p) {
           p.manifest = testing::tiny_manifest();
           p.manifest.replace(p.manifest.find("\"rootModelIdentifier\": \"B\""), 26,
                              "\"rootModelIdentifier\": \"Z\"");
         });
       },
       {"Manifest.json", "rootModelIdentifier \"Z\""}},
      {"RootModelFileMissing",
       [](const TempDir& d) {
         return package_with(d, [](PackageParts& p) {
           p.manifest = testing::tiny_manifest("com.apple.CoreML/other.mlmodel");
         });
       },
       {"Manifest.json", "com.apple.CoreML/other.mlmodel", "not in the package"}},
      {"ManifestPathEscapes",
       [](const TempDir& d) {
         return package_with(
             d, [](PackageParts& p) { p.manifest = testing::tiny_manifest("../../etc/passwd"); });
       },
       {"Manifest.json", "../../etc/passwd", "leaves the package"}},
      {"CorruptProtobuf",
       [](const TempDir& d) {
         return package_with(
             d, [](PackageParts& p) { p.model = std::string("\xff\xff\xff\xff\x0f", 5); });
       },
       {"model.mlmodel", "not a valid Core ML model specification"}},
      {"NeuralNetworkModel",
       [](const TempDir& d) {
         return package_with(d, [](PackageParts& p) {
           CoreML::Specification::Model model;
           model.set_specificationversion(4);
           model.mutable_neuralnetwork();
           p.model = model.SerializeAsString();
         });
       },
       {"model.mlmodel", "NeuralNetwork model", "not an ML Program", "mlprogram"}},
      {"BlobOffsetOutsideFile",
       [](const TempDir& d) {
         return package_with(d, [](PackageParts& p) {
           edit_model(
               p, [](auto& m) { weight_value(m).mutable_blobfilevalue()->set_offset(1 << 20); });
         });
       },
       {"weight.bin", "1048576"}},
      {"WrongSentinel",
       [](const TempDir& d) {
         return package_with(d, [](PackageParts& p) { put_u32(p.weights, 64, 0x12345678); });
       },
       {"weight.bin", "offset 64", "sentinel"}},
      {"BlobSizeDoesNotMatchType",
       [](const TempDir& d) {
         return package_with(d, [](PackageParts& p) {
           edit_model(p, [](auto& m) {
             auto* dims =
                 weight_value(m).mutable_type()->mutable_tensortype()->mutable_dimensions(0);
             dims->mutable_constant()->set_size(8);  // [8, 4] needs 64 bytes; the blob has 32
           });
         });
       },
       {"weight.bin", "offset 64", "op \"w\"", "32 bytes", "needs 64 bytes"}},
      {"BlobDtypeDoesNotMatchType",
       [](const TempDir& d) {
         return package_with(d, [](PackageParts& p) { put_u32(p.weights, 64 + 4, 2); });
       },
       {"weight.bin", "offset 64", "float32", "fp16", "op \"w\""}},
      {"BlobDataOutsideFile",
       [](const TempDir& d) {
         return package_with(d, [](PackageParts& p) { put_u64(p.weights, 64 + 16, 4096); });
       },
       {"weight.bin", "offset 64"}},
      {"BlobFileMissing",
       [](const TempDir& d) {
         const std::string folder = package_with(d, [](PackageParts&) {});
         fs::remove(fs::path(folder) / "Data/com.apple.CoreML/weights/weight.bin");
         return folder;
       },
       {"@model_path/weights/weight.bin", "not in the package", "op \"w\""}},
      {"UnsupportedBlobVersion",
       [](const TempDir& d) {
         return package_with(d, [](PackageParts& p) { put_u32(p.weights, 4, 1); });
       },
       {"weight.bin", "version"}},
      {"EntryNameWithDotDot",
       [](const TempDir& d) {
         const std::string folder = package_with(d, [](PackageParts&) {});
         testing::zip_package_dir(folder, d / "evil.zip", "x.mlpackage/../");
         return d / "evil.zip";
       },
       {"evil.zip", "x.mlpackage/../"}},
      {"AbsoluteEntryName",
       [](const TempDir& d) {
         const std::string folder = package_with(d, [](PackageParts&) {});
         testing::zip_package_dir(folder, d / "abs.zip", "/tmp/x.mlpackage/");
         return d / "abs.zip";
       },
       {"abs.zip", "/tmp/x.mlpackage/"}},
  };
  return cases;
}

void expect_message(const std::string& message, const BadCase& c) {
  for (const auto& part : c.message_parts) {
    EXPECT_NE(message.find(part), std::string::npos)
        << c.name << ": message \"" << message << "\" lacks \"" << part << "\"";
  }
}

class BadInput : public ::testing::TestWithParam<BadCase> {};

TEST_P(BadInput, InspectNamesTheProblem) {
  TempDir dir;
  const std::string input = GetParam().make(dir);
  try {
    inspect_package(input);
    FAIL() << GetParam().name << ": no error";
  } catch (const Error& e) {
    expect_message(e.what(), GetParam());
  }
}

TEST_P(BadInput, CompressNamesTheProblemAndWritesNothing) {
  TempDir dir;
  const std::string input = GetParam().make(dir);
  TempDir out_dir;
  for (const std::string& out : {out_dir / "out.zip", out_dir / "out.mlpackage"}) {
    try {
      rewrite_package(input, out);
      FAIL() << GetParam().name << ": no error";
    } catch (const Error& e) {
      expect_message(e.what(), GetParam());
    }
    EXPECT_TRUE(fs::is_empty(out_dir.path())) << GetParam().name << " left files behind";
  }
}

INSTANTIATE_TEST_SUITE_P(AllCases, BadInput, ::testing::ValuesIn(bad_cases()),
                         [](const auto& test_info) { return std::string(test_info.param.name); });

TEST(BadInputRefusals, OutputEqualToInputIsRefused) {
  TempDir dir;
  const std::string folder = testing::write_package_dir(dir.path(), "same", testing::tiny_parts());
  try {
    rewrite_package(folder, folder);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("output is the input"), std::string::npos) << e.what();
  }
  EXPECT_TRUE(fs::exists(fs::path(folder) / "Manifest.json"));
}

TEST(BadInputRefusals, OutputWithoutKnownSuffixIsRefused) {
  TempDir dir;
  const std::string folder = testing::write_package_dir(dir.path(), "m", testing::tiny_parts());
  EXPECT_THROW(rewrite_package(folder, dir / "out.tar"), Error);
  EXPECT_FALSE(fs::exists(dir / "out.tar"));
}

}  // namespace
}  // namespace mlpress
