import XCTest
@testable import ModelTree

/// The evidence a recovery keeps on each edge (`ModelGraph.EdgeEvidence`), checked against
/// computations made here: a brute-force search over every tree, kurtosis and norms of the
/// weights computed directly, and ranks known by construction. In an extension, to build the
/// families as `RecoveryTests` does.
extension RecoveryTests {
    /// The runner-up parent is the child's parent in the cheapest tree that avoids the chosen
    /// edge, found here by trying every tree of 5 models (6⁵ parent assignments).
    func testRunnerUpIsTheParentInTheBestTreeWithoutTheEdge() throws {
        var s = Sampler(seed: 60)
        for trial in 0..<6 {
            let n = 5
            var d = SquareMatrix<Double>(count: n, repeating: 0)
            for i in 0..<n { for j in (i + 1)..<n { d[i, j] = 0.5 + s.uniform(); d[j, i] = d[i, j] } }
            let solver = TreeSolver(distance: d, kurtosis: (0..<n).map { _ in (0..<3).map { _ in s.uniform() * 4 } },
                                    sumSquares: (0..<n).map { _ in (0..<3).map { _ in 1 + s.uniform() } }, lambda: 0.5)
            let solution = try solver.solve(direction: .finetune)
            let m = solver.objective(.finetune)
            for j in 0..<n where solution.parent[j] >= 0 {
                let p = solution.parent[j]
                let parents = Self.parentsInCheapestTrees(m, of: j, avoiding: (p, j))
                XCTAssertTrue(parents.contains(solution.runnerUp[j]), "trial \(trial), edge \(p) → \(j): \(solution.runnerUp[j]) not in \(parents)")
            }
            XCTAssertEqual(solution.runnerUp[solution.parent.firstIndex(of: -1)!], -1)
        }
    }

    /// Every spanning arborescence of `m` without the edge `avoiding`, by brute force: the parents
    /// (−1 for none) `child` has in the cheapest ones (several when trees tie: reversing a path
    /// can cost the same).
    static func parentsInCheapestTrees(_ m: SquareMatrix<Double>, of child: Int, avoiding: (Int, Int)) -> Set<Int> {
        let n = m.count
        var parent = [Int](repeating: -1, count: n), trees: [(cost: Double, parent: Int)] = []
        func isTree() -> Bool {
            guard parent.filter({ $0 < 0 }).count == 1 else { return false }
            for start in 0..<n {
                var node = start, steps = 0
                while parent[node] >= 0 { node = parent[node]; steps += 1; if steps > n { return false } }
            }
            return true
        }
        func assign(_ j: Int) {
            if j == n {
                if isTree() { trees.append(((0..<n).reduce(0.0) { $0 + (parent[$1] >= 0 ? m[parent[$1], $1] : 0) }, parent[child])) }
                return
            }
            for p in -1..<n where p != j && !(p == avoiding.0 && j == avoiding.1) {
                parent[j] = p
                assign(j + 1)
            }
        }
        assign(0)
        let best = trees.map(\.cost).min()!
        return Set(trees.filter { $0.cost <= best + 1e-12 * best }.map(\.parent))
    }

    /// Votes counted by hand: kurtosis in the mode's order, the child's norm the larger, ties
    /// half, undefined values left out, and nil with no defined value.
    func testDirectionVotesCountTensors() {
        let solver = TreeSolver(distance: SquareMatrix(rows: [[0, 1], [1, 0]]),
                                kurtosis: [[3, 3, 3, .nan], [2, 2, 3, 1]],
                                sumSquares: [[1, 1, 1, 1], [2, 2, 2, 0.5]], lambda: 0.3)
        let down = solver.votes(parent: 0, child: 1, .finetune)
        XCTAssertEqual(down.kurtosis, .init(agreeing: 2.5, total: 3))
        XCTAssertEqual(down.norm, .init(agreeing: 3, total: 4))
        XCTAssertEqual(solver.votes(parent: 0, child: 1, .generalization).kurtosis, .init(agreeing: 0.5, total: 3))
        XCTAssertEqual(solver.votes(parent: 1, child: 0, .finetune).norm, .init(agreeing: 1, total: 4))
        let blind = TreeSolver(distance: SquareMatrix(rows: [[0, 1], [1, 0]]), kurtosis: [[.nan], [1]], sumSquares: [[1], [.infinity]],
                               lambda: 0.3)
        XCTAssertNil(blind.votes(parent: 0, child: 1, .finetune).kurtosis)
        XCTAssertNil(blind.votes(parent: 0, child: 1, .finetune).norm)
    }

    /// A recovered family: each edge's votes are those of the kurtosis and norms of the weights
    /// computed here, its runner-up is another member of its tree at the graph's distance, and
    /// under RMS there is no rank.
    func testRecoveredEdgesCarryTheirEvidence() throws {
        var s = Sampler(seed: 61)
        let r = root(&s), a = fullFineTune(r, &s), b = fullFineTune(r, &s), a1 = fullFineTune(a, &s), a2 = fullFineTune(a, &s)
        let weights = [("r", r), ("a", a), ("b", b), ("a1", a1), ("a2", a2)]
        let g = try recover(try models(weights))
        XCTAssertEqual(g.metric, .rms)
        XCTAssertEqual(g.edges.count, 4)
        for e in g.edges {
            let evidence = try XCTUnwrap(e.evidence)
            let p = weights[e.parent].1, c = weights[e.child].1
            var kurtosisAgree = 0.0, normAgree = 0.0
            for t in p.indices {
                let (kp, kc) = (Self.excessKurtosis(p[t]), Self.excessKurtosis(c[t]))
                kurtosisAgree += kp > kc ? 1 : kp == kc ? 0.5 : 0
                let (np, nc) = (p[t].reduce(0) { $0 + Double(Float($1)) * Double(Float($1)) }, c[t].reduce(0) { $0 + Double(Float($1)) * Double(Float($1)) })
                normAgree += nc > np ? 1 : nc == np ? 0.5 : 0
            }
            XCTAssertEqual(evidence.kurtosisVotes, .init(agreeing: kurtosisAgree, total: p.count), "\(g.ids[e.parent]) → \(g.ids[e.child])")
            XCTAssertEqual(evidence.normVotes, .init(agreeing: normAgree, total: p.count), "\(g.ids[e.parent]) → \(g.ids[e.child])")
            if let other = evidence.runnerUp {   // nil: the best tree without the edge reverses it
                XCTAssertNotEqual(other.parent, e.parent)
                XCTAssertNotEqual(other.parent, e.child)
                XCTAssertEqual(g.tree(of: other.parent), g.tree(of: e.child))
                XCTAssertEqual(other.distance, g.distances[other.parent, e.child])
            }
            XCTAssertNil(evidence.largestRank)
        }
    }

    /// Under the rank metric each edge says the largest rank of its difference: the LoRA rank the
    /// family was built with (rank 3 in every tensor).
    func testLoRAEdgesCarryTheirRank() throws {
        var s = Sampler(seed: 62)
        let r = root(&s)
        let c1 = lora(r, &s, rank: 3), c2 = lora(r, &s, rank: 3), g1 = lora(c1, &s, rank: 3)
        let g = try recover(try models([("r", r), ("c1", c1), ("c2", c2), ("g1", g1)]))
        XCTAssertEqual(g.metric, .rank)
        XCTAssertEqual(parents(g), ["c1": "r", "c2": "r", "g1": "c1"])
        for e in g.edges {
            XCTAssertEqual(e.evidence?.largestRank, 3)
            XCTAssertEqual(e.distance.rounded(.down), Double(3 * Self.names.count))
        }
    }

    /// Models of two architectures are recovered apart and put side by side: the runner-ups are
    /// renumbered with the models, so each names a model of its child's tree.
    func testRunnerUpsFollowTheModelsAcrossArchitectures() throws {
        var s = Sampler(seed: 63)
        let r = root(&s), a = fullFineTune(r, &s), b = fullFineTune(r, &s)
        var mlp = [(String, [Int], [Double])]()
        for k in 0..<2 { mlp.append(("mlp.\(k)", [8, 16], (0..<128).map { _ in s.laplace(0.05) })) }
        let tuned = { (seed: Int) in mlp.map { ($0.0, $0.1, $0.2.map { $0 + s.gaussian() * 0.02 * Double(seed) }) } }
        // The second architecture's models come last: their local indices are not their own.
        let all = try models([("r", r), ("a", a), ("b", b)])
            + [try makeModel("m", mlp), try makeModel("m1", tuned(1)), try makeModel("m2", tuned(2))]
        let g = try recover(all)
        XCTAssertEqual(g.trees.map(\.members), [[0, 1, 2], [3, 4, 5]])
        XCTAssertTrue(g.edges.contains { $0.child >= 3 && $0.evidence?.runnerUp != nil })
        for e in g.edges {
            guard let other = e.evidence?.runnerUp else { continue }
            XCTAssertEqual(g.tree(of: other.parent), g.tree(of: e.child), "\(g.ids[e.child])")
            XCTAssertEqual(other.distance, g.distances[other.parent, e.child])
            XCTAssertTrue(other.distance.isFinite)
        }
    }

    /// Fisher's excess kurtosis of the values as stored (F32), two passes in Double.
    static func excessKurtosis(_ values: [Double]) -> Double {
        let x = values.map { Double(Float($0)) }
        let mean = x.reduce(0, +) / Double(x.count)
        let m2 = x.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(x.count)
        let m4 = x.reduce(0) { $0 + pow($1 - mean, 4) } / Double(x.count)
        return m4 / (m2 * m2) - 3
    }
}
