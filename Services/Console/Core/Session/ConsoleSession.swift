import Crypto
import Foundation

/// Who is signed in: one space, through one of its access tokens. The whole session lives in the
/// cookie, sealed (AES-GCM): the console keeps no state, and the token is never readable by the
/// page (the cookie is HttpOnly) nor by anyone who copies the cookie's text without the key.
public struct ConsoleSession: Codable, Sendable, Equatable {
    public var spaceId: String
    public var spaceName: String
    public var tokenName: String
    /// The token's id, so that the settings screen can tell which token is this session's.
    public var tokenId: String
    public var token: String
    /// Seconds since 1970 at sign-in; the session ends `sessionLifetime` later, whatever happens.
    public var issuedAt: Int64
    /// The synchroniser token every form and script call carries back (see `CSRFCheck`).
    public var csrf: String

    public init(
        spaceId: String, spaceName: String, tokenName: String, tokenId: String = "", token: String, issuedAt: Date
    ) {
        self.spaceId = spaceId
        self.spaceName = spaceName
        self.tokenName = tokenName
        self.tokenId = tokenId
        self.token = token
        self.issuedAt = Int64(issuedAt.timeIntervalSince1970)
        self.csrf = SessionKey.randomToken()
    }

    func expired(lifetime: Duration, now: Date) -> Bool {
        Int64(now.timeIntervalSince1970) >= issuedAt + lifetime.components.seconds
    }
}

/// 32 bytes; sessions sealed with one key open only with the same key.
public struct SessionKey: Sendable {
    let bytes: Data

    public init?(base64: String) {
        guard let data = Data(base64Encoded: base64.trimmingCharacters(in: .whitespacesAndNewlines)), data.count == 32
        else { return nil }
        bytes = data
    }

    init(bytes: Data) { self.bytes = bytes }

    public static func random() -> SessionKey {
        SessionKey(bytes: SymmetricKey(size: .bits256).withUnsafeBytes { Data($0) })
    }

    static func randomToken() -> String {
        SymmetricKey(size: .bits256).withUnsafeBytes { Data($0) }.base64URLEncoded
    }
}

/// Seals a session into a cookie value and opens it again; anything altered, truncated or sealed
/// with another key opens as nil.
public struct SessionCodec: Sendable {
    static let cookieName = "engage_session"
    let key: SessionKey

    public init(key: SessionKey) { self.key = key }

    public func seal(_ session: ConsoleSession) throws -> String {
        let plain = try JSONEncoder().encode(session)
        let box = try AES.GCM.seal(
            plain, using: SymmetricKey(data: key.bytes), authenticating: Data(Self.cookieName.utf8))
        guard let combined = box.combined else { throw SessionSealError() }
        return combined.base64URLEncoded
    }

    public func open(_ cookie: String) -> ConsoleSession? {
        guard let data = Data(base64URL: cookie),
            let box = try? AES.GCM.SealedBox(combined: data),
            let plain = try? AES.GCM.open(
                box, using: SymmetricKey(data: key.bytes), authenticating: Data(Self.cookieName.utf8))
        else { return nil }
        return try? JSONDecoder().decode(ConsoleSession.self, from: plain)
    }

    struct SessionSealError: Error {}
}
