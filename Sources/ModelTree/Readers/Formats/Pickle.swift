/// A value built by the restricted pickle machine.
///
/// Mutable containers (lists, dicts, sets) live in the machine's arena and are referred to by
/// index (`.object`), so that a pickle that makes a list contain itself builds an index cycle,
/// not a reference cycle that would leak.
indirect enum PickleValue: Equatable {
    case none
    case bool(Bool)
    case int(Int)
    case float(Double)
    case string(String)
    case bytes([UInt8])
    case tuple([PickleValue])
    /// A list, dict or set of the arena.
    case object(Int)
    /// A global the caller allowed (a callable or a type), by its dotted name.
    case global(String)
    /// What the caller's `persistentLoad` or `call` made (a storage, a tensor): its own index.
    case external(kind: String, index: Int)
}

/// The arena's containers.
enum PickleObject {
    case list([PickleValue])
    /// Keys and values in insertion order; `ordered` for `collections.OrderedDict`;
    /// `attributes` set by BUILD (an OrderedDict's `_metadata`).
    case dict(keys: [PickleValue], values: [PickleValue], ordered: Bool, attributes: [String: PickleValue])
    case set([PickleValue])
}

/// What the restricted machine may do beyond building plain values: the caller's policy.
protocol PickleCallee {
    /// Whether `module.name` may be loaded (GLOBAL, STACK_GLOBAL, INST). The machine refuses
    /// every other global: "refusing to call os.system from data.pkl".
    func allows(_ global: String) -> Bool
    /// The result of calling the allowed global `callee` with `arguments` (REDUCE, NEWOBJ, …).
    mutating func call(_ callee: String, _ arguments: [PickleValue], machine: inout PickleMachine) throws -> PickleValue
    /// The object a persistent id stands for (BINPERSID, PERSID).
    mutating func persistentLoad(_ id: PickleValue, machine: inout PickleMachine) throws -> PickleValue
}

/// An interpreter of the pickle format (protocols 0 to 5, `pickletools`' opcode set) that
/// executes nothing: no global is imported and no function is called unless the caller's policy
/// (`PickleCallee`) allows its name and implements it in Swift. Every opcode that would run code
/// the caller did not allow — GLOBAL/STACK_GLOBAL/INST of another name, REDUCE/NEWOBJ/OBJ on
/// anything but an allowed global, BUILD on anything but a dict, the extension registry
/// (EXT1/2/4), out-of-band buffers — is an error naming it.
///
/// Bounds, so that a hostile pickle cannot exhaust memory or time: the input is read once, in
/// order (every opcode consumes at least one byte; the machine has no loops or recursion of its
/// own); every length is checked against the bytes left before use; integers are at most 64
/// bits; and the values held — those on the stack and in the memo, plus every container made and
/// every value ever put in a container or tuple — are at most `maxLiveValues` (4,000,000, about
/// 150 MB). A state dict takes ≈ 12 per tensor (≈ 330,000 tensors), and a tensor cannot be
/// rebuilt with fewer than 4 (its arguments' tuple), so no pickle rebuilds more than 1,000,000.
struct PickleMachine {
    /// The name of what is being unpickled, for messages (`data.pkl`).
    let source: String
    private(set) var objects: [PickleObject] = []

    private let bytes: [UInt8]
    private var pos = 0
    private var stack: [PickleValue] = []
    private var marks: [Int] = []
    private var memo: [Int: PickleValue] = [:]
    /// Values held by containers and tuples (the stack and memo are counted by their sizes).
    private var containedValues = 0

    static let maxLiveValues = 4_000_000
    /// This machine's cap (tests lower it).
    private let maxLive: Int

    init(_ bytes: [UInt8], source: String, maxLiveValues: Int = PickleMachine.maxLiveValues) {
        self.bytes = bytes
        self.source = source
        self.maxLive = maxLiveValues
    }

    private func fail(_ what: String) -> ModelTreeError {
        .format("\(source): \(what) (at byte \(pos))")
    }

    /// Runs the pickle to its STOP and returns the value it built.
    mutating func run<C: PickleCallee>(_ callee: inout C) throws -> PickleValue {
        while true {
            guard pos < bytes.count else { throw fail("ends without a STOP opcode") }
            let opcodeOffset = pos
            let op = bytes[pos]
            pos += 1
            switch op {
            case 0x80: // PROTO
                let v = try byte()
                guard v <= 5 else { throw fail("unsupported pickle protocol \(v)") }
            case 0x95: // FRAME: an 8-byte length; frames only group opcodes
                let n = try integer(8, signed: false)
                guard n <= bytes.count - pos else { throw fail("a frame of \(n) bytes runs past the end") }
            case 0x2E: // STOP
                guard marks.isEmpty else { throw fail("STOP with an open MARK") }
                guard stack.count == 1 else { throw fail("STOP with \(stack.count) values on the stack, not 1") }
                return stack[0]

            // Marks and stack manipulation.
            case 0x28: marks.append(stack.count)                          // MARK
            case 0x30: _ = try pop()                                      // POP
            case 0x31: _ = try popMark()                                  // POP_MARK
            case 0x32: try push(try top())                                // DUP

            // Constants.
            case 0x4E: try push(.none)                                    // NONE
            case 0x88: try push(.bool(true))                              // NEWTRUE
            case 0x89: try push(.bool(false))                             // NEWFALSE
            case 0x4B: try push(.int(try integer(1, signed: false)))      // BININT1
            case 0x4D: try push(.int(try integer(2, signed: false)))      // BININT2
            case 0x4A: try push(.int(try integer(4, signed: true)))       // BININT
            case 0x8A: try push(.int(try integer(Int(try byte()), signed: true)))              // LONG1
            case 0x8B: try push(.int(try integer(try integer(4, signed: true), signed: true))) // LONG4
            case 0x47:                                                    // BINFLOAT (big-endian)
                var bits: UInt64 = 0
                for b in try take(8) { bits = bits << 8 | UInt64(b) }
                try push(.float(Double(bitPattern: bits)))
            case 0x49: try push(try textInteger(allowBool: true))         // INT
            case 0x4C: try push(try textInteger(allowBool: false))        // LONG
            case 0x46:                                                    // FLOAT
                let text = try line()
                guard let v = Double(text) else { throw fail("FLOAT '\(text)' is not a number") }
                try push(.float(v))

            // Strings and bytes.
            case 0x58: try push(.string(try utf8(try take(try integer(4, signed: false)))))   // BINUNICODE
            case 0x8C: try push(.string(try utf8(try take(Int(try byte())))))                 // SHORT_BINUNICODE
            case 0x8D: try push(.string(try utf8(try take(try integer(8, signed: false)))))   // BINUNICODE8
            case 0x54: try push(.string(try utf8(try take(try integer(4, signed: true)))))    // BINSTRING (py2 str)
            case 0x55: try push(.string(try utf8(try take(Int(try byte())))))                 // SHORT_BINSTRING
            case 0x42: try push(.bytes(Array(try take(try integer(4, signed: false)))))       // BINBYTES
            case 0x43: try push(.bytes(Array(try take(Int(try byte())))))                     // SHORT_BINBYTES
            case 0x8E, 0x96: try push(.bytes(Array(try take(try integer(8, signed: false))))) // BINBYTES8, BYTEARRAY8
            case 0x53: try push(.string(try quotedString(try line())))    // STRING
            case 0x56: try push(.string(try rawUnicodeEscape(try line()))) // UNICODE

            // Containers.
            case 0x29: try push(.tuple([]))                               // EMPTY_TUPLE
            case 0x85, 0x86, 0x87:                                        // TUPLE1, TUPLE2, TUPLE3
                let n = Int(op) - 0x84
                guard stack.count >= n + (marks.last ?? 0) else { throw fail("TUPLE\(n) on a stack of \(stack.count)") }
                let items = Array(stack.suffix(n))
                stack.removeLast(n)
                containedValues += n
                try push(.tuple(items))
            case 0x74:                                                    // TUPLE
                let items = try popMark()
                containedValues += items.count
                try push(.tuple(items))
            case 0x5D: try push(try newObject(.list([])))                 // EMPTY_LIST
            case 0x7D: try push(try newObject(.dict(keys: [], values: [], ordered: false, attributes: [:]))) // EMPTY_DICT
            case 0x8F: try push(try newObject(.set([])))                  // EMPTY_SET
            case 0x6C:                                                    // LIST
                let items = try popMark()
                containedValues += items.count
                try push(try newObject(.list(items)))
            case 0x64:                                                    // DICT
                let items = try popMark()
                let dict = try newObject(.dict(keys: [], values: [], ordered: false, attributes: [:]))
                try setItems(dict, items)
                try push(dict)
            case 0x91:                                                    // FROZENSET
                let items = try popMark()
                containedValues += items.count
                try push(try newObject(.set(items)))
            case 0x61:                                                    // APPEND
                let item = try pop()
                try extend(try top(), [item], set: false)
            case 0x65:                                                    // APPENDS
                let items = try popMark()
                try extend(try top(), items, set: false)
            case 0x73:                                                    // SETITEM
                let value = try pop(), key = try pop()
                try setItems(try top(), [key, value])
            case 0x75:                                                    // SETITEMS
                let items = try popMark()
                try setItems(try top(), items)
            case 0x90:                                                    // ADDITEMS
                let items = try popMark()
                try extend(try top(), items, set: true)

            // The memo.
            case 0x70: memo[try textIndex()] = try top(); try checkLive()                  // PUT
            case 0x71: memo[Int(try byte())] = try top(); try checkLive()                  // BINPUT
            case 0x72: memo[try integer(4, signed: false)] = try top(); try checkLive()    // LONG_BINPUT
            case 0x94: memo[memo.count] = try top(); try checkLive()                       // MEMOIZE
            case 0x67: try push(try recall(try textIndex()))              // GET
            case 0x68: try push(try recall(Int(try byte())))              // BINGET
            case 0x6A: try push(try recall(try integer(4, signed: false))) // LONG_BINGET

            // Globals and calls: only what the policy allows.
            case 0x63:                                                    // GLOBAL "module\nname\n"
                let module = try line(), name = try line()
                try push(try global(module, name, callee))
            case 0x93:                                                    // STACK_GLOBAL
                let name = try pop(), module = try pop()
                guard case .string(let m) = module, case .string(let n) = name else {
                    throw fail("STACK_GLOBAL on values that are not strings")
                }
                try push(try global(m, n, callee))
            case 0x52:                                                    // REDUCE
                let arguments = try pop(), function = try pop()
                guard case .tuple(let args) = arguments else { throw fail("REDUCE with arguments that are not a tuple") }
                try push(try call(function, args, &callee))
            case 0x81:                                                    // NEWOBJ: cls.__new__(cls, *args)
                let arguments = try pop(), cls = try pop()
                guard case .tuple(let args) = arguments else { throw fail("NEWOBJ with arguments that are not a tuple") }
                try push(try call(cls, args, &callee))
            case 0x92:                                                    // NEWOBJ_EX: keyword arguments too
                let kwargs = try pop(), arguments = try pop(), cls = try pop()
                guard case .tuple(let args) = arguments else { throw fail("NEWOBJ_EX with arguments that are not a tuple") }
                guard case .object(let k) = kwargs, case .dict(let keys, _, _, _) = objects[k], keys.isEmpty else {
                    throw fail("NEWOBJ_EX with keyword arguments, which no allowed global takes")
                }
                try push(try call(cls, args, &callee))
            case 0x69:                                                    // INST "module\nname\n": call with the marked items
                let module = try line(), name = try line()
                let cls = try global(module, name, callee)
                let args = try popMark()
                try push(try call(cls, args, &callee))
            case 0x6F:                                                    // OBJ: the first marked item is the class
                var args = try popMark()
                guard !args.isEmpty else { throw fail("OBJ with nothing marked") }
                let cls = args.removeFirst()
                try push(try call(cls, args, &callee))
            case 0x62:                                                    // BUILD: obj.__setstate__(state)
                let state = try pop()
                try build(try top(), state)
            case 0x51:                                                    // BINPERSID
                let id = try pop()
                try push(try callee.persistentLoad(id, machine: &self))
            case 0x50:                                                    // PERSID "id\n"
                try push(try callee.persistentLoad(.string(try line()), machine: &self))
            case 0x82, 0x83, 0x84:                                        // EXT1, EXT2, EXT4
                throw ModelTreeError.format("\(source): refusing the extension registry (EXT\(op == 0x82 ? 1 : op == 0x83 ? 2 : 4) opcode at byte \(opcodeOffset)), which names globals by number")
            case 0x97, 0x98:                                              // NEXT_BUFFER, READONLY_BUFFER
                throw fail("out-of-band buffers (protocol 5) are not supported")
            default:
                throw ModelTreeError.format("\(source): unknown pickle opcode 0x\(String(op, radix: 16)) at byte \(opcodeOffset)")
            }
        }
    }

    // MARK: - The stack, the memo, the arena

    private mutating func push(_ v: PickleValue) throws {
        stack.append(v)
        try checkLive()
    }

    private func checkLive() throws {
        guard stack.count + memo.count + containedValues + objects.count <= maxLive else {
            throw fail("more than \(maxLive) values made (the limit for a pickle)")
        }
    }

    private mutating func pop() throws -> PickleValue {
        guard stack.count > (marks.last ?? 0), let v = stack.popLast() else { throw fail("pop from an empty stack") }
        return v
    }

    private func top() throws -> PickleValue {
        guard stack.count > (marks.last ?? 0), let v = stack.last else { throw fail("empty stack") }
        return v
    }

    /// The items above the innermost MARK, which is removed.
    private mutating func popMark() throws -> [PickleValue] {
        guard let mark = marks.popLast() else { throw fail("no MARK on the stack") }
        let items = Array(stack[mark...])
        stack.removeSubrange(mark...)
        return items
    }

    private func recall(_ index: Int) throws -> PickleValue {
        guard let v = memo[index] else { throw fail("memo entry \(index) is not set") }
        return v
    }

    mutating func newObject(_ object: PickleObject) throws -> PickleValue {
        objects.append(object)
        try checkLive()
        return .object(objects.count - 1)
    }

    /// APPEND(S) to a list, ADDITEMS to a set.
    private mutating func extend(_ target: PickleValue, _ items: [PickleValue], set: Bool) throws {
        guard case .object(let i) = target else { throw fail(set ? "ADDITEMS to something that is not a set" : "APPEND to something that is not a list") }
        var elements: [PickleValue]
        switch (objects[i], set) {
        case (.list(let l), false), (.set(let l), true): elements = l
        default: throw fail(set ? "ADDITEMS to something that is not a set" : "APPEND to something that is not a list")
        }
        objects[i] = .list([])                          // keep the buffer unique while it grows
        elements += items
        objects[i] = set ? .set(elements) : .list(elements)
        containedValues += items.count
        try checkLive()
    }

    /// Appends `items` (key, value, key, value, …) to the dict `target`. Keys must be strings,
    /// integers, bools or None (a state dict's are strings). A key set twice is kept twice (a
    /// pickled dict never has one; the torch reader refuses a state dict that does).
    mutating func setItems(_ target: PickleValue, _ items: [PickleValue]) throws {
        guard items.count % 2 == 0 else { throw fail("SETITEMS with an odd number of items") }
        guard case .object(let i) = target, case .dict(var keys, var values, let ordered, let attributes) = objects[i] else {
            throw fail("SETITEM on something that is not a dict")
        }
        objects[i] = .list([])
        for k in stride(from: 0, to: items.count, by: 2) {
            let key = items[k]
            switch key {
            case .string, .int, .bool, .none: break
            default: throw fail("a dict key of a kind libmodeltree does not read (\(kindName(key)))")
            }
            keys.append(key)
            values.append(items[k + 1])
            containedValues += 2
        }
        objects[i] = .dict(keys: keys, values: values, ordered: ordered, attributes: attributes)
        try checkLive()
    }

    /// BUILD: only a dict's attributes may be set (an OrderedDict's `_metadata`), from a dict of
    /// string keys or a (dict, slots) pair.
    private mutating func build(_ target: PickleValue, _ state: PickleValue) throws {
        guard case .object(let i) = target, case .dict(let keys, let values, let ordered, var attributes) = objects[i] else {
            throw fail("BUILD on \(kindName(target)), which libmodeltree does not rebuild")
        }
        var states = [state]
        if case .tuple(let pair) = state, pair.count == 2 { states = pair }
        for s in states {
            if s == .none { continue }
            guard case .object(let j) = s, case .dict(let names, let stateValues, _, _) = objects[j] else {
                throw fail("BUILD with a state that is not a dict")
            }
            for (name, value) in zip(names, stateValues) {
                guard case .string(let attribute) = name else { throw fail("BUILD with an attribute name that is not a string") }
                attributes[attribute] = value
            }
        }
        objects[i] = .dict(keys: keys, values: values, ordered: ordered, attributes: attributes)
    }

    private func global<C: PickleCallee>(_ module: String, _ name: String, _ callee: C) throws -> PickleValue {
        let dotted = module + "." + name
        guard callee.allows(dotted) else {
            throw ModelTreeError.format("refusing to call \(dotted) from \(source): a checkpoint of weights needs only torch's tensor rebuilders, storages and OrderedDict (at byte \(pos))")
        }
        return .global(dotted)
    }

    private mutating func call<C: PickleCallee>(_ function: PickleValue, _ args: [PickleValue], _ callee: inout C) throws -> PickleValue {
        guard case .global(let name) = function else {
            throw fail("a call of \(kindName(function)), which is not an allowed global")
        }
        return try callee.call(name, args, machine: &self)
    }

    // MARK: - Reading the input

    private mutating func byte() throws -> UInt8 {
        guard pos < bytes.count else { throw fail("ends inside an opcode") }
        pos += 1
        return bytes[pos - 1]
    }

    private mutating func take(_ n: Int) throws -> ArraySlice<UInt8> {
        guard n >= 0, n <= bytes.count - pos else { throw fail("a length of \(n) bytes runs past the end of the pickle") }
        pos += n
        return bytes[pos - n..<pos]
    }

    /// A little-endian integer of `n` bytes (two's complement when `signed`), which must fit 64 bits.
    private mutating func integer(_ n: Int, signed: Bool) throws -> Int {
        let raw = try take(n)
        guard n > 0 else { return 0 }
        // Bytes beyond the eighth must only extend the sign.
        let negative = signed && raw.last! & 0x80 != 0
        let fill: UInt8 = negative ? 0xFF : 0
        if n > 8 {
            guard raw.dropFirst(8).allSatisfy({ $0 == fill }) else { throw fail("an integer wider than 64 bits") }
        }
        var v: UInt64 = 0
        for (k, b) in raw.prefix(8).enumerated() { v |= UInt64(b) << (8 * k) }
        if n < 8 && negative { v |= UInt64.max << (8 * n) }
        let result = Int64(bitPattern: v)
        if n >= 8 && !signed && result < 0 { throw fail("an unsigned integer beyond 2^63") }
        if n > 8 && (result < 0) != negative { throw fail("an integer wider than 64 bits") }
        return Int(result)
    }

    /// The bytes up to the next newline (protocol 0's text arguments), as ASCII/UTF-8 text.
    private mutating func line() throws -> String {
        guard let end = bytes[pos...].firstIndex(of: 0x0A) else { throw fail("a text argument without its newline") }
        let text = try utf8(bytes[pos..<end])
        pos = end + 1
        return text
    }

    private func utf8(_ raw: ArraySlice<UInt8>) throws -> String {
        guard let s = raw.withUnsafeBytes({ validUTF8($0) }) else { throw fail("a string that is not UTF-8") }
        return s
    }

    private mutating func textIndex() throws -> Int {
        let text = try line()
        guard let v = Int(text), v >= 0 else { throw fail("memo index '\(text)' is not a non-negative integer") }
        return v
    }

    /// INT ("I42\n", with "I01\n"/"I00\n" for True/False) or LONG ("L42L\n").
    private mutating func textInteger(allowBool: Bool) throws -> PickleValue {
        var text = try line()
        if allowBool && text == "01" { return .bool(true) }
        if allowBool && text == "00" { return .bool(false) }
        if text.hasSuffix("L") { text.removeLast() }
        guard let v = Int(text) else { throw fail("integer '\(text)' is not a 64-bit integer") }
        return .int(v)
    }

    /// STRING: a Python repr in single or double quotes, with backslash escapes.
    private func quotedString(_ text: String) throws -> String {
        let scalars = Array(text.unicodeScalars)
        guard scalars.count >= 2, let q = scalars.first, q == "'" || q == "\"", scalars.last == q else {
            throw fail("STRING argument is not quoted")
        }
        return try unescape(scalars[1..<scalars.count - 1], unicode: false)
    }

    /// UNICODE: raw-unicode-escape (only \uXXXX and \UXXXXXXXX are escapes).
    private func rawUnicodeEscape(_ text: String) throws -> String {
        try unescape(ArraySlice(text.unicodeScalars), unicode: true)
    }

    private func unescape(_ s: ArraySlice<Unicode.Scalar>, unicode: Bool) throws -> String {
        var out = String.UnicodeScalarView()
        var i = s.startIndex
        func hex(_ count: Int) throws -> UInt32 {
            guard i + count <= s.endIndex else { throw fail("a truncated escape") }
            var v: UInt32 = 0
            for c in s[i..<i + count] {
                guard c.isASCII, let d = UInt32(String(c), radix: 16) else { throw fail("a bad hex escape") }
                v = v << 4 | d
            }
            i += count
            return v
        }
        while i < s.endIndex {
            let c = s[i]
            i += 1
            guard c == "\\", i < s.endIndex else { out.append(c); continue }
            let e = s[i]
            i += 1
            var scalar: UInt32
            switch e {
            case "u" where unicode: scalar = try hex(4)
            case "U" where unicode: scalar = try hex(8)
            case _ where unicode: out.append(c); out.append(e); continue
            case "n": scalar = 0x0A
            case "t": scalar = 0x09
            case "r": scalar = 0x0D
            case "0": scalar = 0
            case "\\", "'", "\"": scalar = e.value
            case "x": scalar = try hex(2)
            default: throw fail("an unsupported escape '\\\(e)' in a STRING")
            }
            guard let u = Unicode.Scalar(scalar) else { throw fail("an escape that is not a Unicode scalar") }
            out.append(u)
        }
        return String(out)
    }

    func kindName(_ v: PickleValue) -> String {
        switch v {
        case .none: return "None"
        case .bool: return "a bool"
        case .int: return "an int"
        case .float: return "a float"
        case .string: return "a string"
        case .bytes: return "bytes"
        case .tuple: return "a tuple"
        case .object(let i):
            switch objects[i] {
            case .list: return "a list"
            case .dict: return "a dict"
            case .set: return "a set"
            }
        case .global(let name): return name
        case .external(let kind, _): return "a \(kind)"
        }
    }
}
