// image_header.h: the size a PNG, JPEG, GIF or BMP declares in its header, read without decoding,
// so that read_image can refuse a picture too large for memory with a message that says so. (stb's
// own header reader gives up on the largest sizes with "unknown image type".)
#pragma once

#include <cstdint>
#include <string_view>

namespace seqnet {

struct DeclaredSize {
  int64_t width = 0, height = 0;
};

// The declared width and height, or {0, 0} when the bytes are none of these formats or the header
// is cut short (the decoder then reports what is wrong).
DeclaredSize declared_image_size(std::string_view bytes);

}  // namespace seqnet
