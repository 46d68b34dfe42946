import CompressNIO
import Contracts
import Foundation
import Hummingbird
import Kafka
import Liveness
import Logging
import Metrics
import ServiceKit

/// Segment's HTTP tracking API: `/v1/identify|track|page|screen|group|alias|batch`, the short paths
/// analytics.js uses (`/v1/i`, `/v1/t`, ... `/v1/b`) and `/v1/import`. Answers only after the broker
/// acknowledged every message onto the tracking topic.
public struct TrackingAPI: Sendable {
    let directory: SpaceDirectory
    let producer: KafkaProducer
    let ackTimeout: Duration
    private let accepted = Counter(label: "engage_tracking_messages_accepted_total")
    private let rejected = Counter(label: "engage_tracking_requests_rejected_total")

    public init(directory: SpaceDirectory, producer: KafkaProducer, ackTimeout: Duration) {
        self.directory = directory
        self.producer = producer
        self.ackTimeout = ackTimeout
    }

    /// Every path the tracking API answers, with the message type it implies (nil: a batch body).
    static let paths: [(String, SegmentMessageType?)] =
        SegmentMessageType.allCases.flatMap { type in
            [("/v1/\(type.rawValue)", type), ("/v1/\(type.rawValue.prefix(1))", type)]
        } + [("/v1/batch", nil), ("/v1/b", nil), ("/v1/import", nil)]

    public func register<Context: RequestContext>(on router: Router<Context>) {
        for (path, type) in Self.paths {
            router.post(RouterPath(path)) { request, context in
                try await self.handle(request, context: context, impliedType: type)
            }
            // Browsers send an Authorization header, so they ask first.
            router.on(RouterPath(path), method: .options) { _, _ in
                Response(
                    status: .noContent,
                    headers: [
                        .accessControlAllowOrigin: "*", .accessControlAllowMethods: "POST, OPTIONS",
                        .accessControlAllowHeaders: "Authorization, Content-Type, X-Retry-Count, Content-Encoding",
                        .accessControlMaxAge: "86400",
                    ])
            }
        }
    }

    /// `impliedType` nil: a batch body.
    func handle<Context: RequestContext>(_ request: Request, context: Context, impliedType: SegmentMessageType?)
        async throws -> Response
    {
        do {
            let limit = impliedType == nil ? SegmentNormalizer.maxBatchBytes : SegmentNormalizer.maxEventBytes
            let body = try await readBody(request, limit: limit)
            let object = try parse(body)
            let source = try await authenticate(request, body: object)
            let receivedAt = Date()
            let messages = try normalize(
                object, impliedType: impliedType, bodySize: body.readableBytes, receivedAt: receivedAt)
            do {
                let records = try messages.map { try TrackingRecord.make($0, source: source) }
                // The producer's delivery timeout normally answers first; this bounds the answer
                // even when librdkafka is slow to give up (a broker that accepts connections but
                // does not respond).
                let limit = ackTimeout + .seconds(1)
                try await firstOf(
                    { [producer] in try await producer.send(records) },
                    orAbandonWhen: {
                        guard (try? await Task.sleep(for: limit)) != nil else { return nil }
                        return KafkaError(
                            code: KafkaError.messageTimedOut, message: "no acknowledgement within \(limit)")
                    })
            } catch {
                context.logger.error("tracking publish failed", metadata: ["error": "\(error)"])
                throw APIError.unavailable("the event could not be stored; retry")
            }
            accepted.increment(by: messages.count)
            var response = try JSONBody.response(["success": true])
            response.headers[.accessControlAllowOrigin] = "*"
            return response
        } catch let error as APIError {
            rejected.increment()
            throw error
        }
    }

    private func readBody(_ request: Request, limit: Int) async throws -> ByteBuffer {
        var buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: limit)
        } catch {
            throw tooLarge(limit)
        }
        if let encoding = request.headers[.contentEncoding]?.lowercased(), encoding.contains("gzip") {
            do {
                buffer = try buffer.decompress(with: .gzip(), maxSize: limit + 1)
            } catch let error as CompressNIOError where error == .bufferOverflow {
                throw tooLarge(limit)
            } catch {
                throw APIError.badRequest("the body is not valid gzip")
            }
            // The limits apply to the JSON, not to its compressed form.
            if buffer.readableBytes > limit { throw tooLarge(limit) }
        }
        return buffer
    }

    private func tooLarge(_ limit: Int) -> APIError {
        APIError.badRequest(
            "the request is larger than \(limit / 1024) KB, the limit for this endpoint", code: "request_too_large")
    }

    private func parse(_ body: ByteBuffer) throws -> [String: JSONValue] {
        do {
            return try TrackingRecord.parseObject(body.readableBytesView)
        } catch {
            throw APIError.badRequest(error.reason)
        }
    }

    /// The write key as the Basic-auth username (with or without the colon), or `writeKey` in the body.
    private func authenticate(_ request: Request, body: [String: JSONValue]) async throws -> SourceRef {
        var writeKey = BasicAuth.username(request)
        if writeKey == nil, let key = body["writeKey"]?.stringValue, !key.isEmpty { writeKey = key }
        guard let writeKey else {
            throw APIError.unauthorized(
                "a write key is required: send it as the Basic auth username or as writeKey in the body")
        }
        guard let source = try await directory.source(writeKey: writeKey) else {
            throw APIError.unauthorized("invalid write key")
        }
        return source
    }

    private func normalize(
        _ object: [String: JSONValue], impliedType: SegmentMessageType?, bodySize: Int, receivedAt: Date
    ) throws -> [SegmentMessage] {
        guard impliedType == nil else {
            do {
                return [try SegmentNormalizer.normalize(object, impliedType: impliedType, receivedAt: receivedAt)]
            } catch {
                throw APIError.badRequest(error.reason)
            }
        }
        guard case .array(let items)? = object["batch"] else {
            throw APIError.badRequest("batch is required and must be an array of messages")
        }
        guard !items.isEmpty else { throw APIError.badRequest("batch is empty") }
        guard items.count <= SegmentNormalizer.maxBatchEvents else {
            throw APIError.badRequest(
                "batch has \(items.count) messages; the limit is \(SegmentNormalizer.maxBatchEvents)")
        }
        let sharedContext = object["context"]?.objectValue
        let sharedIntegrations = object["integrations"]?.objectValue
        let sentAt = object["sentAt"]
        var messages: [SegmentMessage] = []
        var problems: [String] = []
        for (index, item) in items.enumerated() {
            guard case .object(var message) = item else {
                problems.append("batch[\(index)]: must be a JSON object")
                continue
            }
            // Batch-level context/integrations/sentAt apply to every item that lacks its own.
            if let sharedContext {
                var context = sharedContext
                for (key, value) in message["context"]?.objectValue ?? [:] { context[key] = value }
                message["context"] = .object(context)
            }
            if let sharedIntegrations {
                var integrations = sharedIntegrations
                for (key, value) in message["integrations"]?.objectValue ?? [:] { integrations[key] = value }
                message["integrations"] = .object(integrations)
            }
            if message["sentAt"] == nil, let sentAt { message["sentAt"] = sentAt }
            if bodySize > SegmentNormalizer.maxEventBytes, case let size = item.json.utf8.count,
                size > SegmentNormalizer.maxEventBytes
            {
                problems.append(
                    "batch[\(index)]: message is \(size) bytes; the limit is \(SegmentNormalizer.maxEventBytes)")
                continue
            }
            do {
                messages.append(try SegmentNormalizer.normalize(message, impliedType: nil, receivedAt: receivedAt))
            } catch {
                problems.append("batch[\(index)]: \(error.reason)")
            }
        }
        guard problems.isEmpty else {
            // All or nothing: a batch is accepted whole or not at all, so a client never has to
            // work out which of its messages were kept.
            let shown = problems.prefix(20).joined(separator: "; ")
            let more = problems.count > 20 ? " (and \(problems.count - 20) more)" : ""
            throw APIError.badRequest("\(problems.count) invalid message(s) in batch, none accepted: \(shown)\(more)")
        }
        return messages
    }
}
