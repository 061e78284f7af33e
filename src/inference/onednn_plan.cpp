// What planning shares across operators (see onednn_plan.hpp): the walk over the graph, the
// dispatch of each node, values and their layouts, steps, and which buffers a value may use.
#include "inference/onednn_plan.hpp"

#include <algorithm>
#include <cstdint>
#include <iterator>

#include "faceproof/error.hpp"

namespace faceproof::executor {

tag plain_tag(size_t rank) {
    switch (rank) {
        case 1: return tag::a;
        case 2: return tag::ab;
        case 3: return tag::abc;
        case 4: return tag::abcd;
        case 5: return tag::abcde;
        case 6: return tag::abcdef;
    }
    throw Error(ErrorCode::internal, "onednn executor: tensors of rank " + std::to_string(rank) + " are not supported");
}

memory::desc plain_desc(const Dims& dims) { return memory::desc(dims, dt::f32, plain_tag(dims.size())); }

dnnl::primitive_attr user_scratchpad(dnnl::primitive_attr attr) {
    attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
    return attr;
}

memory constant_in(const memory::desc& want, const memory::desc& given, const std::vector<float>& data) {
    memory from(given, engine(), const_cast<float*>(data.data()));  // only read
    memory to(want, engine());
    dnnl::stream stream(engine());
    dnnl::reorder(from, to).execute(stream, from, to);
    stream.wait();
    return to;
}

void require_supported_operators(const Graph& graph) {
    // Each is planned by Planner::plan_node.
    static const char* kSupported[] = {
        "Conv", "Relu", "PRelu", "BatchNormalization", "Add", "Sub", "Mul", "Div", "Sigmoid", "Exp",
        "MaxPool", "GlobalAveragePool", "ReduceMean", "Concat", "Split", "Slice", "Transpose", "Reshape",
        "Flatten", "Unsqueeze", "Squeeze", "Shape", "Gather", "Constant", "Softmax", "Gemm", "MatMul",
        "Identity", "Dropout"};
    for (int k = 0; k < graph.node_count(); ++k) {
        const onnx::NodeProto& node = graph.node(k);
        if (std::find(std::begin(kSupported), std::end(kSupported), node.op_type()) == std::end(kSupported))
            refuse(graph.model(), "operator " + node.op_type() + " is not supported");
    }
}

Plan Planner::build(const Dims& input_shape) {
    Plan plan;
    plan_ = &plan;
    values_.clear();
    fused_.assign(graph_.node_count(), false);
    count_consumers();
    for (const auto& [name, t] : graph_.initializers()) values_[name] = constant_from(*t, model_);
    // Constant nodes first: the exporter may list one after a node whose fusion reads it.
    for (int k = 0; k < graph_.node_count(); ++k)
        if (graph_.node(k).op_type() == "Constant") {
            plan_node(k);
            fused_[k] = true;
        }
    planning_node_ = -1;
    Value& in = runtime_output(graph_.input_name(), input_shape, plain_desc(input_shape));
    plan.input = in.mem;
    for (int k = 0; k < graph_.node_count(); ++k) {
        if (fused_[k]) continue;
        try {
            planning_node_ = k;
            plan_node(k);
        } catch (const dnnl::error& e) {
            refuse(model_, "node " + graph_.node(k).name() + " (" + graph_.node(k).op_type() + "): oneDNN: " + e.what());
        }
    }
    for (const auto& name : graph_.output_names()) {
        Value& v = value(name);
        if (v.constant) refuse(model_, "output " + name + " is a constant");
        plan.outputs.push_back(plain(v));
        plan.output_dims.push_back(v.dims);
    }
    // One scratchpad for every primitive (they run one after another).
    size_t size = 0;
    for (const Step& s : plan.steps)
        if (!s.plain) size = std::max(size, s.scratchpad.get_size());
    plan.scratch.resize(size + 64);
    void* aligned = reinterpret_cast<void*>((reinterpret_cast<std::uintptr_t>(plan.scratch.data()) + 63) &
                                            ~std::uintptr_t{63});
    for (Step& s : plan.steps)
        if (!s.plain && s.scratchpad.get_size() > 0)
            s.args[DNNL_ARG_SCRATCHPAD] = memory(s.scratchpad, engine(), aligned);
    plan_ = nullptr;
    planning_node_ = -1;
    plan.values = std::move(values_);
    values_.clear();
    return plan;
}

// The node's operator, on its inputs: Constant and Shape (shape folding) here, every other
// operator in the file of its family (onednn_plan.hpp).
void Planner::plan_node(int k) {
    const onnx::NodeProto& node = graph_.node(k);
    const std::string& op = node.op_type();
    const Attributes attr(node);
    if (op == "Constant") {
        const onnx::TensorProto* t = attr.tensor("value");
        if (t == nullptr) refuse(model_, "Constant without a tensor value");
        values_[node.output(0)] = constant_from(*t, model_);
        return;
    }
    std::vector<Value*> in;
    for (const auto& name : node.input()) in.push_back(name.empty() ? nullptr : &value(name));
    if (op == "Shape") {
        Value v;
        v.constant = v.integer = true;
        v.i = in[0]->dims;
        v.dims = {static_cast<std::int64_t>(v.i.size())};
        values_[node.output(0)] = std::move(v);
        return;
    }
    const bool all_constant =
        std::all_of(in.begin(), in.end(), [](const Value* v) { return v == nullptr || v->constant; });
    if (op == "Conv") return plan_conv(k, attr, in);
    if (op == "MaxPool" || op == "GlobalAveragePool") return plan_pool(node, attr, *in[0]);
    if (op == "ReduceMean") return plan_reduce_mean(node, attr, in, all_constant);
    if (op == "Gemm" || op == "MatMul") return plan_gemm(node, attr, in, all_constant);
    if (op == "Relu" || op == "Sigmoid" || op == "Exp") return plan_activation(node, in, all_constant);
    if (op == "PRelu") return plan_prelu(node, in, all_constant);
    if (op == "Add" || op == "Sub" || op == "Mul" || op == "Div") return plan_binary(node, in, all_constant);
    if (op == "BatchNormalization") return plan_batch_norm(node, attr, in, all_constant);
    if (op == "Softmax") return plan_softmax(node, attr, in, all_constant);
    if (op == "Reshape" || op == "Flatten" || op == "Unsqueeze" || op == "Squeeze")
        return plan_reshape(node, attr, in, all_constant);
    if (op == "Transpose") return plan_transpose(node, attr, in, all_constant);
    if (op == "Slice" || op == "Split") return plan_slice(node, attr, in, all_constant);
    if (op == "Concat") return plan_concat(node, attr, in, all_constant);
    if (op == "Gather") return plan_gather(node, attr, in, all_constant);
    if (op == "Identity" || op == "Dropout") return plan_identity(node, *in[0]);
    refuse(model_, "operator " + op + " is not supported here");
}

Value& Planner::value(const std::string& name) {
    const auto it = values_.find(name);
    if (it == values_.end()) refuse(model_, "value " + name + " is used before it is computed");
    return it->second;
}

// The nodes consuming each value (for fusion: a value with one consumer can be fused away).
void Planner::count_consumers() {
    consumers_.clear();
    for (int k = 0; k < graph_.node_count(); ++k)
        for (const auto& in : graph_.node(k).input()) consumers_[in].push_back(k);
    for (const auto& out : graph_.output_names()) consumers_[out].push_back(-1);  // a requested output
}

// The only consumer of value `name` if it is node op_type, else -1.
int Planner::sole_consumer(const std::string& name, const char* op_type) const {
    const auto it = consumers_.find(name);
    if (it == consumers_.end() || it->second.size() != 1 || it->second[0] < 0) return -1;
    const int k = it->second[0];
    return graph_.node(k).op_type() == op_type ? k : -1;
}

// The plain row-major form of a run-time value (a reorder step is added on first request).
const memory& Planner::plain(Value& v) {
    if (!v.plain) {
        const memory::desc want = plain_desc(v.dims);
        if (v.mem.get_desc() == want) {
            v.plain = v.mem;
        } else {
            v.plain = memory(want, engine());
            add_reorder(v.mem, v.plain);
        }
    }
    return v.plain;
}

// A float pointer to a value's plain data (constant or run time).
const float* Planner::plain_data(Value& v) {
    if (v.constant) {
        if (v.integer) refuse(model_, "an integer constant used as data");
        return v.f.data();
    }
    return static_cast<const float*>(plain(v).get_data_handle());
}

// v in the layout `want` (a reorder step when it is not already).
memory Planner::in_layout(Value& v, const memory::desc& want) {
    if (v.mem.get_desc() == want) return v.mem;
    if (v.plain && v.plain.get_desc() == want) return v.plain;
    // With exactly 16 channels, oneDNN's 16-channel blocked layout is NHWC byte for byte.
    if (v.dims.size() == 4 && v.dims[1] == 16 && v.mem.get_desc() == memory::desc(v.dims, dt::f32, tag::nChw16c) &&
        want == memory::desc(v.dims, dt::f32, tag::acdb)) {
        v.viewed = true;
        return memory(want, engine(), v.mem.get_data_handle());
    }
    memory m(want, engine());
    add_reorder(v.mem, m);
    return m;
}

void Planner::add_reorder(const memory& from, const memory& to) {
    const dnnl::reorder::primitive_desc pd(from, to, user_scratchpad());
    add_primitive(dnnl::reorder(pd), {{DNNL_ARG_FROM, from}, {DNNL_ARG_TO, to}}, pd.scratchpad_desc());
}

void Planner::add_primitive(dnnl::primitive p, std::unordered_map<int, memory> args, memory::desc scratch) {
    Step s;
    s.primitive = std::move(p);
    s.args = std::move(args);
    s.scratchpad = scratch;
    plan_->steps.push_back(std::move(s));
}

// A run-time value written by a step: in `given` (in-place), in a transient buffer shared with
// values that are dead by then, or in a buffer of its own.
Value& Planner::runtime_output(const std::string& name, const Dims& dims, const memory::desc& desc,
                               memory given) {
    Value v;
    v.dims = dims;
    v.owns_buffer = true;
    const int reader = given ? -1 : transient_reader(name);
    if (given) {
        v.mem = given;
    } else if (reader >= 0) {
        v.mem = memory(desc, engine(), plan_->transient.acquire(desc.get_size(), planning_node_, reader));
        v.owns_buffer = false;  // shared over time: never written over in place by a fused Add
    } else {
        v.mem = memory(desc, engine());
    }
    if (desc == plain_desc(dims)) v.plain = v.mem;
    return values_[name] = std::move(v);
}

// The node reading value `name` last when it is transient: read once, by a convolution,
// concatenation or max pooling planned later (or by a PRelu whose result only such a node
// reads: the PRelu may become a view of the value, applied by a depthwise convolution), and
// nothing else (no view, no output, not the graph's input), so its buffer is free again once
// that node's steps have run. -1 otherwise. (These operators copy what they read; a Reshape or
// Transpose may view it, and a residual Add is written over in place when it owns its buffer.)
int Planner::transient_reader(const std::string& name) const {
    if (planning_node_ < 0 || name == graph_.input_name()) return -1;
    const auto sole = [this](const std::string& value) {
        const auto it = consumers_.find(value);
        return it == consumers_.end() || it->second.size() != 1 ? -1 : it->second[0];
    };
    int reader = sole(name);
    if (reader <= planning_node_) return -1;
    if (graph_.node(reader).op_type() == "PRelu") reader = sole(graph_.node(reader).output(0));
    if (reader <= planning_node_) return -1;
    const std::string& op = graph_.node(reader).op_type();
    return op == "Conv" || op == "Concat" || op == "MaxPool" ? reader : -1;
}

// Whether node k may write its result over value `name`, which node `fused_add` (fused into
// k) reads: a buffer of its own, not shared, not an output, every other reader before node k.
bool Planner::may_overwrite(const std::string& name, int k, int fused_add) {
    const Value& v = value(name);
    if (!v.owns_buffer || v.viewed || name == graph_.input_name()) return false;
    for (const int reader : consumers_.at(name))
        if (reader != fused_add && (reader < 0 || reader >= k)) return false;
    return true;
}

// Output value `name` of dims: a constant (folded: `compute` runs now) or a run-time plain
// tensor (`compute` becomes a step).
void Planner::emit_plain(const std::string& name, const Dims& dims, bool constant,
                         const std::function<void(float*)>& compute) {
    if (constant) {
        Value v;
        v.constant = true;
        v.dims = dims;
        v.f.resize(count(dims));
        compute(v.f.data());
        values_[name] = std::move(v);
        return;
    }
    Value& out = runtime_output(name, dims, plain_desc(dims));
    float* dst = static_cast<float*>(out.mem.get_data_handle());
    Step s;
    s.plain = [compute, dst] { compute(dst); };
    plan_->steps.push_back(std::move(s));
}

}  // namespace faceproof::executor
