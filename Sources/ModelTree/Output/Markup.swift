/// Untrusted text (model ids come from file names) made safe to show in a picture and to embed in
/// SVG, HTML and inline JSON.
enum Markup {
    /// `text` with every character that would be invisible, would reorder its neighbours, or is
    /// not allowed in XML 1.0 written as an escape, in `singleLine`'s notation: controls (C0, DEL,
    /// C1, line and paragraph separators) via `singleLine`, and format characters (bidi overrides
    /// and isolates, zero-width spaces and joiners, the byte-order mark) and noncharacters
    /// (U+FFFE, U+FFFF, …) as `\u{…}`. A name that embeds U+202E cannot pass for another name.
    static func visible(_ text: String) -> String {
        let line = singleLine(text)
        guard line.unicodeScalars.contains(where: isHidden) else { return line }
        return replacing(line) { isHidden($0) ? "\\u{" + String($0.value, radix: 16) + "}" : nil }
    }

    private static func isHidden(_ scalar: Unicode.Scalar) -> Bool {
        scalar.properties.generalCategory == .format || scalar.properties.isNoncharacterCodePoint
    }

    /// `visible(text)` escaped for XML and HTML text and for attribute values in either quotes.
    static func xml(_ text: String) -> String { attribute(visible(text)) }

    /// Text as an XML or HTML attribute value in either quotes (or as element text): the five
    /// markup characters and the white space that XML would fold into spaces as character
    /// references, so that an HTML or an XML parser gives back exactly `text` (which must hold no
    /// character XML forbids: `visible` text).
    static func attribute(_ markup: String) -> String {
        replacing(markup) {
            switch $0 {
            case "&": return "&amp;"
            case "<": return "&lt;"
            case ">": return "&gt;"
            case "\"": return "&quot;"
            case "'": return "&#39;"
            case "\n": return "&#10;"
            case "\r": return "&#13;"
            case "\t": return "&#9;"
            default: return nil
            }
        }
    }

    /// A JSON string literal that is also safe inside an HTML `<script>` element and valid in an
    /// XML attribute: `<`, `>` and `&` are written as `\u003c`, `\u003e`, `\u0026`, so no
    /// `</script>` or `<!--` can appear, and controls, format characters and noncharacters as
    /// `\u` escapes (UTF-16, as JSON has it), so the page holds no character HTML or XML rejects.
    /// The text is not made `visible`: JSON carries the exact id.
    static func scriptJSON(_ text: String) -> String {
        replacing(Formatting.jsonString(text)) { scalar in
            guard "<>&".unicodeScalars.contains(scalar) || scalar.properties.generalCategory == .control || isHidden(scalar)
                    || scalar.value == 0x2028 || scalar.value == 0x2029 else { return nil }
            return String(scalar).utf16.map { unit in
                let hex = String(unit, radix: 16)
                return "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            }.joined()
        }
    }

    /// `text` with every scalar for which `replacement` has a string replaced by that string.
    private static func replacing(_ text: String, _ replacement: (Unicode.Scalar) -> String?) -> String {
        var out = ""
        for scalar in text.unicodeScalars {
            if let r = replacement(scalar) { out += r } else { out.unicodeScalars.append(scalar) }
        }
        return out
    }
}

/// Widths of text in the pictures' font, estimated without a font engine.
///
/// The pictures ask for "DejaVu Sans, Verdana, sans-serif". ASCII advances are DejaVu Sans's
/// own (`tools/font_widths.py` reads them from the font files); other characters are taken
/// wider than that font's mean (0.63 em, bold 0.70 em): 0.8 em, bold 0.9 em, East Asian wide
/// characters and emoji 1 em, combining marks nothing. Verdana is as wide as DejaVu Sans and
/// most other sans-serif fonts are narrower, so a box sized from these widths holds its text.
enum TextMetrics {
    /// Advances of U+0020…U+007E in 1/1000 em, DejaVu Sans Book.
    private static let regular: [UInt16] = [
        318, 401, 460, 838, 636, 950, 780, 275, 390, 390, 500, 838, 318, 361, 318, 337, 636, 636, 636, 636,
        636, 636, 636, 636, 636, 636, 337, 337, 838, 838, 838, 531, 1000, 684, 686, 698, 770, 632, 575, 775,
        752, 295, 295, 656, 557, 863, 748, 787, 603, 787, 695, 635, 611, 732, 684, 989, 685, 611, 685, 390,
        337, 390, 838, 500, 500, 613, 635, 550, 635, 615, 352, 635, 634, 278, 278, 579, 278, 974, 634, 612,
        635, 635, 411, 521, 392, 634, 592, 818, 592, 592, 525, 636, 337, 636, 838,
    ]
    /// The same for DejaVu Sans Bold.
    private static let bold: [UInt16] = [
        348, 456, 521, 838, 696, 1002, 872, 306, 457, 457, 523, 838, 380, 415, 380, 365, 696, 696, 696, 696,
        696, 696, 696, 696, 696, 696, 400, 400, 838, 838, 838, 580, 1000, 774, 762, 734, 830, 683, 683, 821,
        837, 372, 372, 775, 637, 995, 837, 850, 733, 850, 770, 720, 682, 812, 774, 1103, 771, 724, 725, 457,
        365, 457, 838, 500, 500, 675, 716, 593, 716, 678, 435, 716, 712, 343, 343, 665, 343, 1042, 712, 687,
        716, 716, 493, 595, 478, 712, 652, 924, 645, 652, 582, 712, 365, 712, 838,
    ]

    /// Width in pixels of `text` at `size` pixels. O(length).
    static func width(_ text: String, size: Double, bold isBold: Bool = false) -> Double {
        var thousandths = 0
        for scalar in text.unicodeScalars { thousandths += advance(scalar, bold: isBold) }
        return Double(thousandths) * size / 1000
    }

    private static func advance(_ scalar: Unicode.Scalar, bold isBold: Bool) -> Int {
        let v = scalar.value
        if v >= 0x20 && v < 0x7F { return Int((isBold ? bold : regular)[Int(v) - 0x20]) }
        switch scalar.properties.generalCategory {
        case .nonspacingMark, .enclosingMark: return 0
        default: break
        }
        if isWide(v) { return 1000 }
        return isBold ? 900 : 800
    }

    /// East Asian wide and fullwidth ranges and emoji (a superset of UAX #11's W and F classes
    /// in the blocks that matter; erring wide only makes a box roomier).
    private static func isWide(_ v: UInt32) -> Bool {
        (0x1100...0x115F).contains(v) || (0x2E80...0xA4CF).contains(v) || (0xAC00...0xD7A3).contains(v)
            || (0xF900...0xFAFF).contains(v) || (0xFE30...0xFE4F).contains(v) || (0xFF00...0xFF60).contains(v)
            || (0xFFE0...0xFFE6).contains(v) || (0x1F300...0x1FAFF).contains(v) || v >= 0x20000
    }

    /// `text` shortened in the middle with "…" until it is at most `limit` pixels wide, keeping
    /// whole characters (grapheme clusters) from both ends: the start and the end of a model id
    /// (its family and its variant) are what tell ids apart. O(length).
    static func fit(_ text: String, width limit: Double, size: Double, bold isBold: Bool = false) -> String {
        if width(text, size: size, bold: isBold) <= limit { return text }
        let characters = Array(text)
        let widths = characters.map { width(String($0), size: size, bold: isBold) }
        var budget = limit - width("…", size: size, bold: isBold)
        var head = 0, tail = characters.count
        // Take characters alternately from the front and the back while they fit.
        var front = true
        while head < tail {
            let next = front ? widths[head] : widths[tail - 1]
            if next > budget { break }
            budget -= next
            if front { head += 1 } else { tail -= 1 }
            front.toggle()
        }
        return String(characters[..<head]) + "…" + String(characters[tail...])
    }
}
