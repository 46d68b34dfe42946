import Contracts
import Foundation
import HTTPTypes
import Hummingbird

/// The one error every HTTP API of the platform returns. The body carries `code` and `message` both
/// at the top level (what Segment's tracking clients read) and under `error` (the Profile API's shape):
/// `{"code": "...", "message": "...", "error": {"code": "...", "message": "..."}}`.
public struct APIError: Error, HTTPResponseError, CustomStringConvertible {
    public var status: HTTPResponse.Status
    public var code: String
    public var message: String
    public var headers: HTTPFields
    /// Every problem found, when there is more than one to fix (a definition refused at publish).
    public var problems: [String]?

    public init(
        _ status: HTTPResponse.Status, code: String, message: String, headers: HTTPFields = [:],
        problems: [String]? = nil
    ) {
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers
        self.problems = problems
    }

    public var description: String { "\(status.code) \(code): \(message)" }

    public static func badRequest(_ message: String, code: String = "invalid_request_error") -> APIError {
        APIError(.badRequest, code: code, message: message)
    }
    public static func unauthorized(_ message: String) -> APIError {
        APIError(
            .unauthorized, code: "authentication_error", message: message,
            headers: [.wwwAuthenticate: "Basic realm=\"swift-engage\""])
    }
    public static func notFound(_ message: String) -> APIError {
        APIError(.notFound, code: "not_found", message: message)
    }
    public static func conflict(_ message: String) -> APIError {
        APIError(.conflict, code: "conflict", message: message)
    }
    public static func unavailable(_ message: String) -> APIError {
        APIError(.serviceUnavailable, code: "unavailable", message: message, headers: [.retryAfter: "1"])
    }

    /// Message and problems are bounded here, where every error leaves (see `ErrorTextBounds`).
    public func response(from request: Request, context: some RequestContext) throws -> Response {
        let message = ErrorTextBounds.message(message)
        let body = ErrorBody(
            code: code, message: message, error: .init(code: code, message: message),
            problems: problems.map(ErrorTextBounds.problems))
        var response = try JSONBody.response(body, status: status)
        response.headers.append(contentsOf: headers)
        return response
    }
}

struct ErrorBody: Encodable {
    struct Inner: Encodable {
        var code: String
        var message: String
    }
    var code: String
    var message: String
    var error: Inner
    var problems: [String]?
}

/// The platform APIs' envelope: `{"data": ...}`.
public struct DataEnvelope<T: Encodable>: Encodable {
    public var data: T
    public init(data: T) { self.data = data }
}

/// A page of a list: `{"data": [...], "next": cursor}`; `next` is absent on the last page and is
/// passed back as `?cursor=`.
public struct PageEnvelope<T: Encodable>: Encodable {
    public var data: [T]
    public var next: String?
    public init(data: [T], next: String?) {
        self.data = data
        self.next = next
    }
}

/// JSON responses with the platform's encoder (`WireEncoder`: ISO-8601 dates, sorted dictionary keys).
public enum JSONBody {
    public static func response<T: Encodable>(_ value: T, status: HTTPResponse.Status = .ok) throws -> Response {
        let data = try WireEncoder.encode(value)
        return Response(
            status: status, headers: [.contentType: "application/json; charset=utf-8"],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
    }

    /// Decodes a request body, answering 400 with the decoder's reason when it does not fit.
    public static func decode<T: Decodable>(_ type: T.Type, from request: Request, maxSize: Int = 1_048_576)
        async throws -> T
    {
        try decode(type, from: try await collect(request, maxSize: maxSize))
    }

    /// The whole body, answering 413 when it is larger than `maxSize`.
    public static func collect(_ request: Request, maxSize: Int = 1_048_576) async throws -> ByteBuffer {
        do {
            return try await request.body.collect(upTo: maxSize)
        } catch {
            throw APIError(
                .contentTooLarge, code: "payload_too_large", message: "request body is larger than \(maxSize) bytes")
        }
    }

    /// Decodes a body already collected, answering 400 with the decoder's reason when it does not fit.
    public static func decode<T: Decodable>(_ type: T.Type, from buffer: ByteBuffer) throws -> T {
        if let problem = StorableText.problem(inJSON: buffer.readableBytesView) {
            throw APIError.badRequest("invalid JSON body: \(problem)")
        }
        do {
            return try WireDecoder.decode(T.self, from: buffer.readableBytesView)
        } catch let error as DecodingError {
            throw APIError.badRequest("invalid JSON body: \(DecodingErrorDescription.describe(error))")
        } catch {
            throw APIError.badRequest("invalid JSON body")
        }
    }
}
