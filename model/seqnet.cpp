// seqnet.cpp: SeqNet (seqnet.h).
#include "model/seqnet.h"

#include <optional>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include "kernels/ops.h"
#include "model/trace.h"

namespace seqnet {

SeqNet::SeqNet(const ModelConfig& config, Device device, DType dtype, uint64_t seed)
    : config_((config.validate(), config)),
      seg_(store_, "seg", 1, config.seg_iterations, config.segmentation_width(), config, dropout_id_),
      cls_(store_, "cls", 2, config.cls_iterations, config.classification_width(), config, dropout_id_) {
  store_.allocate(device, dtype, seed);
}

const SeqNetOutputs& SeqNet::forward(const Tensor& x, const Mode& mode) {
  const Shape& s = x.shape();
  const int m = config_.size_multiple();
  if (s.rank() != 4 || s.c() != 3)
    throw ShapeError("SeqNet input must be (N,3,H,W), got " + s.str());
  if (s.h() % m || s.w() % m)
    throw ShapeError("SeqNet input height and width must be multiples of " + std::to_string(m) + " for depth " +
                     std::to_string(config_.depth) + ", got " + s.str() + " (the program pads images to fit)");
  if (x.device() != device()) throw std::runtime_error("SeqNet input is on the wrong device");
  // Evaluation keeps no maps in the layers: it first lets go of all the training buffers (the
  // next training step plans them again), then frees each map once its consumer is done, and
  // the pool lets a dead map's memory serve the next one, in this forward and the ones after.
  // Training gives the pool's memory back first.
  std::optional<BufferPool::Use> use_pool;
  if (mode.training) {
    eval_buffers_.clear();
    training_buffers_held_ = true;
  } else {
    out_ = SeqNetOutputs();
    seg_.release();
    cls_.release();
#if defined(__GLIBC__)
    // glibc keeps freed heap memory resident; hand it back so the evaluation's larger maps
    // (which it cannot fit into the training-sized holes) do not add to the peak. Only after
    // training: between two evaluations it would hand back the caller's freed photograph buffers
    // too, and the next photograph would page-fault (and the kernel zero) them all again.
    if (training_buffers_held_) malloc_trim(0);
#endif
    training_buffers_held_ = false;
    use_pool.emplace(eval_buffers_);
  }
  out_.seg = seg_.forward(x, mode);
  // "Block BP": m = sigmoid(s_T) * x is an input to the cls branch, nothing flows back from it.
  const Tensor& last = out_.seg.back();
  ensure_tensor(seg_prob_, last.shape(), x.device(), x.dtype());
  ensure_tensor(cls_input_, s, x.device(), x.dtype());
  ops::sigmoid_forward(seg_prob_, last);
  trace_layer(TracePass::forward, seg_prob_, "block_bp.sigmoid");
  ops::broadcast_mul(cls_input_, x, seg_prob_);
  trace_layer(TracePass::forward, cls_input_, "block_bp.mul");
  out_.cls = cls_.forward(cls_input_, mode);
  return out_;
}

void SeqNet::backward(const SeqNetOutputs& d_logits) {
  cls_.backward(d_logits.cls, false);
  seg_.backward(d_logits.seg, false);
}

}  // namespace seqnet
