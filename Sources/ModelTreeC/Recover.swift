// modeltree_options_init and modeltree_recover: options from C to `RecoveryOptions`, the progress
// callback bridged (and kept on the calling thread), and the result wrapped in a graph handle.
import CModelTree
import ModelTree

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The C function `modeltree_options_init`: the core's defaults (`RecoveryOptions()`), the only
/// place they are written.
@c @implementation
public func modeltree_options_init(_ opts: UnsafeMutablePointer<modeltree_options_t>!) {
    guard let opts else { return }
    let defaults = RecoveryOptions()
    opts.pointee = modeltree_options_t(
        struct_size: MemoryLayout<modeltree_options_t>.size,
        metric: modeltree_metric_t(defaults.metric),
        direction: modeltree_direction_t(defaults.direction),
        lambda: defaults.lambda,
        trees: UInt32(clamping: defaults.trees ?? 0),
        include: nil, include_count: 0,
        exclude: nil, exclude_count: 0,
        progress: nil, user_data: nil,
        threads: UInt32(clamping: defaults.threads ?? 0),
        max_models: UInt32(clamping: defaults.maxModels ?? 0),
        memory_budget: UInt64(clamping: defaults.memoryBudget ?? 0))
}

/// The sizes of the released versions of `modeltree_options_t`: 0.1 ended with `user_data`.
private let _optionsSizes = (v0_1: MemoryLayout<modeltree_options_t>.offset(of: \.threads)!,
                             current: MemoryLayout<modeltree_options_t>.size)

/// The caller's progress callback and its user data. The C side promises nothing about
/// thread-safety, so the shim calls it only on the thread that called `modeltree_recover`.
///
/// `@unchecked Sendable`: `RecoveryOptions.progress` must be `@Sendable`, and a C function
/// pointer with an opaque `user_data` cannot say so; `report` does nothing on any other thread
/// than the recovering one, which is the only thread the core calls it on anyway.
private struct _Progress: @unchecked Sendable {
    let callback: modeltree_progress_fn
    let userData: UnsafeMutableRawPointer?
    let thread: pthread_t

    func report(_ fraction: Double, _ stage: String) -> Bool {
        guard pthread_equal(pthread_self(), thread) != 0 else { return true }
        let clamped = fraction.isNaN ? 0 : min(max(fraction, 0), 1)
        return stage.withCString { callback(clamped, $0, userData) } == 0
    }
}

/// `RecoveryOptions` from a C options struct (nil: the defaults). Only what C alone can get
/// wrong is checked here (the struct's size, enum values, pointers); the core validates the
/// options themselves (`RecoveryOptions.validate`).
func _recoveryOptions(_ opts: UnsafePointer<modeltree_options_t>?, _ function: StaticString) throws -> RecoveryOptions {
    var options = RecoveryOptions()
    guard let opts else { return options }
    // Read struct_size alone first: a caller's struct may be smaller than ours.
    let size = UnsafeRawPointer(opts).load(as: Int.self)
    guard size == _optionsSizes.current || size == _optionsSizes.v0_1 else {
        throw ModelTreeError.invalidArgument(
            "\(function): opts->struct_size is \(UInt(bitPattern: size)), expected "
                + "\(_optionsSizes.current) or \(_optionsSizes.v0_1) (call modeltree_options_init)")
    }
    // A 0.1 struct: copy what it has over the defaults, so that nothing past its end is read.
    var o = modeltree_options_t()
    modeltree_options_init(&o)
    withUnsafeMutableBytes(of: &o) { $0.copyMemory(from: UnsafeRawBufferPointer(start: opts, count: size)) }
    guard let metric = o.metric._metric else {
        throw ModelTreeError.invalidArgument("\(function): unknown metric \(o.metric.rawValue)")
    }
    guard let direction = o.direction._direction else {
        throw ModelTreeError.invalidArgument("\(function): unknown direction \(o.direction.rawValue)")
    }
    options.metric = metric
    options.direction = direction
    options.lambda = o.lambda
    // 0 means "unset" in the struct.
    options.trees = o.trees == 0 ? nil : Int(o.trees)
    options.threads = o.threads == 0 ? nil : Int(o.threads)
    options.maxModels = o.max_models == 0 ? nil : Int(o.max_models)
    options.memoryBudget = o.memory_budget == 0 ? nil : Int(clamping: o.memory_budget)
    options.include = try _strings(o.include, count: o.include_count, "include", function)
    options.exclude = try _strings(o.exclude, count: o.exclude_count, "exclude", function)
    if let callback = o.progress {
        let progress = _Progress(callback: callback, userData: o.user_data, thread: pthread_self())
        options.progress = { progress.report($0, $1) }
    }
    return options
}

/// The C function `modeltree_recover`.
@c @implementation
public func modeltree_recover(
    _ out: UnsafeMutablePointer<OpaquePointer?>!, _ c: OpaquePointer!,
    _ opts: UnsafePointer<modeltree_options_t>!
) -> modeltree_status_t {
    _catching {
        let function: StaticString = "modeltree_recover"
        let out = try _required(out, "out", function)
        out.pointee = nil
        let collection = try _Collection.from(c, function)
        let options = try _recoveryOptions(opts, function)
        guard collection.count > 0 else {
            throw ModelTreeError.invalidArgument("\(function): the collection is empty")
        }
        let graph = try _Graph(try recover(collection.models(), options: options).prepending(warnings: collection.unread))
        out.pointee = _Handle.make(graph)
    }
}
