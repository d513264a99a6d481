@testable import ModelTree

// The tests write small matrices as nested array literals; the engine takes `SquareMatrix`.

extension Arborescence {
    static func minimum(cost: [[Double]]) -> [Int]? { minimum(cost: SquareMatrix(rows: cost)) }
}

extension Clustering {
    static func components(similarity: [[Double]], threshold: Double) -> [[Int]] {
        components(similarity: SquareMatrix(rows: similarity), threshold: threshold)
    }

    static func cut(similarity: [[Double]], into k: Int) -> [[Int]] {
        cut(similarity: SquareMatrix(rows: similarity), into: k)
    }
}
