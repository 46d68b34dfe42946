import Synchronization

/// Runs `body` in a task of its own and returns its result, unless `abandon` returns first: then
/// throws the error `abandon` returns, cancels `body`'s task and leaves it to end on its own. For
/// waits that cannot be cancelled (postgres-nio never completes a query written to a connection
/// that has just closed), so that the caller is not held by them. Cancelling the caller cancels both.
public func firstOf<T: Sendable>(
    _ body: @escaping @Sendable () async throws -> T,
    orAbandonWhen abandon: @escaping @Sendable () async -> (any Error)?
) async throws -> T {
    let outcome = OneShot<T>()
    let work = Task { () -> Void in
        do { outcome.resolve(.success(try await body())) } catch { outcome.resolve(.failure(error)) }
    }
    let watcher = Task { () -> Void in
        if let error = await abandon(), outcome.resolve(.failure(error)) { work.cancel() }
    }
    defer { watcher.cancel() }
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

    /// True when this call set the result (only the first one does).
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
