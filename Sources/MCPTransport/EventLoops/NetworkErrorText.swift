import Glibc
internal import NIOCore
internal import NIOPosix

/// The text a person reads for a socket error: the system's words for its errno
/// ("Address already in use"), not the Swift description of NIO's error value,
/// which names internal functions (`bind(descriptor:ptr:bytes:)`).
enum NetworkErrorText {
    static func describe(_ error: any Error) -> String {
        if let io = error as? IOError {
            return String(cString: strerror(io.errnoCode))
        }
        if let failed = error as? NIOConnectionError {
            // Every address tried failed: the first attempt's reason stands for all.
            if let first = failed.connectionErrors.first { return describe(first.error) }
            if let dns = failed.dnsAError ?? failed.dnsAAAAError { return "cannot resolve the host: \(describe(dns))" }
            return "no address to connect to"
        }
        return String(describing: error)
    }
}
