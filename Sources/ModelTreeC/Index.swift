// modeltree_index_*, modeltree_signature_*, modeltree_parents_*: the hub index behind opaque
// handles (ModelTreeIndex.HubIndex), signatures as portable bytes, parent answers and entry lists
// with their C strings allocated once and freed with them.
import CModelTree
import ModelTree
import ModelTreeIndex

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// What a `modeltree_index_t *` points at.
final class _Index {
    let index: HubIndex
    init(_ index: HubIndex) { self.index = index }

    static func from(_ handle: OpaquePointer?, _ function: StaticString) throws -> HubIndex {
        _Handle.borrow(try _required(handle, "ix", function), as: _Index.self).index
    }
}

/// What a `modeltree_signature_t *` points at. Immutable.
final class _Signature {
    let signature: ModelSignature
    let id: _CStrings
    init(_ signature: ModelSignature) throws {
        self.signature = signature
        id = try _CStrings([signature.id])
    }

    static func from(_ handle: OpaquePointer?) -> _Signature? {
        handle.map { _Handle.borrow($0, as: _Signature.self) }
    }
}

/// What a `modeltree_parents_t *` points at. Immutable.
final class _Parents {
    let answer: HubIndex.Parent
    let model: _CStrings
    let ids: _CStrings
    let duplicates: _CStrings
    init(_ answer: HubIndex.Parent) throws {
        self.answer = answer
        model = try _CStrings([answer.model])
        ids = try _CStrings(answer.parents.map(\.id))
        duplicates = try _CStrings(answer.duplicates)
    }

    static func from(_ handle: OpaquePointer?) -> _Parents? {
        handle.map { _Handle.borrow($0, as: _Parents.self) }
    }

    func candidate(_ k: Int) -> HubIndex.Parent.Candidate? {
        k >= 0 && k < answer.parents.count ? answer.parents[k] : nil
    }
}

/// What a `modeltree_index_entries_t *` points at. Immutable.
final class _Entries {
    let ids: _CStrings, paths: _CStrings, formats: _CStrings, details: _CStrings
    let families: [Int64]
    let states: [modeltree_files_state_t]

    init(ids: [String], paths: [String?], formats: [String], details: [String], families: [Int64], states: [modeltree_files_state_t]) throws {
        self.ids = try _CStrings(ids)
        self.paths = try _CStrings(paths)
        self.formats = try _CStrings(formats)
        self.details = try _CStrings(details.map(singleLine))
        self.families = families
        self.states = states
    }

    static func from(_ handle: OpaquePointer?) -> _Entries? {
        handle.map { _Handle.borrow($0, as: _Entries.self) }
    }

    func valid(_ i: Int) -> Bool { i >= 0 && i < families.count }
}

/// The sizes of the released versions of `modeltree_index_options_t`.
private let _indexOptionsSize = MemoryLayout<modeltree_index_options_t>.size

/// `HubIndex.Options` from a C struct (nil: the defaults).
private func _indexOptions(_ opts: UnsafePointer<modeltree_index_options_t>?, _ function: StaticString) throws -> HubIndex.Options {
    var options = HubIndex.Options()
    options.createdBy = "libmodeltree \(MODELTREE_VERSION_MAJOR).\(MODELTREE_VERSION_MINOR).\(MODELTREE_VERSION_PATCH)"
    guard let opts else { return options }
    let size = UnsafeRawPointer(opts).load(as: Int.self)
    guard size == _indexOptionsSize else {
        throw ModelTreeError.invalidArgument("\(function): opts->struct_size is \(UInt(bitPattern: size)), expected "
            + "\(_indexOptionsSize) (call modeltree_index_options_init)")
    }
    let o = opts.pointee
    options.busyTimeout = Int(o.busy_timeout_ms)
    options.threads = o.threads == 0 ? nil : Int(o.threads)
    options.parameters = ModelSignature.Parameters(distanceBuckets: Int(o.distance_buckets), coarseBuckets: Int(o.coarse_buckets),
                                                   rankRows: Int(o.rank_rows), rankColumns: Int(o.rank_columns), rankHits: Int(o.rank_hits))
    do { try options.parameters.validate() } catch ModelTreeError.invalidArgument(let reason) {
        throw ModelTreeError.invalidArgument("\(function): \(reason)")
    }
    return options
}

/// The C function `modeltree_index_options_init`: the library's defaults.
@c @implementation
public func modeltree_index_options_init(_ opts: UnsafeMutablePointer<modeltree_index_options_t>!) {
    guard let opts else { return }
    let d = HubIndex.Options()
    let p = d.parameters
    opts.pointee = modeltree_index_options_t(
        struct_size: _indexOptionsSize, busy_timeout_ms: UInt32(clamping: d.busyTimeout), threads: UInt32(clamping: d.threads ?? 0),
        distance_buckets: UInt32(p.distanceBuckets), coarse_buckets: UInt32(p.coarseBuckets),
        rank_rows: UInt32(p.rankRows), rank_columns: UInt32(p.rankColumns), rank_hits: UInt32(p.rankHits))
}

/// The C function `modeltree_index_open`.
@c @implementation
public func modeltree_index_open(
    _ out: UnsafeMutablePointer<OpaquePointer?>!, _ path: UnsafePointer<CChar>!, _ opts: UnsafePointer<modeltree_index_options_t>!
) -> modeltree_status_t {
    _catching {
        let function: StaticString = "modeltree_index_open"
        let out = try _required(out, "out", function)
        out.pointee = nil
        let path = try _string(path, "path", function)
        out.pointee = _Handle.make(_Index(try HubIndex(path: path, options: try _indexOptions(opts, function))))
    }
}

/// The C function `modeltree_index_get_options`.
@c @implementation
public func modeltree_index_get_options(_ out: UnsafeMutablePointer<modeltree_index_options_t>!, _ ix: OpaquePointer!) -> modeltree_status_t {
    _catching {
        let function: StaticString = "modeltree_index_get_options"
        let out = try _required(out, "out", function)
        let index = try _Index.from(ix, function)
        let p = index.parameters
        out.pointee = modeltree_index_options_t(
            struct_size: _indexOptionsSize, busy_timeout_ms: UInt32(clamping: index.busyTimeout), threads: UInt32(clamping: index.threads ?? 0),
            distance_buckets: UInt32(p.distanceBuckets), coarse_buckets: UInt32(p.coarseBuckets),
            rank_rows: UInt32(p.rankRows), rank_columns: UInt32(p.rankColumns), rank_hits: UInt32(p.rankHits))
    }
}

/// The C function `modeltree_index_close`.
@c @implementation
public func modeltree_index_close(_ ix: OpaquePointer!) {
    guard let ix else { return }
    _Handle.borrow(ix, as: _Index.self).index.close()
    _Handle.release(ix, as: _Index.self)
}

/// The C function `modeltree_signature_compute`.
@c @implementation
public func modeltree_signature_compute(
    _ out: UnsafeMutablePointer<OpaquePointer?>!, _ c: OpaquePointer!, _ model_id: UnsafePointer<CChar>!,
    _ opts: UnsafePointer<modeltree_index_options_t>!
) -> modeltree_status_t {
    _catching {
        let function: StaticString = "modeltree_signature_compute"
        let out = try _required(out, "out", function)
        out.pointee = nil
        let collection = try _Collection.from(c, function)
        let id = try _string(model_id, "model_id", function)
        let options = try _indexOptions(opts, function)
        guard let model = try collection.models().first(where: { $0.id == id }) else {
            throw ModelTreeError.invalidArgument("\(function): no model '\(id)' in the collection")
        }
        let signature = try ModelSignature.compute(model, parameters: options.parameters, threads: options.threads)
        out.pointee = _Handle.make(try _Signature(signature))
    }
}

/// The C function `modeltree_signature_serialize`.
@c @implementation
public func modeltree_signature_serialize(
    _ out: UnsafeMutablePointer<UnsafeMutableRawPointer?>!, _ out_size: UnsafeMutablePointer<Int>!, _ s: OpaquePointer!
) -> modeltree_status_t {
    _catching {
        let function: StaticString = "modeltree_signature_serialize"
        let out = try _required(out, "out", function)
        out.pointee = nil
        let size = try _required(out_size, "out_size", function)
        size.pointee = 0
        guard let s = _Signature.from(s) else { throw ModelTreeError.invalidArgument("\(function): s is NULL") }
        let bytes = try s.signature.serialized()
        guard let buffer = malloc(Swift.max(bytes.count, 1)) else {
            throw ModelTreeError.outOfMemory("\(function): cannot allocate \(bytes.count) bytes")
        }
        bytes.withUnsafeBytes { buffer.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
        out.pointee = buffer
        size.pointee = bytes.count
    }
}

/// The C function `modeltree_signature_deserialize`.
@c @implementation
public func modeltree_signature_deserialize(
    _ out: UnsafeMutablePointer<OpaquePointer?>!, _ data: UnsafeRawPointer!, _ size: Int
) -> modeltree_status_t {
    _catching {
        let function: StaticString = "modeltree_signature_deserialize"
        let out = try _required(out, "out", function)
        out.pointee = nil
        guard size >= 0 else { throw ModelTreeError.invalidArgument("\(function): size exceeds the address space") }
        if size > 0 { _ = try _required(data, "data", function) }
        let signature = try ModelSignature(bytes: UnsafeRawBufferPointer(start: size > 0 ? data : nil, count: size))
        out.pointee = _Handle.make(try _Signature(signature))
    }
}

/// The C function `modeltree_signature_model_id`.
@c @implementation
public func modeltree_signature_model_id(_ s: OpaquePointer!) -> UnsafePointer<CChar>! {
    _Signature.from(s)?.id[0]
}

/// The C function `modeltree_signature_hash`.
@c @implementation
public func modeltree_signature_hash(_ s: OpaquePointer!) -> UInt64 {
    _Signature.from(s)?.signature.hash ?? 0
}

/// The C function `modeltree_signature_free`.
@c @implementation
public func modeltree_signature_free(_ s: OpaquePointer!) {
    guard let s else { return }
    _Handle.release(s, as: _Signature.self)
}

/// The C function `modeltree_bytes_free`.
@c @implementation
public func modeltree_bytes_free(_ p: UnsafeMutableRawPointer!) {
    free(p)
}

/// The C function `modeltree_index_add_path`: each model loaded, signed and added in turn.
@c @implementation
public func modeltree_index_add_path(
    _ ix: OpaquePointer!, _ model_id: UnsafePointer<CChar>!, _ path: UnsafePointer<CChar>!
) -> modeltree_status_t {
    _catching { _ = try _addPath(ix, model_id, path, "modeltree_index_add_path") }
}

/// The C function `modeltree_index_add_path_noted`: `modeltree_index_add_path`, and the survey's
/// notes on what the folder held but was not read, one per line.
@c @implementation
public func modeltree_index_add_path_noted(
    _ ix: OpaquePointer!, _ model_id: UnsafePointer<CChar>!, _ path: UnsafePointer<CChar>!,
    _ notes: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>!
) -> modeltree_status_t {
    notes?.pointee = nil
    return _catching {
        let unread = try _addPath(ix, model_id, path, "modeltree_index_add_path_noted")
        if let notes, !unread.isEmpty { notes.pointee = try _mallocCString(unread.joined(separator: "\n")) }
    }
}

/// Adds the models at `path` (one model as `model_id`, or a folder of models as the survey
/// finds them) and returns the survey's notes on entries it did not read.
private func _addPath(_ ix: OpaquePointer!, _ model_id: UnsafePointer<CChar>!, _ path: UnsafePointer<CChar>!,
                      _ function: StaticString) throws -> [String] {
    let index = try _Index.from(ix, function)
    let path = try _string(path, "path", function)
    let id = try model_id.map { try _string($0, "model_id", function) }
    let (locations, unread) = try ModelLoader.survey(path, id: id)
    for location in locations { try index.add(model: try ModelLoader.load(location)) }
    return unread
}

/// The C function `modeltree_index_add_collection`.
@c @implementation
public func modeltree_index_add_collection(_ ix: OpaquePointer!, _ c: OpaquePointer!) -> modeltree_status_t {
    _catching {
        let function: StaticString = "modeltree_index_add_collection"
        let index = try _Index.from(ix, function)
        let collection = try _Collection.from(c, function)
        for model in try collection.models() { try index.add(model: model) }
    }
}

/// The C function `modeltree_index_add_signature`.
@c @implementation
public func modeltree_index_add_signature(_ ix: OpaquePointer!, _ s: OpaquePointer!, _ model_id: UnsafePointer<CChar>!) -> modeltree_status_t {
    _catching {
        let function: StaticString = "modeltree_index_add_signature"
        let index = try _Index.from(ix, function)
        guard let s = _Signature.from(s) else { throw ModelTreeError.invalidArgument("\(function): s is NULL") }
        let id = try model_id.map { try _string($0, "model_id", function) }
        try index.add(s.signature, id: id)
    }
}

/// The C function `modeltree_index_remove`.
@c @implementation
public func modeltree_index_remove(_ ix: OpaquePointer!, _ model_id: UnsafePointer<CChar>!) -> modeltree_status_t {
    _catching {
        let function: StaticString = "modeltree_index_remove"
        let index = try _Index.from(ix, function)
        try index.remove(try _string(model_id, "model_id", function))
    }
}

/// The C function `modeltree_index_model_count`.
@c @implementation
public func modeltree_index_model_count(_ out: UnsafeMutablePointer<Int>!, _ ix: OpaquePointer!) -> modeltree_status_t {
    _catching {
        let function: StaticString = "modeltree_index_model_count"
        let out = try _required(out, "out", function)
        out.pointee = 0
        out.pointee = try _Index.from(ix, function).count()
    }
}

/// The C function `modeltree_index_signature`.
@c @implementation
public func modeltree_index_signature(
    _ out: UnsafeMutablePointer<OpaquePointer?>!, _ ix: OpaquePointer!, _ model_id: UnsafePointer<CChar>!
) -> modeltree_status_t {
    _catching {
        let function: StaticString = "modeltree_index_signature"
        let out = try _required(out, "out", function)
        out.pointee = nil
        let index = try _Index.from(ix, function)
        out.pointee = _Handle.make(try _Signature(try index.signature(of: try _string(model_id, "model_id", function))))
    }
}

/// The C function `modeltree_index_list`.
@c @implementation
public func modeltree_index_list(_ out: UnsafeMutablePointer<OpaquePointer?>!, _ ix: OpaquePointer!) -> modeltree_status_t {
    _catching {
        let function: StaticString = "modeltree_index_list"
        let out = try _required(out, "out", function)
        out.pointee = nil
        let entries = try _Index.from(ix, function).list()
        out.pointee = _Handle.make(try _Entries(ids: entries.map(\.id), paths: entries.map(\.path), formats: entries.map(\.format),
                                                details: entries.map { _ in "" }, families: entries.map(\.family),
                                                states: entries.map { $0.path == nil ? MODELTREE_FILES_MEMORY : MODELTREE_FILES_UNCHANGED }))
    }
}

/// The C function `modeltree_index_verify`.
@c @implementation
public func modeltree_index_verify(_ out: UnsafeMutablePointer<OpaquePointer?>!, _ ix: OpaquePointer!) -> modeltree_status_t {
    _catching {
        let function: StaticString = "modeltree_index_verify"
        let out = try _required(out, "out", function)
        out.pointee = nil
        let index = try _Index.from(ix, function)
        let checked = try index.verify()
        let family = Dictionary(uniqueKeysWithValues: try index.list().map { ($0.id, ($0.family, $0.format)) })
        out.pointee = _Handle.make(try _Entries(
            ids: checked.map(\.id), paths: checked.map(\.path), formats: checked.map { family[$0.id]?.1 ?? "" },
            details: checked.map(\.detail), families: checked.map { family[$0.id]?.0 ?? -1 },
            states: checked.map {
                switch $0.state {
                case .unchanged: return MODELTREE_FILES_UNCHANGED
                case .changed: return MODELTREE_FILES_CHANGED
                case .missing: return MODELTREE_FILES_MISSING
                case .memory: return MODELTREE_FILES_MEMORY
                }
            }))
    }
}

/// The C function `modeltree_index_entries_count`.
@c @implementation
public func modeltree_index_entries_count(_ e: OpaquePointer!) -> Int { _Entries.from(e)?.families.count ?? 0 }

/// The C function `modeltree_index_entries_id`.
@c @implementation
public func modeltree_index_entries_id(_ e: OpaquePointer!, _ i: Int) -> UnsafePointer<CChar>! { _Entries.from(e)?.ids[i] }

/// The C function `modeltree_index_entries_path`.
@c @implementation
public func modeltree_index_entries_path(_ e: OpaquePointer!, _ i: Int) -> UnsafePointer<CChar>! { _Entries.from(e)?.paths[i] }

/// The C function `modeltree_index_entries_format`.
@c @implementation
public func modeltree_index_entries_format(_ e: OpaquePointer!, _ i: Int) -> UnsafePointer<CChar>! { _Entries.from(e)?.formats[i] }

/// The C function `modeltree_index_entries_detail`.
@c @implementation
public func modeltree_index_entries_detail(_ e: OpaquePointer!, _ i: Int) -> UnsafePointer<CChar>! { _Entries.from(e)?.details[i] }

/// The C function `modeltree_index_entries_family`.
@c @implementation
public func modeltree_index_entries_family(_ e: OpaquePointer!, _ i: Int) -> Int64 {
    guard let e = _Entries.from(e), e.valid(i) else { return -1 }
    return e.families[i]
}

/// The C function `modeltree_index_entries_state`.
@c @implementation
public func modeltree_index_entries_state(_ e: OpaquePointer!, _ i: Int) -> modeltree_files_state_t {
    guard let e = _Entries.from(e), e.valid(i) else { return MODELTREE_FILES_UNCHANGED }
    return e.states[i]
}

/// The C function `modeltree_index_entries_free`.
@c @implementation
public func modeltree_index_entries_free(_ e: OpaquePointer!) {
    guard let e else { return }
    _Handle.release(e, as: _Entries.self)
}

/// The C function `modeltree_index_parent`.
@c @implementation
public func modeltree_index_parent(
    _ out: UnsafeMutablePointer<OpaquePointer?>!, _ ix: OpaquePointer!, _ model_id: UnsafePointer<CChar>!, _ alternatives: Int,
    _ opts: UnsafePointer<modeltree_options_t>!
) -> modeltree_status_t {
    _catching {
        let function: StaticString = "modeltree_index_parent"
        let out = try _required(out, "out", function)
        out.pointee = nil
        let index = try _Index.from(ix, function)
        let id = try _string(model_id, "model_id", function)
        let options = try _recoveryOptions(opts, function)
        out.pointee = _Handle.make(try _Parents(try index.parent(of: id, alternatives: Swift.max(0, alternatives), options: options)))
    }
}

/// The C function `modeltree_index_parent_of_signature`.
@c @implementation
public func modeltree_index_parent_of_signature(
    _ out: UnsafeMutablePointer<OpaquePointer?>!, _ ix: OpaquePointer!, _ s: OpaquePointer!, _ alternatives: Int,
    _ opts: UnsafePointer<modeltree_options_t>!
) -> modeltree_status_t {
    _catching {
        let function: StaticString = "modeltree_index_parent_of_signature"
        let out = try _required(out, "out", function)
        out.pointee = nil
        let index = try _Index.from(ix, function)
        guard let s = _Signature.from(s) else { throw ModelTreeError.invalidArgument("\(function): s is NULL") }
        let options = try _recoveryOptions(opts, function)
        out.pointee = _Handle.make(try _Parents(try index.parent(of: s.signature, alternatives: Swift.max(0, alternatives), options: options)))
    }
}

/// The C function `modeltree_parents_model_id`.
@c @implementation
public func modeltree_parents_model_id(_ p: OpaquePointer!) -> UnsafePointer<CChar>! { _Parents.from(p)?.model[0] }

/// The C function `modeltree_parents_indexed`.
@c @implementation
public func modeltree_parents_indexed(_ p: OpaquePointer!) -> Bool { _Parents.from(p)?.answer.indexed ?? false }

/// The C function `modeltree_parents_count`.
@c @implementation
public func modeltree_parents_count(_ p: OpaquePointer!) -> Int { _Parents.from(p)?.answer.parents.count ?? 0 }

/// The C function `modeltree_parents_id`.
@c @implementation
public func modeltree_parents_id(_ p: OpaquePointer!, _ k: Int) -> UnsafePointer<CChar>! { _Parents.from(p)?.ids[k] }

/// The C function `modeltree_parents_type`.
@c @implementation
public func modeltree_parents_type(_ p: OpaquePointer!, _ k: Int) -> modeltree_edge_type_t {
    modeltree_edge_type_t(_Parents.from(p)?.candidate(k)?.type ?? .finetune)
}

/// The C function `modeltree_parents_distance`.
@c @implementation
public func modeltree_parents_distance(_ p: OpaquePointer!, _ k: Int) -> Double { _Parents.from(p)?.candidate(k)?.distance ?? .nan }

/// The C function `modeltree_parents_confidence`.
@c @implementation
public func modeltree_parents_confidence(_ p: OpaquePointer!, _ k: Int) -> Double { _Parents.from(p)?.candidate(k)?.confidence ?? .nan }

/// The C function `modeltree_parents_unsure`.
@c @implementation
public func modeltree_parents_unsure(_ p: OpaquePointer!, _ k: Int) -> Bool { _Parents.from(p)?.candidate(k)?.unsure ?? false }

/// The C function `modeltree_parents_metric`.
@c @implementation
public func modeltree_parents_metric(_ p: OpaquePointer!) -> modeltree_metric_t {
    _Parents.from(p).map { modeltree_metric_t($0.answer.metric) } ?? MODELTREE_METRIC_AUTO
}

/// The C function `modeltree_parents_relatives`.
@c @implementation
public func modeltree_parents_relatives(_ p: OpaquePointer!) -> Int { _Parents.from(p)?.answer.relatives ?? 0 }

/// The C function `modeltree_parents_duplicate_count`.
@c @implementation
public func modeltree_parents_duplicate_count(_ p: OpaquePointer!) -> Int { _Parents.from(p)?.answer.duplicates.count ?? 0 }

/// The C function `modeltree_parents_duplicate`.
@c @implementation
public func modeltree_parents_duplicate(_ p: OpaquePointer!, _ k: Int) -> UnsafePointer<CChar>! { _Parents.from(p)?.duplicates[k] }

/// The C function `modeltree_parents_free`.
@c @implementation
public func modeltree_parents_free(_ p: OpaquePointer!) {
    guard let p else { return }
    _Handle.release(p, as: _Parents.self)
}

/// The C function `modeltree_index_graph`.
@c @implementation
public func modeltree_index_graph(
    _ out: UnsafeMutablePointer<OpaquePointer?>!, _ ix: OpaquePointer!, _ opts: UnsafePointer<modeltree_options_t>!
) -> modeltree_status_t {
    _catching {
        let function: StaticString = "modeltree_index_graph"
        let out = try _required(out, "out", function)
        out.pointee = nil
        let index = try _Index.from(ix, function)
        let options = try _recoveryOptions(opts, function)
        out.pointee = _Handle.make(try _Graph(try index.graph(options: options)))
    }
}
