/// A `count × count` matrix stored row-major: the one type for everything indexed by a pair of
/// models (distances, correlations, similarities) or of nodes (arborescence costs).
public struct SquareMatrix<Element: Sendable>: Sendable {
    /// The number of rows, and of columns.
    public let count: Int
    /// The elements, row-major: element (i, j) is `elements[i * count + j]`.
    public private(set) var elements: [Element]

    public init(count: Int, repeating value: Element) {
        precondition(count >= 0)
        self.count = count
        elements = [Element](repeating: value, count: count * count)
    }

    /// The matrix whose row i is `rows[i]`. Precondition: every row has `rows.count` elements.
    public init(rows: [[Element]]) {
        for row in rows { precondition(row.count == rows.count, "SquareMatrix: the rows must make a square") }
        count = rows.count
        elements = rows.flatMap { $0 }
    }

    /// The matrix of `count × count` elements given row-major. Precondition: the count matches.
    public init(count: Int, elements: [Element]) {
        precondition(elements.count == count * count, "SquareMatrix: \(elements.count) elements for \(count) × \(count)")
        self.count = count
        self.elements = elements
    }

    public subscript(row: Int, column: Int) -> Element {
        get { elements[row * count + column] }
        set { elements[row * count + column] = newValue }
    }

    /// Row i.
    public func row(_ i: Int) -> ArraySlice<Element> { elements[(i * count)..<(i * count + count)] }

    /// The matrix of the rows and columns `indices`, in that order.
    public func submatrix(_ indices: [Int]) -> SquareMatrix {
        SquareMatrix(count: indices.count, elements: indices.flatMap { i in indices.map { self[i, $0] } })
    }
}

extension SquareMatrix: Equatable where Element: Equatable {}
