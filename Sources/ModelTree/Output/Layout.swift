/// Where everything of a `Drawing` goes: boxes, edge routes with their labels, family bands.
///
/// A layered drawing (Sugiyama, Tagawa and Toda 1981) of the drawing's DAG:
/// 1. **Boxes.** One box per node; a group of identical copies shares one box. Past
///    `LayoutOptions.maxBoxes`, the deepest closed subtrees are collapsed into "+N models" boxes
///    (merges and latent parents stay in sight), then trailing families into one, and
///    `notes` says so.
/// 2. **Layers.** Cycles, which a graph value never has, are broken by reversing DFS back edges;
///    then each box goes one layer below its lowest parent (longest path from the roots), so a
///    merge sits below all of its parents. Edges spanning several layers get one dummy vertex per
///    layer crossed, so that they are routed around boxes. More than `LayoutOptions.fanOut`
///    leaves under one parent (a base with many fine-tunes) form one grid vertex, a block of
///    rows entered by a trunk and a bus per row, instead of one endless row.
/// 3. **Order.** Within each layer and family, a depth-first order (planar for a forest), then a
///    fixed number of barycenter sweeps down and up; the order with the fewest crossings wins.
/// 4. **Coordinates.** Per family, alternate sweeps place every layer where its vertices'
///    neighbours want them (the mean x of the parents going down, of the children going up,
///    the last sweep going up so that parents sit centred over their children): the placement
///    closest in least squares to those wishes that keeps the order and the gaps is solved exactly
///    by pool-adjacent-violators. Box widths come from their text (`TextMetrics`).
/// 5. **Families** are laid out side by side in bands; groups of families joined by an edge stay
///    together, and groups wrap into rows so the picture stays near a 16:10 shape.
/// Every edge enters its child through a vertical run above the child's top, where its label
/// sits; a child with several parents has one slot of its top per incoming edge, so labels never
/// overlap boxes or each other, and curves run only between layers, where no box is.
///
/// Complexity: O(S · (V + E + D) log(V + D)) time for V nodes, E edges, D dummy vertices (the
/// sum over edges of the layers they span, minus one each) and S = 2 · `sweeps`; O(V + E + D)
/// memory. Deterministic: the same drawing gives the same coordinates, bit for bit. Measured
/// (release build, this project's 2-core machine, `RenderBenchmark`): 200 models lay out in
/// about 2 ms and render to SVG or HTML in about 20–30 ms.
public struct Layout: Sendable {
    public struct Point: Sendable, Equatable {
        public var x: Double
        public var y: Double
    }

    /// An axis-aligned rectangle; (x, y) is its top-left corner.
    public struct Rect: Sendable, Equatable {
        public var x: Double
        public var y: Double
        public var width: Double
        public var height: Double
        public var maxX: Double { x + width }
        public var maxY: Double { y + height }
        public var midX: Double { x + width / 2 }
    }

    public enum BoxKind: String, Sendable {
        case model, root, latent
        /// A group of identical copies (`Drawing.duplicates`).
        case duplicates
        /// Models hidden to keep the picture legible (`Box.hidden`).
        case collapsed
    }

    /// One line of text in a box, already made visible and shortened to fit.
    public struct Line: Sendable, Equatable {
        public enum Style: String, Sendable { case title, member, detail, note }
        public var text: String
        public var style: Style
        /// The node a line stands for (a member of a duplicate group), nil for the box's own lines.
        public var node: Int?
    }

    public struct Box: Sendable {
        /// Nodes shown in the box: one, or the members of a duplicate group.
        public var nodes: [Int]
        /// Nodes a collapsed box stands for.
        public var hidden: [Int]
        public var kind: BoxKind
        public var family: Int
        public var layer: Int
        public var rect: Rect
        public var lines: [Line]
    }

    public struct Route: Sendable {
        /// Index into `Drawing.edges`; nil for the link from a box to its collapsed subtree.
        public var edge: Int?
        /// Boxes the edge leaves and enters.
        public var from: Int
        public var to: Int
        /// The polyline from the parent's bottom to the child's top: down to the bottom of the
        /// parent's layer, then, per layer crossed, to the top of its label run and down through
        /// it; into a grid, down its trunk and along a row's bus. A segment that is horizontal or
        /// vertical is drawn straight; one that moves both ways runs between layers and is drawn
        /// as a curve leaving and arriving vertically.
        public var points: [Point]
        /// How many of the first points run along lines shared with other routes (`bundles`):
        /// the renderer draws them once, and each route from its last shared point on.
        public var bundled: Int
        /// Where the label sits (nil when the edge has none), and its lines, made visible.
        public var label: Rect?
        public var labelLines: [String]
        /// The edge was reversed to break a cycle: it points up.
        public var reversed: Bool
    }

    public struct Band: Sendable {
        /// Index into `Drawing.families`; nil for the band of models beyond the limit.
        public var family: Int?
        /// Everything of the family, title included.
        public var rect: Rect
        public var title: String
        public var titleRect: Rect
    }

    public var boxes: [Box]
    public var routes: [Route]
    /// Lines shared by the routes into a grid of leaves (its trunk and row buses), drawn once.
    public var bundles: [[Point]]
    public var bands: [Band]
    /// The box each node is drawn in or hidden behind.
    public var boxOfNode: [Int]
    /// Models hidden behind collapsed boxes.
    public var collapsedModels: Int
    public var width: Double
    public var height: Double
    /// What the picture must say about itself (collapsed subtrees, broken cycles).
    public var notes: [String]

    /// Lays out `drawing`. Throws `invalidArgument` when the drawing is not valid
    /// (`Drawing.validate`). See the type's documentation for the algorithm and its complexity.
    public init(_ drawing: Drawing, options: LayoutOptions = LayoutOptions()) throws {
        try drawing.validate()
        self.init(valid: drawing, options: options)
    }

    /// Lays out a drawing known to be valid (one made from a graph value, whose indices the
    /// graph checked): `Drawing.validate` would not throw.
    init(valid drawing: Drawing, options: LayoutOptions) {
        var builder = LayeredLayout(drawing, options)
        self = builder.run()
    }

    init(boxes: [Box], routes: [Route], bundles: [[Point]], bands: [Band], boxOfNode: [Int], collapsedModels: Int, width: Double,
         height: Double, notes: [String]) {
        self.boxes = boxes; self.routes = routes; self.bundles = bundles; self.bands = bands; self.boxOfNode = boxOfNode
        self.collapsedModels = collapsedModels; self.width = width; self.height = height; self.notes = notes
    }
}

public struct LayoutOptions: Sendable {
    /// At most this many boxes are drawn; past it, the deepest subtrees are collapsed into
    /// "+N models" boxes, then trailing families into one box, and the picture says so.
    public var maxBoxes: Int = 250
    /// Width to wrap families into rows at; 0 picks one that keeps the picture near 16:10.
    public var rowWidth: Double = 0
    /// Barycenter sweeps of the crossing reduction and rounds of coordinate sweeps.
    public var sweeps: Int = 8
    /// More leaves than this under one parent are set in a grid of rows under it (a trunk, a bus
    /// per row) instead of one row; 0 never wraps.
    public var fanOut: Int = 8

    public init() {}
}

/// Sizes in pixels shared by the layout and the renderers.
enum LayoutMetrics {
    static let titleSize = 12.5, textSize = 11.0, labelSize = 10.0
    static let lineHeight = 15.0, labelLineHeight = 12.0
    static let padX = 10.0, padY = 7.0, labelPad = 3.0
    static let minBoxWidth = 64.0, maxTextWidth = 240.0
    static let boxGap = 20.0, dummyWidth = 8.0, dummyGap = 10.0
    static let curve = 34.0
    /// Room between a label and its child's top, where the arrowhead goes.
    static let arrow = 11.0
    static let familyGap = 44.0, rowGap = 36.0
    static let bandTitleHeight = 24.0, bandTitleSize = 12.0, bandPad = 10.0
}
