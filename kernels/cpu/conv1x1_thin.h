// conv1x1_thin.h: 1x1 convolutions with at most kConv1x1ThinOutputs output channels (the heads
// of SeqNet: K = 1 for the vessel map, 2 or 3 for artery/vein) as plain loops over pixel blocks.
//
// As GEMMs these are degenerate: the forward pass and the weight gradient have 1-4 rows, the
// input gradient a reduction of length 1-4, and BLAS spends its packing and blocking on almost no
// arithmetic (oneDNN's table in docs/PERFORMANCE.md: up to 97x oneDNN's time on the input
// gradient of N4 C32>K2 128x128). Each pass here reads its inputs once and writes its output
// once, which is all a memory-bound layer can do. The math is conv2d.h's with ksize 1:
//   y[n,k,p]  = b[k] + sum_c w[k,c] x[n,c,p]       (c in ascending order, per pixel)
//   dx[n,c,p] = sum_k w[k,c] dy[n,k,p]             (k in ascending order)
//   dw[k,c]  += sum_{n,p} dy[n,k,p] x[n,c,p]        (blocks of pixels summed in T, the blocks'
//                                                    sums in double: see conv1x1_thin.cpp)
// Shapes: x, dx (N,C,H,W) as HW = H*W planes; y, dy (N,K,HW); w, dw (K,C); b (K) or null.
// Results do not depend on the number of threads except the weight gradient's last rounding
// (one double sum per thread, added in thread order: the same in every run with the same count).
#pragma once

#include <cstdint>

namespace seqnet::cpu {

// The largest K taken by these loops; wider 1x1 layers (the refiner's fuse layers) stay GEMMs.
constexpr int kConv1x1ThinOutputs = 4;

template <typename T>
void conv1x1_thin_forward(T* y, const T* x, const T* w, const T* b, int N, int C, int64_t HW, int K);
template <typename T>
void conv1x1_thin_backward_input(T* dx, const T* dy, const T* w, int N, int C, int64_t HW, int K);
template <typename T>
void conv1x1_thin_backward_weight(T* dw, const T* dy, const T* x, int N, int C, int64_t HW, int K);

}  // namespace seqnet::cpu
