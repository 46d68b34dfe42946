import Foundation

/// The entry point of every executable: runs the service and turns a startup error into one clear
/// line on stderr and a non-zero exit status, instead of a crash report from a top-level `try`.
public enum ServiceMain {
    /// `EX_CONFIG` from sysexits.h: the configuration is wrong, restarting will not help.
    static let configurationExitCode: Int32 = 78

    public static func run(_ service: String, _ body: () async throws -> Void) async -> Never {
        do {
            try await body()
            exit(0)
        } catch let error as ServiceConfigError {
            FileHandle.standardError.write(Data("\(service): configuration error: \(error.description)\n".utf8))
            exit(configurationExitCode)
        } catch {
            FileHandle.standardError.write(Data("\(service): stopped by an error: \(String(describing: error))\n".utf8))
            exit(1)
        }
    }
}
