import Foundation
import Metrics
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// CPU, memory, file descriptors and start time of the process, read from /proc when /metrics is
/// scraped (nothing runs between scrapes).
enum ProcessMetrics {
    private static let cpu = FloatingPointCounter(label: "engage_process_cpu_seconds_total")
    private static let cpuSeen = Mutex<Double>(0)
    private static let resident = Gauge(label: "engage_process_resident_memory_bytes")
    private static let openFds = Gauge(label: "engage_process_open_fds")
    private static let maxFds = Gauge(label: "engage_process_max_fds")
    private static let startTime = Gauge(label: "engage_process_start_time_seconds")

    static func update() {
        let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
        if let stat = try? String(contentsOfFile: "/proc/self/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        {
            // Fields after the command name (which may hold spaces): state is field 3, utime 14,
            // stime 15, starttime 22; here indexed from field 3.
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            if fields.count > 19, let user = Double(fields[11]), let system = Double(fields[12]), ticks > 0 {
                let total = (user + system) / ticks
                let delta = cpuSeen.withLock { seen in
                    defer { seen = max(seen, total) }
                    return total - seen
                }
                if delta > 0 { cpu.increment(by: delta) }
                if let started = Double(fields[19]), let boot = bootTime() {
                    startTime.record(boot + started / ticks)
                }
            }
        }
        if let statm = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) {
            let pages = statm.split(separator: " ")
            if pages.count > 1, let residentPages = Double(pages[1]) {
                resident.record(residentPages * Double(sysconf(Int32(_SC_PAGESIZE))))
            }
        }
        if let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd") {
            openFds.record(Double(entries.count))
        }
        var limit = rlimit()
        if getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 { maxFds.record(Double(limit.rlim_cur)) }
    }

    private static func bootTime() -> Double? {
        guard let stat = try? String(contentsOfFile: "/proc/stat", encoding: .utf8) else { return nil }
        for line in stat.split(separator: "\n") where line.hasPrefix("btime ") {
            return Double(line.dropFirst(6).trimmingCharacters(in: .whitespaces))
        }
        return nil
    }
}
