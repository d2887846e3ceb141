// stb_guards.h: checks run on a file's bytes before stb_image decodes them, refusing inputs that
// trip known memory errors of the stb_image the system ships (Debian's 2.27). Each guard names
// the stb flaw it fences (memory errors, and memory use out of all proportion to the file); drop
// it when stb is upgraded past the fix.
#pragma once

#include <string>
#include <string_view>

namespace seqnet {

// Throws ImageError naming `path` when the bytes would trip a known stb_image flaw: a JPEG Huffman
// table of more than 256 codes, a PNG chunk longer than the rest of the file, an uncompressed BMP
// whose pixel rows are cut short (stb would decode the missing rows as black).
void check_stb_input(std::string_view bytes, const std::string& path);

}  // namespace seqnet
