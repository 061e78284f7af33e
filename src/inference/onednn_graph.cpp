// Reading an ONNX model for the oneDNN executor (see onednn_graph.hpp).
#include "inference/onednn_graph.hpp"

#include <algorithm>
#include <cstring>

#include "faceproof/error.hpp"

namespace faceproof::executor {

void refuse(const std::string& model, const std::string& what) {
    throw Error(ErrorCode::internal, "onednn executor: model " + model + ": " + what);
}

Value constant_from(const onnx::TensorProto& t, const std::string& model) {
    Value v;
    v.constant = true;
    v.dims.assign(t.dims().begin(), t.dims().end());
    const std::int64_t n = count(v.dims);
    if (t.data_type() == onnx::TensorProto::FLOAT) {
        v.f.resize(n);
        if (!t.raw_data().empty()) {
            if (t.raw_data().size() != static_cast<size_t>(n) * sizeof(float)) refuse(model, "bad tensor " + t.name());
            std::memcpy(v.f.data(), t.raw_data().data(), t.raw_data().size());
        } else {
            if (t.float_data_size() != n) refuse(model, "bad tensor " + t.name());
            std::copy(t.float_data().begin(), t.float_data().end(), v.f.begin());
        }
    } else if (t.data_type() == onnx::TensorProto::INT64) {
        v.integer = true;
        v.i.resize(n);
        if (!t.raw_data().empty()) {
            if (t.raw_data().size() != static_cast<size_t>(n) * sizeof(std::int64_t))
                refuse(model, "bad tensor " + t.name());
            std::memcpy(v.i.data(), t.raw_data().data(), t.raw_data().size());
        } else {
            if (t.int64_data_size() != n) refuse(model, "bad tensor " + t.name());
            std::copy(t.int64_data().begin(), t.int64_data().end(), v.i.begin());
        }
    } else {
        refuse(model, "tensor " + t.name() + " has an unsupported data type " + std::to_string(t.data_type()));
    }
    return v;
}

Graph::Graph(const std::vector<std::uint8_t>& bytes, std::string model, std::vector<std::string> outputs)
    : model_(std::move(model)), output_names_(std::move(outputs)) {
    if (!proto_.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())))
        refuse(model_, "the file is not an ONNX model");
    const onnx::GraphProto& g = proto_.graph();
    for (const auto& t : g.initializer()) initializers_.emplace(t.name(), &t);
    for (const auto& in : g.input())
        if (!initializers_.count(in.name())) input_name_ = in.name();
    if (input_name_.empty()) refuse(model_, "the graph has no input");
    if (output_names_.empty())
        for (const auto& out : g.output()) output_names_.push_back(out.name());
}

}  // namespace faceproof::executor
