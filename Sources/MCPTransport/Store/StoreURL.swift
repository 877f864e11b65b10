import MCPCore

/// The HTTP config value "store": which StateStore a listener uses.
///   memory:                         the default: this process's memory (MemoryStore)
///   sqlite:PATH[?synchronous=full|normal]
///                                   one SQLite file in WAL mode (SQLiteStore);
///                                   PATH is a file path, relative to the working directory
///   postgres://USER:PASSWORD@HOST:PORT/DATABASE[?PARAM=VALUE&...]
///                                   one PostgreSQL database shared by a fleet
///                                   (PostgresStore; PostgresOptions has the parameters)
/// Anything else is refused with a message saying what is accepted.
public enum StoreURL {
    public static func open(_ text: String, config: HTTPServerConfig) throws(HTTPServerError) -> any StateStore {
        if text == "memory:" {
            return MemoryStore(events: InMemoryEventStore(maxEventsPerSession: config.eventStoreMaxEvents,
                                                          maxBytesPerSession: config.eventStoreMaxBytes))
        }
        if text.hasPrefix("sqlite:") {
            var rest = Substring(text.dropFirst("sqlite:".count))
            var fullSync = true
            if let q = rest.firstIndex(of: "?") {
                for pair in rest[rest.index(after: q)...].split(separator: "&") {
                    switch pair {
                    case "synchronous=full": fullSync = true
                    case "synchronous=normal": fullSync = false
                    default:
                        throw .invalidConfig("store \"\(text)\": unknown parameter \"\(pair)\" (synchronous=full or synchronous=normal)")
                    }
                }
                rest = rest[..<q]
            }
            guard !rest.isEmpty, !rest.contains("\0") else {
                throw .invalidConfig("store \"\(text)\": sqlite: needs a file path, as in sqlite:/var/lib/mcp/state.db")
            }
            var options = SQLiteStore.Options(path: String(rest))
            options.fullSync = fullSync
            options.maxEventsPerSession = config.eventStoreMaxEvents
            return SQLiteStore(options: options)
        }
        if text.hasPrefix("postgres://") || text.hasPrefix("postgresql://") {
            do throws(StoreError) {
                return try PostgresStore(url: text, maxEventsPerSession: config.eventStoreMaxEvents)
            } catch {
                throw .invalidConfig("store \"\(redacted(text))\": \(error.message)")
            }
        }
        throw .invalidConfig("store \"\(redacted(text))\": expected memory:, sqlite:PATH or postgres://USER:PASSWORD@HOST:PORT/DATABASE")
    }

    /// The store value with a password replaced by ***, for messages and logs.
    public static func redacted(_ text: String) -> String {
        PostgresOptions.redacted(text)
    }
}
