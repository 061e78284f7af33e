// The ONNX model as the oneDNN executor reads it (onednn_executor.hpp): the graph parsed once from
// the file's bytes (Debian's libonnx protobuf types), its initializers, input and requested
// outputs, plus the executor's Value (a constant, or a run-time tensor while a plan is built,
// onednn_plan.hpp) and the decoding of ONNX tensors into constants.
// Thread safety: a Graph is only read after construction (any number of threads).
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include <oneapi/dnnl/dnnl.hpp>
#include <onnx/onnx_pb.h>

#include "inference/cpu_kernels.hpp"

namespace faceproof::executor {

using cpu::count;
using cpu::Dims;

// ensures: throws Error{internal} "onednn executor: model <model>: <what>".
[[noreturn]] void refuse(const std::string& model, const std::string& what);

// A value of the graph while planning: a constant (folded) or a run-time tensor.
struct Value {
    Dims dims;
    bool constant = false;
    bool integer = false;      // constant int64 data (shapes, indices)
    std::vector<float> f;      // constant float data, row-major
    std::vector<std::int64_t> i;
    dnnl::memory mem;          // run-time: the tensor in the layout its producer chose
    dnnl::memory plain;        // run-time: the same tensor plain row-major (made on first request)
    bool owns_buffer = false;  // run-time: written by its own step, not a view of another value
    bool viewed = false;       // run-time: another value shares its buffer
    const float* input_prelu = nullptr;  // run-time: a PReLU (these slopes) its sole reader applies
};

// requires: t is a FLOAT or INT64 tensor (raw or typed data).
// ensures:  the constant it holds; anything else is refused naming the tensor.
Value constant_from(const onnx::TensorProto& t, const std::string& model);

// Attributes of a node, by name.
class Attributes {
public:
    explicit Attributes(const onnx::NodeProto& node) {
        for (const auto& a : node.attribute()) by_name_[a.name()] = &a;
    }
    bool has(const std::string& name) const { return by_name_.count(name) != 0; }
    std::int64_t integer(const std::string& name, std::int64_t fallback) const {
        const auto it = by_name_.find(name);
        return it == by_name_.end() ? fallback : it->second->i();
    }
    float real(const std::string& name, float fallback) const {
        const auto it = by_name_.find(name);
        return it == by_name_.end() ? fallback : it->second->f();
    }
    std::string text(const std::string& name, const std::string& fallback) const {
        const auto it = by_name_.find(name);
        return it == by_name_.end() ? fallback : it->second->s();
    }
    Dims integers(const std::string& name, Dims fallback = {}) const {
        const auto it = by_name_.find(name);
        if (it == by_name_.end()) return fallback;
        return Dims(it->second->ints().begin(), it->second->ints().end());
    }
    const onnx::TensorProto* tensor(const std::string& name) const {
        const auto it = by_name_.find(name);
        return it == by_name_.end() ? nullptr : &it->second->t();
    }

private:
    std::unordered_map<std::string, const onnx::AttributeProto*> by_name_;
};

class Graph {
public:
    // requires: bytes hold an ONNX model; outputs name graph values (empty: the graph's outputs).
    // ensures:  throws Error{internal} (refuse) when the bytes are not a model or the graph has no
    //           input. Operators are not checked here (require_supported_operators, onednn_plan).
    Graph(const std::vector<std::uint8_t>& bytes, std::string model, std::vector<std::string> outputs);
    Graph(const Graph&) = delete;  // initializers point into the parsed model
    Graph& operator=(const Graph&) = delete;

    const std::string& model() const { return model_; }  // the model's name, for messages
    int node_count() const { return proto_.graph().node_size(); }
    const onnx::NodeProto& node(int k) const { return proto_.graph().node(k); }  // in graph order
    const std::unordered_map<std::string, const onnx::TensorProto*>& initializers() const { return initializers_; }
    const std::string& input_name() const { return input_name_; }  // the input that is no initializer
    const std::vector<std::string>& output_names() const { return output_names_; }

private:
    std::string model_;
    onnx::ModelProto proto_;
    std::unordered_map<std::string, const onnx::TensorProto*> initializers_;
    std::string input_name_;
    std::vector<std::string> output_names_;
};

}  // namespace faceproof::executor
