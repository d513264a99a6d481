import Foundation
import XCTest
@testable import ModelTree

/// The audit: claims read from files, resolved to models, judged against edges. Expected values
/// come from the rules as documented (written here by hand) and from the fixture's truth, whose
/// verdicts its script derives from the constructed graph (Tests/fixtures/audit/make_audit.py).
final class AuditTests: XCTestCase {
    // MARK: Resolution

    let ids = ["base", "ft-a", "Ft-B", "ft-b2", "FT-B", "x.gguf", "renamed"]
    let paths: [String?] = ["/data/models/base", "/zoo/ft-a/", "/zoo/Ft-B", "/zoo/ft-b2", nil, "/zoo/x.gguf", "/zoo/original-name"]

    func resolve(_ claim: String) -> ClaimTarget { Audit.resolve(claim, ids: ids, paths: paths) }

    func testResolutionByPathThenLastComponent() {
        XCTAssertEqual(resolve("/data/models/base"), .model(0))                     // the path itself
        XCTAssertEqual(resolve("/data/models/base/"), .model(0))
        XCTAssertEqual(resolve("org/base"), .model(0))
        XCTAssertEqual(resolve("https://huggingface.co/org/ft-a"), .model(1))
        XCTAssertEqual(resolve("https://huggingface.co/org/ft-a/"), .model(1))
        XCTAssertEqual(resolve("ft-a"), .model(1))
        XCTAssertEqual(resolve("  org/ft-a \n"), .model(1))
        XCTAssertEqual(resolve("/elsewhere/x.gguf"), .model(5))
        XCTAssertEqual(resolve("org/original-name"), .model(6))                    // a path's last component
        XCTAssertEqual(resolve("org/Ft-B"), .model(2))                             // exact before any case folding
        XCTAssertEqual(resolve("org/FT-B"), .model(4))
        XCTAssertEqual(resolve("org/ft-B"), .ambiguous([2, 4]))                    // two ids equal ignoring case
        XCTAssertEqual(resolve("org/FT-A"), .model(1))                             // one: case-insensitive match
        XCTAssertEqual(resolve("org/ORIGINAL-NAME"), .model(6))
        XCTAssertEqual(resolve("org/ft-b"), .ambiguous([2, 4]))
        XCTAssertEqual(resolve("org/ft"), .notInCollection)                        // never a prefix
        XCTAssertEqual(resolve("org/ft-a-copy"), .notInCollection)
        XCTAssertEqual(resolve("meta-llama/Llama-3.2-1B"), .notInCollection)
        XCTAssertEqual(resolve(""), .notInCollection)
        XCTAssertEqual(resolve("/"), .notInCollection)
    }

    // MARK: Verdicts on a hand-made graph

    /// r → a → b → c, r → s, a ⇒ m and s ⇒ m (a merge); d is a copy of a; q (a quantized copy of
    /// b); z on its own.
    func view() -> Audit.View {
        let names = ["r", "a", "b", "c", "s", "m", "d", "q", "z"]
        func link(_ p: Int, _ type: EdgeType = .finetune, _ confidence: Double = 0.9) -> Audit.Link {
            Audit.Link(parent: p, type: type, distance: 0.01, confidence: confidence, unsure: confidence < 0.2)
        }
        var links = [[Audit.Link]](repeating: [], count: names.count)
        links[1] = [link(0)]; links[2] = [link(1, .finetune, 0.1)]; links[3] = [link(2)]; links[4] = [link(0)]
        links[5] = [link(1, .merge), link(4, .merge)]; links[7] = [link(2, .quantized)]
        var group = names.indices.map { [$0] }
        group[1] = [1, 6]; group[6] = [1, 6]
        return Audit.View(ids: names, links: links, group: group, measured: true)
    }

    /// A latent node's id is the library's name for a parent it inferred, not a model: a claim
    /// that happens to spell it is about a model outside the collection.
    func testAClaimNeverResolvesToALatentNode() {
        var v = view()
        v.ids.append("latent-1")
        v.links.append([])
        v.group.append([v.ids.count - 1])
        v.latent = [v.ids.count - 1]
        v.links[3] = [Audit.Link(parent: v.ids.count - 1, type: .finetune, distance: 0.01, confidence: 0.9, unsure: false)]
        var claims = [[OriginClaim]?](repeating: nil, count: v.ids.count)
        claims[3] = [OriginClaim(source: .readme, claimed: "org/latent-1"), OriginClaim(source: .config, claimed: "org/b")]
        let (audit, _) = Audit.entries(claims, paths: v.ids.map { _ in nil }, view: v)
        XCTAssertEqual(audit.map(\.verdict), [.unsupported, .contradicts])
    }

    func judge(_ model: Int, _ claimed: String, relation: String? = nil) -> AuditEntry {
        let v = view()
        let claim = OriginClaim(source: .readme, claimed: claimed, relation: relation)
        return Audit.judge(claim, of: model, target: Audit.resolve(claimed, ids: v.ids, paths: v.ids.map { _ in nil }), v)
    }

    func testVerdicts() {
        let agrees = judge(2, "org/a")
        XCTAssertEqual(agrees.verdict, .agrees)
        XCTAssertEqual(agrees.recovered, 1)
        XCTAssertEqual(agrees.confidence, 0.1)                                     // unsure: still a verdict, weighed
        XCTAssertTrue(agrees.evidence.contains("unsure"), agrees.evidence)

        XCTAssertEqual(judge(2, "org/d").verdict, .agrees)                         // a copy of the parent
        XCTAssertTrue(judge(2, "org/d").evidence.contains("identical copy"))
        XCTAssertEqual(judge(6, "org/r").verdict, .agrees)                         // a copy's parents are its group's
        XCTAssertEqual(judge(5, "org/s").verdict, .agrees)                         // a merge's second parent
        XCTAssertEqual(judge(5, "org/a").verdict, .agrees)
        XCTAssertEqual(judge(5, "org/s").recovered, 4)
        XCTAssertEqual(judge(7, "b", relation: "quantized").verdict, .agrees)

        let grand = judge(7, "org/a")                                              // a quantized copy claiming its grandparent
        XCTAssertEqual(grand.verdict, .contradicts)
        XCTAssertEqual(grand.recovered, 2)
        XCTAssertEqual(grand.confidence, 0.9)
        XCTAssertTrue(grand.evidence.contains("point to b") && grand.evidence.contains("grandparent"), grand.evidence)
        XCTAssertTrue(judge(3, "org/r").evidence.contains("ancestor 3 edges up"))
        XCTAssertTrue(judge(1, "org/b").evidence.contains("is its child"))
        XCTAssertTrue(judge(1, "org/c").evidence.contains("2 edges down"))
        XCTAssertTrue(judge(4, "org/a").evidence.contains("sibling"))
        XCTAssertTrue(judge(4, "org/d").evidence.contains("sibling"))             // the copy of a sibling
        XCTAssertTrue(judge(3, "org/s").evidence.contains("in its family"))
        let merged = judge(5, "org/z")                                             // a merge names both its parents
        XCTAssertEqual(merged.recovered, 1)
        XCTAssertTrue(merged.evidence.contains("point to a and s: merge edge a -> m") && merged.evidence.contains("merge edge s -> m"),
                      merged.evidence)
        XCTAssertTrue(judge(1, "org/d").evidence.contains("identical copy of it"))
        XCTAssertTrue(judge(1, "org/a").evidence.contains("the model itself"))
        let root = judge(0, "org/z")
        XCTAssertEqual(root.verdict, .contradicts)
        XCTAssertNil(root.recovered)
        XCTAssertTrue(root.confidence.isNaN)
        XCTAssertTrue(root.evidence.contains("a root") && root.evidence.contains("another family"), root.evidence)

        let outside = judge(2, "meta/llama")
        XCTAssertEqual(outside.verdict, .unsupported)
        XCTAssertEqual(outside.recovered, 1)                                       // what the weights say instead
        XCTAssertTrue(outside.evidence.contains("not in the collection"))
    }

    // MARK: Reading claims from files

    func testClaimsOfFixtureModels() {
        let zoo = Fixtures.path("audit/zoo")
        XCTAssertEqual(Claims.read(path: zoo + "/ft-a").claims, [
            OriginClaim(source: .readme, claimed: "org/base", relation: "finetune"),
            OriginClaim(source: .config, claimed: "/data/models/base")])
        XCTAssertEqual(Claims.read(path: zoo + "/ft-c").claims, [
            OriginClaim(source: .readme, claimed: "https://huggingface.co/org/ft-a-copy"),
            OriginClaim(source: .adapterConfig, claimed: "base")])
        // A weights file that is its folder's own model speaks with the folder's cards.
        XCTAssertEqual(Claims.read(path: zoo + "/ft-a/model.safetensors").claims, Claims.read(path: zoo + "/ft-a").claims)
        // The GGUF metadata, read from the file; the collection folder's README is nobody's claim.
        let gguf = Claims.read(path: zoo + "/ft-b-F16.gguf")
        XCTAssertEqual(gguf.claims, [OriginClaim(source: .gguf, claimed: "https://huggingface.co/org/base")])
        XCTAssertEqual(gguf.problems, [])
        XCTAssertEqual(Claims.read(path: zoo + "/base").claims, [])
    }

    func testLooseFilesOfACollectionDoNotTakeItsCard() throws {
        let dir = try temporaryFolder()
        try write("---\nbase_model: org/base\n---\n", to: dir + "/README.md")
        try write("{\"_name_or_path\": \"org/base\"}", to: dir + "/config.json")
        for name in ["a.safetensors", "b.safetensors"] { try write("", to: dir + "/" + name) }
        XCTAssertEqual(Claims.read(path: dir + "/a.safetensors").claims, [])
        // One loose file makes the folder that model's own: its card is the model's.
        try FileManager.default.removeItem(atPath: dir + "/b.safetensors")
        XCTAssertEqual(Claims.read(path: dir + "/a.safetensors").claims.map(\.source), [.readme, .config])
    }

    func testUnreadableCardFilesAreNotesNotErrors() throws {
        let dir = try temporaryFolder()
        try write("{\"_name_or_path\": ", to: dir + "/config.json")
        try write("{\"base_model_name_or_path\": 7}", to: dir + "/adapter_config.json")
        try write("---\nbase_model: [a,\n", to: dir + "/README.md")
        let read = Claims.read(path: dir)
        XCTAssertEqual(read.claims, [])
        XCTAssertEqual(read.problems.count, 3)
        XCTAssertTrue(read.problems.allSatisfy { $0.hasPrefix(dir + "/") }, "\(read.problems)")
        // A GGUF count far beyond its keys costs nothing and claims what is there.
        let gguf = Fixtures.path("audit/zoo/ft-a-F16.gguf")
        let huge = Claims.read(path: gguf, ggufMetadata: [("general.base_model.count", "\(Int.max)"), ("general.base_model.0.name", "a")])
        XCTAssertEqual(huge.claims, [OriginClaim(source: .gguf, claimed: "a")])
        XCTAssertEqual(Claims.read(path: gguf, ggufMetadata: [("general.base_model.count", "-1")]).problems.count, 1)
        XCTAssertEqual(Claims.read(path: dir + "/missing").problems.count, 1)
    }

    // MARK: The fixture, end to end

    /// The truth's claims as Foundation reads them: (model, source, claimed) → verdict.
    func fixtureTruth() throws -> (claims: [String: String], unclaimed: [String]) {
        let truth = try XCTUnwrap(try Fixtures.json("audit/truth.json") as? [String: Any])
        var claims: [String: String] = [:]
        for case let c as [String: String] in try XCTUnwrap(truth["claims"] as? [Any]) {
            claims[c["model"]! + "|" + c["source"]! + "|" + c["claimed"]!] = c["verdict"]!
        }
        return (claims, try XCTUnwrap(truth["unclaimed"] as? [String]))
    }

    func testFixtureAuditMatchesItsTruth() throws {
        let locations = try ModelLoader.expand([Fixtures.path("audit/zoo")])
        let graph = try recover(try locations.map(ModelLoader.load))
        let truth = try Truth(contentsOf: Fixtures.path("audit/truth.json"))
        let score = try graph.score(against: truth)
        // The verdicts read the recovered edges: those must be right first.
        XCTAssertEqual(score.typedCorrect, score.typedTrue, "the fixture's edges were not recovered; the audit cannot be judged")
        let (expected, unclaimed) = try fixtureTruth()
        var got: [String: String] = [:]
        for e in graph.audit { got[graph.ids[e.model] + "|" + e.source.rawValue + "|" + e.claimed] = e.verdict.rawValue }
        XCTAssertEqual(got, expected)
        XCTAssertEqual(graph.unclaimed.map { graph.ids[$0] }, unclaimed)
        XCTAssertEqual(score.audit?.correct, expected.count)
        XCTAssertEqual(score.audit?.total, expected.count)
        XCTAssertEqual(score.audit?.unclaimedCorrect, unclaimed.count)
        XCTAssertFalse(graph.warnings.contains { $0.contains("README") }, "\(graph.warnings)")

        // Given the truth's edges instead of recovered ones: the same verdicts, without weights.
        let (audit, unclaimedAgainst, notes) = try Audit.against(truth, locations: locations)
        XCTAssertEqual(AuditScore.score(audit, unclaimed: unclaimedAgainst, ids: locations.map(\.id), truth: truth)?.correct, expected.count)
        XCTAssertEqual(notes, [])
    }

    /// Against a truth whose edges say otherwise the verdicts follow the edges: claims are judged,
    /// never trusted.
    func testVerdictsFollowTheEdges() throws {
        let locations = try ModelLoader.expand([Fixtures.path("audit/zoo")])
        let other = Truth(edges: [Truth.Edge(parent: "ft-a", child: "ft-b")], roots: [])
        let (audit, _, _) = try Audit.against(other, locations: locations)
        let ids = locations.map(\.id)
        func verdict(_ model: String, _ source: ClaimSource) -> AuditEntry.Verdict? {
            audit.first { ids[$0.model] == model && $0.source == source }?.verdict
        }
        XCTAssertEqual(verdict("ft-b", .readme), .agrees)          // claims ft-a: now its parent
        XCTAssertEqual(verdict("ft-a", .readme), .contradicts)     // claims base: now a root
        XCTAssertEqual(verdict("ft-b", .config), .unsupported)
        XCTAssertThrowsError(try Audit.against(Truth(edges: [Truth.Edge(parent: "nobody", child: "ft-b")], roots: []), locations: locations))
    }

    // MARK: Scoring

    func testAuditScoreCountsMatchesMissesAndExtras() {
        let ids = ["a", "b", "c"]
        let truth = Truth(edges: [], roots: [], claims: [
            .init(model: "b", source: "readme", claimed: "org/a", verdict: .agrees),
            .init(model: "b", source: "config", claimed: "org/a", verdict: .agrees),
            .init(model: "c", source: "readme", claimed: "x", verdict: .unsupported),
            .init(model: "c", source: "readme", claimed: "x", verdict: .unsupported),
        ], unclaimed: ["a"])
        func entry(_ m: Int, _ s: ClaimSource, _ c: String, _ v: AuditEntry.Verdict) -> AuditEntry {
            AuditEntry(model: m, source: s, claimed: c, relation: nil, verdict: v, recovered: nil, evidence: "", confidence: .nan)
        }
        let score = AuditScore.score([entry(1, .readme, "org/a", .agrees), entry(1, .config, "org/a", .contradicts),
                                      entry(2, .readme, "x", .unsupported), entry(2, .gguf, "x", .unsupported)],
                                     unclaimed: [0, 1], ids: ids, truth: truth)!
        XCTAssertEqual(score.correct, 2)            // b readme; one of c's two identical claims
        XCTAssertEqual(score.total, 4)
        XCTAssertEqual(score.missing, 1)            // c's second readme claim
        XCTAssertEqual(score.extra, 1)              // c's gguf claim
        XCTAssertEqual(score.accuracy, 0.5)
        XCTAssertEqual(score.verdicts.map(\.verdict), [.agrees, .unsupported])
        XCTAssertEqual(score.verdicts.map(\.correct), [1, 1])
        XCTAssertEqual(score.verdicts.map(\.total), [2, 2])
        XCTAssertEqual([score.unclaimedCorrect, score.unclaimedTotal, score.unclaimedExtra], [1, 1, 1])
        XCTAssertEqual(score.mistakes.map(\.reported), [.contradicts, nil])
        XCTAssertNil(AuditScore.score([], unclaimed: [], ids: ids, truth: Truth(edges: [], roots: [])))
    }

    // MARK: Helpers

    func temporaryFolder() throws -> String {
        let dir = NSTemporaryDirectory() + "audit-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: dir) }
        return dir
    }

    func write(_ text: String, to path: String) throws {
        try text.write(toFile: path, atomically: true, encoding: .utf8)
    }
}
