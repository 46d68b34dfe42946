import Foundation

/// Where the scheduler gets "now". The service uses the system clock; tests hand the engine a
/// clock they move, so a wait of days is checked without waiting.
public protocol JourneyClock: Sendable {
    func now() -> Date
}

public struct SystemClock: JourneyClock {
    public init() {}
    public func now() -> Date { Date() }
}
