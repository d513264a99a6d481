import Foundation
import FoundationXML
import XCTest
@testable import ModelTree

/// The SVG and HTML outputs: well-formed XML by an independent parser (libxml2, through
/// FoundationXML), hostile ids escaped and still recoverable, nothing external, the legend and the
/// styles matching the drawing, and the HTML's data carrying the exact ids.
final class PictureTests: XCTestCase {
    /// Elements, attributes and text of an XML document, as libxml2 reads it.
    final class Collector: NSObject, XMLParserDelegate {
        var elements: [(name: String, attributes: [String: String])] = []
        var titles: [String] = []
        var texts: [String] = []
        private var stack: [String] = []
        private var text = ""
        func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?, attributes: [String: String] = [:]) {
            elements.append((name, attributes))
            stack.append(name)
            text = ""
        }
        func parser(_ parser: XMLParser, foundCharacters string: String) { text += string }
        func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
            if name == "title" { titles.append(text) } else if name == "text" { texts.append(text) }
            stack.removeLast()
            text = ""
        }
    }

    func parse(_ xml: String, file: StaticString = #filePath, line: UInt = #line) -> Collector? {
        let parser = XMLParser(data: Data(xml.utf8))
        let collector = Collector()
        parser.delegate = collector
        guard parser.parse() else {
            XCTFail("not well-formed XML: \(String(describing: parser.parserError)) at line \(parser.lineNumber)", file: file, line: line)
            return nil
        }
        return collector
    }

    /// Undoes the visible escapes (`\n`, `\r`, `\t`, `\u{…}`) of a text without backslashes of its own.
    func unescape(_ s: String) -> String {
        var out = "", chars = Array(s.unicodeScalars), i = 0
        while i < chars.count {
            if chars[i] == "\\" && i + 1 < chars.count {
                switch chars[i + 1] {
                case "n": out += "\n"; i += 2; continue
                case "r": out += "\r"; i += 2; continue
                case "t": out += "\t"; i += 2; continue
                case "u" where i + 2 < chars.count && chars[i + 2] == "{":
                    var j = i + 3, hex = ""
                    while j < chars.count && chars[j] != "}" { hex.unicodeScalars.append(chars[j]); j += 1 }
                    if let v = UInt32(hex, radix: 16), let scalar = Unicode.Scalar(v) { out.unicodeScalars.append(scalar); i = j + 1; continue }
                default: break
                }
            }
            out.unicodeScalars.append(chars[i])
            i += 1
        }
        return out
    }

    func testSVGOfEverySampleIsWellFormedAndSelfContained() throws {
        let samples: [Drawing] = [SampleDrawings.supplyChain(), SampleDrawings.hostile(), SampleDrawings.random(models: 120, families: 3, merges: 4, duplicates: 2, seed: 4), Drawing()]
        for d in samples {
            let svg = try d.svg()
            guard let doc = parse(svg) else { continue }
            XCTAssertEqual(doc.elements.first?.name, "svg")
            XCTAssertEqual(doc.elements.first?.attributes["xmlns"], "http://www.w3.org/2000/svg")
            let names = Set(doc.elements.map(\.name))
            XCTAssert(names.isDisjoint(with: ["script", "image", "foreignObject", "a", "use", "style", "link"]), "\(names)")
            for e in doc.elements {
                for (key, value) in e.attributes {
                    XCTAssertFalse(key.hasSuffix("href") || key.hasPrefix("on"), "attribute \(key)")
                    // url(...) only to the document's own markers.
                    if value.contains("url(") { XCTAssert(value.hasPrefix("url(#"), value) }
                }
            }
        }
    }

    /// Every hostile id comes out in the SVG as its visible form: in a node's `<title>`, exactly
    /// recoverable, with no raw control, bidi or invisible character anywhere in the document.
    func testHostileIDsAreEscapedAndRecoverable() throws {
        let d = SampleDrawings.hostile()
        let svg = try d.svg()
        guard let doc = parse(svg) else { return }
        let recovered = Set(doc.titles.map(unescape))
        for id in SampleDrawings.hostileIDs { XCTAssert(recovered.contains(id), "\(id.debugDescription) not in a title") }
        for scalar in svg.unicodeScalars {
            let category = scalar.properties.generalCategory
            XCTAssert(scalar == "\n" || category != .control, "raw control U+\(String(scalar.value, radix: 16))")
            XCTAssertNotEqual(category, .format, "raw format character U+\(String(scalar.value, radix: 16))")
            XCTAssertFalse(scalar.properties.isNoncharacterCodePoint)
        }
        // Markup-looking ids are text, never elements.
        XCTAssertEqual(doc.elements.filter { $0.name == "script" || $0.name == "html" }.count, 0)
        XCTAssert(doc.texts.contains { $0.contains("<script>alert(1)</script>") })
        XCTAssert(doc.titles.contains("]]><!-- -->"))
        // Right-to-left ids keep their letters; the override is shown, not obeyed.
        XCTAssert(doc.titles.contains("עברית-מודל"))
        XCTAssert(doc.titles.contains("rtl-\\u{202e}gnp.exe"))
    }

    /// Styles follow the drawing: one arrow marker per relation type, dashed exactly the unsure
    /// edges, a legend entry per type present, roots heavy and latent parents dashed.
    func testEdgesAndBoxesAreStyledByTheirKind() throws {
        let d = SampleDrawings.supplyChain()
        guard let doc = parse(try d.svg()) else { return }
        let paths = doc.elements.filter { $0.name == "path" && $0.attributes["marker-end"] != nil }
        XCTAssertEqual(paths.count, d.edges.count)
        XCTAssertEqual(paths.filter { $0.attributes["stroke-dasharray"] != nil }.count, d.edges.filter(\.unsure).count)
        for (e, path) in zip(d.edges, paths) {   // routes come in the drawing's edge order here (no collapse)
            XCTAssertEqual(path.attributes["stroke"], PictureStyle.colour(e.type))
            XCTAssert(path.attributes["marker-end"]!.hasSuffix("-\(e.type.rawValue))"))
        }
        XCTAssertEqual(Set(Drawing.EdgeType.allCases.map(PictureStyle.colour)).count, Drawing.EdgeType.allCases.count, "two types share a colour")
        let legend = doc.texts
        for type in Set(d.edges.map(\.type)) { XCTAssert(legend.contains(PictureStyle.name(type)), PictureStyle.name(type)) }
        XCTAssert(legend.contains("unsure (dashed)"))
        XCTAssert(legend.contains { $0.hasPrefix("latent parent") })
        XCTAssert(legend.contains("identical copies"))
        let groups = doc.elements.filter { $0.name == "g" && ($0.attributes["class"] ?? "").hasPrefix("mt-node") }
        XCTAssertEqual(groups.filter { $0.attributes["class"] == "mt-node mt-latent" }.count, 1)
        XCTAssertEqual(groups.filter { $0.attributes["class"] == "mt-node mt-root" }.count, 1)
        XCTAssertEqual(groups.filter { $0.attributes["class"] == "mt-node mt-duplicates" }.count, 1)
        // The numbers shown are the drawing's: each edge label and each node line appears as text.
        for e in d.edges { for line in e.lines { XCTAssert(legend.contains(line), line) } }
        XCTAssert(legend.contains { $0.hasPrefix("warning: 2 tensors with NaN") })
        XCTAssert(legend.contains("Score: typed F1 0.96 · ARI 1.000"))
    }

    /// Two pictures in one page (a notebook) never share marker ids.
    func testMarkerIDsDifferBetweenGraphs() throws {
        func markers(_ svg: String) -> Set<String> {
            Set(parse(svg)!.elements.filter { $0.name == "marker" }.compactMap { $0.attributes["id"] })
        }
        XCTAssert(markers(try SampleDrawings.supplyChain().svg()).isDisjoint(with: markers(try SampleDrawings.hostile().svg())))
    }

    /// The page: two script elements only (the data and the code), a policy that allows no request,
    /// no external URL, and data that gives back every exact id, control characters included.
    func testHTMLCarriesExactIDsAndFetchesNothing() throws {
        let d = SampleDrawings.hostile()
        let html = try d.html()
        XCTAssertEqual(html.components(separatedBy: "<script").count - 1, 2)
        XCTAssertEqual(html.components(separatedBy: "</script>").count - 1, 2)
        XCTAssert(html.contains("content=\"default-src 'none';"))
        for needle in ["http://", "https://", "//cdn", "@import", "src=", "href="] {
            let hits = html.components(separatedBy: needle).count - 1
            // The SVG namespace is the only URL, and it is a name, not a fetch.
            XCTAssertEqual(hits, needle == "http://" ? 1 : 0, needle)
        }
        XCTAssertFalse(html.contains("innerHTML"))
        let start = html.range(of: "<script type=\"application/json\" id=\"mt-data\">")!.upperBound
        let end = html.range(of: "</script>", range: start..<html.endIndex)!.lowerBound
        let json = try JSONSerialization.jsonObject(with: Data(html[start..<end].utf8)) as! [String: Any]
        let nodes = json["nodes"] as! [[String: Any]]
        XCTAssertEqual(nodes.map { $0["id"] as? String }, d.nodes.map(\.id))
        let evidence = nodes.map { ($0["evidence"] as! [[String]])[0][1] }
        XCTAssertEqual(evidence, SampleDrawings.hostileIDs)
        // The SVG inside the page is the same picture, without the title, score and warnings the page shows.
        XCTAssert(html.contains(SVGPicture(d, try Layout(d), framed: false).render()))
    }

    func testZooPicturesShowEveryModelAndEdge() throws {
        for zoo in ["zoo", "zoo2"] {
            let d = try SampleDrawings.zoo(zoo)
            guard let doc = parse(try d.svg()) else { continue }
            let ids = d.nodes.compactMap(\.id)
            XCTAssertGreaterThan(ids.count, 10)
            XCTAssertEqual(Set(ids), Set(doc.titles).intersection(ids))
            XCTAssertEqual(doc.elements.filter { $0.name == "g" && $0.attributes["data-edge"] != nil && $0.attributes["class"] == "mt-edge" }.count, d.edges.count)
        }
    }
}
