import Kafka
import PostgresNIO

/// Whether a failure may pass by itself (retry the same work later) or is caused by the data
/// (retrying can never succeed, so the record that causes it must be set aside).
public enum TransientFailure {
    /// Transient: lost or refused connections, Postgres shutting down or out of resources,
    /// serialization failures, deadlocks, lock and statement timeouts, broker errors (but a record
    /// too large for the broker) and cancellation. Everything else, constraint and data errors
    /// above all, is not.
    public static func isTransient(_ error: any Error) -> Bool {
        switch error {
        case let error as KafkaError:
            return !error.isMessageTooLarge
        case is CancellationError, is TransactionAbandoned, is any RetryableFailure:
            return true
        case let error as PSQLError:
            if let state = error.serverInfo?[.sqlState] {
                return transientSQLStates.contains(state) || transientSQLClasses.contains(String(state.prefix(2)))
            }
            // No server answer: the client could not reach or lost the connection.
            return error.code != .tooManyParameters && error.code != .invalidCommandTag
        case let error as PostgresTransactionError:
            return isTransient(
                error.closureError ?? error.beginError ?? error.commitError ?? error.rollbackError
                    ?? CancellationError())
        default:
            // The pool's own errors (its circuit breaker opens after a minute without a
            // connection, and then every lease fails at once) are connection loss too. The type
            // lives in a module postgres-nio does not export, hence the name.
            return String(describing: type(of: error)) == "ConnectionPoolError"
        }
    }

    /// 40001 serialization failure, 40P01 deadlock, 40003 statement completion unknown, 55P03 lock not
    /// available, 57014 query canceled (statement_timeout), 57P01-57P04 shutdown, startup and a dropped
    /// database, 25P03 idle-in-transaction timeout, 25006 read-only transaction (a failover in progress).
    static let transientSQLStates: Set<String> = [
        "40001", "40P01", "40003", "55P03", "57014", "57P01", "57P02", "57P03", "57P04", "25P03", "25006",
    ]
    /// 08 connection exceptions, 53 insufficient resources, 58 system errors.
    static let transientSQLClasses: Set<String> = ["08", "53", "58"]

    /// A short reason for a record that is set aside, naming the database's complaint without
    /// postgres-nio's redacted description.
    public static func reason(_ error: any Error) -> String {
        switch error {
        case let error as PSQLError:
            let info = error.serverInfo
            let state = info?[.sqlState] ?? "?"
            let message = info?[.message] ?? "\(error.code)"
            let detail = info?[.detail].map { " (\($0))" } ?? ""
            return "the database refused the record: SQLSTATE \(state): \(message)\(detail)"
        case let error as PostgresTransactionError:
            return reason(error.closureError ?? error.beginError ?? error.commitError ?? error)
        default:
            return "processing failed: \(String(describing: error).prefix(500))"
        }
    }
}

/// A failure of a service's own that a retry of the same batch cures, typically a concurrent change
/// seen under lock ("another instance merged this profile"). The consumer loop retries the batch
/// rather than setting a record aside.
public protocol RetryableFailure: Error {}
