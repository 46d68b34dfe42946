import Crypto
import EngageClient
import Foundation
import HTTPTypes
import Hummingbird
import Logging

/// What every screen uses: sessions, CSRF checks, the upstream APIs and page rendering.
public struct Console: Sendable {
    public let config: ConsoleConfig
    public let views: Views
    public let upstream: EngageAPI
    let sessions: SessionCodec
    let logger: Logger

    public init(config: ConsoleConfig, views: Views, upstream: EngageAPI, logger: Logger) {
        self.config = config
        self.views = views
        self.upstream = upstream
        self.sessions = SessionCodec(key: config.sessionKey)
        self.logger = logger
    }

    // MARK: sessions

    /// The request's live session, or a redirect to sign-in that comes back here afterwards.
    public func session(_ request: Request) throws -> ConsoleSession {
        guard let cookie = request.cookies[SessionCodec.cookieName]?.value, let session = sessions.open(cookie) else {
            throw ConsoleRedirect.signIn(next: request.uri.description, reason: nil)
        }
        guard !session.expired(lifetime: config.sessionLifetime, now: Date()) else {
            throw ConsoleRedirect.signIn(next: request.uri.description, reason: "expired")
        }
        return session
    }

    /// The session if there is a live one, without redirecting.
    func optionalSession(_ request: Request) -> ConsoleSession? {
        try? session(request)
    }

    public func client(_ session: ConsoleSession) -> SpaceClient {
        SpaceClient(api: upstream, spaceId: session.spaceId, token: session.token)
    }

    func sessionCookie(_ session: ConsoleSession) throws -> Cookie {
        Cookie(
            name: SessionCodec.cookieName, value: try sessions.seal(session),
            maxAge: Int(config.sessionLifetime.components.seconds), path: "/", secure: config.secureCookies,
            httpOnly: true, sameSite: .lax)
    }

    func clearedCookie(_ name: String) -> Cookie {
        Cookie(
            name: name, value: "", maxAge: 0, path: "/", secure: config.secureCookies, httpOnly: true, sameSite: .lax)
    }

    // MARK: forms

    /// A posted form from a signed-in page, once its CSRF token checks out.
    public func form(_ request: Request, _ session: ConsoleSession) async throws -> FormFields {
        let fields = try await Self.fields(request)
        try CSRFCheck.verify(request, presented: fields.raw("_csrf"), expected: session.csrf)
        return fields
    }

    static func fields(_ request: Request) async throws -> FormFields {
        let body = try await request.body.collect(upTo: 2 * 1024 * 1024)
        return FormFields(urlEncoded: String(buffer: body))
    }

    /// A script's call (JSON body) from a signed-in page: the CSRF token comes in `X-CSRF-Token`.
    public func scriptCall(_ request: Request, _ session: ConsoleSession) throws {
        let presented = request.headers[HTTPField.Name("X-CSRF-Token")!] ?? ""
        try CSRFCheck.verify(request, presented: presented, expected: session.csrf)
    }

    // MARK: responses

    /// A page in the layout. `values` are the template's own; the layout's (space, navigation,
    /// CSRF token, notice) are added here.
    public func page(
        _ template: String, title: String, section: Section?, session: ConsoleSession?, request: Request,
        values: [String: Any] = [:], status: HTTPResponse.Status = .ok, problems: [String] = []
    ) -> Response {
        var context = values
        context["title"] = title
        context["problems"] = problems
        context["hasProblems"] = !problems.isEmpty
        if let session {
            context["signedIn"] = true
            context["space"] = ["id": session.spaceId, "name": session.spaceName, "tokenName": session.tokenName]
            context["csrf"] = session.csrf
            context["nav"] = Section.allCases.map {
                ["href": $0.path, "label": $0.label, "active": $0 == section] as [String: Any]
            }
        }
        let notice = (request.cookies[Self.noticeCookie]?.value).flatMap { Data(base64URL: $0) }
            .flatMap { String(data: $0, encoding: .utf8) }
        if let notice { context["notice"] = notice }
        var response = Response(
            status: status, headers: [.contentType: "text/html; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(string: views.render(template, context))))
        if notice != nil { response.setCookie(clearedCookie(Self.noticeCookie)) }
        return response
    }

    static let noticeCookie = "engage_notice"

    /// The error page: a heading that says what happened and a line that says what to do.
    public func errorPage(
        _ request: Request, session: ConsoleSession?, section: Section? = nil, heading: String, detail: String,
        status: HTTPResponse.Status
    ) -> Response {
        page(
            "error", title: heading, section: section, session: session, request: request,
            values: ["heading": heading, "detail": detail], status: status)
    }

    /// A secret (write key, token, signing secret) in the answer to the request that made it: the
    /// only time it is shown. Never put in a notice cookie or a redirect.
    public func secretPage(
        _ request: Request, _ session: ConsoleSession, section: Section, heading: String, label: String,
        secret: String, hint: String, backHref: String
    ) -> Response {
        page(
            "secret", title: heading, section: section, session: session, request: request,
            values: ["heading": heading, "label": label, "secret": secret, "hint": hint, "backHref": backHref],
            status: .created)
    }

    /// 303 to a page of the console, with a one-time notice shown there ("Template saved").
    public func redirect(_ location: String, notice: String? = nil) -> Response {
        var response = Response(status: .seeOther, headers: [.location: Self.localPath(location)])
        if let notice {
            response.setCookie(
                Cookie(
                    name: Self.noticeCookie, value: Data(notice.utf8).base64URLEncoded, maxAge: 60, path: "/",
                    secure: config.secureCookies, httpOnly: true, sameSite: .lax))
        }
        return response
    }

    /// JSON for the page's scripts.
    public func json(_ value: Any, status: HTTPResponse.Status = .ok) -> Response {
        let data = (try? JSONSerialization.data(withJSONObject: value, options: [.sortedKeys])) ?? Data("{}".utf8)
        return Response(
            status: status, headers: [.contentType: "application/json"],
            body: .init(byteBuffer: ByteBuffer(data: data)))
    }

    /// Only paths of this console ("/x", never "//host" or "https://..."): an open redirect would
    /// let a link on another site send a signed-in person anywhere.
    static func localPath(_ location: String) -> String {
        guard location.hasPrefix("/"), !location.hasPrefix("//"), !location.hasPrefix("/\\") else { return "/" }
        return location
    }
}

/// The console's screens, in the order of the navigation.
public enum Section: String, CaseIterable, Sendable {
    case profiles, subscriptions, templates, audiences, journeys, broadcasts, analytics, channels, destinations,
        settings

    var path: String { "/\(rawValue)" }

    var label: String {
        switch self {
        case .profiles: "Profiles"
        case .subscriptions: "Subscriptions"
        case .templates: "Templates"
        case .audiences: "Audiences"
        case .journeys: "Journeys"
        case .broadcasts: "Broadcasts"
        case .analytics: "Analytics"
        case .channels: "Channels"
        case .destinations: "Destinations"
        case .settings: "Identity and sources"
        }
    }
}

/// A redirect thrown from deep in a handler (no session: sign in first).
public struct ConsoleRedirect: Error {
    var location: String

    static func signIn(next: String?, reason: String?) -> ConsoleRedirect {
        var query: [URLQueryItem] = []
        if let next, next != "/", Console.localPath(next) == next { query.append(.init(name: "next", value: next)) }
        if let reason { query.append(.init(name: "reason", value: reason)) }
        var components = URLComponents()
        components.path = "/sign-in"
        components.queryItems = query.isEmpty ? nil : query
        return ConsoleRedirect(location: components.string ?? "/sign-in")
    }
}

/// Synchroniser-token CSRF protection: each session has a random token, which every form carries
/// in `_csrf` and every script call in `X-CSRF-Token`; a request from another origin is refused
/// even with a token.
enum CSRFCheck {
    struct Refused: Error {}

    static func verify(_ request: Request, presented: String, expected: String) throws {
        if let origin = request.headers[.origin], let host = request.head.authority {
            let originHost = URLComponents(string: origin).map { ($0.host ?? "") + ($0.port.map { ":\($0)" } ?? "") }
            guard originHost == host else { throw Refused() }
        }
        guard !expected.isEmpty, constantTimeEqual(Array(presented.utf8), Array(expected.utf8)) else {
            throw Refused()
        }
    }

    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for index in a.indices { difference |= a[index] ^ b[index] }
        return difference == 0
    }
}
