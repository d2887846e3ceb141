// test_sha256.cpp: io/sha256.h against the test vectors of FIPS 180-4 (NIST's examples), in memory
// and from a file read in pieces.
#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include "io/sha256.h"
#include "test_support.h"

namespace seqnet {
namespace {

TEST(Sha256, MatchesTheStandardsExamples) {
  EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  // 56 bytes: the padding needs a second block.
  EXPECT_EQ(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

TEST(Sha256, FileReadInPiecesMatchesTheMillionAExample) {
  test::TempDir dir;
  const std::string path = dir.str("a.bin");
  std::ofstream(path, std::ios::binary) << std::string(1000000, 'a');
  EXPECT_EQ(sha256_file_hex(path), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
  EXPECT_THROW(sha256_file_hex(dir.str("missing.bin")), std::runtime_error);
}

}  // namespace
}  // namespace seqnet
