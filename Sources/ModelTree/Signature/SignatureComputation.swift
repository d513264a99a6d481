extension ModelSignature {
    /// Elements per hashed piece of a tensor: a tensor's hash is XXH64 over the XXH64s of its
    /// pieces (a tree hash, so that segments hash in parallel). Part of the format: a
    /// multiple of it must be `StreamingPass.segmentSize`.
    static let hashPiece = 65_536

    /// The name of the reader that made `model` (stored in signatures and in the index).
    static func formatName(of model: Model) -> String {
        model.path == nil ? "memory" : "safetensors"
    }

    /// The signature of `model`, from one read of its weights.
    ///
    /// Every weight tensor is streamed once through `StreamingPass` (any reader's tensor source
    /// works): each segment yields its moments, its content hash, and for a distance tensor its
    /// share of the distance and rank sketches (both linear, so segments add up) or its values;
    /// the partial results are reduced in segment order, so the signature does not depend on the
    /// thread count. The corresponding C function is `modeltree_signature_compute`.
    ///
    /// Cost: per element, one moment update, one hash step, and for a sketched tensor one
    /// CountSketch addition and `rankHits` rank-sketch additions; per row `rankHits · 64`.
    /// - Throws: `.invalidArgument` for bad parameters or a model without weights; `.io` when a
    ///   file cannot be read or changed.
    public static func compute(_ model: Model, parameters p: Parameters = .standard, threads: Int? = nil) throws -> ModelSignature {
        try p.validate()
        precondition(StreamingPass.segmentSize % hashPiece == 0)
        let views = model.tensors.filter { $0.isWeight && $0.count > 0 }
        guard !views.isEmpty else {
            throw ModelTreeError.invalidArgument("model '\(model.id)' has no floating-point tensor with elements to sign")
        }
        let candidates = distanceCandidates(views.map { ($0.name, $0.shape) })
        let segment = StreamingPass.segmentSize
        let pass = StreamingPass(threads: Swift.max(1, Swift.min(maxThreads, threads ?? defaultThreadCount)), slots: 1,
                                 stagingBytes: segment * 8, rows: 1, block: segment,
                                 doubles: Swift.max(p.rankRows, p.rankColumns))
        var tensors: [Tensor] = []
        for view in views {
            let distance = candidates.contains(view.name)
            let exact = distance && keepsValues(count: view.count, p)
            let countSketch = distance && !exact ? CountSketch(name: view.name, shape: view.shape, buckets: p.distanceBuckets) : nil
            let plan = distance && !exact ? RankSketchPlan(name: view.name, shape: view.shape, parameters: p) : nil
            let shift = try TensorMoments.initialShift(view)
            var total = Partial(moments: Moments(shift: shift), hashes: [], distance: [], rank: [], values: [])
            try pass.stream(count: view.count, unit: { _, range, worker in
                try worker.decode(view, slot: 0, range, into: 0)
                let x = worker.row(0), n = range.count
                var part = Partial(moments: Moments(shift: shift), hashes: [], distance: [], rank: [], values: [])
                part.moments.addFast(x, count: n, kernels: worker.kernels)
                var start = 0
                while start < n {
                    let len = Swift.min(hashPiece, n - start)
                    part.hashes.append(Hashing.xxh64(UnsafeRawPointer(x + start), count: len * 4))
                    start += len
                }
                if let countSketch {
                    part.distance = [Double](repeating: 0, count: countSketch.buckets)
                    part.distance.withUnsafeMutableBufferPointer { countSketch.add(x, count: n, first: range.lowerBound, into: $0.baseAddress!) }
                }
                if let plan {
                    part.rank = [Double](repeating: 0, count: plan.rows * plan.columns)
                    part.rank.withUnsafeMutableBufferPointer {
                        plan.add(x, count: n, first: range.lowerBound, into: $0.baseAddress!, row: worker.doubles)
                    }
                }
                if exact { part.values = Array(UnsafeBufferPointer(start: x, count: n)) }
                return part
            }, reduce: { _, part in total.add(part) })

            var sketch: Sketch?
            if exact {
                sketch = .exact(total.values)
            } else if let plan {
                let single = view.unitRoundoff >= 0x1p-16
                var z = plan.finish(total.rank)
                if single { z = z.map { Double(Float($0)) } }
                sketch = .sketched(distance: total.distance, rank: RankSketch(rows: plan.rows, columns: plan.columns, values: z, single: single))
            }
            tensors.append(Tensor(name: view.name, shape: view.shape, typeName: view.typeName, unitRoundoff: view.unitRoundoff,
                                  moments: total.moments, hash: Hashing.xxh64(words: total.hashes), sketch: sketch))
        }
        var files: [String: FileIdentity] = [:]
        for view in model.tensors {
            for file in view.source.files { files[file.fileIdentity.path] = file.fileIdentity }
        }
        return ModelSignature(id: model.id, path: model.path, format: formatName(of: model),
                              files: files.keys.sorted().map { files[$0]! }, parameters: p,
                              hash: modelHash(tensors), tensors: tensors)
    }

    /// One segment's share of a tensor's signature.
    private struct Partial: Sendable {
        var moments: Moments
        var hashes: [UInt64]
        var distance: [Double]
        var rank: [Double]
        var values: [Float]

        /// Adds the next segment's share (in segment order).
        mutating func add(_ p: Partial) {
            moments.merge(p.moments)
            hashes += p.hashes
            if distance.isEmpty { distance = p.distance } else { for i in distance.indices { distance[i] += p.distance[i] } }
            if rank.isEmpty { rank = p.rank } else { for i in rank.indices { rank[i] += p.rank[i] } }
            values += p.values
        }
    }
}
