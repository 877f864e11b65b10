// swift-tools-version:6.1
// libmcp: the MCP engine in Swift, exported as a C shared library (libmcp.so.1).
// The target dependencies are the layer rules of DESIGN.md:
//   MCPRuntime (threads, timers, locks, signals) <- MCPCore (protocol: no I/O, no threads)
//     <- MCPTransport (I/O) <- MCP (C exports); CMCP is the header MCP implements.
import PackageDescription

let root = Context.packageDirectory
// `make fuzz` sets MCP_FUZZ=1: the fuzz targets at the end are declared, and the
// library's linker flags (a version script that hides all but mcp_*) are left off
// so that the C ABI fuzz target can link the MCP module into an executable.
let fuzzing = Context.environment["MCP_FUZZ"] == "1"

// The shared library's identity and hygiene: SONAME, exports limited to mcp_*
// by the version script, no undefined symbols, and a RUNPATH of $ORIGIN only.
let libraryLinkerFlags = [
    "-Xlinker", "-soname=libmcp.so.1",
    "-Xlinker", "--version-script=\(root)/exports.map",
    "-Xlinker", "-z", "-Xlinker", "defs",
]

let package = Package(
    name: "libmcp",
    products: [
        .library(name: "mcp", type: .dynamic, targets: ["MCP"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-collections", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        // HMAC-SHA256 of the MRTR requestState (Sources/MCPCore/Server/MRTR).
        .package(url: "https://github.com/apple/swift-crypto", from: "4.5.2"),
        // W3C trace context (ids, traceparent, tracestate) of request spans (Sources/MCPCore/Tracing).
        .package(url: "https://github.com/swift-otel/swift-w3c-trace-context", from: "1.0.0"),
        // SQLite for the `sqlite:PATH` store (Sources/MCPTransport/Store/SQLiteStore.swift
        // says why this package and not Debian's libsqlite3).
        .package(url: "https://github.com/vapor/sqlite-nio", exact: "1.13.2"),
        // PostgreSQL for the `postgres://` store (Sources/MCPTransport/Store/PostgresStore.swift).
        // Its cost: it imports Foundation (NIOFoundationCompat), which the static link then brings
        // whole, ICU data included: libmcp.so grew from 43 MB to 99 MB (0.5.0 -> 0.6.0 here).
        .package(url: "https://github.com/vapor/postgres-nio", exact: "1.33.2"),
        // The Logger PostgresNIO's calls take (PostgresStore gives it one that drops everything).
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
    ],
    targets: [
        // Header-only C target: the public header, so Swift compiles against the
        // same declarations the hosts use (@c @implementation checks each one).
        .target(name: "CMCP", path: "include", publicHeadersPath: "."),
        // What the engine runs on: the worker pool, the timer thread, thread hooks,
        // locks and the SIGPIPE set-up. The only target that starts threads.
        .target(
            name: "MCPRuntime",
            dependencies: [
                .product(name: "DequeModule", package: "swift-collections"),
                .product(name: "HeapModule", package: "swift-collections"),
            ]
        ),
        // The JSON string scans, vectorized in C (Sources/CJSONScan/include/json_scan.h says why).
        .target(name: "CJSONScan"),
        // The protocol engine: messages in, messages out; no I/O, no threads.
        .target(
            name: "MCPCore",
            dependencies: [
                "MCPRuntime", "CJSONScan",
                .product(name: "OrderedCollections", package: "swift-collections"),
                // InMemoryEventStore (Store/): the memory store's event log.
                .product(name: "DequeModule", package: "swift-collections"),
                .product(name: "Crypto", package: "swift-crypto"),
                // RSA public keys for JWT access tokens (Sources/MCPCore/Auth).
                .product(name: "CryptoExtras", package: "swift-crypto"),
                .product(name: "W3CTraceContext", package: "swift-w3c-trace-context"),
            ]
        ),
        // The transports: stdio (plain POSIX) and HTTP, SSE, WebSocket, TLS (SwiftNIO).
        // NIO is imported `internal` there, so no NIO type reaches MCP or the hosts.
        .target(
            name: "MCPTransport",
            dependencies: [
                "MCPRuntime", "MCPCore",
                .product(name: "DequeModule", package: "swift-collections"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                // Only its vendored SQLite C library (module VaporCSQLite) is used.
                .product(name: "SQLiteNIO", package: "sqlite-nio"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // A server's metrics: the Prometheus registry behind MCPCore's
        // ServerObserver, and the process figures read at scrape time.
        .target(
            name: "MCPMetrics",
            dependencies: [
                "MCPRuntime", "MCPCore",
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]
        ),
        .target(
            name: "MCP",
            dependencies: ["CMCP", "MCPRuntime", "MCPCore", "MCPTransport", "MCPMetrics"],
            linkerSettings: fuzzing ? [] : [.unsafeFlags(libraryLinkerFlags)]
        ),
        // Benchmark only (bench/http_bench.py): the raw SwiftNIO ceiling for the HTTP figures.
        .executableTarget(
            name: "mcp-bench-nio-echo",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            path: "bench/NIOEcho"
        ),
        .testTarget(name: "MCPRuntimeTests", dependencies: ["MCPRuntime"]),
        .testTarget(
            name: "MCPCoreTests",
            dependencies: [
                "MCPRuntime", "MCPCore",
                // Signs the JWT access tokens the Auth tests verify.
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "CryptoExtras", package: "swift-crypto"),
            ]
        ),
        .testTarget(
            name: "MCPTransportTests",
            dependencies: [
                "MCPRuntime", "MCPTransport", "MCPCore",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
    ]
)

// Fuzz targets (fuzz/README.md): libFuzzer entry points, declared only when
// `make fuzz` sets MCP_FUZZ=1 and builds them with -sanitize=fuzzer,address in
// their own scratch directory; the normal build and its targets are unchanged.
if fuzzing {
    let core: [Target.Dependency] = ["MCPRuntime", "MCPCore", "FuzzSupport"]
    let transport: [Target.Dependency] = core + [
        "MCPTransport",
        .product(name: "NIOCore", package: "swift-nio"),
        .product(name: "NIOEmbedded", package: "swift-nio"),
    ]
    let fuzzTargets: [(String, [Target.Dependency])] = [
        ("json", core), ("server-session", core), ("uri-template", core), ("cursor", core + [
            .product(name: "Crypto", package: "swift-crypto"),
        ]), ("sse", transport), ("client-session", core), ("http-server", transport), ("c-abi", ["CMCP", "MCP", "MCPCore", "FuzzSupport"]),
    ]
    package.targets.append(.target(name: "FuzzSupport", dependencies: ["MCPRuntime"], path: "fuzz/support"))
    for (name, dependencies) in fuzzTargets {
        package.targets.append(.executableTarget(name: "fuzz-\(name)", dependencies: dependencies,
                                                 path: "fuzz/targets/\(name)"))
    }
}
