import XCTest
@testable import ModelTree

final class ArborescenceTests: XCTestCase {
    /// The total cost of `parent` under `cost`, or nil when it is not a spanning arborescence with
    /// exactly one root over allowed edges. Checked independently of the algorithm.
    func arborescenceCost(_ parent: [Int], _ cost: [[Double]]) -> Double? {
        let n = cost.count
        guard parent.count == n, parent.filter({ $0 == -1 }).count == 1 else { return nil }
        var total = 0.0
        for (v, p) in parent.enumerated() where p != -1 {
            guard p >= 0, p < n, p != v, cost[p][v].isFinite else { return nil }
            total += cost[p][v]
        }
        // Every node must reach the root within n steps (no cycle).
        for v in 0..<n {
            var node = v, steps = 0
            while parent[node] != -1 {
                node = parent[node]
                steps += 1
                if steps > n { return nil }
            }
        }
        return total
    }

    /// The optimal cost by depth-first enumeration of every parent assignment with one root and no
    /// cycle, pruned by a lower bound (the cheapest option of every node still unassigned).
    func bruteForce(_ cost: [[Double]]) -> Double? {
        let n = cost.count
        // Options per node: -1 (root, cost 0) and every allowed parent.
        var cheapest = [Double](repeating: 0, count: n)
        for v in 0..<n {
            var m = 0.0
            for u in 0..<n where u != v && cost[u][v].isFinite { m = min(m, cost[u][v]) }
            cheapest[v] = m
        }
        var suffix = [Double](repeating: 0, count: n + 1)
        for v in stride(from: n - 1, through: 0, by: -1) { suffix[v] = suffix[v + 1] + cheapest[v] }
        var parent = [Int](repeating: -2, count: n)
        var best: Double? = nil
        func createsCycle(_ child: Int, _ p: Int) -> Bool {
            var node = p
            while node >= 0 {
                if node == child { return true }
                node = parent[node]   // -2 (unassigned) or -1 (root) ends the walk
            }
            return false
        }
        func assign(_ v: Int, _ total: Double, _ rootUsed: Bool) {
            if let b = best, total + suffix[v] >= b + 1e-12 { return }
            if v == n {
                if rootUsed { best = total }
                return
            }
            if !rootUsed {
                parent[v] = -1
                assign(v + 1, total, true)
            }
            for u in 0..<n where u != v && cost[u][v].isFinite && !createsCycle(v, u) {
                parent[v] = u
                assign(v + 1, total + cost[u][v], rootUsed)
            }
            parent[v] = -2
        }
        assign(0, 0, false)
        return best
    }

    enum Kind: CaseIterable { case uniform, threeValues, signed, sparse }

    func randomCost(n: Int, kind: Kind, rng: inout SplitMix64) -> [[Double]] {
        var cost = [[Double]](repeating: [Double](repeating: 0, count: n), count: n)
        for i in 0..<n {
            for j in 0..<n {
                switch kind {
                case .uniform: cost[i][j] = Double.random(in: 0..<1, using: &rng)
                case .threeValues: cost[i][j] = Double(Int.random(in: 1...3, using: &rng))
                case .signed: cost[i][j] = Double(Int.random(in: -1...1, using: &rng))
                case .sparse:
                    cost[i][j] = Int.random(in: 0..<10, using: &rng) < 6
                        ? .infinity : Double(Int.random(in: 0...2, using: &rng))
                }
                if i == j { cost[i][j] = Double(Int.random(in: -5...5, using: &rng)) }  // must be ignored
            }
        }
        if kind == .threeValues || kind == .signed {
            // A few forbidden edges as well.
            for _ in 0..<n { cost[Int.random(in: 0..<n, using: &rng)][Int.random(in: 0..<n, using: &rng)] = .infinity }
        }
        return cost
    }

    func testMatchesBruteForceOnSmallRandomGraphs() {
        var checked = 0, infeasible = 0
        for n in 1...7 {
            let seeds = n <= 5 ? 300 : (n == 6 ? 150 : 40)
            for (k, kind) in Kind.allCases.enumerated() {
                for seed in 0..<seeds {
                    var rng = SplitMix64(seed: UInt64(n * 1_000_003 + seed * 7 + k))
                    let cost = randomCost(n: n, kind: kind, rng: &rng)
                    let expected = bruteForce(cost)
                    let got = Arborescence.minimum(cost: cost)
                    let label = "n=\(n) kind=\(kind) seed=\(seed) cost=\(cost)"
                    guard let expected else {
                        XCTAssertNil(got, "no arborescence exists but one was returned: \(label)")
                        infeasible += 1
                        continue
                    }
                    guard let got else { XCTFail("returned nil, expected cost \(expected): \(label)"); continue }
                    guard let total = arborescenceCost(got, cost) else {
                        XCTFail("invalid arborescence \(got): \(label)"); continue
                    }
                    XCTAssertEqual(total, expected, accuracy: 1e-9, "\(got): \(label)")
                    XCTAssertEqual(Arborescence.minimum(cost: cost), got, "not deterministic: \(label)")
                    checked += 1
                }
            }
        }
        XCTAssertGreaterThan(checked, 1000)
        XCTAssertGreaterThan(infeasible, 20)  // the sparse kind must exercise the nil case
    }

    func testTrivialSizes() {
        XCTAssertEqual(Arborescence.minimum(cost: []), [])
        XCTAssertEqual(Arborescence.minimum(cost: [[5]]), [-1])
        XCTAssertEqual(Arborescence.minimum(cost: [[.infinity]]), [-1])
    }

    func testNoArborescence() {
        let inf = Double.infinity
        // No edges at all between two nodes: each would have to be a root.
        XCTAssertNil(Arborescence.minimum(cost: [[0, inf], [inf, 0]]))
        // Nodes 1 and 2 can only be reached from each other, node 0 only from nobody.
        XCTAssertNil(Arborescence.minimum(cost: [[0, inf, inf], [inf, 0, 1], [inf, 1, 0]]))
        // NaN and -infinity forbid edges too.
        XCTAssertNil(Arborescence.minimum(cost: [[0, .nan], [-inf, 0]]))
        // But one allowed edge suffices.
        XCTAssertEqual(Arborescence.minimum(cost: [[0, inf], [7, 0]]), [1, -1])
    }

    func testKnownSmallCases() {
        // A cycle 0 ⇄ 1 of cheap edges with an expensive way in from 2: Edmonds must break it.
        let cost: [[Double]] = [
            [0, 1, 10],
            [1, 0, 10],
            [5, 6, 0],
        ]
        // Optimum: root 2? 2→0 (5) + 0→1 (1) = 6; root 0: 0→1 (1) + 0→2 (10) = 11.
        XCTAssertEqual(Arborescence.minimum(cost: cost), [2, 0, -1])
        // Ties: all equal costs give a valid tree, the same every time.
        let flat = [[Double]](repeating: [Double](repeating: 1, count: 4), count: 4)
        let first = Arborescence.minimum(cost: flat)
        XCTAssertEqual(first.flatMap { arborescenceCost($0, flat) }, 3)
        XCTAssertEqual(Arborescence.minimum(cost: flat), first)
    }

    func testHugeCostsDoNotOverflow() {
        let big = Double.greatestFiniteMagnitude / 2
        let cost: [[Double]] = [
            [0, big, -big],
            [-big, 0, big],
            [big, -big, 0],
        ]
        // Brute force in units of `big`: the best is two edges of -big.
        let got = Arborescence.minimum(cost: cost)
        XCTAssertNotNil(got)
        if let got {
            let scaled = cost.map { $0.map { $0 / big } }
            XCTAssertEqual(arborescenceCost(got, scaled), bruteForce(scaled))
        }
    }

    /// A random 2,000-node graph: the result is a valid arborescence and no single change of one
    /// node's parent (to a node that is not its descendant) or of the root makes it cheaper.
    func testLargeRandomGraphIsValidAndLocallyOptimal() {
        let n = 2000
        var rng = SplitMix64(seed: 42)
        var cost = [[Double]](repeating: [Double](repeating: 0, count: n), count: n)
        for i in 0..<n { for j in 0..<n { cost[i][j] = Double.random(in: 0..<1, using: &rng) } }
        for _ in 0..<(n * 50) { cost[Int.random(in: 0..<n, using: &rng)][Int.random(in: 0..<n, using: &rng)] = .infinity }
        guard let parent = Arborescence.minimum(cost: cost) else { return XCTFail("nil") }
        XCTAssertNotNil(arborescenceCost(parent, cost))
        // Descendant test by DFS entry/exit times (iterative).
        var children = [[Int]](repeating: [], count: n)
        var root = -1
        for (v, p) in parent.enumerated() { if p < 0 { root = v } else { children[p].append(v) } }
        var enter = [Int](repeating: 0, count: n), exit = [Int](repeating: 0, count: n)
        var clock = 0
        var stack: [(Int, Int)] = [(root, 0)]
        enter[root] = clock; clock += 1
        while let (v, k) = stack.popLast() {
            if k < children[v].count {
                stack.append((v, k + 1))
                let c = children[v][k]
                enter[c] = clock; clock += 1
                stack.append((c, 0))
            } else {
                exit[v] = clock; clock += 1
            }
        }
        XCTAssertEqual(clock, 2 * n)
        func isDescendant(_ u: Int, of v: Int) -> Bool { enter[v] <= enter[u] && exit[u] <= exit[v] }
        var improvements: [(Int, Int)] = []
        for v in 0..<n where v != root {
            let current = cost[parent[v]][v]
            for u in 0..<n where u != v && cost[u][v] < current && !isDescendant(u, of: v) {
                improvements.append((u, v))
            }
        }
        XCTAssertTrue(improvements.isEmpty, "moving child under parent is cheaper: \(improvements.prefix(5))")
    }

    /// A path graph 0 – 1 – … – n−1 with equal costs both ways: the lowest-index tie-breaking makes
    /// {0, 1} a cycle, then {0, 1} with 2, and so on: n − 1 nested contractions, which a recursive
    /// implementation would pay for in stack depth. (Kept to n = 1,000 so the debug build stays fast:
    /// the loop is iterative, so depth is not a matter of n.)
    func testDeepNestingCompletes() {
        let n = 1000
        var cost = [[Double]](repeating: [Double](repeating: .infinity, count: n), count: n)
        for j in 0..<(n - 1) { cost[j][j + 1] = 1; cost[j + 1][j] = 1 }
        guard let parent = Arborescence.minimum(cost: cost) else { return XCTFail("nil") }
        // Every arborescence of a path, whatever its root, uses n − 1 edges of cost 1.
        XCTAssertEqual(arborescenceCost(parent, cost), Double(n - 1))
    }
}
