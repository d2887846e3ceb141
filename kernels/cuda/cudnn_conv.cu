// cudnn_conv.cu: cuDNN's convolutions behind cudnn_conv.h, the comparison engine.
//
// True float32: every convolution descriptor is set to CUDNN_FMA_MATH (FMA kernels only; the
// default math type would allow TF32 tensor cores on Ampere and later), and only algorithms
// reported with FMA math are accepted, and among those only direct and GEMM-based ones (no FFT or
// Winograd: they transform the data and round differently, errors ~1e-4 instead of ~1e-6, which
// would fail the comparison with the CPU for no fault of either). The *_tf32 functions set
// CUDNN_TENSOR_OP_MATH instead (float data: TF32 tensor cores) and take the fastest algorithm
// of any kind, as PyTorch with cudnn.benchmark would. The algorithm for each (pass, shape) is chosen once by
// cudnnFind*Algorithm (which times the candidates on scratch buffers of its own) and cached with
// its descriptors; the workspace is one buffer owned by the engine, grown to the largest need.
// The engine lives for the whole process and is used from the one thread that drives the GPU.
#include <cudnn.h>

#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <tuple>

#include "kernels/cuda/check.h"
#include "kernels/cuda/cudnn_conv.h"

namespace seqnet::cudnn {

namespace {

void check(cudnnStatus_t status, const char* what, const char* file, int line) {
  if (status != CUDNN_STATUS_SUCCESS)
    throw std::runtime_error(std::string("cuDNN error in ") + what + " (" + file + ":" + std::to_string(line) +
                             "): " + cudnnGetErrorString(status));
}
#define SEQNET_CUDNN_CHECK(expr) check((expr), #expr, __FILE__, __LINE__)

// Workspaces above this are skipped when choosing an algorithm: a comparison engine must not
// take the memory the model needs.
constexpr size_t kMaxWorkspaceBytes = size_t(1) << 30;

enum class Pass { forward, backward_data, backward_filter };
enum class Math { fma, tensor_op };  // true float32, or TF32 tensor cores allowed

struct ShapeKey {
  Pass pass;
  int N, C, H, W, K, ksize;
  Math math;
  bool operator<(const ShapeKey& o) const {
    return std::tie(pass, N, C, H, W, K, ksize, math) < std::tie(o.pass, o.N, o.C, o.H, o.W, o.K, o.ksize, o.math);
  }
};

// The descriptors of one shape: x (N,C,H,W), y (N,K,H,W), w (K,C,ks,ks), bias (1,K,1,1), and a
// stride-1 "same" cross-correlation, float32 with the key's math.
struct Descriptors {
  cudnnTensorDescriptor_t x = nullptr, y = nullptr, bias = nullptr;
  cudnnFilterDescriptor_t w = nullptr;
  cudnnConvolutionDescriptor_t conv = nullptr;

  explicit Descriptors(const ShapeKey& s) {
    SEQNET_CUDNN_CHECK(cudnnCreateTensorDescriptor(&x));
    SEQNET_CUDNN_CHECK(cudnnCreateTensorDescriptor(&y));
    SEQNET_CUDNN_CHECK(cudnnCreateTensorDescriptor(&bias));
    SEQNET_CUDNN_CHECK(cudnnCreateFilterDescriptor(&w));
    SEQNET_CUDNN_CHECK(cudnnCreateConvolutionDescriptor(&conv));
    SEQNET_CUDNN_CHECK(cudnnSetTensor4dDescriptor(x, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, s.N, s.C, s.H, s.W));
    SEQNET_CUDNN_CHECK(cudnnSetTensor4dDescriptor(y, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, s.N, s.K, s.H, s.W));
    SEQNET_CUDNN_CHECK(cudnnSetTensor4dDescriptor(bias, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, 1, s.K, 1, 1));
    SEQNET_CUDNN_CHECK(
        cudnnSetFilter4dDescriptor(w, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NCHW, s.K, s.C, s.ksize, s.ksize));
    const int pad = s.ksize / 2;
    SEQNET_CUDNN_CHECK(
        cudnnSetConvolution2dDescriptor(conv, pad, pad, 1, 1, 1, 1, CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT));
    SEQNET_CUDNN_CHECK(cudnnSetConvolutionMathType(conv, s.math == Math::fma ? CUDNN_FMA_MATH : CUDNN_TENSOR_OP_MATH));
  }
  ~Descriptors() {
    cudnnDestroyConvolutionDescriptor(conv);
    cudnnDestroyFilterDescriptor(w);
    cudnnDestroyTensorDescriptor(bias);
    cudnnDestroyTensorDescriptor(y);
    cudnnDestroyTensorDescriptor(x);
  }
  Descriptors(const Descriptors&) = delete;
  Descriptors& operator=(const Descriptors&) = delete;
};

struct Plan {
  explicit Plan(const ShapeKey& key) : d(key) {}
  Descriptors d;
  int algo = 0;  // a cudnnConvolution{Fwd,BwdData,BwdFilter}Algo_t, by pass
  size_t workspace_bytes = 0;
};

// Direct or GEMM-based algorithms: each output a plain sum of products, like the custom kernels.
bool sums_products(cudnnConvolutionFwdAlgo_t a) {
  return a != CUDNN_CONVOLUTION_FWD_ALGO_FFT && a != CUDNN_CONVOLUTION_FWD_ALGO_FFT_TILING &&
         a != CUDNN_CONVOLUTION_FWD_ALGO_WINOGRAD && a != CUDNN_CONVOLUTION_FWD_ALGO_WINOGRAD_NONFUSED;
}
bool sums_products(cudnnConvolutionBwdDataAlgo_t a) {
  return a != CUDNN_CONVOLUTION_BWD_DATA_ALGO_FFT && a != CUDNN_CONVOLUTION_BWD_DATA_ALGO_FFT_TILING &&
         a != CUDNN_CONVOLUTION_BWD_DATA_ALGO_WINOGRAD && a != CUDNN_CONVOLUTION_BWD_DATA_ALGO_WINOGRAD_NONFUSED;
}
bool sums_products(cudnnConvolutionBwdFilterAlgo_t a) {
  return a != CUDNN_CONVOLUTION_BWD_FILTER_ALGO_FFT && a != CUDNN_CONVOLUTION_BWD_FILTER_ALGO_FFT_TILING &&
         a != CUDNN_CONVOLUTION_BWD_FILTER_ALGO_WINOGRAD_NONFUSED;
}

// The fastest successful algorithm of a cudnnFind* result (sorted fastest first) within the
// workspace limit and deterministic (always: two runs of a comparison give the same numbers;
// the backward-filter candidates include atomics-based ones that are not): with FMA math one that
// runs without tensor cores (under the FMA-math descriptor cuDNN reports it as FMA or default
// math) and sums products directly; with tensor-op math any.
template <typename Perf>
const Perf& fastest(const Perf* results, int count, Math math, const char* pass) {
  for (int i = 0; i < count; ++i) {
    if (results[i].status != CUDNN_STATUS_SUCCESS || results[i].memory > kMaxWorkspaceBytes) continue;
    if (results[i].determinism != CUDNN_DETERMINISTIC) continue;
    if (math == Math::tensor_op) return results[i];
    if (sums_products(results[i].algo) && results[i].mathType != CUDNN_TENSOR_OP_MATH &&
        results[i].mathType != CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION)
      return results[i];
  }
  throw std::runtime_error(std::string("cuDNN offers no ") +
                           (math == Math::fma ? "float32 (FMA), non-FFT, non-Winograd" : "tensor-op") +
                           " algorithm for the convolution " + pass);
}

// cudnnFind* times each algorithm under the math type it reports, which may differ from the
// descriptor's (e.g. default math for an algorithm without tensor cores); with tensor-op math the
// descriptor is set to the chosen one's, so the runs use what was timed (as PyTorch does). With
// FMA math it stays FMA: in cuDNN 8+ default math lets float32 convolutions use TF32 tensor cores,
// which the float32 comparison must not.
void use_math_of(Plan& plan, Math math, cudnnMathType_t chosen) {
  if (math == Math::tensor_op) SEQNET_CUDNN_CHECK(cudnnSetConvolutionMathType(plan.d.conv, chosen));
}

class Engine {
 public:
  // One per process, never destroyed: at exit the CUDA context may already be gone.
  static Engine& instance() {
    static Engine* engine = new Engine();
    return *engine;
  }

  // The handle, bound to `stream` (also where plan()'s timing runs).
  cudnnHandle_t handle(cudaStream_t stream) {
    SEQNET_CUDNN_CHECK(cudnnSetStream(handle_, stream));
    return handle_;
  }

  const Plan& plan(const ShapeKey& key) {
    auto found = plans_.find(key);
    if (found != plans_.end()) return *found->second;
    auto plan = std::make_unique<Plan>(key);
    constexpr int kCandidates = 16;
    int count = 0;
    if (key.pass == Pass::forward) {
      cudnnConvolutionFwdAlgoPerf_t results[kCandidates];
      SEQNET_CUDNN_CHECK(cudnnFindConvolutionForwardAlgorithm(handle_, plan->d.x, plan->d.w, plan->d.conv, plan->d.y,
                                                              kCandidates, &count, results));
      const auto& best = fastest(results, count, key.math, "forward");
      plan->algo = best.algo;
      use_math_of(*plan, key.math, best.mathType);
      SEQNET_CUDNN_CHECK(cudnnGetConvolutionForwardWorkspaceSize(handle_, plan->d.x, plan->d.w, plan->d.conv,
                                                                 plan->d.y, best.algo, &plan->workspace_bytes));
    } else if (key.pass == Pass::backward_data) {
      cudnnConvolutionBwdDataAlgoPerf_t results[kCandidates];
      SEQNET_CUDNN_CHECK(cudnnFindConvolutionBackwardDataAlgorithm(handle_, plan->d.w, plan->d.y, plan->d.conv,
                                                                   plan->d.x, kCandidates, &count, results));
      const auto& best = fastest(results, count, key.math, "backward-data");
      plan->algo = best.algo;
      use_math_of(*plan, key.math, best.mathType);
      SEQNET_CUDNN_CHECK(cudnnGetConvolutionBackwardDataWorkspaceSize(handle_, plan->d.w, plan->d.y, plan->d.conv,
                                                                      plan->d.x, best.algo, &plan->workspace_bytes));
    } else {
      cudnnConvolutionBwdFilterAlgoPerf_t results[kCandidates];
      SEQNET_CUDNN_CHECK(cudnnFindConvolutionBackwardFilterAlgorithm(handle_, plan->d.x, plan->d.y, plan->d.conv,
                                                                     plan->d.w, kCandidates, &count, results));
      const auto& best = fastest(results, count, key.math, "backward-filter");
      plan->algo = best.algo;
      use_math_of(*plan, key.math, best.mathType);
      SEQNET_CUDNN_CHECK(cudnnGetConvolutionBackwardFilterWorkspaceSize(
          handle_, plan->d.x, plan->d.y, plan->d.conv, plan->d.w, best.algo, &plan->workspace_bytes));
    }
    return *plans_.emplace(key, std::move(plan)).first->second;
  }

  // A device buffer of at least `bytes`, reused across calls (all on the one stream).
  void* workspace(size_t bytes) {
    if (bytes > workspace_bytes_) {
      // The old buffer may still be in use by queued work: wait before freeing it.
      cuda::synchronize();
      cuda::device_free(workspace_);
      workspace_ = cuda::device_malloc(bytes);
      workspace_bytes_ = bytes;
    }
    return workspace_;
  }

 private:
  Engine() { SEQNET_CUDNN_CHECK(cudnnCreate(&handle_)); }

  cudnnHandle_t handle_ = nullptr;
  std::map<ShapeKey, std::unique_ptr<Plan>> plans_;
  void* workspace_ = nullptr;
  size_t workspace_bytes_ = 0;
};

void check_ksize(int ksize, const char* what) {
  if (ksize != 1 && ksize != 3)
    throw std::invalid_argument(std::string(what) + ": kernel size must be 1 or 3, got " + std::to_string(ksize));
}

}  // namespace

bool available(std::string* why_not) {
  if (!cuda::available(why_not)) return false;
  static const std::string failure = [] {
    cudnnHandle_t handle = nullptr;
    const cudnnStatus_t status = cudnnCreate(&handle);
    if (status != CUDNN_STATUS_SUCCESS) return std::string("cudnnCreate failed: ") + cudnnGetErrorString(status);
    cudnnDestroy(handle);
    return std::string();
  }();
  if (!failure.empty() && why_not) *why_not = failure;
  return failure.empty();
}

namespace {

void forward(Math math, float* y, const float* x, const float* w, const float* b, int N, int C, int H, int W, int K,
             int ksize, cudaStream_t stream) {
  check_ksize(ksize, "cudnn conv2d_forward");
  if (int64_t(N) * H * W * K == 0) return;
  // cuDNN refuses a 0-channel input descriptor; the custom engine gives y = bias there.
  if (C == 0) throw std::invalid_argument("cudnn conv2d_forward: the input has no channels (C = 0); use the custom engine");
  Engine& engine = Engine::instance();
  cudnnHandle_t handle = engine.handle(stream);
  const Plan& plan = engine.plan({Pass::forward, N, C, H, W, K, ksize, math});
  void* workspace = engine.workspace(plan.workspace_bytes);
  const float one = 1.f, zero = 0.f;
  SEQNET_CUDNN_CHECK(cudnnConvolutionForward(handle, &one, plan.d.x, x, plan.d.w, w, plan.d.conv,
                                             cudnnConvolutionFwdAlgo_t(plan.algo), workspace, plan.workspace_bytes,
                                             &zero, plan.d.y, y));
  if (b) SEQNET_CUDNN_CHECK(cudnnAddTensor(handle, &one, plan.d.bias, b, &one, plan.d.y, y));
}

void backward_data(Math math, float* dx, const float* dy, const float* w, int N, int C, int H, int W, int K,
                   int ksize, cudaStream_t stream) {
  check_ksize(ksize, "cudnn conv2d_backward_input");
  if (int64_t(N) * H * W * C == 0) return;
  Engine& engine = Engine::instance();
  cudnnHandle_t handle = engine.handle(stream);
  const Plan& plan = engine.plan({Pass::backward_data, N, C, H, W, K, ksize, math});
  void* workspace = engine.workspace(plan.workspace_bytes);
  const float one = 1.f, zero = 0.f;  // beta 0: dx is overwritten
  SEQNET_CUDNN_CHECK(cudnnConvolutionBackwardData(handle, &one, plan.d.w, w, plan.d.y, dy, plan.d.conv,
                                                  cudnnConvolutionBwdDataAlgo_t(plan.algo), workspace,
                                                  plan.workspace_bytes, &zero, plan.d.x, dx));
}

void backward_filter(Math math, float* dw, const float* dy, const float* x, int N, int C, int H, int W, int K,
                     int ksize, cudaStream_t stream) {
  check_ksize(ksize, "cudnn conv2d_backward_weight");
  if (int64_t(N) * H * W * C * K == 0) return;
  Engine& engine = Engine::instance();
  cudnnHandle_t handle = engine.handle(stream);
  const Plan& plan = engine.plan({Pass::backward_filter, N, C, H, W, K, ksize, math});
  void* workspace = engine.workspace(plan.workspace_bytes);
  const float one = 1.f;  // beta 1: dw accumulates
  SEQNET_CUDNN_CHECK(cudnnConvolutionBackwardFilter(handle, &one, plan.d.x, x, plan.d.y, dy,
                                                    plan.d.conv, cudnnConvolutionBwdFilterAlgo_t(plan.algo),
                                                    workspace, plan.workspace_bytes, &one, plan.d.w, dw));
}

}  // namespace

void conv2d_forward(float* y, const float* x, const float* w, const float* b, int N, int C, int H, int W, int K,
                    int ksize, cudaStream_t stream) {
  forward(Math::fma, y, x, w, b, N, C, H, W, K, ksize, stream);
}
void conv2d_backward_input(float* dx, const float* dy, const float* w, int N, int C, int H, int W, int K, int ksize,
                           cudaStream_t stream) {
  backward_data(Math::fma, dx, dy, w, N, C, H, W, K, ksize, stream);
}
void conv2d_backward_weight(float* dw, const float* dy, const float* x, int N, int C, int H, int W, int K,
                            int ksize, cudaStream_t stream) {
  backward_filter(Math::fma, dw, dy, x, N, C, H, W, K, ksize, stream);
}
void conv2d_forward_tf32(float* y, const float* x, const float* w, const float* b, int N, int C, int H, int W, int K,
                         int ksize, cudaStream_t stream) {
  forward(Math::tensor_op, y, x, w, b, N, C, H, W, K, ksize, stream);
}
void conv2d_backward_input_tf32(float* dx, const float* dy, const float* w, int N, int C, int H, int W, int K,
                                int ksize, cudaStream_t stream) {
  backward_data(Math::tensor_op, dx, dy, w, N, C, H, W, K, ksize, stream);
}
void conv2d_backward_weight_tf32(float* dw, const float* dy, const float* x, int N, int C, int H, int W, int K,
                                 int ksize, cudaStream_t stream) {
  backward_filter(Math::tensor_op, dw, dy, x, N, C, H, W, K, ksize, stream);
}

}  // namespace seqnet::cudnn
