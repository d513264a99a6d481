/// Per-model, per-tensor statistics that say which way training went: excess kurtosis and the
/// sum of squares (squared norm) of every direction tensor.
///
/// Why these two. Fine-tuning lowers the kurtosis of the weights (Horwitz et al. 2025), and it
/// adds an update that is nearly orthogonal to the parent's weights, so the child's weights have
/// the larger norm (Pythagoras; weight decay works against it, which is why neither signal is
/// used alone). On the example zoos, where merged LoRA adapters raise kurtosis as often as not,
/// the norm grew on every edge measured over all shared matrices, but on only 19 of 22 over the
/// square ones, so the evidence is gathered over every 2-D tensor the models share — more votes —
/// while distances keep to the default selection.
struct DirectionEvidence {
    /// Names of the tensors (in the order of the inner arrays).
    var tensors: [String]
    /// Per model (outer) and tensor (inner); NaN where undefined (constant or non-finite tensor).
    var kurtosis: [[Double]]
    var sumSquares: [[Double]]

    /// One pass over `tensorNames` of every model (`TensorMoments`).
    /// - Parameter known: moments already gathered (by `PairwiseStatistics`), per tensor name and
    ///   model; those tensors are not read again.
    static func gather(models: [Model], tensorNames: [String], known: [String: [Moments]] = [:],
                       threads: Int = defaultThreadCount, kernels: KernelSet = .active,
                       progress: (Double) throws -> Void) throws -> DirectionEvidence {
        let unread = tensorNames.filter { known[$0] == nil }
        let read = try TensorMoments.gather(models: models, tensorNames: unread, threads: threads,
                                              kernels: kernels, progress: progress)
        let fresh = Dictionary(uniqueKeysWithValues: zip(unread, read))
        return DirectionEvidence(tensors: tensorNames, moments: tensorNames.map { known[$0] ?? fresh[$0]! }, models: models.count)
    }

}

extension DirectionEvidence {
    /// The votes of tensors whose moments are known: `moments[t][m]` for tensor `tensors[t]` of
    /// model m (a signature's moments, or the pass's).
    init(tensors: [String], moments: [[Moments]], models n: Int) {
        var kurtosis = [[Double]](repeating: [], count: n)
        var sumSquares = [[Double]](repeating: [], count: n)
        for perModel in moments {
            for (m, moments) in perModel.enumerated() {
                let finite = moments.nonFinite == 0
                kurtosis[m].append(finite ? moments.excessKurtosis : .nan)
                sumSquares[m].append(finite ? moments.sumOfSquares : .nan)
            }
        }
        self.init(tensors: tensors, kurtosis: kurtosis, sumSquares: sumSquares)
    }
}
