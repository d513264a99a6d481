/// Crossing reduction and coordinate assignment of `LayeredLayout` (steps 3 and 4 of `Layout`).
extension LayeredLayout {
    // MARK: Order

    /// Vertices of each layer, left to right: depth-first order, then barycenter sweeps; the
    /// order with the fewest crossings is kept. O(sweeps · (V + D + E) log(V + D)).
    func orderLayers(_ vertices: inout [Vertex], depth: Int, familyRank: [Int]) -> [[Int]] {
        // Depth-first preorder from the sources, families in rank order.
        var visit = [Int](repeating: -1, count: vertices.count)
        var counter = 0
        let sources = vertices.indices.filter { vertices[$0].up.isEmpty }
            .sorted { (familyRank[vertices[$0].family], $0) < (familyRank[vertices[$1].family], $1) }
        for s in sources + Array(vertices.indices) where visit[s] < 0 {
            var stack = [s]
            while let v = stack.popLast() {
                guard visit[v] < 0 else { continue }
                visit[v] = counter
                counter += 1
                stack += vertices[v].down.reversed()
            }
        }
        var order = [[Int]](repeating: [], count: depth + 1)
        for v in vertices.indices { order[vertices[v].layer].append(v) }
        for l in order.indices {
            order[l].sort { (familyRank[vertices[$0].family], visit[$0]) < (familyRank[vertices[$1].family], visit[$1]) }
        }
        var position = [Double](repeating: 0, count: vertices.count)
        func renumber(_ l: Int) {
            let n = order[l].count
            for (i, v) in order[l].enumerated() { position[v] = n > 1 ? Double(i) / Double(n - 1) : 0.5 }
        }
        for l in order.indices { renumber(l) }
        var best = order
        var fewest = crossings(vertices, order)
        guard fewest > 0 else { return best }
        for sweep in 0..<(2 * options.sweeps) {
            let down = sweep % 2 == 0
            for l in down ? Array(stride(from: 1, through: depth, by: 1)) : Array(stride(from: depth - 1, through: 0, by: -1)) {
                var key = [Double](repeating: 0, count: vertices.count)
                for v in order[l] {
                    let neighbours = down ? vertices[v].up : vertices[v].down
                    key[v] = neighbours.isEmpty ? position[v] : neighbours.map { position[$0] }.reduce(0, +) / Double(neighbours.count)
                }
                order[l].sort {
                    let fa = familyRank[vertices[$0].family], fb = familyRank[vertices[$1].family]
                    if fa != fb { return fa < fb }
                    if key[$0] != key[$1] { return key[$0] < key[$1] }
                    return position[$0] < position[$1]
                }
                renumber(l)
            }
            let count = crossings(vertices, order)
            if count < fewest {
                fewest = count
                best = order
                if count == 0 { break }
            }
        }
        return best
    }

    /// Crossings between consecutive layers: inversions of the lower ends when the edges are
    /// sorted by their upper ends, counted with a Fenwick tree. O((V + D + E) log(V + D)).
    func crossings(_ vertices: [Vertex], _ order: [[Int]]) -> Int {
        var index = [Int](repeating: 0, count: vertices.count)
        for layer in order { for (i, v) in layer.enumerated() { index[v] = i } }
        var total = 0
        for l in order.indices.dropLast() {
            let n = order[l + 1].count
            var tree = [Int](repeating: 0, count: n + 1)
            var seen = 0
            for v in order[l] {
                for w in vertices[v].down.map({ index[$0] }).sorted() {
                    // Edges already seen whose lower end lies right of w cross this one.
                    var i = w + 1, atMost = 0
                    while i > 0 { atMost += tree[i]; i -= i & -i }
                    total += seen - atMost
                    i = w + 1
                    while i <= n { tree[i] += 1; i += i & -i }
                    seen += 1
                }
            }
        }
        return total
    }

    // MARK: Coordinates

    /// Horizontal centres, per family: alternating sweeps, each placing one layer as close as the
    /// order and the gaps allow to where its neighbours want it, the last one going up. A grid
    /// is attached by its trunk, so its parent sits over the trunk rather than over its middle.
    /// O(sweeps · (V + D + E)).
    func assignX(_ vertices: inout [Vertex], order: inout [[Int]], depth: Int) {
        for l in order.indices {
            let xs = packed(order[l], vertices, desired: order[l].map { _ in 0 }, weight: order[l].map { _ in 1 })
            for (v, x) in zip(order[l], xs) { vertices[v].x = x }
        }
        func sweep(_ l: Int, down: Bool) {
            var desired: [Double] = [], weight: [Double] = []
            for v in order[l] {
                if let grid = vertices[v].continues {   // a tall grid's lower part stays under the grid
                    desired.append(vertices[grid].x)
                    weight.append(1e6)
                    continue
                }
                let neighbours = (down ? vertices[v].up : vertices[v].down).filter { vertices[$0].family == vertices[v].family }
                if neighbours.isEmpty {
                    desired.append(vertices[v].x)
                    weight.append(0.05)
                } else {
                    // Centres that put the edges' attachment points (`anchor`) where the neighbours' are.
                    desired.append(neighbours.map { vertices[$0].x + vertices[$0].anchor }.reduce(0, +) / Double(neighbours.count) - vertices[v].anchor)
                    weight.append(Double(neighbours.count) * (vertices[v].isDummy ? 2 : 1))
                }
            }
            let xs = packed(order[l], vertices, desired: desired, weight: weight)
            for (v, x) in zip(order[l], xs) { vertices[v].x = x }
        }
        guard depth > 0 else { return }
        for _ in 0..<max(options.sweeps, 1) {
            for l in 1...depth { sweep(l, down: true) }
            for l in stride(from: depth - 1, through: 0, by: -1) { sweep(l, down: false) }
        }
    }

    /// Centres for the vertices of one layer (in order) that keep the order and the gaps and
    /// minimise Σ weight · (x − desired)², per family (families are placed apart later).
    /// With offsets o (the cumulative minimum distances) and y = x − o this is weighted isotonic
    /// regression of desired − o, solved exactly by pool-adjacent-violators. O(n).
    func packed(_ layer: [Int], _ vertices: [Vertex], desired: [Double], weight: [Double]) -> [Double] {
        var xs = [Double](repeating: 0, count: layer.count)
        var start = 0
        while start < layer.count {
            var end = start
            while end < layer.count && vertices[layer[end]].family == vertices[layer[start]].family { end += 1 }
            var offset = [Double](repeating: 0, count: end - start)
            for i in 1..<max(offset.count, 1) {
                let a = vertices[layer[start + i - 1]], b = vertices[layer[start + i]]
                let gap = a.isDummy || b.isDummy ? LayoutMetrics.dummyGap : LayoutMetrics.boxGap
                offset[i] = offset[i - 1] + (a.width + b.width) / 2 + gap
            }
            // Blocks of pooled values: (total weight, weighted sum, count).
            var pools: [(w: Double, sum: Double, n: Int)] = []
            for i in offset.indices {
                let w = max(weight[start + i], 1e-6)
                pools.append((w, w * (desired[start + i] - offset[i]), 1))
                while pools.count > 1 && pools[pools.count - 2].sum / pools[pools.count - 2].w > pools[pools.count - 1].sum / pools[pools.count - 1].w {
                    let top = pools.removeLast()
                    pools[pools.count - 1].w += top.w
                    pools[pools.count - 1].sum += top.sum
                    pools[pools.count - 1].n += top.n
                }
            }
            var i = 0
            for pool in pools {
                for _ in 0..<pool.n {
                    xs[start + i] = pool.sum / pool.w + offset[i]
                    i += 1
                }
            }
            start = end
        }
        return xs
    }
}
