// channels.h: moving channel blocks between (N,C,H,W) tensors: concat, split, broadcast multiply.
//
// Concat along channels is done by copying each part into its channel range of the output;
// its backward is the same copy in reverse (split). Broadcast multiply scales every channel
// by a 1-channel map: y[n,c] = x[n,c] * m[n,0] (SeqNet's sigmoid(seg) * image).
#pragma once

#include <cstdint>

namespace seqnet::cpu {

// dst (N,Cdst,HW) channels [offset, offset+Csrc) = src (N,Csrc,HW).
template <typename T>
void copy_into_channels(T* dst, const T* src, int N, int Cdst, int offset, int Csrc, int64_t HW);
// dst (N,Cdst,HW) = src (N,Csrc,HW) channels [offset, offset+Cdst).
template <typename T>
void copy_from_channels(T* dst, const T* src, int N, int Csrc, int offset, int Cdst, int64_t HW);
// dst (N,Cdst,HW) += src (N,Csrc,HW) channels [offset, offset+Cdst) (split backward into a
// tensor that already holds a gradient).
template <typename T>
void add_from_channels(T* dst, const T* src, int N, int Csrc, int offset, int Cdst, int64_t HW);
// y (N,C,HW) = x (N,C,HW) * m (N,1,HW).
template <typename T>
void broadcast_mul(T* y, const T* x, const T* m, int N, int C, int64_t HW);

}  // namespace seqnet::cpu
