import Logging
import PostgresNIO

extension PostgresClient {
    /// `withTransaction`, but a failure of `body` is rethrown as itself rather than wrapped in a
    /// `PostgresTransactionError`, so callers can catch their own error types (and map them to 4xx).
    public func transaction<Result: Sendable>(
        logger: Logger, _ body: (PostgresConnection) async throws -> sending Result
    ) async throws -> Result {
        do {
            return try await withTransaction(logger: logger, body)
        } catch let error as PostgresTransactionError {
            throw error.closureError ?? error
        }
    }
}
