import Synchronization

/// An operation ran past its deadline and was abandoned.
public struct DeadlineExceeded: Error, CustomStringConvertible, Sendable {
    public var operation: String
    public var limit: Duration
    public init(operation: String, limit: Duration) {
        self.operation = operation
        self.limit = limit
    }
    public var description: String { "\(operation) did not finish within \(limit)" }
}

/// Runs `body`, but returns (throwing `DeadlineExceeded`) once `limit` has passed even if `body`
/// does not end: some waits cannot be cancelled (a query written to a connection that has just
/// closed never completes), and a loop must not hang on them. On timeout `onTimeout` runs (close
/// the connection, so that the abandoned work cannot commit anything) and `body`'s task is cancelled
/// and left to end on its own. Cancelling the caller also returns at once.
public func withDeadline<T: Sendable>(
    _ limit: Duration, operation: String, onTimeout: @escaping @Sendable () -> Void = {},
    _ body: @escaping @Sendable () async throws -> T
) async throws -> T {
    let outcome = OneShot<T>()
    let work = Task {
        do { outcome.resolve(.success(try await body())) } catch { outcome.resolve(.failure(error)) }
    }
    let timer = Task {
        try await Task.sleep(for: limit)
        if outcome.resolve(.failure(DeadlineExceeded(operation: operation, limit: limit))) {
            onTimeout()
            work.cancel()
        }
    }
    defer { timer.cancel() }
    return try await withTaskCancellationHandler {
        try await outcome.value()
    } onCancel: {
        work.cancel()
        outcome.resolve(.failure(CancellationError()))
    }
}

/// A result that is set once and awaited once.
private final class OneShot<T: Sendable>: Sendable {
    private struct State {
        var result: Result<T, any Error>?
        var waiter: CheckedContinuation<T, any Error>?
    }
    private let state = Mutex(State())

    /// True when this call set the result (the first one does).
    @discardableResult
    func resolve(_ result: Result<T, any Error>) -> Bool {
        let (won, waiter): (Bool, CheckedContinuation<T, any Error>?) = state.withLock { state in
            guard state.result == nil else { return (false, nil) }
            state.result = result
            defer { state.waiter = nil }
            return (true, state.waiter)
        }
        waiter?.resume(with: result)
        return won
    }

    func value() async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            let ready: Result<T, any Error>? = state.withLock { state in
                if let result = state.result { return result }
                state.waiter = continuation
                return nil
            }
            if let ready { continuation.resume(with: ready) }
        }
    }
}
