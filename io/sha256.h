// sha256.h: the SHA-256 digest of a file (FIPS 180-4), as 64 lowercase hex digits. It names the
// model a prediction was made with (the manifest's model_sha256) so that a table can tell which
// weights file each row came from, whatever its path.
#pragma once

#include <string>
#include <string_view>

namespace seqnet {

// The digest of `bytes`.
std::string sha256_hex(std::string_view bytes);

// The digest of a file's contents, read in pieces. Throws std::runtime_error naming the file when
// it cannot be read.
std::string sha256_file_hex(const std::string& path);

}  // namespace seqnet
