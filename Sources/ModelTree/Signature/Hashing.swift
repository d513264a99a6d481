/// The hash functions of signatures. Every one is pure 64-bit integer arithmetic on little-endian
/// bytes, so that a signature computed on one machine compares with one computed on another.
///
/// None is cryptographic: content hashes find duplicates among honest uploads, checksums find
/// corrupted bytes. A hub that must resist forged collisions confirms a duplicate by its sketches
/// (equal sketches of every tensor), which the index does.
enum Hashing {
    private static let p1: UInt64 = 0x9E37_79B1_85EB_CA87
    private static let p2: UInt64 = 0xC2B2_AE3D_27D4_EB4F
    private static let p3: UInt64 = 0x1656_67B1_9E37_79F9
    private static let p4: UInt64 = 0x85EB_CA77_C2B2_AE63
    private static let p5: UInt64 = 0x27D4_EB2F_1656_67C5

    /// XXH64 (Yann Collet's xxHash, 64-bit variant, as its specification defines it) of `count`
    /// bytes at `bytes`: the checksums of a signature's sections, and the content hash of tensors.
    static func xxh64(_ bytes: UnsafeRawPointer, count: Int, seed: UInt64 = 0) -> UInt64 {
        @inline(__always) func read64(_ at: Int) -> UInt64 { UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: at, as: UInt64.self)) }
        @inline(__always) func read32(_ at: Int) -> UInt64 { UInt64(UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: at, as: UInt32.self))) }
        @inline(__always) func round(_ acc: UInt64, _ lane: UInt64) -> UInt64 { rotl(acc &+ lane &* p2, 31) &* p1 }
        @inline(__always) func merge(_ acc: UInt64, _ v: UInt64) -> UInt64 { (acc ^ round(0, v)) &* p1 &+ p4 }
        var at = 0
        var acc: UInt64
        if count >= 32 {
            var v1 = seed &+ p1 &+ p2, v2 = seed &+ p2, v3 = seed, v4 = seed &- p1
            while at + 32 <= count {
                v1 = round(v1, read64(at)); v2 = round(v2, read64(at + 8))
                v3 = round(v3, read64(at + 16)); v4 = round(v4, read64(at + 24))
                at += 32
            }
            acc = rotl(v1, 1) &+ rotl(v2, 7) &+ rotl(v3, 12) &+ rotl(v4, 18)
            acc = merge(merge(merge(merge(acc, v1), v2), v3), v4)
        } else {
            acc = seed &+ p5
        }
        acc &+= UInt64(count)
        while at + 8 <= count {
            acc ^= round(0, read64(at))
            acc = rotl(acc, 27) &* p1 &+ p4
            at += 8
        }
        if at + 4 <= count {
            acc ^= read32(at) &* p1
            acc = rotl(acc, 23) &* p2 &+ p3
            at += 4
        }
        while at < count {
            acc ^= UInt64(bytes.load(fromByteOffset: at, as: UInt8.self)) &* p5
            acc = rotl(acc, 11) &* p1
            at += 1
        }
        acc ^= acc >> 33; acc &*= p2
        acc ^= acc >> 29; acc &*= p3
        acc ^= acc >> 32
        return acc
    }

    /// XXH64 of an array's bytes.
    static func xxh64(_ bytes: [UInt8], seed: UInt64 = 0) -> UInt64 {
        bytes.withUnsafeBytes { xxh64($0.baseAddress ?? UnsafeRawPointer(bitPattern: 8)!, count: $0.count, seed: seed) }
    }

    /// XXH64 of a sequence of 64-bit values taken as little-endian bytes (the tree hash of a
    /// tensor's segments).
    static func xxh64(words: [UInt64], seed: UInt64 = 0) -> UInt64 {
        var bytes = [UInt8]()
        bytes.reserveCapacity(words.count * 8)
        for w in words { withUnsafeBytes(of: w.littleEndian) { bytes += $0 } }
        return xxh64(bytes, seed: seed)
    }

    /// The seed of a tensor's sketches: XXH64 of its name, a zero byte and its dimensions as
    /// little-endian 64-bit values, with `salt` as the seed (one salt per sketch). Two models'
    /// tensors of the same name and shape are sketched alike, on any machine.
    static func tensorSeed(name: String, shape: [Int], salt: UInt64) -> UInt64 {
        var bytes = Array(name.utf8)
        bytes.append(0)
        for d in shape { withUnsafeBytes(of: UInt64(d).littleEndian) { bytes += $0 } }
        return xxh64(bytes, seed: salt)
    }

    /// The SplitMix64 finaliser (Steele, Lea & Flood 2014) of `seed + index · γ`: the hash of one
    /// element index under a seed, from which sketch buckets and signs are drawn.
    @inline(__always)
    static func mix(_ seed: UInt64, _ index: UInt64) -> UInt64 {
        var z = seed &+ index &* 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A bucket in 0..<k from a hash's upper 32 bits (Lemire's multiply-shift reduction).
    @inline(__always)
    static func bucket(_ hash: UInt64, _ k: Int) -> Int { Int(((hash >> 32) &* UInt64(k)) >> 32) }

    @inline(__always)
    private static func rotl(_ x: UInt64, _ r: UInt64) -> UInt64 { (x << r) | (x >> (64 - r)) }
}
