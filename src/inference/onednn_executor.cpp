// The lean ONNX executor on oneDNN (see onednn_executor.hpp). Why it is faster than OpenCV DNN 4.6
// on our models (measured with scripts/bench_models.sh): activations stay in oneDNN's own layouts
// between convolutions (no reorder per layer), convolutions run oneDNN's JIT kernels with bias,
// ReLU and the residual Add applied in the same pass, 3x3 depthwise convolutions run our NHWC
// kernel with bias and (P)ReLU fused (cpu_kernels.cpp), and the per-layer dispatch is one call per
// step (no per-layer allocation, shape checks or name look-ups).
#include "inference/onednn_executor.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <new>
#include <numeric>
#include <unordered_map>

#include <oneapi/dnnl/dnnl.hpp>
#include <onnx/onnx_pb.h>

#include "faceproof/error.hpp"
#include "inference/cpu_kernels.hpp"
#include "inference/onednn_runtime.hpp"

namespace faceproof {
namespace {

using namespace cpu;  // Dims, count, the plain kernels, the depthwise kernel
using dnnl::memory;
using tag = memory::format_tag;
using dt = memory::data_type;

dnnl::engine& engine() { return onednn_engine(); }

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

// A value of the graph while planning: a constant (folded) or a run-time tensor.
struct Value {
    Dims dims;
    bool constant = false;
    bool integer = false;      // constant int64 data (shapes, indices)
    std::vector<float> f;      // constant float data, row-major
    std::vector<std::int64_t> i;
    memory mem;                // run-time: the tensor in the layout its producer chose
    memory plain;              // run-time: the same tensor plain row-major (made on first request)
    bool owns_buffer = false;  // run-time: written by its own step, not a view of another value
    bool viewed = false;       // run-time: another value shares its buffer
    const float* input_prelu = nullptr;  // run-time: a PReLU (these slopes) its sole reader applies
};

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

[[noreturn]] void refuse(const std::string& model, const std::string& what) {
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

// ---- the plan ----

struct Step {
    std::function<void()> plain;  // a plain kernel, or
    dnnl::primitive primitive;    // a oneDNN primitive with its arguments
    std::unordered_map<int, memory> args;
    memory::desc scratchpad;
};

struct Plan {
    // Every value of the graph: constants are read in place by the steps (the map's nodes and
    // their data do not move when the plan does).
    std::unordered_map<std::string, Value> values;
    memory input;
    std::vector<Step> steps;
    std::vector<memory> outputs;  // plain
    std::vector<Dims> output_dims;
    std::vector<unsigned char> scratch;
    // Buffers of transient values (Executor::transient_buffer), 64-byte aligned.
    std::vector<std::unique_ptr<void, decltype(&std::free)>> transient;
};

class Executor final : public OnednnExecutor {
public:
    Executor(const std::vector<std::uint8_t>& bytes, std::string model, std::vector<std::string> outputs)
        : model_(std::move(model)), output_names_(std::move(outputs)) {
        if (!graph_.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())))
            refuse(model_, "the file is not an ONNX model");
        const onnx::GraphProto& g = graph_.graph();
        for (const auto& t : g.initializer()) initializers_.emplace(t.name(), &t);
        for (const auto& in : g.input())
            if (!initializers_.count(in.name())) input_name_ = in.name();
        if (input_name_.empty()) refuse(model_, "the graph has no input");
        if (output_names_.empty())
            for (const auto& out : g.output()) output_names_.push_back(out.name());
        static const char* kSupported[] = {
            "Conv", "Relu", "PRelu", "BatchNormalization", "Add", "Sub", "Mul", "Div", "Sigmoid", "Exp",
            "MaxPool", "GlobalAveragePool", "ReduceMean", "Concat", "Split", "Slice", "Transpose", "Reshape",
            "Flatten", "Unsqueeze", "Squeeze", "Shape", "Gather", "Constant", "Softmax", "Gemm", "MatMul",
            "Identity", "Dropout"};
        for (const auto& node : g.node())
            if (std::find(std::begin(kSupported), std::end(kSupported), node.op_type()) == std::end(kSupported))
                refuse(model_, "operator " + node.op_type() + " is not supported");
    }

    void run(const cv::Mat& input, std::vector<cv::Mat>& outputs) override {
        if (input.type() != CV_32F || !input.isContinuous())
            throw Error(ErrorCode::internal, "onednn executor: input must be a continuous float blob");
        Plan& plan = plan_for(Dims(input.size.p, input.size.p + input.dims));
        if (input.data != plan.input.get_data_handle())
            std::memcpy(plan.input.get_data_handle(), input.ptr<float>(), input.total() * sizeof(float));
        dnnl::stream stream(engine());
        for (Step& step : plan.steps) {
            if (step.plain)
                step.plain();
            else
                step.primitive.execute(stream, step.args);
        }
        stream.wait();
        outputs.resize(plan.outputs.size());
        for (size_t k = 0; k < plan.outputs.size(); ++k) {
            const Dims& d = plan.output_dims[k];
            const std::vector<int> sizes(d.begin(), d.end());
            outputs[k] = cv::Mat(static_cast<int>(sizes.size()), sizes.data(), CV_32F, plan.outputs[k].get_data_handle());
        }
    }

    cv::Mat input_buffer(const std::vector<int>& shape) override {
        Plan& plan = plan_for(Dims(shape.begin(), shape.end()));
        return cv::Mat(static_cast<int>(shape.size()), shape.data(), CV_32F, plan.input.get_data_handle());
    }

private:
    Plan& plan_for(const Dims& shape) {
        use_one_openmp_thread();  // before the plan is built (see onednn_runtime.hpp)
        auto it = plans_.find(shape);
        if (it == plans_.end()) it = plans_.emplace(shape, build(shape)).first;
        return it->second;
    }

    // ---- planning helpers ----

    Value& value(const std::string& name) {
        const auto it = values_.find(name);
        if (it == values_.end()) refuse(model_, "value " + name + " is used before it is computed");
        return it->second;
    }

    // The plain row-major form of a run-time value (a reorder step is added on first request).
    const memory& plain(Value& v) {
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
    const float* plain_data(Value& v) {
        if (v.constant) {
            if (v.integer) refuse(model_, "an integer constant used as data");
            return v.f.data();
        }
        return static_cast<const float*>(plain(v).get_data_handle());
    }

    // v in the layout `want` (a reorder step when it is not already).
    memory in_layout(Value& v, const memory::desc& want) {
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

    // Constant data (laid out as `given`) copied once into a buffer of the layout a primitive wants.
    static memory constant_in(const memory::desc& want, const memory::desc& given, const std::vector<float>& data) {
        memory from(given, engine(), const_cast<float*>(data.data()));  // only read
        memory to(want, engine());
        dnnl::stream stream(engine());
        dnnl::reorder(from, to).execute(stream, from, to);
        stream.wait();
        return to;
    }

    void add_reorder(const memory& from, const memory& to) {
        const dnnl::reorder::primitive_desc pd(from, to, user_scratchpad());
        add_primitive(dnnl::reorder(pd), {{DNNL_ARG_FROM, from}, {DNNL_ARG_TO, to}}, pd.scratchpad_desc());
    }

    void add_primitive(dnnl::primitive p, std::unordered_map<int, memory> args, memory::desc scratch) {
        Step s;
        s.primitive = std::move(p);
        s.args = std::move(args);
        s.scratchpad = scratch;
        plan_->steps.push_back(std::move(s));
    }

    // A run-time value written by a step: in `given` (in-place), in a transient buffer shared with
    // values that are dead by then, or in a buffer of its own.
    Value& runtime_output(const std::string& name, const Dims& dims, const memory::desc& desc, memory given = {}) {
        Value v;
        v.dims = dims;
        v.owns_buffer = true;
        const int reader = given ? -1 : transient_reader(name);
        if (given) {
            v.mem = given;
        } else if (reader >= 0) {
            v.mem = memory(desc, engine(), transient_buffer(desc.get_size(), reader));
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
    int transient_reader(const std::string& name) const {
        if (planning_node_ < 0 || name == input_name_) return -1;
        const auto sole = [this](const std::string& value) {
            const auto it = consumers_.find(value);
            return it == consumers_.end() || it->second.size() != 1 ? -1 : it->second[0];
        };
        int reader = sole(name);
        if (reader <= planning_node_) return -1;
        if (graph_.graph().node(reader).op_type() == "PRelu") reader = sole(graph_.graph().node(reader).output(0));
        if (reader <= planning_node_) return -1;
        const std::string& op = graph_.graph().node(reader).op_type();
        return op == "Conv" || op == "Concat" || op == "MaxPool" ? reader : -1;
    }

    // A buffer of `size` bytes, free from now until node `reader` has run. Activations otherwise
    // each get a buffer of their own, so a network streams its whole set of activations (fr_detect:
    // several MB) through the caches on every run; reused buffers are still in cache when written.
    void* transient_buffer(size_t size, int reader) {
        // The smallest free slot that is large enough, else the largest free one (to grow).
        const auto better = [size](const TransientSlot& a, const TransientSlot& b) {
            const bool a_fits = a.size >= size, b_fits = b.size >= size;
            if (a_fits != b_fits) return a_fits;
            return a_fits ? a.size < b.size : a.size > b.size;
        };
        TransientSlot* chosen = nullptr;
        for (TransientSlot& slot : slots_) {
            if (slot.busy_until >= planning_node_) continue;  // its value is read by this node or later
            if (chosen == nullptr || better(slot, *chosen)) chosen = &slot;
        }
        if (chosen == nullptr) chosen = &slots_.emplace_back();
        if (chosen->size < size) {  // a larger buffer; the old one stays with the steps that use it
            const size_t rounded = (size + 63) / 64 * 64;
            void* data = std::aligned_alloc(64, rounded);
            if (data == nullptr) throw std::bad_alloc();
            plan_->transient.emplace_back(data, &std::free);
            chosen->data = data;
            chosen->size = rounded;
        }
        chosen->busy_until = reader;
        return chosen->data;
    }

    // The nodes consuming each value (for fusion: a value with one consumer can be fused away).
    void count_consumers() {
        consumers_.clear();
        for (int k = 0; k < graph_.graph().node_size(); ++k)
            for (const auto& in : graph_.graph().node(k).input()) consumers_[in].push_back(k);
        for (const auto& out : output_names_) consumers_[out].push_back(-1);  // a requested output
    }

    // The only consumer of value `name` if it is node op_type, else -1.
    int sole_consumer(const std::string& name, const char* op_type) const {
        const auto it = consumers_.find(name);
        if (it == consumers_.end() || it->second.size() != 1 || it->second[0] < 0) return -1;
        const int k = it->second[0];
        return graph_.graph().node(k).op_type() == op_type ? k : -1;
    }

    // Whether node k may write its result over value `name`, which node `fused_add` (fused into
    // k) reads: a buffer of its own, not shared, not an output, every other reader before node k.
    bool may_overwrite(const std::string& name, int k, int fused_add) {
        const Value& v = value(name);
        if (!v.owns_buffer || v.viewed || name == input_name_) return false;
        for (const int reader : consumers_.at(name))
            if (reader != fused_add && (reader < 0 || reader >= k)) return false;
        return true;
    }

    Plan build(const Dims& input_shape) {
        Plan plan;
        plan_ = &plan;
        values_.clear();
        fused_.assign(graph_.graph().node_size(), false);
        count_consumers();
        for (const auto& [name, t] : initializers_) values_[name] = constant_from(*t, model_);
        // Constant nodes first: the exporter may list one after a node whose fusion reads it.
        for (int k = 0; k < graph_.graph().node_size(); ++k)
            if (graph_.graph().node(k).op_type() == "Constant") {
                plan_node(k);
                fused_[k] = true;
            }
        slots_.clear();
        planning_node_ = -1;
        Value& in = runtime_output(input_name_, input_shape, plain_desc(input_shape));
        plan.input = in.mem;
        const onnx::GraphProto& g = graph_.graph();
        for (int k = 0; k < g.node_size(); ++k) {
            if (fused_[k]) continue;
            try {
                planning_node_ = k;
                plan_node(k);
            } catch (const dnnl::error& e) {
                refuse(model_, "node " + g.node(k).name() + " (" + g.node(k).op_type() + "): oneDNN: " + e.what());
            }
        }
        for (const auto& name : output_names_) {
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

    static dnnl::primitive_attr user_scratchpad(dnnl::primitive_attr attr = {}) {
        attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
        return attr;
    }

    void plan_node(int k) {
        const onnx::NodeProto& node = graph_.graph().node(k);
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
        if ((op == "Relu" || op == "Sigmoid" || op == "Exp") && !all_constant) return plan_eltwise(node, *in[0]);
        if (op == "Softmax" && !all_constant && plan_softmax(node, attr, *in[0])) return;
        if (op == "PRelu" && !in[0]->constant && in[1]->constant && in[0]->dims.size() == 4 &&
            count(in[1]->dims) == in[0]->dims[1]) {
            const int reader = sole_consumer(node.output(0), "Conv");
            if (reader >= 0 && in[0]->input_prelu == nullptr && runs_as_our_depthwise(reader, in[0]->dims)) {
                // Applied by the depthwise kernel as it reads its input: no pass of its own.
                in[0]->viewed = true;
                Value alias = *in[0];
                alias.owns_buffer = false;
                alias.input_prelu = in[1]->f.data();
                values_[node.output(0)] = std::move(alias);
                return;
            }
            return plan_prelu(node, *in[0], *in[1]);
        }
        if (op == "Add" && !in[0]->constant && !in[1]->constant && in[0]->dims == in[1]->dims)
            return plan_add(node, *in[0], *in[1]);
        if (op == "Concat" && !all_constant && attr.integer("axis", 0) == 1 && in[0]->dims.size() == 4)
            return plan_concat(node, in);
        if (op == "Identity" || op == "Dropout") {
            in[0]->viewed = true;
            Value alias = *in[0];
            alias.owns_buffer = false;
            values_[node.output(0)] = std::move(alias);
            return;
        }
        plan_plain(node, attr, in, all_constant);
    }

    // ---- oneDNN operators ----

    void plan_conv(int k, const Attributes& attr, const std::vector<Value*>& in) {
        const onnx::NodeProto& node = graph_.graph().node(k);
        Value& x = *in[0];
        if (in.size() < 2 || !in[1]->constant || (in.size() > 2 && in[2] && !in[2]->constant) || x.constant)
            refuse(model_, "Conv needs constant weights");
        if (attr.text("auto_pad", "NOTSET") != "NOTSET") refuse(model_, "Conv auto_pad is not supported");
        const Value& w = *in[1];
        if (w.dims.size() != 4 || x.dims.size() != 4) refuse(model_, "only 2-D convolutions are supported");
        const std::int64_t group = attr.integer("group", 1);
        const std::int64_t out_c = w.dims[0], in_per_group = w.dims[1], kh = w.dims[2], kw = w.dims[3];
        if (in_per_group * group != x.dims[1] || out_c % group != 0) refuse(model_, "Conv shapes do not agree");
        const Dims pads = attr.integers("pads", {0, 0, 0, 0}), strides = attr.integers("strides", {1, 1}),
                   dilations = attr.integers("dilations", {1, 1});
        std::vector<float> weights = w.f;
        std::vector<float> bias = in.size() > 2 && in[2] ? in[2]->f : std::vector<float>(out_c, 0.f);
        const Dims out_dims = {x.dims[0], out_c,
                               (x.dims[2] + pads[0] + pads[2] - ((kh - 1) * dilations[0] + 1)) / strides[0] + 1,
                               (x.dims[3] + pads[1] + pads[3] - ((kw - 1) * dilations[1] + 1)) / strides[1] + 1};

        // Depthwise convolutions run on our own NHWC kernel (below), which also applies PReLU.
        const bool depthwise = runs_as_our_depthwise(k, x.dims);
        if (x.input_prelu != nullptr && !depthwise) refuse(model_, "internal: a deferred PReLU reached another operator");
        Activation activation = Activation::none;
        const float* slope = nullptr;

        // Fusion: what follows, when this convolution's output feeds only it.
        std::string out_name = node.output(0);
        dnnl::post_ops post;
        std::string sum_operand;  // the other operand of a fused residual Add, node sum_add
        int sum_add = -1;
        for (;;) {
            int next = sole_consumer(out_name, "BatchNormalization");
            if (next >= 0 && post.len() == 0) {
                fold_batch_norm(graph_.graph().node(next), out_c, weights, bias, kh * kw * in_per_group);
                fused_[next] = true;
                out_name = graph_.graph().node(next).output(0);
                continue;
            }
            // A constant scale or offset (per tensor or per channel) right after the convolution
            // goes into its weights and bias (fr_detect's scaled residual branches).
            if (post.len() == 0) {
                const int mul = sole_consumer(out_name, "Mul"), add = sole_consumer(out_name, "Add");
                next = mul >= 0 ? mul : add;
                const Value* factor = next >= 0 ? channel_constant(graph_.graph().node(next), out_name, out_c) : nullptr;
                if (factor != nullptr) {
                    const std::int64_t per_channel = kh * kw * in_per_group;
                    for (std::int64_t c = 0; c < out_c; ++c) {
                        const float v = factor->f[factor->f.size() == 1 ? 0 : c];
                        if (next == mul) {
                            for (std::int64_t j = 0; j < per_channel; ++j) weights[c * per_channel + j] *= v;
                            bias[c] *= v;
                        } else {
                            bias[c] += v;
                        }
                    }
                    fused_[next] = true;
                    out_name = graph_.graph().node(next).output(0);
                    continue;
                }
            }
            if (activation != Activation::none) break;
            if ((next = sole_consumer(out_name, "Relu")) >= 0) {
                post.append_eltwise(1.f, dnnl::algorithm::eltwise_relu, 0.f, 0.f);
                activation = Activation::relu;
            } else if (depthwise && (next = sole_consumer(out_name, "PRelu")) >= 0 &&
                       value(graph_.graph().node(next).input(1)).constant &&
                       count(value(graph_.graph().node(next).input(1)).dims) == out_c) {
                activation = Activation::prelu;
                slope = value(graph_.graph().node(next).input(1)).f.data();
            } else if (!depthwise && (next = sole_consumer(out_name, "Add")) >= 0 && post.len() == 0) {
                // The residual Add as a sum post-op: the destination holds the other operand
                // before the convolution adds into it (oneDNN 2.6's JIT convolutions take a sum
                // post-op; with a binary add post-op they fall back to a plain-layout GEMM).
                const onnx::NodeProto& add = graph_.graph().node(next);
                const std::string& other_name = add.input(0) == out_name ? add.input(1) : add.input(0);
                const auto other = values_.find(other_name);
                if (other == values_.end() || other->second.constant || other->second.dims != out_dims) break;
                post.append_sum(1.f);
                sum_operand = other_name;
                sum_add = next;
            } else {
                break;
            }
            fused_[next] = true;
            out_name = graph_.graph().node(next).output(0);
        }

        if (depthwise) return plan_depthwise(x, out_name, out_dims, weights, bias, kh, kw, strides, pads, activation, slope);

        const Dims weight_dims = group == 1 ? Dims{out_c, in_per_group, kh, kw}
                                            : Dims{group, out_c / group, in_per_group, kh, kw};
        const tag weight_tag = group == 1 ? tag::oihw : tag::goihw;
        const Dims dnnl_dilations = {dilations[0] - 1, dilations[1] - 1};
        dnnl::primitive_attr pattr = user_scratchpad();
        pattr.set_post_ops(post);
        const auto make_pd = [&](const memory::desc& src_desc) {
            const dnnl::convolution_forward::desc desc(
                dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct, src_desc,
                memory::desc(weight_dims, dt::f32, tag::any), memory::desc({out_c}, dt::f32, tag::x),
                memory::desc(out_dims, dt::f32, tag::any), strides, dnnl_dilations, Dims{pads[0], pads[1]},
                Dims{pads[2], pads[3]});
            return dnnl::convolution_forward::primitive_desc(desc, pattr, engine());
        };
        dnnl::convolution_forward::primitive_desc pd = make_pd(memory::desc(x.dims, dt::f32, tag::any));
        // A network's first convolution (a few planar channels, as the stages fill them) reads its
        // input as it is when a JIT kernel takes it so: no reorder of the whole image.
        if (x.dims[1] < 8 && pd.src_desc() != x.mem.get_desc()) {
            const dnnl::convolution_forward::primitive_desc as_is = make_pd(x.mem.get_desc());
            if (std::string(as_is.impl_info_str()).find("ref") == std::string::npos) pd = as_is;
        }

        // Weights and bias in the primitive's layout, once.
        const memory weights_mem = constant_in(pd.weights_desc(), memory::desc(weight_dims, dt::f32, weight_tag), weights);
        const memory bias_mem = constant_in(pd.bias_desc(), memory::desc({out_c}, dt::f32, tag::x), bias);

        const memory src = in_layout(x, pd.src_desc());
        memory dst;
        if (!sum_operand.empty()) {
            Value& other = value(sum_operand);
            if (other.mem.get_desc() == pd.dst_desc() && may_overwrite(sum_operand, k, sum_add)) {
                dst = other.mem;  // in place: the operand is read by no later step
            } else {
                dst = memory(pd.dst_desc(), engine());
                add_reorder(other.mem, dst);
            }
        }
        Value& out = runtime_output(out_name, out_dims, pd.dst_desc(), dst);
        std::unordered_map<int, memory> args = {
            {DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, weights_mem}, {DNNL_ARG_BIAS, bias_mem}, {DNNL_ARG_DST, out.mem}};
        add_primitive(dnnl::convolution_forward(pd), std::move(args), pd.scratchpad_desc());
    }

    // The other operand of a binary node reading `operand`, if it is a float constant of one value
    // or of one value per channel of a [N, channels, H, W] tensor.
    const Value* channel_constant(const onnx::NodeProto& node, const std::string& operand, std::int64_t channels) {
        const std::string& other = node.input(0) == operand ? node.input(1) : node.input(0);
        const auto it = values_.find(other);
        if (it == values_.end() || !it->second.constant || it->second.integer) return nullptr;
        const Value& v = it->second;
        if (v.f.size() == 1 && v.dims.size() <= 4) return &v;
        Dims dims = v.dims;
        if (dims.size() > 4) return nullptr;
        dims.insert(dims.begin(), 4 - dims.size(), 1);
        return dims == Dims{1, channels, 1, 1} ? &v : nullptr;
    }

    // Whether Conv node k on an input of dims runs on depthwise3x3_nhwc: 3x3, one channel per group,
    // a multiple of 16 channels, no dilation.
    bool runs_as_our_depthwise(int k, const Dims& input_dims) {
        const onnx::NodeProto& node = graph_.graph().node(k);
        const Attributes attr(node);
        if (node.input_size() < 2 || input_dims.size() != 4) return false;
        const auto w = values_.find(node.input(1));
        if (w == values_.end() || !w->second.constant || w->second.dims.size() != 4) return false;
        const Dims& wd = w->second.dims;
        const std::int64_t channels = input_dims[1];
        return attr.integer("group", 1) == channels && wd[0] == channels && wd[1] == 1 && wd[2] == 3 && wd[3] == 3 &&
               channels % kDepthwiseLanes == 0 && attr.integers("dilations", {1, 1}) == Dims{1, 1} &&
               attr.text("auto_pad", "NOTSET") == "NOTSET";
    }

    // A depthwise convolution on NHWC tensors, bias and activation applied in the same pass.
    // oneDNN 2.6's depthwise kernels run narrow tensors slowly (16 or 32 channels on 120x160: about
    // 10 GMAC/s) and cannot take PReLU as a post-op (its reference convolution then runs instead).
    void plan_depthwise(Value& x, const std::string& out_name, const Dims& out_dims, const std::vector<float>& weights,
                        const std::vector<float>& bias, std::int64_t kh, std::int64_t kw, const Dims& strides,
                        const Dims& pads, Activation activation, const float* slope) {
        DepthwiseShape shape;
        shape.batch = x.dims[0];
        shape.channels = x.dims[1];
        shape.height = x.dims[2];
        shape.width = x.dims[3];
        shape.out_height = out_dims[2];
        shape.out_width = out_dims[3];
        shape.kernel_h = kh;
        shape.kernel_w = kw;
        shape.stride_h = strides[0];
        shape.stride_w = strides[1];
        shape.pad_top = pads[0];
        shape.pad_left = pads[1];
        // Weights tap-major ([kh kw][C]), so each tap is one contiguous run of channels.
        auto taps = std::make_shared<std::vector<float>>(kh * kw * shape.channels);
        for (std::int64_t c = 0; c < shape.channels; ++c)
            for (std::int64_t t = 0; t < kh * kw; ++t) (*taps)[t * shape.channels + c] = weights[c * kh * kw + t];
        auto b = std::make_shared<std::vector<float>>(bias);
        auto a = std::make_shared<std::vector<float>>(slope ? std::vector<float>(slope, slope + shape.channels)
                                                            : std::vector<float>());
        const memory src = in_layout(x, memory::desc(x.dims, dt::f32, tag::acdb));
        const float* input_slope = x.input_prelu;
        Value& out = runtime_output(out_name, out_dims, memory::desc(out_dims, dt::f32, tag::acdb));
        const float* in = static_cast<const float*>(src.get_data_handle());
        float* dst = static_cast<float*>(out.mem.get_data_handle());
        Step step;
        step.plain = [=] {
            depthwise3x3_nhwc(in, dst, shape, taps->data(), b->data(), activation, a->empty() ? nullptr : a->data(),
                              input_slope);
        };
        plan_->steps.push_back(std::move(step));
    }

    void fold_batch_norm(const onnx::NodeProto& bn, std::int64_t channels, std::vector<float>& weights,
                         std::vector<float>& bias, std::int64_t per_channel) {
        const Attributes attr(bn);
        const float eps = attr.real("epsilon", 1e-5f);
        const Value &gamma = value(bn.input(1)), &beta = value(bn.input(2)), &mean = value(bn.input(3)),
                    &var = value(bn.input(4));
        for (const Value* v : {&gamma, &beta, &mean, &var})
            if (!v->constant || count(v->dims) != channels) refuse(model_, "BatchNormalization needs constant statistics");
        for (std::int64_t c = 0; c < channels; ++c) {
            const double scale = gamma.f[c] / std::sqrt(static_cast<double>(var.f[c]) + eps);
            for (std::int64_t j = 0; j < per_channel; ++j)
                weights[c * per_channel + j] = static_cast<float>(weights[c * per_channel + j] * scale);
            bias[c] = static_cast<float>((bias[c] - mean.f[c]) * scale + beta.f[c]);
        }
    }

    void plan_pool(const onnx::NodeProto& node, const Attributes& attr, Value& x) {
        if (x.dims.size() != 4 || x.constant) refuse(model_, node.op_type() + " needs a 4-D run-time input");
        const bool global = node.op_type() == "GlobalAveragePool";
        if (!global && (attr.text("auto_pad", "NOTSET") != "NOTSET" || attr.integer("ceil_mode", 0) != 0 ||
                        attr.integer("storage_order", 0) != 0 || node.output_size() != 1))
            refuse(model_, "MaxPool attributes outside what is supported");
        const Dims kernel = global ? Dims{x.dims[2], x.dims[3]} : attr.integers("kernel_shape");
        const Dims strides = global ? Dims{1, 1} : attr.integers("strides", {1, 1});
        const Dims pads = global ? Dims{0, 0, 0, 0} : attr.integers("pads", {0, 0, 0, 0});
        if (kernel.size() != 2) refuse(model_, "only 2-D pooling is supported");
        const Dims out_dims = {x.dims[0], x.dims[1], (x.dims[2] + pads[0] + pads[2] - kernel[0]) / strides[0] + 1,
                               (x.dims[3] + pads[1] + pads[3] - kernel[1]) / strides[1] + 1};
        const dnnl::pooling_forward::desc desc(
            dnnl::prop_kind::forward_inference,
            global ? dnnl::algorithm::pooling_avg_exclude_padding : dnnl::algorithm::pooling_max, x.mem.get_desc(),
            memory::desc(out_dims, dt::f32, tag::any), strides, kernel, Dims{pads[0], pads[1]}, Dims{pads[2], pads[3]});
        const dnnl::pooling_forward::primitive_desc pd(desc, user_scratchpad(), engine());
        Value& out = runtime_output(node.output(0), out_dims, pd.dst_desc());
        add_primitive(dnnl::pooling_forward(pd), {{DNNL_ARG_SRC, x.mem}, {DNNL_ARG_DST, out.mem}},
                      pd.scratchpad_desc());
    }

    void plan_eltwise(const onnx::NodeProto& node, Value& x) {
        const dnnl::algorithm algorithm = node.op_type() == "Relu"      ? dnnl::algorithm::eltwise_relu
                                          : node.op_type() == "Sigmoid" ? dnnl::algorithm::eltwise_logistic
                                                                        : dnnl::algorithm::eltwise_exp;
        const dnnl::eltwise_forward::desc desc(dnnl::prop_kind::forward_inference, algorithm, x.mem.get_desc(), 0.f,
                                               0.f);
        const dnnl::eltwise_forward::primitive_desc pd(desc, user_scratchpad(), engine());
        Value& out = runtime_output(node.output(0), x.dims, pd.dst_desc());
        add_primitive(dnnl::eltwise_forward(pd), {{DNNL_ARG_SRC, x.mem}, {DNNL_ARG_DST, out.mem}},
                      pd.scratchpad_desc());
    }

    // Softmax over the last axis in three passes: subtract each row's maximum, exponentiate with
    // oneDNN's vectorised eltwise in place, divide by the row's sum. (fr_detect's 4,420 x 2 scores:
    // 57 us with one scalar expf call per value, 111 us as oneDNN 2.6's softmax primitive, which
    // does not vectorise an axis of 2.) Returns false (nothing planned) for other axes, where ONNX
    // before opset 13 normalises over all trailing dimensions together.
    bool plan_softmax(const onnx::NodeProto& node, const Attributes& attr, Value& x) {
        const int axis = static_cast<int>(axis_of(attr.integer("axis", 1), x.dims.size()));
        if (axis + 1 != static_cast<int>(x.dims.size())) return false;
        const std::int64_t cols = x.dims.back(), rows = count(x.dims) / std::max<std::int64_t>(cols, 1);
        const float* src = plain_data(x);
        Value& out = runtime_output(node.output(0), x.dims, plain_desc(x.dims));
        float* dst = static_cast<float*>(out.mem.get_data_handle());
        Step shift;
        shift.plain = [=] {
            for (std::int64_t r = 0; r < rows; ++r) {
                const float* s = src + r * cols;
                const float top = *std::max_element(s, s + cols);
                for (std::int64_t c = 0; c < cols; ++c) dst[r * cols + c] = s[c] - top;
            }
        };
        plan_->steps.push_back(std::move(shift));
        const dnnl::eltwise_forward::desc desc(dnnl::prop_kind::forward_inference, dnnl::algorithm::eltwise_exp,
                                               out.mem.get_desc(), 0.f, 0.f);
        const dnnl::eltwise_forward::primitive_desc pd(desc, user_scratchpad(), engine());
        add_primitive(dnnl::eltwise_forward(pd), {{DNNL_ARG_SRC, out.mem}, {DNNL_ARG_DST, out.mem}}, pd.scratchpad_desc());
        Step normalise;
        normalise.plain = [=] {
            for (std::int64_t r = 0; r < rows; ++r) {
                float* d = dst + r * cols;
                float sum = 0.f;
                for (std::int64_t c = 0; c < cols; ++c) sum += d[c];
                for (std::int64_t c = 0; c < cols; ++c) d[c] /= sum;
            }
        };
        plan_->steps.push_back(std::move(normalise));
        return true;
    }

    // PReLU with one slope per channel (oneDNN 2.6 runs it as a post-op of a convolution only in
    // its reference convolution, so it stays a primitive of its own).
    void plan_prelu(const onnx::NodeProto& node, Value& x, Value& slope) {
        const Dims slope_dims = {1, x.dims[1], 1, 1};
        const dnnl::prelu_forward::desc desc(dnnl::prop_kind::forward_inference, x.mem.get_desc(),
                                             memory::desc(slope_dims, dt::f32, tag::any));
        const dnnl::prelu_forward::primitive_desc pd(desc, user_scratchpad(), engine());
        const memory weights = constant_in(pd.weights_desc(), plain_desc(slope_dims), slope.f);
        Value& out = runtime_output(node.output(0), x.dims, pd.dst_desc());
        add_primitive(dnnl::prelu_forward(pd), {{DNNL_ARG_SRC, x.mem}, {DNNL_ARG_WEIGHTS, weights}, {DNNL_ARG_DST, out.mem}},
                      pd.scratchpad_desc());
    }

    // Gemm / MatMul with constant weights (n x k rows) as oneDNN's inner product, with a following
    // BatchNormalization folded into its weights and bias (fr_landmark's and fr_liveness's heads).
    void plan_inner_product(const onnx::NodeProto& node, Value& a, std::vector<float> weights, std::vector<float> bias,
                            std::int64_t n) {
        const std::int64_t m = a.dims[0], kdim = a.dims[1];
        std::string out_name = node.output(0);
        const int bn = sole_consumer(out_name, "BatchNormalization");
        if (bn >= 0) {
            fold_batch_norm(graph_.graph().node(bn), n, weights, bias, kdim);
            fused_[bn] = true;
            out_name = graph_.graph().node(bn).output(0);
        }
        const memory::desc src_desc = plain_desc(a.dims);
        const dnnl::inner_product_forward::desc desc(dnnl::prop_kind::forward_inference, src_desc,
                                                     memory::desc({n, kdim}, dt::f32, tag::any),
                                                     memory::desc({n}, dt::f32, tag::x), plain_desc({m, n}));
        const dnnl::inner_product_forward::primitive_desc pd(desc, user_scratchpad(), engine());
        const memory weights_mem = constant_in(pd.weights_desc(), plain_desc({n, kdim}), weights);
        const memory bias_mem = constant_in(pd.bias_desc(), memory::desc({n}, dt::f32, tag::x), bias);
        const memory src = in_layout(a, pd.src_desc());
        Value& out = runtime_output(out_name, {m, n}, pd.dst_desc());
        add_primitive(dnnl::inner_product_forward(pd),
                      {{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, weights_mem}, {DNNL_ARG_BIAS, bias_mem}, {DNNL_ARG_DST, out.mem}},
                      pd.scratchpad_desc());
    }

    void plan_add(const onnx::NodeProto& node, Value& a, Value& b) {
        const memory b_mem = in_layout(b, a.mem.get_desc());
        const dnnl::binary::desc desc(dnnl::algorithm::binary_add, a.mem.get_desc(), b_mem.get_desc(),
                                      a.mem.get_desc());
        const dnnl::binary::primitive_desc pd(desc, user_scratchpad(), engine());
        Value& out = runtime_output(node.output(0), a.dims, pd.dst_desc());
        add_primitive(dnnl::binary(pd), {{DNNL_ARG_SRC_0, a.mem}, {DNNL_ARG_SRC_1, b_mem}, {DNNL_ARG_DST, out.mem}},
                      pd.scratchpad_desc());
    }

    void plan_concat(const onnx::NodeProto& node, const std::vector<Value*>& in) {
        std::vector<memory::desc> descs;
        std::unordered_map<int, memory> args;
        Dims out_dims = in[0]->dims;
        out_dims[1] = 0;
        for (size_t k = 0; k < in.size(); ++k) {
            Value& v = *in[k];
            if (v.constant || v.dims.size() != 4) refuse(model_, "Concat of constants and tensors is not supported");
            descs.push_back(v.mem.get_desc());
            args[DNNL_ARG_MULTIPLE_SRC + static_cast<int>(k)] = v.mem;
            out_dims[1] += v.dims[1];
        }
        const dnnl::concat::primitive_desc pd(memory::desc(out_dims, dt::f32, tag::any), 1, descs, engine(),
                                              user_scratchpad());
        Value& out = runtime_output(node.output(0), out_dims, pd.dst_desc());
        args[DNNL_ARG_DST] = out.mem;
        add_primitive(dnnl::concat(pd), std::move(args), pd.scratchpad_desc());
    }

    // ---- plain operators: run time on plain tensors, or folded when every input is constant ----

    // Output value `name` of dims: a constant (folded: `compute` runs now) or a run-time plain
    // tensor (`compute` becomes a step).
    void emit_plain(const std::string& name, const Dims& dims, bool constant, const std::function<void(float*)>& compute) {
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

    // A value viewed with other dims (Reshape, Flatten, Unsqueeze, Squeeze): shares the data.
    void emit_view(const std::string& name, Value& x, const Dims& dims) {
        if (count(dims) != count(x.dims)) refuse(model_, "reshape of " + name + " changes the element count");
        Value v;
        v.dims = dims;
        if (x.constant) {
            v = x;
            v.dims = dims;
        } else {
            v.mem = memory(plain_desc(dims), engine(), plain(x).get_data_handle());
            v.plain = v.mem;
            x.viewed = true;
        }
        values_[name] = std::move(v);
    }

    // ShuffleNet's channel shuffle: Reshape [N,C,H,W] -> [N,g,C/g,H,W], Transpose [0,2,1,3,4],
    // Reshape -> [N,C,H,W], optionally Split on channels. Planned as one channel gather per result
    // over the NHWC layout the convolutions use (one pass, instead of reorders to plain, a 5-D
    // transpose and reorders back). Returns false (nothing planned) for any other pattern.
    bool plan_channel_shuffle(const onnx::NodeProto& reshape, Value& x) {
        const Value& shape = value(reshape.input(1));
        if (x.dims.size() != 4 || !shape.constant || !shape.integer || shape.i.size() != 5) return false;
        const std::int64_t n = x.dims[0], c = x.dims[1], h = x.dims[2], w = x.dims[3], groups = shape.i[1];
        if (groups <= 0 || c % groups != 0 || shape.i[0] != n || shape.i[2] != c / groups || shape.i[3] != h ||
            shape.i[4] != w)
            return false;
        const int transpose = sole_consumer(reshape.output(0), "Transpose");
        if (transpose < 0 || Attributes(graph_.graph().node(transpose)).integers("perm") != Dims{0, 2, 1, 3, 4})
            return false;
        const int back = sole_consumer(graph_.graph().node(transpose).output(0), "Reshape");
        if (back < 0) return false;
        const Value& back_shape = value(graph_.graph().node(back).input(1));
        if (!back_shape.constant || !back_shape.integer ||
            reshaped(Dims{n, c / groups, groups, h, w}, back_shape.i) != Dims{n, c, h, w})
            return false;
        // Shuffled channel j * groups + i is input channel i * (c / groups) + j.
        std::vector<std::int64_t> source(c);
        for (std::int64_t to = 0; to < c; ++to) source[to] = (to % groups) * (c / groups) + to / groups;
        std::vector<std::pair<std::string, std::pair<std::int64_t, std::int64_t>>> results;  // name, [from, from+len)
        const std::string& shuffled = graph_.graph().node(back).output(0);
        const int split = sole_consumer(shuffled, "Split");
        Dims sizes;
        if (split >= 0) {
            const onnx::NodeProto& node = graph_.graph().node(split);
            const Attributes attr(node);
            sizes = attr.integers("split");
            if (sizes.empty()) sizes.assign(node.output_size(), c / node.output_size());
            if (axis_of(attr.integer("axis", 0), 4) != 1 || static_cast<int>(sizes.size()) != node.output_size())
                return false;
            std::int64_t from = 0;
            for (int j = 0; j < node.output_size(); ++j) {
                results.push_back({node.output(j), {from, sizes[j]}});
                from += sizes[j];
            }
            if (from != c) return false;
            fused_[split] = true;
        } else {
            results.push_back({shuffled, {0, c}});
        }
        fused_[transpose] = fused_[back] = true;
        const memory src = in_layout(x, memory::desc(x.dims, dt::f32, tag::acdb));
        const float* in = static_cast<const float*>(src.get_data_handle());
        const std::int64_t pixels = n * h * w;
        for (const auto& [name, range] : results) {
            // Plain variables, not a structured binding: the lambdas below capture length, which
            // clang before 16 (the sanitizer build's clang 14) cannot do for a binding.
            const std::int64_t from = range.first, length = range.second;
            const Dims dims = {n, length, h, w};
            Value& out = runtime_output(name, dims, memory::desc(dims, dt::f32, tag::acdb));
            float* dst = static_cast<float*>(out.mem.get_data_handle());
            const std::vector<std::int64_t> channels(source.begin() + from, source.begin() + from + length);
            Step step;
            if (groups == 2 && from % 2 == 0 && length % 2 == 0) {
                // Two groups: the result interleaves two contiguous runs of each pixel's channels.
                const std::int64_t first = from / 2, second = c / 2 + from / 2, pairs = length / 2;
                step.plain = [=] {
                    for (std::int64_t p = 0; p < pixels; ++p) {
                        const float* __restrict a = in + p * c + first;
                        const float* __restrict b = in + p * c + second;
                        float* __restrict o = dst + p * length;
                        for (std::int64_t m = 0; m < pairs; ++m) {
                            o[2 * m] = a[m];
                            o[2 * m + 1] = b[m];
                        }
                    }
                };
                plan_->steps.push_back(std::move(step));
                continue;
            }
            step.plain = [=] {
                for (std::int64_t p = 0; p < pixels; ++p) {
                    const float* pixel = in + p * c;
                    float* o = dst + p * length;
                    for (std::int64_t k = 0; k < length; ++k) o[k] = pixel[channels[k]];
                }
            };
            plan_->steps.push_back(std::move(step));
        }
        return true;
    }

    // ONNX Reshape's target shape: 0 copies the input's dimension, one -1 takes the rest.
    static Dims reshaped(const Dims& from, Dims to) {
        std::int64_t known = 1;
        int infer = -1;
        for (size_t j = 0; j < to.size(); ++j) {
            if (to[j] == 0 && j < from.size()) to[j] = from[j];
            if (to[j] == -1)
                infer = static_cast<int>(j);
            else
                known *= to[j];
        }
        if (infer >= 0) to[infer] = count(from) / std::max<std::int64_t>(known, 1);
        return to;
    }

    static std::int64_t axis_of(std::int64_t axis, size_t rank) {
        return axis < 0 ? axis + static_cast<std::int64_t>(rank) : axis;
    }

    void plan_plain(const onnx::NodeProto& node, const Attributes& attr, const std::vector<Value*>& in,
                    bool constant) {
        const std::string& op = node.op_type();
        const std::string& out = node.output(0);
        if (op == "Add" || op == "Sub" || op == "Mul" || op == "Div" || op == "PRelu") {
            Value &a = *in[0], &b = *in[1];
            if (a.integer || b.integer) refuse(model_, op + " on integer tensors is not supported");
            const Dims dims = op == "PRelu" ? a.dims : broadcast(a.dims, b.dims);
            const Dims as = broadcast_strides(a.dims, dims), bs = broadcast_strides(b.dims, dims);
            const float* pa = plain_data(a);
            const float* pb = plain_data(b);
            std::function<void(float*)> compute;
            if (op == "Add")
                compute = [=](float* o) { binary_kernel(pa, as, pb, bs, o, dims, std::plus<float>()); };
            else if (op == "Sub")
                compute = [=](float* o) { binary_kernel(pa, as, pb, bs, o, dims, std::minus<float>()); };
            else if (op == "Mul")
                compute = [=](float* o) { binary_kernel(pa, as, pb, bs, o, dims, std::multiplies<float>()); };
            else if (op == "Div")
                compute = [=](float* o) { binary_kernel(pa, as, pb, bs, o, dims, std::divides<float>()); };
            else
                compute = [=](float* o) {
                    binary_kernel(pa, as, pb, bs, o, dims, [](float x, float s) { return x >= 0.f ? x : x * s; });
                };
            return emit_plain(out, dims, constant, compute);
        }
        if (op == "Relu" || op == "Sigmoid" || op == "Exp") {  // constant inputs only
            const Value& x = *in[0];
            return emit_plain(out, x.dims, true, [&](float* o) {
                for (size_t j = 0; j < x.f.size(); ++j) {
                    const float v = x.f[j];
                    o[j] = op == "Relu" ? std::max(v, 0.f) : op == "Exp" ? std::exp(v) : 1.f / (1.f + std::exp(-v));
                }
            });
        }
        if (op == "Reshape" && !constant && plan_channel_shuffle(node, *in[0])) return;
        if (op == "Reshape" || op == "Flatten" || op == "Unsqueeze" || op == "Squeeze") {
            Value& x = *in[0];
            Dims dims;
            if (op == "Reshape") {
                const Value& shape = *in[1];
                if (!shape.constant || !shape.integer) refuse(model_, "Reshape needs a constant shape");
                dims = reshaped(x.dims, shape.i);
            } else if (op == "Flatten") {
                const std::int64_t axis = axis_of(attr.integer("axis", 1), x.dims.size());
                std::int64_t head = 1;
                for (std::int64_t j = 0; j < axis; ++j) head *= x.dims[j];
                dims = {head, count(x.dims) / std::max<std::int64_t>(head, 1)};
            } else if (op == "Unsqueeze") {
                dims = x.dims;
                Dims axes = attr.integers("axes");
                const size_t rank = dims.size() + axes.size();
                for (auto& a : axes) a = axis_of(a, rank);
                std::sort(axes.begin(), axes.end());
                for (const auto a : axes) dims.insert(dims.begin() + a, 1);
            } else {
                Dims axes = attr.integers("axes");
                for (auto& a : axes) a = axis_of(a, x.dims.size());
                for (size_t j = 0; j < x.dims.size(); ++j)
                    if (axes.empty() ? x.dims[j] != 1 : std::find(axes.begin(), axes.end(), j) == axes.end())
                        dims.push_back(x.dims[j]);
            }
            return emit_view(out, x, dims);
        }
        if (op == "Gather") {
            Value &data = *in[0], &indices = *in[1];
            if (!indices.constant || !indices.integer) refuse(model_, "Gather needs constant indices");
            const std::int64_t axis = axis_of(attr.integer("axis", 0), data.dims.size());
            if (indices.i.size() != 1) refuse(model_, "Gather of more than one index is not supported");
            const std::int64_t index = indices.i[0] < 0 ? indices.i[0] + data.dims[axis] : indices.i[0];
            Dims dims = data.dims;
            if (indices.dims.empty())
                dims.erase(dims.begin() + axis);
            else
                dims[axis] = 1;
            if (data.constant && data.integer) {
                Value v;
                v.constant = v.integer = true;
                v.dims = dims;
                v.i.resize(count(dims));
                slice_kernel(data.i.data(), data.dims, static_cast<int>(axis), index, 1, 1, v.i.data());
                values_[out] = std::move(v);
                return;
            }
            const float* src = plain_data(data);
            const Dims ddims = data.dims;
            return emit_plain(out, dims, constant,
                              [=](float* o) { slice_kernel(src, ddims, static_cast<int>(axis), index, 1, 1, o); });
        }
        if (op == "Concat") {
            const std::int64_t axis = axis_of(attr.integer("axis", 0), in[0]->dims.size());
            Dims dims = in[0]->dims;
            dims[axis] = 0;
            for (const Value* v : in) dims[axis] += v->dims[axis];
            if (constant && in[0]->integer) {
                std::vector<std::pair<const std::int64_t*, std::int64_t>> parts;
                for (const Value* v : in) {
                    if (!v->integer) refuse(model_, "Concat of integer and float constants");
                    parts.emplace_back(v->i.data(), v->dims[axis]);
                }
                Value v;
                v.constant = v.integer = true;
                v.dims = dims;
                v.i.resize(count(dims));
                concat_kernel(parts, dims, static_cast<int>(axis), v.i.data());
                values_[out] = std::move(v);
                return;
            }
            std::vector<std::pair<const float*, std::int64_t>> parts;
            for (Value* v : in) parts.emplace_back(plain_data(*v), v->dims[axis]);
            return emit_plain(out, dims, constant,
                              [=](float* o) { concat_kernel(parts, dims, static_cast<int>(axis), o); });
        }
        if (op == "Transpose") {
            Value& x = *in[0];
            Dims perm = attr.integers("perm");
            if (perm.empty())
                for (size_t j = x.dims.size(); j-- > 0;) perm.push_back(static_cast<std::int64_t>(j));
            if (perm.size() != x.dims.size() || perm.size() > 6) refuse(model_, "Transpose of rank above 6 or a bad perm");
            Dims dims(perm.size());
            for (size_t j = 0; j < perm.size(); ++j) dims[j] = x.dims.at(perm[j]);
            if (!constant && x.dims.size() == 4 && perm == Dims{0, 2, 3, 1} &&
                x.mem.get_desc() == memory::desc(x.dims, dt::f32, tag::acdb)) {
                // NCHW -> NHWC of a tensor already laid out NHWC: the same bytes, read as plain.
                Value v;
                v.dims = dims;
                v.mem = v.plain = memory(plain_desc(dims), engine(), x.mem.get_data_handle());
                x.viewed = true;
                values_[out] = std::move(v);
                return;
            }
            const float* src = plain_data(x);
            const Dims xdims = x.dims;
            return emit_plain(out, dims, constant, [=](float* o) { transpose_kernel(src, xdims, perm, o); });
        }
        if (op == "Slice" || op == "Split") {
            Value& x = *in[0];
            const float* src = plain_data(x);
            const Dims xdims = x.dims;
            if (op == "Split") {
                const std::int64_t axis = axis_of(attr.integer("axis", 0), x.dims.size());
                Dims split = attr.integers("split");
                if (split.empty()) split.assign(node.output_size(), x.dims[axis] / node.output_size());
                if (static_cast<int>(split.size()) != node.output_size()) refuse(model_, "Split sizes do not match");
                std::int64_t start = 0;
                for (int j = 0; j < node.output_size(); ++j) {
                    Dims dims = x.dims;
                    dims[axis] = split[j];
                    const std::int64_t from = start, length = split[j];
                    emit_plain(node.output(j), dims, constant,
                               [=](float* o) { slice_kernel(src, xdims, static_cast<int>(axis), from, length, 1, o); });
                    start += split[j];
                }
                return;
            }
            const Dims starts = attr.integers("starts"), ends = attr.integers("ends");
            Dims axes = attr.integers("axes");
            if (in.size() > 1) refuse(model_, "Slice with inputs (opset 10+) is not supported");
            if (axes.empty())
                for (size_t j = 0; j < starts.size(); ++j) axes.push_back(static_cast<std::int64_t>(j));
            if (axes.size() != 1) refuse(model_, "Slice over more than one axis is not supported");
            const std::int64_t axis = axis_of(axes[0], x.dims.size()), extent = x.dims[axis];
            const auto clamp = [extent](std::int64_t v) {
                if (v < 0) v += extent;
                return std::clamp<std::int64_t>(v, 0, extent);
            };
            const std::int64_t from = clamp(starts[0]), to = clamp(ends[0]), length = std::max<std::int64_t>(0, to - from);
            Dims dims = x.dims;
            dims[axis] = length;
            return emit_plain(out, dims, constant,
                              [=](float* o) { slice_kernel(src, xdims, static_cast<int>(axis), from, length, 1, o); });
        }
        if (op == "Softmax") {
            Value& x = *in[0];
            const std::int64_t axis = axis_of(attr.integer("axis", 1), x.dims.size());
            std::int64_t rows = 1;
            for (std::int64_t j = 0; j < axis; ++j) rows *= x.dims[j];
            const std::int64_t cols = count(x.dims) / std::max<std::int64_t>(rows, 1);
            const float* src = plain_data(x);
            return emit_plain(out, x.dims, constant, [=](float* o) {
                for (std::int64_t r = 0; r < rows; ++r) {
                    const float* s = src + r * cols;
                    float* d = o + r * cols;
                    const float top = *std::max_element(s, s + cols);
                    float sum = 0.f;
                    for (std::int64_t c = 0; c < cols; ++c) sum += d[c] = std::exp(s[c] - top);
                    for (std::int64_t c = 0; c < cols; ++c) d[c] /= sum;
                }
            });
        }
        if (op == "ReduceMean") {
            Value& x = *in[0];
            Dims axes = attr.integers("axes");
            for (auto& a : axes) a = axis_of(a, x.dims.size());
            std::sort(axes.begin(), axes.end());
            // Only trailing axes (as in fr_pose: mean over H, W).
            const size_t first = x.dims.size() - axes.size();
            for (size_t j = 0; j < axes.size(); ++j)
                if (axes[j] != static_cast<std::int64_t>(first + j)) refuse(model_, "ReduceMean over leading axes");
            std::int64_t inner = 1;
            for (size_t j = first; j < x.dims.size(); ++j) inner *= x.dims[j];
            Dims dims(x.dims.begin(), x.dims.begin() + first);
            if (attr.integer("keepdims", 1) != 0) dims.insert(dims.end(), axes.size(), 1);
            const std::int64_t outer = count(x.dims) / std::max<std::int64_t>(inner, 1);
            const float* src = plain_data(x);
            return emit_plain(out, dims, constant, [=](float* o) {
                for (std::int64_t r = 0; r < outer; ++r) {
                    double sum = 0;
                    for (std::int64_t c = 0; c < inner; ++c) sum += src[r * inner + c];
                    o[r] = static_cast<float>(sum / inner);
                }
            });
        }
        if (op == "Gemm" || op == "MatMul") {
            Value &a = *in[0], &b = *in[1];
            if (!b.constant || b.dims.size() != 2 || a.dims.size() != 2) refuse(model_, op + " needs a 2-D input and constant 2-D weights");
            const bool trans_b = op == "Gemm" && attr.integer("transB", 0) != 0;
            if (op == "Gemm" && (attr.integer("transA", 0) != 0 || attr.real("alpha", 1.f) != 1.f ||
                                 attr.real("beta", 1.f) != 1.f))
                refuse(model_, "Gemm with transA, alpha or beta is not supported");
            const std::int64_t m = a.dims[0], kdim = a.dims[1], n = trans_b ? b.dims[0] : b.dims[1];
            if ((trans_b ? b.dims[1] : b.dims[0]) != kdim) refuse(model_, op + " shapes do not agree");
            // Weights as n x k rows (dot products over contiguous memory).
            std::vector<float> wt(n * kdim);
            for (std::int64_t r = 0; r < n; ++r)
                for (std::int64_t c = 0; c < kdim; ++c) wt[r * kdim + c] = trans_b ? b.f[r * kdim + c] : b.f[c * n + r];
            std::vector<float> c_term(n, 0.f);
            if (in.size() > 2 && in[2]) {
                if (!in[2]->constant || count(in[2]->dims) != n) refuse(model_, "Gemm bias must be a constant of N values");
                c_term = in[2]->f;
            }
            if (!constant) return plan_inner_product(node, a, std::move(wt), std::move(c_term), n);
            const float* src = plain_data(a);
            auto weights = std::make_shared<std::vector<float>>(std::move(wt));
            return emit_plain(out, {m, n}, constant, [=](float* o) {
                for (std::int64_t r = 0; r < m; ++r)
                    for (std::int64_t j = 0; j < n; ++j) {
                        const float* w = weights->data() + j * kdim;
                        const float* x = src + r * kdim;
                        float sum = 0.f;
                        for (std::int64_t c = 0; c < kdim; ++c) sum += x[c] * w[c];
                        o[r * n + j] = sum + c_term[j];
                    }
            });
        }
        if (op == "BatchNormalization") {
            Value& x = *in[0];
            const std::int64_t channels = x.dims.at(1);
            std::vector<float> scale(channels), shift(channels);
            const float eps = attr.real("epsilon", 1e-5f);
            for (int j = 1; j <= 4; ++j)
                if (!in[j]->constant || count(in[j]->dims) != channels) refuse(model_, "BatchNormalization needs constant statistics");
            for (std::int64_t c = 0; c < channels; ++c) {
                const double s = in[1]->f[c] / std::sqrt(static_cast<double>(in[4]->f[c]) + eps);
                scale[c] = static_cast<float>(s);
                shift[c] = static_cast<float>(in[2]->f[c] - in[3]->f[c] * s);
            }
            const std::int64_t inner = count(x.dims) / (x.dims[0] * channels), batch = x.dims[0];
            const float* src = plain_data(x);
            return emit_plain(out, x.dims, constant, [=](float* o) {
                for (std::int64_t b = 0; b < batch; ++b)
                    for (std::int64_t c = 0; c < channels; ++c)
                        for (std::int64_t j = 0; j < inner; ++j) {
                            const std::int64_t at = (b * channels + c) * inner + j;
                            o[at] = src[at] * scale[c] + shift[c];
                        }
            });
        }
        refuse(model_, "operator " + op + " is not supported here");
    }

    std::string model_;
    std::vector<std::string> output_names_;
    onnx::ModelProto graph_;
    std::unordered_map<std::string, const onnx::TensorProto*> initializers_;
    std::string input_name_;
    std::map<Dims, Plan> plans_;
    // planning state
    struct TransientSlot {
        void* data = nullptr;
        size_t size = 0;
        int busy_until = -1;  // the node reading the value it holds
    };
    Plan* plan_ = nullptr;
    int planning_node_ = -1;  // the graph node being planned (-1: constants, the input)
    std::vector<TransientSlot> slots_;
    std::unordered_map<std::string, Value> values_;
    std::unordered_map<std::string, std::vector<int>> consumers_;
    std::vector<bool> fused_;
};

}  // namespace

std::unique_ptr<OnednnExecutor> OnednnExecutor::create(const std::vector<std::uint8_t>& onnx, const std::string& model,
                                                       std::vector<std::string> outputs) {
    return std::make_unique<Executor>(onnx, model, std::move(outputs));
}

}  // namespace faceproof
