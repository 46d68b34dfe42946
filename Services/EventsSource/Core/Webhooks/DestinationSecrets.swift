import Foundation
import Logging
import Persistence
import PostgresNIO
import ServiceKit

/// Destination signing secrets at rest: sealed with the `SecretBox` (AES-GCM under
/// `ENGAGE_SECRETS_KEY`) and bound to their destination's id, in `destinations.secret_sealed`. The
/// clear `secret` column only holds rows written before sealing existed, until `sealClearRows`.
struct DestinationSecrets: Sendable {
    let box: SecretBox

    func seal(_ secret: String, destinationId: String) throws -> ByteBuffer {
        ByteBuffer(bytes: try box.seal(Data(secret.utf8), context: Self.context(destinationId)))
    }

    func open(_ sealed: ByteBuffer, destinationId: String) throws -> String {
        String(decoding: try box.open(Data(buffer: sealed), context: Self.context(destinationId)), as: UTF8.self)
    }

    /// Its own form, so a destination's sealed secret never opens as a messaging provider's.
    private static func context(_ destinationId: String) -> String { "webhook destination|\(destinationId)" }

    /// Seals the secrets still stored in clear and clears them: SQL cannot, it has no key. Run at
    /// startup after the migrations; idempotent, and instances starting together skip each
    /// other's rows.
    func sealClearRows(db: PostgresClient, logger: Logger) async throws {
        var total = 0
        while true {
            let sealed = try await db.transaction(logger: logger) { [self] connection in
                var rows: [(String, String)] = []
                for try await row in try await connection.query(
                    """
                    SELECT id, secret FROM destinations WHERE secret IS NOT NULL ORDER BY id LIMIT 100 FOR UPDATE SKIP LOCKED
                    """, logger: logger
                ).decode((String, String).self) {
                    rows.append(row)
                }
                for (id, secret) in rows {
                    try await connection.query(
                        """
                        UPDATE destinations SET secret_sealed = \(try seal(secret, destinationId: id)), secret = NULL WHERE id = \(id)
                        """, logger: logger)
                }
                return rows.count
            }
            total += sealed
            if sealed == 0 { break }
        }
        if total > 0 { logger.notice("sealed destination secrets stored in clear", metadata: ["count": "\(total)"]) }
    }
}
