import Foundation

/// Whether a SendGrid Event Webhook batch may change anything. The space id is in every
/// unsubscribe link, so an unsigned `unsubscribe` event would let anyone unsubscribe any address:
/// batches must carry the Signed Event Webhook signature of the space's `eventWebhookPublicKey`,
/// unless the operator opted the space into unsigned events (`allowUnsignedEvents`, insecure).
enum SendGridEventAuthentication {
    /// Throws why the batch is refused. A configured key always wins over the opt-in.
    static func check(
        _ settings: SendGridSettings, signature: String?, timestamp: String?, body: [UInt8], now: Date = Date()
    ) throws {
        if let key = settings.eventWebhookPublicKey {
            try SignatureChecks.checkSendGrid(
                publicKey: key, signature: signature, timestamp: timestamp, body: body, now: now)
        } else if settings.allowUnsignedEvents != true {
            throw SignatureFailure(
                """
                events must be signed: set eventWebhookPublicKey (the Signed Event Webhook's verification key) in the space's \
                SendGrid settings, or allowUnsignedEvents: true to accept unsigned events (insecure: anyone could unsubscribe any address)
                """)
        }
    }
}
