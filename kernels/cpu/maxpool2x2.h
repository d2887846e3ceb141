// maxpool2x2.h: max-pool, kernel 2, stride 2; odd sizes floor (the last row/column is dropped).
//
// Forward    y[n,c,i,j] = max_{u,v in {0,1}} x[n,c,2i+u,2j+v]; argmax keeps the winner's index
//            within the input plane (first maximum in row-major order wins ties, as PyTorch).
// Backward   dx = 0 except dx[winner] = dy (each input pixel is in at most one window).
#pragma once

#include <cstdint>

namespace seqnet::cpu {

// y (N,C,H/2,W/2), argmax (N,C,H/2,W/2) from x (N,C,H,W).
template <typename T>
void maxpool2x2_forward(T* y, int32_t* argmax, const T* x, int N, int C, int H, int W);
// dx (N,C,H,W) = ; from dy (N,C,H/2,W/2) and argmax.
template <typename T>
void maxpool2x2_backward(T* dx, const T* dy, const int32_t* argmax, int N, int C, int H, int W);

}  // namespace seqnet::cpu
