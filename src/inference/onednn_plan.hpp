// Planning for the oneDNN executor (onednn_executor.hpp): a Graph (onednn_graph.hpp) and an input
// shape become a Plan, the steps a run executes one after another — oneDNN primitives in
// oneDNN's own layouts and plain loops (cpu_kernels.hpp) — with every computation on constants
// (shapes, folded weights) done once while planning.
//
// One Planner builds one plan. onednn_plan.cpp holds what every operator shares (the walk over
// the graph, the dispatch of each node to its operator, values and their layouts, steps, buffers);
// each operator family is planned in a file of its own:
//   onednn_plan_convolution.cpp   Conv: oneDNN's, or our NHWC depthwise kernel; what is fused in
//                                 (BatchNormalization, constant scale and offset, ReLU, PReLU,
//                                 the residual Add)
//   onednn_plan_pooling.cpp       MaxPool, GlobalAveragePool, ReduceMean
//   onednn_plan_inner_product.cpp Gemm, MatMul (a following BatchNormalization folded in)
//   onednn_plan_elementwise.cpp   Relu, Sigmoid, Exp, PRelu, BatchNormalization, and the
//                                 broadcasting arithmetic Add, Sub, Mul, Div
//   onednn_plan_softmax.cpp       Softmax
//   onednn_plan_data_movement.cpp Reshape, Flatten, Unsqueeze, Squeeze (views; ShuffleNet's
//                                 channel shuffle as one gather), Transpose, Slice, Split, Concat,
//                                 Gather, Identity, Dropout
// An operator planned "plain" runs as a loop on plain row-major tensors at run time, or is folded
// into a constant when every input is constant (emit_plain).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <unordered_map>
#include <vector>

#include <oneapi/dnnl/dnnl.hpp>

#include "inference/buffer_pool.hpp"
#include "inference/onednn_graph.hpp"
#include "inference/onednn_runtime.hpp"

namespace faceproof::executor {

using dnnl::memory;
using tag = memory::format_tag;
using dt = memory::data_type;

inline dnnl::engine& engine() { return onednn_engine(); }

// The plain row-major layout of a tensor of rank 1 to 6 (a larger rank is Error{internal}).
tag plain_tag(size_t rank);
memory::desc plain_desc(const Dims& dims);

// attr with the scratchpad left to the plan (one buffer for every primitive of a plan).
dnnl::primitive_attr user_scratchpad(dnnl::primitive_attr attr = {});

// Constant data (laid out as `given`) copied once into a buffer of the layout a primitive wants.
memory constant_in(const memory::desc& want, const memory::desc& given, const std::vector<float>& data);

// An ONNX axis (negative: from the end) as an index into dims of `rank`.
inline std::int64_t axis_of(std::int64_t axis, size_t rank) {
    return axis < 0 ? axis + static_cast<std::int64_t>(rank) : axis;
}

// ensures: throws Error{internal} naming the first operator of the graph no Planner plans.
void require_supported_operators(const Graph& graph);

struct Step {
    std::function<void()> plain;  // a plain kernel, or
    dnnl::primitive primitive;    // a oneDNN primitive with its arguments
    std::unordered_map<int, memory> args;
    memory::desc scratchpad;
};

// What a run executes: the steps in order, from `input` to `outputs`. One run at a time (its steps
// share buffers); a plan is not changed by running it.
struct Plan {
    // Every value of the graph: constants are read in place by the steps (the map's nodes and
    // their data do not move when the plan does).
    std::unordered_map<std::string, Value> values;
    memory input;
    std::vector<Step> steps;
    std::vector<memory> outputs;  // plain
    std::vector<Dims> output_dims;
    std::vector<unsigned char> scratch;
    BufferPool transient;  // the buffers of transient values (Planner::transient_reader)
};

class Planner {
public:
    // requires: graph passed require_supported_operators and outlives the planner.
    explicit Planner(const Graph& graph) : graph_(graph), model_(graph.model()) {}

    // requires: input_shape is a shape the graph takes; the calling thread runs oneDNN on the
    //           thread count the plan's runs will use (use_one_openmp_thread).
    // ensures:  the plan for it (its input, steps and outputs); throws Error{internal} naming what
    //           the graph uses outside what is supported, or a node oneDNN refuses.
    // thread safety: one build at a time per Planner.
    Plan build(const Dims& input_shape);

private:
    // ---- shared by every operator (onednn_plan.cpp) ----
    void plan_node(int k);
    Value& value(const std::string& name);
    const memory& plain(Value& v);
    const float* plain_data(Value& v);
    memory in_layout(Value& v, const memory::desc& want);
    void add_reorder(const memory& from, const memory& to);
    void add_primitive(dnnl::primitive p, std::unordered_map<int, memory> args, memory::desc scratch);
    Value& runtime_output(const std::string& name, const Dims& dims, const memory::desc& desc, memory given = {});
    void count_consumers();
    int sole_consumer(const std::string& name, const char* op_type) const;
    int transient_reader(const std::string& name) const;
    bool may_overwrite(const std::string& name, int k, int fused_add);
    void emit_plain(const std::string& name, const Dims& dims, bool constant,
                    const std::function<void(float*)>& compute);

    // ---- onednn_plan_convolution.cpp ----
    void plan_conv(int k, const Attributes& attr, const std::vector<Value*>& in);
    const Value* channel_constant(const onnx::NodeProto& node, const std::string& operand, std::int64_t channels);
    bool runs_as_our_depthwise(int k, const Dims& input_dims);
    void plan_depthwise(Value& x, const std::string& out_name, const Dims& out_dims, const std::vector<float>& weights,
                        const std::vector<float>& bias, std::int64_t kh, std::int64_t kw, const Dims& strides,
                        const Dims& pads, cpu::Activation activation, const float* slope);
    void fold_batch_norm(const onnx::NodeProto& bn, std::int64_t channels, std::vector<float>& weights,
                         std::vector<float>& bias, std::int64_t per_channel);

    // ---- onednn_plan_pooling.cpp ----
    void plan_pool(const onnx::NodeProto& node, const Attributes& attr, Value& x);
    void plan_reduce_mean(const onnx::NodeProto& node, const Attributes& attr, const std::vector<Value*>& in,
                          bool constant);

    // ---- onednn_plan_inner_product.cpp ----
    void plan_gemm(const onnx::NodeProto& node, const Attributes& attr, const std::vector<Value*>& in, bool constant);
    void plan_inner_product(const onnx::NodeProto& node, Value& a, std::vector<float> weights, std::vector<float> bias,
                            std::int64_t n);

    // ---- onednn_plan_elementwise.cpp ----
    void plan_activation(const onnx::NodeProto& node, const std::vector<Value*>& in, bool constant);
    void plan_eltwise(const onnx::NodeProto& node, Value& x);
    void plan_prelu(const onnx::NodeProto& node, const std::vector<Value*>& in, bool constant);
    void plan_prelu_primitive(const onnx::NodeProto& node, Value& x, Value& slope);
    void plan_binary(const onnx::NodeProto& node, const std::vector<Value*>& in, bool constant);
    void plan_add(const onnx::NodeProto& node, Value& a, Value& b);
    void plan_broadcast_binary(const onnx::NodeProto& node, const std::vector<Value*>& in, bool constant);
    void plan_batch_norm(const onnx::NodeProto& node, const Attributes& attr, const std::vector<Value*>& in,
                         bool constant);

    // ---- onednn_plan_softmax.cpp ----
    void plan_softmax(const onnx::NodeProto& node, const Attributes& attr, const std::vector<Value*>& in,
                      bool constant);
    bool plan_softmax_last_axis(const onnx::NodeProto& node, const Attributes& attr, Value& x);

    // ---- onednn_plan_data_movement.cpp ----
    void plan_reshape(const onnx::NodeProto& node, const Attributes& attr, const std::vector<Value*>& in,
                      bool constant);
    void emit_view(const std::string& name, Value& x, const Dims& dims);
    bool plan_channel_shuffle(const onnx::NodeProto& reshape, Value& x);
    void plan_transpose(const onnx::NodeProto& node, const Attributes& attr, const std::vector<Value*>& in,
                        bool constant);
    void plan_slice(const onnx::NodeProto& node, const Attributes& attr, const std::vector<Value*>& in,
                    bool constant);
    void plan_concat(const onnx::NodeProto& node, const Attributes& attr, const std::vector<Value*>& in,
                     bool constant);
    void plan_concat_channels(const onnx::NodeProto& node, const std::vector<Value*>& in);
    void plan_gather(const onnx::NodeProto& node, const Attributes& attr, const std::vector<Value*>& in,
                     bool constant);
    void plan_identity(const onnx::NodeProto& node, Value& x);

    const Graph& graph_;
    const std::string& model_;  // for refuse()
    Plan* plan_ = nullptr;      // the plan being built
    int planning_node_ = -1;    // the graph node being planned (-1: constants, the input)
    std::unordered_map<std::string, Value> values_;
    std::vector<bool> fused_;   // nodes planned as part of an earlier one (or Constant nodes)
    std::unordered_map<std::string, std::vector<int>> consumers_;  // of each value (count_consumers)
};

}  // namespace faceproof::executor
