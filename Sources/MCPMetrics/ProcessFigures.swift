import Glibc

/// The process collector's figures, read from /proc and getrusage when
/// scraped, with the standard Prometheus names (process_*).
struct ProcessFigures {
    var residentBytes: Int?
    var virtualBytes: Int?
    var openFDs: Int?
    var maxFDs: Int?
    var cpuSeconds: Double

    static func read() -> ProcessFigures {
        var f = ProcessFigures(cpuSeconds: 0)
        // /proc/self/statm: size resident ... in pages.
        if let statm = readSmallFile("/proc/self/statm") {
            let fields = statm.split(separator: " ")
            let page = Int(sysconf(Int32(_SC_PAGESIZE)))
            if fields.count > 1, let size = Int(fields[0]), let rss = Int(fields[1]) {
                f.virtualBytes = size * page
                f.residentBytes = rss * page
            }
        }
        f.openFDs = countOpenFDs()
        var limit = rlimit()
        if getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0, limit.rlim_cur != rlim_t.max {
            f.maxFDs = Int(limit.rlim_cur)
        }
        var usage = rusage()
        if getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage) == 0 {
            func seconds(_ t: timeval) -> Double { Double(t.tv_sec) + Double(t.tv_usec) / 1e6 }
            f.cpuSeconds = seconds(usage.ru_utime) + seconds(usage.ru_stime)
        }
        return f
    }

    func exposition() -> String {
        var out = ""
        func add(_ name: String, _ type: String, _ help: String, _ value: String?) {
            guard let value else { return }
            out += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n\(name) \(value)\n"
        }
        add("process_cpu_seconds_total", "counter", "Total user and system CPU time spent in seconds.",
            String(cpuSeconds))
        add("process_resident_memory_bytes", "gauge", "Resident memory size in bytes.", residentBytes.map(String.init))
        add("process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.", virtualBytes.map(String.init))
        add("process_open_fds", "gauge", "Number of open file descriptors.", openFDs.map(String.init))
        add("process_max_fds", "gauge", "Maximum number of open file descriptors.", maxFDs.map(String.init))
        return out
    }

    private static func countOpenFDs() -> Int? {
        guard let dir = opendir("/proc/self/fd") else { return nil }
        defer { closedir(dir) }
        var n = 0
        while let entry = readdir(dir) {
            if entry.pointee.d_name.0 != CChar(UInt8(ascii: ".")) { n += 1 }
        }
        // Less the descriptor opendir itself holds.
        return max(0, n - 1)
    }

    private static func readSmallFile(_ path: String) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var buf = [UInt8](repeating: 0, count: 256)
        let n = buf.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
        guard n > 0 else { return nil }
        return String(decoding: buf[0..<n], as: UTF8.self).trimmingSuffix()
    }
}

private extension String {
    func trimmingSuffix() -> String {
        var s = Substring(self)
        while let l = s.last, l == "\n" || l == " " { s.removeLast() }
        return String(s)
    }
}
