import Contracts
import Foundation
import Logging
import PostgresNIO
import Synchronization

/// A space's providers as the send path needs them: settings and opened secrets.
public struct SpaceProviders: Sendable {
    public var sendGrid: (settings: SendGridSettings, secrets: SendGridSecrets)?
    public var twilio: (settings: TwilioSettings, secrets: TwilioSecrets)?
}

/// Provider settings per space. Secrets are sealed with the service key, bound to space and
/// provider; reads are cached for a few seconds (every message needs them).
public final class ProviderStore: Sendable {
    public enum Provider: String, Sendable, CaseIterable {
        case sendGrid = "sendgrid"
        case twilio
    }

    private let db: PostgresClient
    private let box: SecretBox
    private let logger: Logger
    private let cache = Mutex<[String: (value: SpaceProviders, at: ContinuousClock.Instant)]>([:])
    private let ttl: Duration = .seconds(5)

    public init(db: PostgresClient, box: SecretBox, logger: Logger) {
        self.db = db
        self.box = box
        self.logger = logger
    }

    func save<Settings: Encodable, Secrets: Encodable>(
        spaceId: String, provider: Provider, settings: Settings, secrets: Secrets
    ) async throws {
        let settingsJSON = try WireEncoder.string(settings)
        let sealed = try box.seal(Data(try WireEncoder.encode(secrets)), context: "\(spaceId)|\(provider.rawValue)")
        try await db.query(
            """
            INSERT INTO providers (space_id, provider, settings, sealed_secrets, updated_at)
            VALUES (\(spaceId), \(provider.rawValue), \(settingsJSON)::jsonb, \(ByteBuffer(bytes: sealed)), now())
            ON CONFLICT (space_id, provider) DO UPDATE SET settings = excluded.settings, sealed_secrets = excluded.sealed_secrets,
                updated_at = now()
            """, logger: logger)
        cache.withLock { _ = $0.removeValue(forKey: spaceId) }
    }

    func delete(spaceId: String, provider: Provider) async throws -> Bool {
        var deleted = false
        for try await _ in try await db.query(
            "DELETE FROM providers WHERE space_id = \(spaceId) AND provider = \(provider.rawValue) RETURNING 1",
            logger: logger)
        {
            deleted = true
        }
        cache.withLock { _ = $0.removeValue(forKey: spaceId) }
        return deleted
    }

    public func providers(spaceId: String) async throws -> SpaceProviders {
        let now = ContinuousClock.now
        if let hit = cache.withLock({ $0[spaceId] }), now - hit.at < ttl { return hit.value }
        var result = SpaceProviders()
        let rows = try await db.query(
            "SELECT provider, settings::text, sealed_secrets FROM providers WHERE space_id = \(spaceId)", logger: logger
        )
        for try await (provider, settings, sealed) in rows.decode((String, String, ByteBuffer).self) {
            let secrets = try box.open(Data(buffer: sealed), context: "\(spaceId)|\(provider)")
            switch Provider(rawValue: provider) {
            case .sendGrid:
                result.sendGrid = (
                    try WireDecoder.decode(SendGridSettings.self, from: settings.utf8),
                    try WireDecoder.decode(SendGridSecrets.self, from: secrets)
                )
            case .twilio:
                result.twilio = (
                    try WireDecoder.decode(TwilioSettings.self, from: settings.utf8),
                    try WireDecoder.decode(TwilioSecrets.self, from: secrets)
                )
            case nil:
                logger.warning("unknown provider row", metadata: ["provider": "\(provider)"])
            }
        }
        cache.withLock { cache in
            if cache.count > 10_000 { cache.removeAll() }
            cache[spaceId] = (result, now)
        }
        return result
    }
}
