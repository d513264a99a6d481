// OWNER: reader helper. Stub signatures; replace the bodies.

/// Where one model lives, and the id it will be known by.
public struct ModelLocation: Equatable, Sendable {
    public var id: String
    public var path: String
    public init(id: String, path: String) { self.id = id; self.path = path }
}

public enum ModelLoader {
    /// Expands user paths into models: a `.safetensors` file, or a folder holding `model.safetensors`
    /// or a sharded `model.safetensors.index.json`, is one model; a folder holding no weights itself
    /// expands to its sub-folders that are models (sorted by name). Ids are the last path component
    /// (file name without `.safetensors`).
    public static func expand(_ paths: [String]) throws -> [ModelLocation] { fatalError("stub") }

    /// Opens a model (single file or shards), memory-mapped.
    public static func load(_ location: ModelLocation) throws -> Model { fatalError("stub") }
}
