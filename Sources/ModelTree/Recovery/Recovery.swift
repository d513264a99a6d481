// OWNER: lead. Stub while the pipeline is written.

/// Recovers the Model Graph of `models` from their weights.
/// - Throws: `ModelTreeError` (invalid argument for fewer than one model or duplicate ids,
///   incompatible models when no tensor is shared, cancelled …).
public func recover(_ models: [Model], options: RecoveryOptions = RecoveryOptions()) throws -> ModelGraph {
    fatalError("stub")
}
