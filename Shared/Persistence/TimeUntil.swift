import Logging
import PostgresNIO

extension PostgresClient {
    /// How long until the instant `query` measures, as seconds from Postgres's `now()` in one
    /// nullable float8 (null: there is none). The loops that sleep until their next timer ask
    /// this (`NextRun.dueIn`), by the clock their claims compare with.
    public func timeUntil(_ query: PostgresQuery, logger: Logger) async throws -> Duration? {
        for try await seconds in try await self.query(query, logger: logger).decode(Double?.self) {
            return seconds.map { .seconds($0) }
        }
        return nil
    }
}
