// test_safetensors.cpp: safetensors round trips, the reference dumps, dtype conversions, and one
// test per malformed-file rule (bytes built here), each checking that the message says what is wrong.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <limits>

#include "io/safetensors.h"
#include "test_support.h"

namespace seqnet {
namespace {

using test::TempDir;

// 8-byte little-endian header length, the header text, then `data`.
std::string file_bytes(const std::string& header, const std::string& data = "") {
  const uint64_t n = header.size();
  std::string out(reinterpret_cast<const char*>(&n), 8);
  return out + header + data;
}

std::string zeros(size_t n) { return std::string(n, '\0'); }

template <typename T>
std::string raw_bytes(std::initializer_list<T> values) {
  std::string out;
  for (T v : values) out.append(reinterpret_cast<const char*>(&v), sizeof(T));
  return out;
}

// The message of the SafetensorsError that parsing `bytes` throws ("" if none is thrown).
std::string parse_error(const std::string& bytes) {
  try {
    parse_safetensors(bytes.data(), bytes.size(), "bad.safetensors");
  } catch (const SafetensorsError& e) {
    return e.what();
  }
  return "";
}

// Asserts that parsing fails with a message naming the file and containing `problem`.
void expect_rejected(const std::string& bytes, const std::string& problem) {
  const std::string message = parse_error(bytes);
  ASSERT_FALSE(message.empty()) << "accepted a file that should fail with: " << problem;
  EXPECT_NE(message.find("bad.safetensors"), std::string::npos) << message;
  EXPECT_NE(message.find(problem), std::string::npos) << "message: " << message << "\nexpected: " << problem;
}

std::string one_tensor(const std::string& entry) { return "{\"a\":" + entry + "}"; }

void expect_bitwise_equal(const Tensor& a, const Tensor& b) {
  ASSERT_EQ(a.shape(), b.shape());
  EXPECT_EQ(std::memcmp(a.raw(), b.raw(), a.bytes()), 0);
}

// ---- Round trips ------------------------------------------------------------------------------

TEST(SafetensorsRoundTrip, TensorsOfRankZeroOneFourWithMetadata) {
  TempDir dir;
  TensorFile file;
  file.tensors["scalar"] = Tensor::from_vector(Shape{}, {-2.5f});
  file.tensors["vector"] = test::random_tensor(Shape{7}, 1);
  file.tensors["image"] = test::random_tensor(Shape{2, 3, 5, 4}, 2);
  file.tensors["empty"] = Tensor::zeros(Shape{0, 3});
  file.metadata = {{"op", "conv2d"}, {"note", "gr\u00fc\u00df \"quoted\""}};
  write_safetensors(dir.str("a.safetensors"), file);

  TensorFile back = read_safetensors(dir.str("a.safetensors"));
  ASSERT_EQ(back.tensors.size(), 4u);
  for (const auto& [name, t] : file.tensors) {
    ASSERT_TRUE(back.tensors.count(name)) << name;
    EXPECT_EQ(back.tensors[name].dtype(), DType::f32);
    expect_bitwise_equal(back.tensors[name], t);
  }
  EXPECT_EQ(back.tensors["scalar"].shape().rank(), 0);
  EXPECT_EQ(back.tensors["scalar"].numel(), 1);
  EXPECT_EQ(back.tensors["scalar"].f32()[0], -2.5f);
  EXPECT_EQ(back.metadata, file.metadata);
}

TEST(SafetensorsRoundTrip, LayoutIsSortedPaddedLittleEndian) {
  TensorFile file;
  file.tensors["b"] = Tensor::from_vector(Shape{1}, {1.0f});
  file.tensors["a"] = Tensor::from_vector(Shape{2}, {2.0f, -0.0f});
  const std::string bytes = serialize_safetensors(file);
  uint64_t n;
  std::memcpy(&n, bytes.data(), 8);
  EXPECT_EQ(n % 8, 0u);
  ASSERT_EQ(bytes.size(), 8 + n + 12);
  const std::string header = bytes.substr(8, n);
  EXPECT_LT(header.find("\"a\""), header.find("\"b\""));
  EXPECT_NE(header.find("\"data_offsets\":[0,8]"), std::string::npos) << header;
  // 2.0f = 0x40000000, stored low byte first; a's data comes first.
  EXPECT_EQ(bytes.substr(8 + n, 4), std::string("\x00\x00\x00\x40", 4));
  EXPECT_EQ(bytes.substr(8 + n + 8, 4), std::string("\x00\x00\x80\x3f", 4));
  EXPECT_EQ(header.find_last_not_of(' ') + 1 + (8 - (header.find_last_not_of(' ') + 1) % 8) % 8, header.size());
}

TEST(SafetensorsRoundTrip, NoMetadataWritesNoMetadataEntry) {
  TensorFile file;
  file.tensors["x"] = Tensor::from_vector(Shape{1}, {3.0f});
  const std::string bytes = serialize_safetensors(file);
  EXPECT_EQ(bytes.find("__metadata__"), std::string::npos);
  TensorFile back = parse_safetensors(bytes.data(), bytes.size(), "x");
  EXPECT_TRUE(back.metadata.empty());
  EXPECT_EQ(back.tensors.at("x").f32()[0], 3.0f);
}

// ---- The reference dumps ----------------------------------------------------------------------

TEST(SafetensorsGolden, ReadsEveryReferenceDump) {
  const std::string golden = test::golden_dir();
  int files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(golden)) {
    if (entry.path().extension() != ".safetensors") continue;
    TensorFile f = read_safetensors(entry.path().string());
    EXPECT_FALSE(f.tensors.empty()) << entry.path();
    EXPECT_TRUE(f.metadata.count("op")) << entry.path();
    for (const auto& [name, t] : f.tensors)
      for (float v : t.to_floats()) ASSERT_TRUE(std::isfinite(v)) << entry.path() << " " << name;
    ++files;
  }
  EXPECT_GE(files, 14);
}

TEST(SafetensorsGolden, Conv2dShapesAndMetadata) {
  const std::string golden = test::golden_dir();
  TensorFile f = read_safetensors(golden + "/conv2d_3x3.safetensors");
  EXPECT_EQ(f.tensors.at("x").shape(), (Shape{2, 3, 17, 23}));
  EXPECT_EQ(f.tensors.at("weight").shape(), (Shape{5, 3, 3, 3}));
  EXPECT_EQ(f.tensors.at("y").shape(), (Shape{2, 5, 17, 23}));
  EXPECT_EQ(f.metadata.at("op"), "conv2d");
  EXPECT_EQ(f.metadata.at("kernel"), "3");
  EXPECT_EQ(f.metadata.at("padding"), "1");
}

// relu's y = max(x, 0) and dx = dy * (x > 0) hold only if every tensor was read from its own bytes.
TEST(SafetensorsGolden, ReluTensorsAgreeWithEachOther) {
  const std::string golden = test::golden_dir();
  TensorFile f = read_safetensors(golden + "/relu.safetensors");
  const auto x = f.tensors.at("x").to_floats(), y = f.tensors.at("y").to_floats();
  const auto dy = f.tensors.at("dy").to_floats(), dx = f.tensors.at("dx").to_floats();
  ASSERT_EQ(x.size(), 120u);
  int positive = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    EXPECT_EQ(y[i], std::max(x[i], 0.0f)) << i;
    EXPECT_EQ(dx[i], x[i] > 0 ? dy[i] : 0.0f) << i;
    positive += x[i] > 0;
  }
  EXPECT_GT(positive, 10);
  EXPECT_LT(positive, 110);
}

TEST(SafetensorsGolden, ModelDumpSurvivesRewrite) {
  const std::string golden = test::golden_dir();
  TensorFile f = read_safetensors(golden + "/seqnet_tiny_nonorm.safetensors");
  EXPECT_GT(f.tensors.size(), 50u);
  const std::string bytes = serialize_safetensors(f);
  TensorFile back = parse_safetensors(bytes.data(), bytes.size(), "rewritten");
  EXPECT_EQ(back.metadata, f.metadata);
  ASSERT_EQ(back.tensors.size(), f.tensors.size());
  for (const auto& [name, t] : f.tensors) expect_bitwise_equal(back.tensors.at(name), t);
}

// ---- Conversions to float32 -------------------------------------------------------------------

TEST(SafetensorsDtypes, Float16) {
  const std::string data = raw_bytes<uint16_t>({0x3c00, 0xc000, 0x7bff, 0x0001, 0x8000, 0x7c00, 0x7e00, 0x3555});
  const std::string bytes = file_bytes(one_tensor(R"({"dtype":"F16","shape":[8],"data_offsets":[0,16]})"), data);
  TensorFile f = parse_safetensors(bytes.data(), bytes.size(), "f16");
  const float* v = f.tensors.at("a").f32();
  EXPECT_EQ(v[0], 1.0f);
  EXPECT_EQ(v[1], -2.0f);
  EXPECT_EQ(v[2], 65504.0f);                  // largest half
  EXPECT_EQ(v[3], std::ldexp(1.0f, -24));     // smallest subnormal half
  EXPECT_EQ(v[4], 0.0f);
  EXPECT_TRUE(std::signbit(v[4]));            // -0 keeps its sign
  EXPECT_EQ(v[5], std::numeric_limits<float>::infinity());
  EXPECT_TRUE(std::isnan(v[6]));
  EXPECT_EQ(v[7], 0.333251953125f);           // 1 + 0x155/1024, times 2^-2
}

TEST(SafetensorsDtypes, BFloat16) {
  const std::string header = one_tensor(R"({"dtype":"BF16","shape":[2,2],"data_offsets":[0,8]})");
  const std::string bytes = file_bytes(header, raw_bytes<uint16_t>({0x3f80, 0xc0a0, 0x7f80, 0x3eab}));
  TensorFile f = parse_safetensors(bytes.data(), bytes.size(), "bf16");
  EXPECT_EQ(f.tensors.at("a").shape(), (Shape{2, 2}));
  const float* v = f.tensors.at("a").f32();
  EXPECT_EQ(v[0], 1.0f);
  EXPECT_EQ(v[1], -5.0f);
  EXPECT_EQ(v[2], std::numeric_limits<float>::infinity());
  EXPECT_EQ(v[3], 0.333984375f);
}

TEST(SafetensorsDtypes, Float64RoundsToNearestFloat) {
  const std::string header = one_tensor(R"({"dtype":"F64","shape":[3],"data_offsets":[0,24]})");
  const std::string bytes = file_bytes(header, raw_bytes<double>({0.1, -3.5, 1e300}));
  TensorFile f = parse_safetensors(bytes.data(), bytes.size(), "f64");
  const float* v = f.tensors.at("a").f32();
  EXPECT_EQ(v[0], 0.1f);
  EXPECT_EQ(v[1], -3.5f);
  EXPECT_EQ(v[2], std::numeric_limits<float>::infinity());
}

// An F16 tensor first puts the F32 one at an address that is not 4-byte aligned.
TEST(SafetensorsDtypes, MixedDtypesAtUnalignedOffsets) {
  const std::string header =
      R"({"h":{"dtype":"F16","shape":[1],"data_offsets":[0,2]},"f":{"dtype":"F32","shape":[2],"data_offsets":[2,10]}})";
  const std::string bytes = file_bytes(header, raw_bytes<uint16_t>({0x4200}) + raw_bytes<float>({1.5f, -7.25f}));
  TensorFile f = parse_safetensors(bytes.data(), bytes.size(), "mixed");
  EXPECT_EQ(f.tensors.at("h").f32()[0], 3.0f);
  EXPECT_EQ(f.tensors.at("f").f32()[0], 1.5f);
  EXPECT_EQ(f.tensors.at("f").f32()[1], -7.25f);
}

// ---- Malformed files, one rule each -----------------------------------------------------------

TEST(SafetensorsErrors, ShorterThanEightBytes) { expect_rejected("\x01\x02\x03", "fewer than the 8"); }

TEST(SafetensorsErrors, HeaderLengthLargerThanFile) {
  std::string bytes = file_bytes("{}");
  bytes[0] = 100;
  expect_rejected(bytes, "larger than the rest of the file");
}

TEST(SafetensorsErrors, HeaderLengthOverLimit) {
  const uint64_t n = 200'000'000;
  expect_rejected(std::string(reinterpret_cast<const char*>(&n), 8) + "{}", "over the format's limit");
}

TEST(SafetensorsErrors, HeaderNotJson) { expect_rejected(file_bytes("{\"a\": [1, "), "not a valid UTF-8 JSON object"); }

TEST(SafetensorsErrors, HeaderNotUtf8) {
  const std::string message = parse_error(file_bytes("{\"\xff\xfe\":{}}"));
  EXPECT_NE(message.find("not a valid UTF-8 JSON object"), std::string::npos) << message;
  EXPECT_NE(message.find("UTF-8 byte"), std::string::npos) << message;  // nlohmann's own reason
}

TEST(SafetensorsErrors, HeaderNotAnObject) { expect_rejected(file_bytes("[1,2]   "), "is a JSON array, not a JSON object"); }

TEST(SafetensorsErrors, EntryNotAnObject) { expect_rejected(file_bytes(one_tensor("3")), "tensor \"a\": the entry must be an object"); }

TEST(SafetensorsErrors, DtypeMissingOrNotString) {
  expect_rejected(file_bytes(one_tensor(R"({"shape":[],"data_offsets":[0,4]})"), zeros(4)), "\"dtype\" is missing");
  expect_rejected(file_bytes(one_tensor(R"({"dtype":5,"shape":[],"data_offsets":[0,4]})"), zeros(4)), "not a string");
}

TEST(SafetensorsErrors, ShapeNotArrayOfNonNegativeIntegers) {
  const std::string rule = "tensor \"a\": \"shape\" must be an array of non-negative integers";
  expect_rejected(file_bytes(one_tensor(R"({"dtype":"F32","data_offsets":[0,4]})"), zeros(4)), rule);
  expect_rejected(file_bytes(one_tensor(R"({"dtype":"F32","shape":4,"data_offsets":[0,16]})"), zeros(16)), rule);
  expect_rejected(file_bytes(one_tensor(R"({"dtype":"F32","shape":[-1],"data_offsets":[0,4]})"), zeros(4)), rule);
  expect_rejected(file_bytes(one_tensor(R"({"dtype":"F32","shape":[1.5],"data_offsets":[0,4]})"), zeros(4)), rule);
  expect_rejected(file_bytes(one_tensor(R"({"dtype":"F32","shape":["2"],"data_offsets":[0,8]})"), zeros(8)), rule);
}

TEST(SafetensorsErrors, ShapeElementCountOverflows) {
  // 2^32 * 2^32 overflows even though a later 0 would make the true count 0.
  expect_rejected(file_bytes(one_tensor(R"({"dtype":"F32","shape":[4294967296,4294967296,0],"data_offsets":[0,0]})")),
                  "overflows");
  expect_rejected(
      file_bytes(one_tensor(R"({"dtype":"F32","shape":[18446744073709551615],"data_offsets":[0,0]})")), "overflows");
}

TEST(SafetensorsErrors, DataOffsetsNotTwoIntegers) {
  const std::string rule = "\"data_offsets\" must be [begin, end], two non-negative integers";
  expect_rejected(file_bytes(one_tensor(R"({"dtype":"F32","shape":[1]})"), zeros(4)), rule);
  expect_rejected(file_bytes(one_tensor(R"({"dtype":"F32","shape":[1],"data_offsets":[4]})"), zeros(4)), rule);
  expect_rejected(file_bytes(one_tensor(R"({"dtype":"F32","shape":[1],"data_offsets":[0,4,8]})"), zeros(4)), rule);
  expect_rejected(file_bytes(one_tensor(R"({"dtype":"F32","shape":[1],"data_offsets":[-4,0]})"), zeros(4)), rule);
}

TEST(SafetensorsErrors, DataOffsetsEndBeforeBegin) {
  expect_rejected(file_bytes(one_tensor(R"({"dtype":"F32","shape":[0],"data_offsets":[4,0]})"), zeros(4)),
                  "data_offsets [4, 0] end before they begin");
}

TEST(SafetensorsErrors, DataOffsetsPastTheData) {
  expect_rejected(file_bytes(one_tensor(R"({"dtype":"F32","shape":[100],"data_offsets":[0,400]})"), zeros(8)),
                  "reach past the end of the data section (8 bytes; the file is truncated or corrupt)");
}

TEST(SafetensorsErrors, ByteLengthDoesNotMatchShape) {
  expect_rejected(file_bytes(one_tensor(R"({"dtype":"F32","shape":[3],"data_offsets":[0,8]})"), zeros(8)),
                  "byte length 8 does not match its shape (3) of F32 (3 elements of 4 bytes)");
  expect_rejected(file_bytes(one_tensor(R"({"dtype":"F16","shape":[2],"data_offsets":[0,3]})"), zeros(3)),
                  "does not match");
}

TEST(SafetensorsErrors, OverlappingTensors) {
  const std::string header =
      R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})";
  expect_rejected(file_bytes(header, zeros(12)), "tensors \"a\" [0, 8) and \"b\" [4, 12) overlap");
  const std::string same =
      R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})";
  expect_rejected(file_bytes(same, zeros(4)), "overlap");
}

TEST(SafetensorsErrors, HolesInTheDataSection) {
  const std::string gap =
      R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}})";
  expect_rejected(file_bytes(gap, zeros(12)), "bytes [4, 8) of the data section belong to no tensor");
  expect_rejected(file_bytes(one_tensor(R"({"dtype":"F32","shape":[1],"data_offsets":[4,8]})"), zeros(8)),
                  "bytes [0, 4) of the data section belong to no tensor");
  expect_rejected(file_bytes(one_tensor(R"({"dtype":"F32","shape":[1],"data_offsets":[0,4]})"), zeros(8)),
                  "bytes [4, 8) at the end of the data section belong to no tensor");
  expect_rejected(file_bytes("{}", zeros(3)), "bytes [0, 3) at the end");
}

TEST(SafetensorsErrors, MetadataMustBeObjectOfStrings) {
  expect_rejected(file_bytes(R"({"__metadata__":["op"]})"), "\"__metadata__\" must be an object of strings");
  expect_rejected(file_bytes(R"({"__metadata__":{"op":"relu","steps":3}})"),
                  "\"__metadata__\" must map strings to strings, but \"steps\" is a number");
}

TEST(SafetensorsErrors, UnsupportedDtypeListsTheReadableOnes) {
  for (const char* dtype : {"I64", "I32", "BOOL", "U8", "Q7"}) {
    const std::string header = one_tensor(std::string(R"({"dtype":")") + dtype + R"(","shape":[1],"data_offsets":[0,8]})");
    expect_rejected(file_bytes(header, zeros(8)),
                    std::string("dtype ") + dtype + " is not supported (tensor \"a\"); seqnet reads F32, F64, F16, BF16");
  }
}

// ---- Files on disk ----------------------------------------------------------------------------

TEST(SafetensorsFiles, MissingFileNamesThePath) {
  TempDir dir;
  const std::string path = dir.str("absent.safetensors");
  try {
    read_safetensors(path);
    FAIL() << "read a file that does not exist";
  } catch (const SafetensorsError& e) {
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
  }
}

TEST(SafetensorsFiles, CorruptFileNamesThePath) {
  TempDir dir;
  const std::string path = dir.str("cut.safetensors");
  TensorFile file;
  file.tensors["x"] = test::random_tensor(Shape{16}, 3);
  write_safetensors(path, file);
  std::filesystem::resize_file(path, std::filesystem::file_size(path) - 4);
  try {
    read_safetensors(path);
    FAIL() << "read a truncated file";
  } catch (const SafetensorsError& e) {
    const std::string message = e.what();
    EXPECT_EQ(message.rfind(path + ": ", 0), 0u) << message;
    EXPECT_NE(message.find("reach past the end"), std::string::npos) << message;
  }
}

TEST(SafetensorsFiles, FolderAndEmptyFileAreRefused) {
  TempDir dir;
  try {
    read_safetensors(dir.str());
    FAIL() << "read a folder";
  } catch (const SafetensorsError& e) {
    EXPECT_NE(std::string(e.what()).find("it is a folder"), std::string::npos) << e.what();
  }
  const std::string empty = dir.str("empty.safetensors");
  std::FILE* f = std::fopen(empty.c_str(), "wb");
  ASSERT_NE(f, nullptr);
  std::fclose(f);
  try {
    read_safetensors(empty);
    FAIL() << "read an empty file";
  } catch (const SafetensorsError& e) {
    EXPECT_EQ(std::string(e.what()).rfind(empty + ": not a safetensors file: 0 bytes", 0), 0u) << e.what();
  }
}

TEST(SafetensorsFiles, WriteIntoMissingFolderNamesThePath) {
  TempDir dir;
  const std::string path = dir.str("no/such/folder/w.safetensors");
  TensorFile file;
  file.tensors["x"] = Tensor::from_vector(Shape{1}, {1.0f});
  try {
    write_safetensors(path, file);
    FAIL() << "wrote into a folder that does not exist";
  } catch (const SafetensorsError& e) {
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
  }
  EXPECT_FALSE(std::filesystem::exists(dir.str("no")));
}

TEST(SafetensorsFiles, WriteRefusesWhatTheFormatCannotHold) {
  TempDir dir;
  const std::string path = dir.str("w.safetensors");
  TensorFile doubles;
  doubles.tensors["d"] = Tensor::zeros(Shape{2}, Device::cpu, DType::f64);
  try {
    write_safetensors(path, doubles);
    FAIL() << "wrote a float64 tensor";
  } catch (const SafetensorsError& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find(path), std::string::npos) << message;
    EXPECT_NE(message.find("tensor \"d\": it is cpu float64"), std::string::npos) << message;
  }
  TensorFile reserved;
  reserved.tensors["__metadata__"] = Tensor::zeros(Shape{1});
  EXPECT_THROW(serialize_safetensors(reserved), SafetensorsError);
  TensorFile undefined;
  undefined.tensors["u"] = Tensor();
  EXPECT_THROW(serialize_safetensors(undefined), SafetensorsError);
  TensorFile bad_text;
  bad_text.metadata["op"] = "\xff";
  EXPECT_THROW(serialize_safetensors(bad_text), SafetensorsError);
  EXPECT_FALSE(std::filesystem::exists(path));
}

}  // namespace
}  // namespace seqnet
