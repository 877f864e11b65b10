// How the line-oriented targets read their input.

/// The lines of a fuzz input after its first byte (the targets' mode byte).
public func lines(_ bytes: UnsafeBufferPointer<UInt8>) -> [ArraySlice<UInt8>] {
    Array(bytes.dropFirst()).split(separator: UInt8(ascii: "\n"))
}
