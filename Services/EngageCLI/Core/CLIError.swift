import EngageClient

/// What went wrong, for a person, with an exit code from sysexits(3) so that scripts can tell a
/// refused input from an unreachable service or a bad token.
public struct CLIError: Error, CustomStringConvertible {
    public var exitCode: Int32
    public var lines: [String]

    public init(_ exitCode: Int32, _ lines: [String]) {
        self.exitCode = exitCode
        self.lines = lines
    }

    public init(_ exitCode: Int32, _ message: String) { self.init(exitCode, [message]) }

    public var description: String { lines.joined(separator: "\n") }

    /// An answer that is not a success, as the error it means.
    public static func refused(_ response: EngageResponse, doing action: String) -> CLIError {
        let code: Int32 =
            switch response.status {
            case 401, 403: ExitStatus.unauthorized
            case 404: ExitStatus.notFound
            case 400..<500: ExitStatus.refusedInput
            default: ExitStatus.unavailable
            }
        return CLIError(code, ["\(action): \(response.status)"] + response.problems.map { "  " + $0 })
    }
}

/// The exit statuses `engage` uses (docs/cli.md lists them).
public enum ExitStatus {
    public static let success: Int32 = 0
    /// `diff`: the space differs from the directory; `apply --dry-run`: it would change something.
    public static let differences: Int32 = 1
    /// The thing named does not exist (404).
    public static let notFound: Int32 = 3
    /// EX_USAGE: a command line that does not parse (ArgumentParser's own code for it).
    public static let usage: Int32 = 64
    /// EX_DATAERR: the input (a file, a definition, a value) was refused, locally or by a service.
    public static let refusedInput: Int32 = 65
    /// EX_NOINPUT: a file or directory named on the command line cannot be read.
    public static let noInput: Int32 = 66
    /// EX_UNAVAILABLE: a service or the broker cannot be reached, or answered 5xx.
    public static let unavailable: Int32 = 69
    /// EX_CANTCREAT: an output file cannot be written.
    public static let cannotCreate: Int32 = 73
    /// EX_TEMPFAIL: the work goes on but was not finished in time (`csv upload --wait --timeout`).
    public static let temporaryFailure: Int32 = 75
    /// EX_NOPERM: the token was refused (wrong, revoked, or not an admin token).
    public static let unauthorized: Int32 = 77
    /// EX_CONFIG: no token, an unknown profile, an unreadable config file.
    public static let config: Int32 = 78
}

extension EngageFailure {
    var asCLIError: CLIError {
        switch self {
        case .unauthorized: CLIError(ExitStatus.unauthorized, description)
        case .unreachable: CLIError(ExitStatus.unavailable, description)
        }
    }
}
