// conv2d.h: 2-D convolution, stride 1, "same" padding (pad = ksize / 2), ksize 1 or 3.
//
// Forward    y[n,k,i,j] = b[k] + sum_{c,u,v} w[k,c,u,v] * x[n,c,i+u-p,j+v-p]   (zero outside)
// Backward   dx[n,c,i,j] = sum_{k,u,v} w[k,c,u,v] * dy[n,k,i-u+p,j-v+p]
//            dw[k,c,u,v] += sum_{n,i,j} dy[n,k,i,j] * x[n,c,i+u-p,j+v-p]
//            db[k]       += sum_{n,i,j} dy[n,k,i,j]
// Fast path: im2col (columns (C*ks*ks, H*W) per image) and a BLAS GEMM; a 1x1 conv is a GEMM
// on x directly, or with K <= 4 (the heads) plain loops (conv1x1_thin.h). Float 3x3 forward
// passes and input gradients run whichever of im2col + GEMM, the direct kernel (conv3x3_direct.h)
// and Winograd (conv3x3_winograd.h) was measured fastest for the shape on this CPU
// (conv3x3_algorithm.h); float 3x3 weight gradients im2col + GEMM or the direct kernel of
// conv3x3_weight_direct.h, whichever was faster.
// `workspace` holds conv2d_workspace_size() elements (0 for 1x1: may be null).
// Small images (the deep levels' planes) are grouped so one GEMM covers several of them, their
// columns plus the GEMM output within 512K elements (2 MB float, one core's L2); larger images go
// one by one in bands of rows whose columns fit 256K elements (1 MB). The workspace holds the
// larger of the two (conv2d.cpp, kGroupElements and kBandElements). The size depends only on
// (C, H, W, ksize), so one workspace of the largest size over the layers serves all of them.
#pragma once

#include <cstdint>

#include "kernels/cpu/conv3x3_direct.h"

namespace seqnet::cpu {

int64_t conv2d_workspace_size(int C, int H, int W, int ksize);

// y (N,K,H,W) = conv(x (N,C,H,W), w (K,C,ks,ks)) + b (K) or no bias when b is null.
template <typename T>
void conv2d_forward(T* y, const T* x, const T* w, const T* b, T* workspace, int N, int C, int H, int W,
                    int K, int ksize);
// Whether the float 3x3 forward passes (conv3x3_forward) and input gradients (a forward of dy with
// the flipped, transposed weights) run in bfloat16 with float32 sums (conv3x3_bf16.h) instead of
// float32: an opt-in precision, `--conv-precision bf16`. The weight gradients stay float32.
// Turning it on throws std::runtime_error on a CPU without AVX-512 BF16, saying so.
void set_conv3x3_bf16(bool on);
// The float 3x3 forward pass followed by an epilogue (batch-norm in evaluation, ReLU): in the
// direct and Winograd kernels' registers, or as a pass of its own after im2col + GEMM.
void conv3x3_forward(float* y, const float* x, const float* w, const float* b, float* workspace, int N, int C, int H,
                     int W, int K, const Conv3x3Epilogue& epilogue = {});
// dx (N,C,H,W) = ; from dy (N,K,H,W) and w (K,C,ks,ks).
template <typename T>
void conv2d_backward_input(T* dx, const T* dy, const T* w, T* workspace, int N, int C, int H, int W, int K,
                           int ksize);
// dw (K,C,ks,ks) += ; from dy (N,K,H,W) and x (N,C,H,W).
template <typename T>
void conv2d_backward_weight(T* dw, const T* dy, const T* x, T* workspace, int N, int C, int H, int W, int K,
                            int ksize);
// db (K) += sum of dy (N,K,HW) over n and the plane. Also the transposed conv's bias gradient.
template <typename T>
void bias_backward(T* db, const T* dy, int N, int K, int64_t HW);

}  // namespace seqnet::cpu
