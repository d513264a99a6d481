import XCTest
@testable import ModelTree

final class ScoringTests: XCTestCase {
    /// Two true trees: A → B → C, A → D (root A, 3 edges) and E → F (root E, 1 edge), plus G, a
    /// root on its own listed in `roots`.
    let truth = Truth(edges: [("A", "B"), ("B", "C"), ("A", "D"), ("E", "F")], roots: ["G"])
    let ids = ["A", "B", "C", "D", "E", "F", "G"]

    func index(_ id: String) -> Int { ids.firstIndex(of: id)! }

    func parents(_ edges: [(String, String)]) -> [Int] {
        var parent = [Int](repeating: -1, count: ids.count)
        for (p, c) in edges { parent[index(c)] = index(p) }
        return parent
    }

    func testPerfectRecovery() throws {
        let score = try Scoring.score(ids: ids, parent: parents([("A", "B"), ("B", "C"), ("A", "D"), ("E", "F")]), truth: truth)
        XCTAssertEqual(score.correct, 4)
        XCTAssertEqual(score.total, 4)
        XCTAssertEqual(score.accuracy, 1)
        XCTAssertEqual(score.adjustedRandIndex, 1)
        XCTAssertEqual(score.trees.map(\.root), ["A", "E", "G"])
        XCTAssertEqual(score.trees.map(\.correct), [3, 1, 0])
        XCTAssertEqual(score.trees.map(\.total), [3, 1, 0])
        XCTAssertEqual(score.trees[2].accuracy, 1)  // no edges: nothing to get wrong
    }

    func testWrongDirectionCountsWrong() throws {
        // B → A instead of A → B (B the root); C and D attached right; F → E reversed.
        let score = try Scoring.score(ids: ids, parent: parents([("B", "A"), ("B", "C"), ("A", "D"), ("F", "E")]), truth: truth)
        XCTAssertEqual(score.trees.map(\.correct), [2, 0, 0])
        XCTAssertEqual(score.trees.map(\.total), [3, 1, 0])
        XCTAssertEqual(score.correct, 2)
        XCTAssertEqual(score.total, 4)
        XCTAssertEqual(score.accuracy, 0.5)
        // Membership is still right: the ARI does not see direction.
        XCTAssertEqual(score.adjustedRandIndex, 1)
    }

    func testMisplacedEdgesAndMembership() throws {
        // C hangs under A (wrong: its parent is B); F hangs under D, merging the two trees.
        let parent = parents([("A", "B"), ("A", "C"), ("A", "D"), ("D", "F")])
        let score = try Scoring.score(ids: ids, parent: parent, truth: truth)
        XCTAssertEqual(score.trees.map(\.correct), [2, 0, 0])
        XCTAssertEqual(score.correct, 2)
        XCTAssertEqual(score.accuracy, 0.5)
        // Recovered {A,B,C,D,F},{E},{G} vs true {A,B,C,D},{E,F},{G}, by hand: same-pairs recovered
        // 10, true 6 + 1 = 7, both 6; 21 pairs: E = 70/21, ARI = (6 − 10/3) / (8.5 − 10/3) = 16/31.
        XCTAssertEqual(score.adjustedRandIndex, 16.0 / 31, accuracy: 1e-12)
    }

    func testModelsAbsentFromTheTruthAreSingletons() throws {
        let truth = Truth(edges: [("A", "B")], roots: [])
        let score = try Scoring.score(ids: ["A", "B", "X", "Y"], parent: [-1, 0, -1, 2], truth: truth)
        XCTAssertEqual(score.trees.map(\.root), ["A"])
        XCTAssertEqual(score.correct, 1)
        // Recovered {A,B},{X,Y} vs true {A,B},{X},{Y}: same-pairs 2 and 1, both 1; 6 pairs;
        // E = 2/6, ARI = (1 − 1/3) / (1.5 − 1/3) = 4/7.
        XCTAssertEqual(score.adjustedRandIndex, 4.0 / 7, accuracy: 1e-12)
    }

    /// A small forest by hand (the case the Python package used to score with its own code).
    func testSmallForestByHand() throws {
        // Recovered: b <- a, c <- b, e <- a; d a root. True: a -> b, a -> c, d -> e.
        let score = try Scoring.score(ids: ["a", "b", "c", "d", "e"], parent: [-1, 0, 1, -1, 0],
                                      truth: Truth(edges: [("a", "b"), ("a", "c"), ("d", "e")], roots: ["a", "d"]))
        XCTAssertEqual(score.trees.map(\.root), ["a", "d"])
        XCTAssertEqual(score.trees.map(\.correct), [1, 0])
        XCTAssertEqual(score.trees.map(\.total), [2, 1])
        XCTAssertEqual(score.correct, 1)
        XCTAssertEqual(score.total, 3)
        // Recovered {a b c e} {d}, true {a b c} {d e}: index 3, rows 6, columns 4, expected 2.4, max 5.
        XCTAssertEqual(score.adjustedRandIndex, (3 - 2.4) / (5 - 2.4), accuracy: 1e-12)
    }

    func testUnknownIdsAreNamed() {
        let truth = Truth(edges: [("A", "Q"), ("P", "B")], roots: ["Z", "Q"])
        XCTAssertThrowsError(try Scoring.score(ids: ["A", "B"], parent: [-1, 0], truth: truth)) { error in
            XCTAssertEqual(error as? ModelTreeError, .invalidArgument(
                "score: the truth names ids that are not among the models: Q, P, Z"))
        }
    }

    func testBadArguments() {
        let truth = Truth(edges: [], roots: [])
        for (ids, parent) in [(["A", "B"], [-1]), (["A", "A"], [-1, -1]), (["A", "B"], [-1, 2]), (["A"], [-2])] {
            XCTAssertThrowsError(try Scoring.score(ids: ids, parent: parent, truth: truth)) { error in
                guard case .invalidArgument = error as? ModelTreeError else { return XCTFail("\(error)") }
            }
        }
        XCTAssertThrowsError(try Scoring.score(ids: ["A", "B"], parent: [-1, 0],
                                               truth: Truth(edges: [("A", "B"), ("B", "A")], roots: [])))
    }

    func testEmpty() throws {
        let score = try Scoring.score(ids: [], parent: [], truth: Truth(edges: [], roots: []))
        XCTAssertEqual(score.total, 0)
        XCTAssertEqual(score.accuracy, 1)
        XCTAssertEqual(score.adjustedRandIndex, 1)
    }

    // MARK: Truth(json:)

    func edges(_ pairs: [[String]]) -> JSONValue { .array(pairs.map { .array($0.map(JSONValue.string)) }) }

    func testTruthFromJSON() throws {
        let json = JSONValue.object([
            (key: "edges", value: edges([["A", "B"], ["B", "C"]])),
            (key: "roots", value: .array([.string("G")])),
        ])
        let truth = try Truth(json: json)
        XCTAssertEqual(truth.edges.map(\.parent), ["A", "B"])
        XCTAssertEqual(truth.edges.map(\.child), ["B", "C"])
        XCTAssertEqual(truth.roots, ["G"])
        // "roots" is optional.
        XCTAssertEqual(try Truth(json: .object([(key: "edges", value: .array([]))])).roots, [])
    }

    func assertFormatError(_ json: JSONValue, contains text: String, line: UInt = #line) {
        XCTAssertThrowsError(try Truth(json: json), line: line) { error in
            guard case .format(let message) = error as? ModelTreeError else {
                return XCTFail("not a format error: \(error)", line: line)
            }
            XCTAssertTrue(message.contains(text), "\(message) does not mention \(text)", line: line)
        }
    }

    func testTruthJSONErrors() {
        assertFormatError(.array([]), contains: "expected an object")
        assertFormatError(.object([]), contains: "missing \"edges\"")
        assertFormatError(.object([(key: "edges", value: .string("A"))]), contains: "\"edges\" must be an array")
        assertFormatError(.object([(key: "edges", value: edges([["A"]]))]), contains: "edges[0]")
        assertFormatError(.object([(key: "edges", value: edges([["A", "B"], ["A", "B", "C"]]))]), contains: "edges[1]")
        assertFormatError(.object([(key: "edges", value: .array([.array([.string("A"), .number(1)])]))]), contains: "edges[0]")
        assertFormatError(.object([(key: "edges", value: .array([])), (key: "roots", value: .string("A"))]),
                          contains: "\"roots\" must be an array")
        assertFormatError(.object([(key: "edges", value: .array([])), (key: "roots", value: .array([.null]))]),
                          contains: "roots[0]")
        assertFormatError(.object([(key: "edges", value: .array([])), (key: "root", value: .array([]))]),
                          contains: "unknown key \"root\"")
        assertFormatError(.object([(key: "edges", value: .array([])), (key: "edges", value: .array([]))]),
                          contains: "duplicate key")
        assertFormatError(.object([(key: "edges", value: edges([["A", "C"], ["B", "C"]]))]), contains: "C has two parents")
        assertFormatError(.object([(key: "edges", value: edges([["A", "C"], ["A", "C"]]))]), contains: "listed twice")
        assertFormatError(.object([(key: "edges", value: edges([["A", "B"], ["B", "C"], ["C", "A"]]))]), contains: "cycle")
        assertFormatError(.object([(key: "edges", value: edges([["A", "A"]]))]), contains: "cycle A -> A")
        assertFormatError(.object([(key: "edges", value: edges([["A", "B"]])), (key: "roots", value: .array([.string("B")]))]),
                          contains: "root B has a parent")
    }

    /// The typed contract's every key read back as written.
    func testTypedTruthFromJSON() throws {
        let truth = try Truth(document: """
            {"edges": [["A", "B"], {"parent": "A", "child": "Q", "type": "quantized"},
                       {"parent": "A", "child": "M", "type": "merge", "coefficient": 0.25},
                       {"parent": "B", "child": "M", "type": "merge", "coefficient": 0.75},
                       {"parent": "A", "child": "S", "type": "layer-subset", "layers": [[0, 0], [1, 2]]}],
             "roots": ["A"], "duplicates": [["B", "B2"]], "latent": [{"children": ["X", "Y"], "parent": "A"}],
             "claims": [{"model": "B", "source": "readme", "claimed": "org/A", "verdict": "agrees"}],
             "unclaimed": ["A"]}
            """)
        XCTAssertEqual(truth.edges.map(\.type), [.finetune, .quantized, .merge, .merge, .layerSubset])
        XCTAssertEqual(truth.edges.map(\.coefficient), [nil, nil, 0.25, 0.75, nil])
        XCTAssertEqual(truth.edges[4].layers, [[0, 0], [1, 2]])
        XCTAssertEqual(truth.duplicates, [["B", "B2"]])
        XCTAssertEqual(truth.latent, [Truth.Latent(children: ["X", "Y"], parent: "A")])
        XCTAssertEqual(truth.claims, [Truth.Claim(model: "B", source: "readme", claimed: "org/A", verdict: .agrees)])
        XCTAssertEqual(truth.unclaimed, ["A"])
    }

    /// Counted by hand. Truth: A→B, A→Q quantized, A→M and B→M merge, B = B2, latent over X, Y:
    /// 4 edges + 2 latent edges + 1 pair = 7 relations. Recovered: A→B2 (stands for B: right),
    /// A→Q finetune (type wrong), B→M finetune (wrong), A→X (wrong: X's parent is latent), X→Y
    /// (wrong), duplicates [B, B2]... not recovered; so 1 right of 5 reported and 7 true.
    func testTypedScoreByHand() throws {
        let ids = ["A", "B", "B2", "Q", "M", "X", "Y"]
        let truth = try Truth(document: """
            {"edges": [["A", "B"], {"parent": "A", "child": "Q", "type": "quantized"},
                       {"parent": "A", "child": "M", "type": "merge"}, {"parent": "B", "child": "M", "type": "merge"}],
             "duplicates": [["B", "B2"]], "latent": [{"children": ["X", "Y"]}]}
            """)
        let edges: [(parent: Int, child: Int, type: EdgeType)] = [(0, 2, .finetune), (0, 3, .finetune), (1, 4, .finetune),
                                                                   (0, 5, .finetune), (5, 6, .finetune), (2, 1, .finetune)]
        let parent = [-1, 2, 0, 0, 1, 0, 5]
        var score = try Scoring.score(ids: ids, parent: parent, truth: truth, edges: edges)
        // B2→B joins two true copies: reported, and right for nothing.
        XCTAssertEqual([score.typedCorrect, score.typedTrue, score.typedReported], [1, 7, 6])
        XCTAssertEqual(score.relations.map(\.type), ["finetune", "quantized", "merge", "duplicate"])
        XCTAssertEqual(score.relations.map(\.correct), [1, 0, 0, 0])
        XCTAssertEqual(score.relations.map(\.total), [3, 1, 2, 1])
        XCTAssertEqual(score.typedF1, 2 * (1.0 / 6) * (1.0 / 7) / (1.0 / 6 + 1.0 / 7), accuracy: 1e-15)
        // The same graph with B and B2 reported as a group and Q typed: the pair and Q count.
        let typed = edges.map { $0.child == 3 ? (parent: 0, child: 3, type: EdgeType.quantized) : $0 }
        score = try Scoring.score(ids: ids, parent: parent, truth: truth, edges: typed, duplicates: [[1, 2]])
        XCTAssertEqual([score.typedCorrect, score.typedTrue, score.typedReported], [3, 7, 6])
        // Old fields: edges right by primary parent (A→B wrong: B's parent is B2; B→M right).
        XCTAssertEqual([score.correct, score.total], [2, 4])
    }
}
