// The entry of every fuzz target. SwiftPM links an executable with main()
// aliased to the module's own entry point, so libFuzzer's main() is not the
// one that runs; each target's @main hands its test function to libFuzzer's
// driver instead (LLVMFuzzerRunDriver, in the runtime -sanitize=fuzzer links),
// which reads the same command line as libFuzzer's main().
#if canImport(Glibc)
import Glibc
#endif

public typealias FuzzTest = @convention(c) (UnsafePointer<UInt8>, Int) -> CInt

@_silgen_name("LLVMFuzzerRunDriver")
private func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ test: FuzzTest
) -> CInt

/// Runs libFuzzer on `test` with this process's arguments; exits with its status.
public func runFuzzer(_ test: FuzzTest) -> Never {
    var argc = CommandLine.argc
    var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
    exit(LLVMFuzzerRunDriver(&argc, &argv, test))
}
