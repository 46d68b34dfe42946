import AsyncHTTPClient
import Foundation
import NIOCore

/// The six services' public APIs as the console calls them: with the signed-in space's token,
/// exactly as any other API client would. The console adds no privileges of its own.
public struct UpstreamAPI: Sendable {
    let client: HTTPClient
    let bases: [UpstreamService: URL]
    let timeout: TimeAmount

    public init(client: HTTPClient, bases: [UpstreamService: URL], timeout: TimeAmount = .seconds(15)) {
        self.client = client
        self.bases = bases
        self.timeout = timeout
    }

    /// One call. 401 throws `UpstreamFailure.unauthorized` (the token is gone: sign in again);
    /// a service that cannot be reached throws `.unreachable`; every other answer is returned.
    public func call(
        _ service: UpstreamService, _ method: UpstreamMethod, _ path: String, query: [(String, String)] = [],
        token: String?, body: UpstreamBody? = nil, timeout: TimeAmount? = nil
    ) async throws -> UpstreamResponse {
        var url = bases[service]!.absoluteString
        while url.hasSuffix("/") { url.removeLast() }
        url += path
        if !query.isEmpty {
            var components = URLComponents()
            components.queryItems = query.map { URLQueryItem(name: $0.0, value: $0.1) }
            // URLComponents leaves "+" alone; the services read it as a space.
            url += "?" + (components.percentEncodedQuery ?? "").replacingOccurrences(of: "+", with: "%2B")
        }
        var request = HTTPClientRequest(url: url)
        request.method = .init(rawValue: method.rawValue)
        // The token as the Basic-auth username: the one form every API takes (the Profile API keeps
        // Segment's Basic-only authentication; the others take Bearer as well).
        if let token {
            request.headers.add(name: "Authorization", value: "Basic " + Data("\(token):".utf8).base64EncodedString())
        }
        request.headers.add(name: "Accept", value: "application/json")
        switch body {
        case .json(let data):
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(data: data))
        case .csv(let buffer):
            request.headers.add(name: "Content-Type", value: "text/csv")
            request.body = .bytes(buffer)
        case nil:
            break
        }
        let response: HTTPClientResponse
        let bytes: ByteBuffer
        do {
            response = try await client.execute(request, timeout: timeout ?? self.timeout)
            bytes = try await response.body.collect(upTo: 64 * 1024 * 1024)
        } catch {
            throw UpstreamFailure.unreachable(service, String(describing: error))
        }
        if response.status == .unauthorized, token != nil { throw UpstreamFailure.unauthorized(service) }
        return UpstreamResponse(
            status: Int(response.status.code), body: Data(buffer: bytes),
            contentType: response.headers.first(name: "Content-Type"))
    }

    /// A path segment with everything but unreserved characters percent-encoded
    /// (`email:ada@example.com` keeps its meaning, `a/b` stays one segment).
    public static func segment(_ text: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~:@")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
    }
}

// Spelled as on the wire, as NIO's HTTPMethod does.
// swift-format-ignore: AlwaysUseLowerCamelCase
public enum UpstreamMethod: String, Sendable {
    case GET, POST, PUT, PATCH, DELETE
}

public enum UpstreamBody: Sendable {
    case json(Data)
    case csv(ByteBuffer)

    /// A JSON body from a value built of dictionaries, arrays, strings, numbers and booleans.
    public static func object(_ value: Any) throws -> UpstreamBody {
        .json(try JSONSerialization.data(withJSONObject: value, options: [.sortedKeys]))
    }
}

public struct UpstreamResponse: Sendable {
    public var status: Int
    public var body: Data
    public var contentType: String?

    public var ok: Bool { (200..<300).contains(status) }

    /// The body as dictionaries, arrays and scalars, or nil when it is not JSON.
    public var json: Any? { try? JSONSerialization.jsonObject(with: body, options: [.fragmentsAllowed]) }

    /// `data` of a `{"data": ...}` answer.
    public var data: Any? { (json as? [String: Any])?["data"] }
    public var dataObject: [String: Any] { data as? [String: Any] ?? [:] }
    public var dataList: [[String: Any]] { data as? [[String: Any]] ?? [] }

    /// What the service said went wrong, for a person: its message, then each problem it listed.
    public var problems: [String] {
        guard let object = json as? [String: Any] else {
            return ["the service answered \(status)"]
        }
        var lines: [String] = []
        if let message = object["message"] as? String { lines.append(message) }
        if let problems = object["problems"] as? [String] { lines += problems.filter { $0 != lines.first } }
        return lines.isEmpty ? ["the service answered \(status)"] : lines
    }
}

public enum UpstreamFailure: Error, CustomStringConvertible {
    /// The session's token no longer opens the space (revoked, or the space is gone).
    case unauthorized(UpstreamService)
    case unreachable(UpstreamService, String)

    public var description: String {
        switch self {
        case .unauthorized(let service): "\(service.rawValue) refused the session's access token"
        case .unreachable(let service, let error): "\(service.rawValue) is not answering (\(error))"
        }
    }
}
