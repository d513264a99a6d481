/// The container a weights file is, told by its first bytes rather than its name: what the
/// safetensors reader names when a file is not safetensors, and what the folder survey
/// (`UnreadEntries`) recognises in a file that lost its extension. One table, so both say the
/// same about the same bytes.
enum FileMagic: Equatable {
    /// `GGUF` (every GGUF version starts so).
    case gguf
    /// A ZIP local-file header `PK\u{3}\u{4}`: the archive `torch.save` writes.
    case zip
    /// A pickle protocol 2–5 opcode `0x80 n`: the legacy `torch.save` format (`.bin`).
    case pickle

    /// Nil when the bytes (at least the first 2; 4 for GGUF and ZIP) start none of these.
    init?(_ head: some Collection<UInt8>) {
        let b = Array(head.prefix(4))
        if b.count == 4 && b.elementsEqual("GGUF".utf8) { self = .gguf; return }
        if b.count == 4 && b == [0x50, 0x4B, 0x03, 0x04] { self = .zip; return }
        if b.count >= 2 && b[0] == 0x80 && (2...5).contains(b[1]) { self = .pickle; return }
        return nil
    }
}
