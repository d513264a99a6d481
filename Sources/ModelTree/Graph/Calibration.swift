/// Confidences that mean what they say (issue 12): each relation family computes its raw
/// confidence its own way (the tree's margin, a grid's share, a merge's residual, an adapter's
/// enrichment, the angles of a latent node's children), so each gets its own non-decreasing map
/// from raw confidence to the share of such edges that were right on the development zoos; and
/// an edge is unsure below the threshold measured with those maps.
///
/// The maps and the threshold are measured and written by `tools/calibrate.py` into
/// `CalibrationTable.swift` (never edited by hand; a test fails when it is stale). The map of a
/// family is piecewise linear through its knots, 0 at raw 0 (an equally good alternative is no
/// evidence), and flat above its last knot: beyond what was measured it claims no more.
enum Calibration {
    /// How an edge's raw confidence was computed.
    enum Family: CaseIterable {
        /// The tree solve's margin (`TreeSolver`).
        case finetune
        /// An edge to or from a latent node (`LatentParents`, from angles).
        case latent
        /// The adapter attachment's enrichment and order-of-training margins (`AdapterAttachment`).
        case adapter
        /// A quantized copy's grid share against the runner-up source's (`RelationAnalysis.typedEdges`).
        case quantized
        /// A merge fit's residual against the fit without the parent (`RelationAnalysis.typedEdges`).
        case merge
        /// A layer subset's match (`LayerSubsets`).
        case layerSubset
    }

    /// The family of `edge` of a graph whose nodes are `models`.
    static func family(of edge: ModelGraph.Edge, models: [ModelGraph.Node]) -> Family {
        if models[edge.parent].latent || models[edge.child].latent { return .latent }
        switch edge.type {
        case .finetune: return .finetune
        case .adapter: return .adapter
        case .quantized: return .quantized
        case .merge: return .merge
        case .layerSubset: return .layerSubset
        }
    }

    /// The calibrated confidence of a raw one of `family`: NaN stays NaN; a family never measured gives 0.
    static func calibrated(_ raw: Double, family: Family) -> Double {
        guard !raw.isNaN else { return raw }
        // Raw 0: an equally good alternative, no evidence — whatever share of such edges the
        // development zoos happened to get right (a prior's luck, not the weights').
        guard raw > 0, let knots = table[family]?.knots, let last = knots.last else { return 0 }
        var below = (raw: 0.0, calibrated: 0.0)
        for knot in knots {
            if raw < knot.raw {
                // Between two knots (or 0 and the first): the straight line.
                let f = (raw - below.raw) / (knot.raw - below.raw)
                return Swift.max(0, below.calibrated + f * (knot.calibrated - below.calibrated))
            }
            below = knot
        }
        return last.calibrated
    }

    /// Whether an edge of `family` with confidence `raw` is unsure: its calibrated confidence is
    /// below `unsureThreshold` (or NaN).
    static func isUnsure(raw: Double, family: Family) -> Bool {
        !(calibrated(raw, family: family) >= unsureThreshold)
    }
}

extension ModelGraph {
    /// The same graph with each relation's confidence calibrated (`Calibration`), the raw one kept
    /// in `Edge.rawConfidence`, and each marked unsure when its calibrated confidence is below
    /// `Calibration.unsureThreshold` or when the step that made it already marked it (a guessed
    /// direction, a tie between candidates). The edges joining copies are not relations: kept as they are.
    func calibrated() throws -> ModelGraph {
        let edges = self.edges.map { e in
            guard !joinsCopies(e) else { return e }
            var e = e
            let family = Calibration.family(of: e, models: models)
            e.confidence = Calibration.calibrated(e.rawConfidence, family: family)
            e.unsure = e.unsure || Calibration.isUnsure(raw: e.rawConfidence, family: family)
            return e
        }
        return try replacing(edges: edges, unsureThreshold: Calibration.unsureThreshold)
    }
}
