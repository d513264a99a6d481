/// Number and string formatting for the outputs, without Foundation.
package enum Formatting {
    /// `x` with `digits` significant digits: fixed notation for 1e-4 ≤ |x| < 1e6, else scientific.
    static func significant(_ x: Double, _ digits: Int = 4) -> String {
        guard x.isFinite else { return x.isNaN ? "nan" : (x > 0 ? "inf" : "-inf") }
        if x == 0 { return "0" }
        var exponent = Int((Swift.abs(x).log10Floor))
        if exponent < -4 || exponent >= 6 {
            var mantissa = x / pow10(exponent)
            var text = fixed(mantissa, digits - 1)
            if text.hasPrefix("10") || text.hasPrefix("-10") {   // rounding carried into a new digit
                exponent += 1
                mantissa = x / pow10(exponent)
                text = fixed(mantissa, digits - 1)
            }
            return text + "e" + (exponent < 0 ? "-" : "+") + String(Swift.abs(exponent))
        }
        return fixed(x, Swift.max(0, digits - 1 - exponent))
    }

    /// `x` rounded to `decimals` places after the point.
    static func fixed(_ x: Double, _ decimals: Int) -> String {
        let scaled = (Swift.abs(x) * pow10(decimals)).rounded()
        guard scaled < 9e18 else { return String(x) }
        var digits = String(UInt64(scaled))
        if decimals > 0 {
            if digits.count <= decimals { digits = String(repeating: "0", count: decimals - digits.count + 1) + digits }
            digits.insert(".", at: digits.index(digits.endIndex, offsetBy: -decimals))
        }
        return (x < 0 && scaled != 0 ? "-" : "") + digits
    }

    static func pow10(_ e: Int) -> Double {
        var r = 1.0
        for _ in 0..<Swift.abs(e) { r *= 10 }
        return e < 0 ? 1 / r : r
    }

    /// A JSON number: the shortest text that reads back as the same Double; null when not finite.
    static func jsonNumber(_ x: Double) -> String {
        guard x.isFinite else { return "null" }
        if x == x.rounded() && Swift.abs(x) < 1e15 { return String(Int64(x)) }
        return String(x)
    }

    /// A JSON string literal (RFC 8259 escapes).
    package static func jsonString(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where u.value < 0x20:
                let hex = String(u.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(u)
            }
        }
        return out + "\""
    }
}

private extension Double {
    /// ⌊log10(self)⌋ for a positive finite value, exact at powers of ten.
    var log10Floor: Int {
        var e = 0
        var v = self
        while v >= 10 { v /= 10; e += 1 }
        while v < 1 { v *= 10; e -= 1 }
        return e
    }
}
